// The customer panel: the contact's record, satisfaction, other tickets and conversations
// (a click opens them), and notes about the customer.

import { $, field, h } from "../lib/dom.js";
import { excerpt, shortTime } from "../lib/format.js";
import { t } from "../lib/i18n.js";

export function clearContact() {
  $("contact").replaceChildren();
}

// `openId` is the conversation on screen (left out of "Other conversations"); `onOpen(id)`
// opens another one.
export function renderContact(record, openId, onOpen) {
  const box = $("contact");
  if (!record) {
    box.replaceChildren(h("p", { class: "muted" }, t("No customer record.")));
    return;
  }
  const sat = record.satisfaction || {};
  const others = (record.conversations || []).filter((c) => c.id !== openId);
  box.replaceChildren(
    h("dl", null,
      field(t("Name"), record.name),
      field(t("Email"), record.email),
      field(t("Phone"), record.phone),
      field(t("Customer since"), shortTime(record.created_at)),
      field(t("Identities"), (record.identities || []).map((i) => i.channel + ": " + excerpt(i.external_id, 24)).join(", ")),
      field(t("Satisfaction"), sat.mean !== null && sat.mean !== undefined
        ? sat.mean + "/5 over " + (sat.ratings || []).length + " rating(s)" : t("no ratings yet"))),
    h("h3", null, t("Tickets ({n})", { n: (record.tickets || []).length })),
    (record.tickets || []).length
      ? h("ul", { class: "plain-list" }, record.tickets.slice(0, 10).map((t) => h("li", null,
        "#" + t.number + " · " + t.status + " · " + excerpt(t.subject, 60) + (t.csat_score ? " · rated " + t.csat_score + "/5" : ""))))
      : h("p", { class: "muted" }, t("None.")),
    h("h3", null, t("Other conversations ({n})", { n: others.length })),
    others.length
      ? h("ul", { class: "plain-list" }, others.slice(0, 10).map((c) => h("li", null,
        h("button", { type: "button", class: "linkish", onclick: () => onOpen(c.id) },
          "#" + c.id + " · " + c.state + " · " + shortTime(c.created_at)))))
      : h("p", { class: "muted" }, t("None.")),
    h("h3", null, t("Notes on the customer")),
    (record.notes || []).length
      ? h("ul", { class: "plain-list notes" }, record.notes.slice(0, 10).map((n) => h("li", null,
        h("span", { class: "msg-author" }, n.author), " ", excerpt(n.text, 200))))
      : h("p", { class: "muted" }, t("None.")));
}
