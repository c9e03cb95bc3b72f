// The side panels about the ticket: its fields (editable priority, category and tags), its
// SLA clocks, what the bot tried before the hand-off (questions, answers, articles and
// scores), and the ticket's history.

import { api } from "../lib/api.js";
import { $, field, h } from "../lib/dom.js";
import { excerpt, plain, score, shortTime } from "../lib/format.js";
import { link } from "../lib/markdown.js";
import { PRIORITIES, reasonText } from "../lib/labels.js";
import { run } from "./attention.js";
import { slaText } from "./clock.js";
import { languageName, t as tr } from "../lib/i18n.js";

export function clearTicketPanels() {
  for (const id of ["ticket", "bot-attempts", "history"]) $(id).replaceChildren();
}

// `onSaved` runs after the hub stored an edit (and returns a promise, e.g. a reload).
export function renderTicket(t, onSaved) {
  const box = $("ticket");
  const form = box.querySelector("form");
  // Do not throw away what the agent is typing in the ticket fields.
  if (form && (form.contains(document.activeElement) || form.getAttribute("data-dirty") === "1")
    && Number(form.getAttribute("data-ticket")) === (t && t.id)) return;
  if (!t) {
    box.replaceChildren(h("p", { class: "muted" }, tr("No ticket: the bot is handling this conversation.")));
    return;
  }
  const prio = h("select", { id: "ticket-priority", name: "priority" },
    PRIORITIES.map((p) => h("option", { value: p, selected: p === t.priority }, p)));
  const category = h("input", { id: "ticket-category", name: "category", type: "text", maxlength: "100", value: t.category || "" });
  const tags = h("input", { id: "ticket-tags", name: "tags", type: "text", value: (t.tags || []).join(", "), "aria-describedby": "tags-hint" });
  const sla = t.sla || {};
  const csat = t.csat || {};
  const newForm = h("form", { id: "ticket-form", "data-ticket": String(t.id) },
    h("dl", null,
      field(tr("Ticket"), "#" + t.number),
      field(tr("Status"), t.status),
      field(tr("Hand-off reason"), tr(reasonText(t.reason))),
      field(tr("Subject"), t.subject),
      field(tr("Team"), t.team && t.team.name),
      field(tr("Assignee"), t.assignee && t.assignee.name),
      field(tr("Channel"), [t.channel, t.language && languageName(t.language)].filter(Boolean).join(" · ")),
      field(tr("First reply"), slaText(sla.first_response, "First reply")),
      field(tr("Resolution"), slaText(sla.resolution, "Resolution")),
      csat.score ? field(tr("Satisfaction"), csat.score + "/5" + (csat.comment ? " — " + csat.comment : "")) : null),
    h("div", { class: "ticket-fields" },
      h("label", { for: "ticket-priority" }, tr("Priority")), prio,
      h("label", { for: "ticket-category" }, tr("Category")), category,
      h("label", { for: "ticket-tags" }, tr("Tags")), tags,
      h("span", { id: "tags-hint", class: "hint" }, "comma-separated"),
      h("button", { type: "submit", id: "ticket-save" }, tr("Save ticket"))));
  newForm.addEventListener("input", () => newForm.setAttribute("data-dirty", "1"));
  newForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    // Only what changed, so the ticket's history logs real edits.
    const body = {};
    const newTags = tags.value.split(",").map((x) => x.trim().toLowerCase()).filter(Boolean);
    if (prio.value !== t.priority) body.priority = prio.value;
    if (category.value.trim() !== (t.category || "")) body.category = category.value.trim();
    if (newTags.join(",") !== (t.tags || []).join(",")) body.tags = newTags;
    if (!Object.keys(body).length) {
      newForm.removeAttribute("data-dirty");
      return;
    }
    run(api("PATCH", "/api/tickets/" + encodeURIComponent(t.id), body).then(() => {
      newForm.removeAttribute("data-dirty");
      if (document.activeElement && newForm.contains(document.activeElement)) document.activeElement.blur();
      return onSaved();
    }));
  });
  box.replaceChildren(newForm);
}

export function renderAttempts(t) {
  const box = $("bot-attempts");
  const attempts = (t && t.bot_attempts) || [];
  if (!attempts.length) {
    box.replaceChildren(h("p", { class: "muted" }, t ? tr("The bot did not try a knowledge-base answer.") : tr("No ticket yet.")));
    return;
  }
  box.replaceChildren(h("ol", { class: "attempts" }, attempts.map((a) => {
    const used = new Set((a.sources || []).map((s) => s && s.article_id));
    const hits = (a.hits && a.hits.length ? a.hits : a.sources || []).filter(Boolean);
    return h("li", { class: "attempt" },
      h("div", { class: "attempt-q" }, h("span", { class: "label" }, tr("Asked: ")), a.question || "—"),
      h("div", null, h("span", { class: "chip decision-" + a.decision }, a.decision || "—"),
        a.feedback ? h("span", { class: "chip feedback-" + a.feedback }, a.feedback.replace("_", " ")) : null),
      a.answer ? h("div", { class: "attempt-a" }, h("span", { class: "label" }, tr("Bot said: ")), excerpt(plain(a.answer), 240)) : null,
      hits.length ? h("table", { class: "hits" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, tr("Article")), h("th", { scope: "col" }, tr("Score")))),
        h("tbody", null, hits.map((hit) => h("tr", { class: used.has(hit.article_id) ? "used" : null },
          h("td", null, link(hit.url, hit.title || hit.article_id || "article", "source"),
            used.has(hit.article_id) ? h("span", { class: "chip" }, "used") : null),
          h("td", { class: "num" }, score(hit.score)))))) : null);
  })));
}

function eventText(e) {
  const data = e.data || {};
  const bits = [];
  for (const key in data) {
    const value = data[key];
    bits.push(key + ": " + (typeof value === "object" ? JSON.stringify(value) : String(value)));
  }
  return bits.join(", ");
}

export function renderHistory(t) {
  const events = (t && t.history) || [];
  $("history").replaceChildren(...events.map((e) => h("li", null,
    h("span", { class: "event-kind" }, e.kind.replace(/_/g, " ")),
    e.agent ? " · " + e.agent.name : "",
    " · ", h("time", { datetime: e.created_at }, shortTime(e.created_at)),
    eventText(e) ? h("div", { class: "muted" }, excerpt(eventText(e), 160)) : null)));
  if (!events.length) $("history").append(h("li", { class: "muted" }, tr("Nothing yet.")));
}
