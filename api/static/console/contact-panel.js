// The customer panel: the contact's record, satisfaction, other tickets and conversations
// (a click opens them), and notes about the customer.

import { $, field, h } from "../lib/dom.js";
import { excerpt, shortTime } from "../lib/format.js";

export function clearContact() {
  $("contact").replaceChildren();
}

// `openId` is the conversation on screen (left out of "Other conversations"); `onOpen(id)`
// opens another one.
export function renderContact(record, openId, onOpen) {
  const box = $("contact");
  if (!record) {
    box.replaceChildren(h("p", { class: "muted" }, "No customer record."));
    return;
  }
  const sat = record.satisfaction || {};
  const others = (record.conversations || []).filter((c) => c.id !== openId);
  box.replaceChildren(
    h("dl", null,
      field("Name", record.name),
      field("Email", record.email),
      field("Phone", record.phone),
      field("Customer since", shortTime(record.created_at)),
      field("Identities", (record.identities || []).map((i) => i.channel + ": " + excerpt(i.external_id, 24)).join(", ")),
      field("Satisfaction", sat.mean !== null && sat.mean !== undefined
        ? sat.mean + "/5 over " + (sat.ratings || []).length + " rating(s)" : "no ratings yet")),
    h("h3", null, "Tickets (" + (record.tickets || []).length + ")"),
    (record.tickets || []).length
      ? h("ul", { class: "plain-list" }, record.tickets.slice(0, 10).map((t) => h("li", null,
        "#" + t.number + " · " + t.status + " · " + excerpt(t.subject, 60) + (t.csat_score ? " · rated " + t.csat_score + "/5" : ""))))
      : h("p", { class: "muted" }, "None."),
    h("h3", null, "Other conversations (" + others.length + ")"),
    others.length
      ? h("ul", { class: "plain-list" }, others.slice(0, 10).map((c) => h("li", null,
        h("button", { type: "button", class: "linkish", onclick: () => onOpen(c.id) },
          "#" + c.id + " · " + c.state + " · " + shortTime(c.created_at)))))
      : h("p", { class: "muted" }, "None."),
    h("h3", null, "Notes on the customer"),
    (record.notes || []).length
      ? h("ul", { class: "plain-list notes" }, record.notes.slice(0, 10).map((n) => h("li", null,
        h("span", { class: "msg-author" }, n.author), " ", excerpt(n.text, 200))))
      : h("p", { class: "muted" }, "None."));
}
