// The left column: the live queue (waiting tickets, most urgent first, with their wait and SLA
// clocks), the agent's own conversations, and recent ones; their counts and the title badge.

import { api } from "../lib/api.js";
import { $, h, showError } from "../lib/dom.js";
import { excerpt } from "../lib/format.js";
import { beep, updateTitle } from "./attention.js";
import { clock, slaLine } from "./clock.js";
import { byUpdate, isMine, state, upsert } from "./state.js";
import { languageName, t, t as tr } from "../lib/i18n.js";

// Clicking a row (any of the three lists) opens its conversation.
export function initLists(onPick) {
  for (const id of ["queue", "mine", "recent"]) {
    $(id).addEventListener("click", (ev) => {
      const row = ev.target.closest(".conv-item");
      if (row && $(id).contains(row)) onPick(Number(row.getAttribute("data-id")));
    });
  }
}

export function clearLists() {
  for (const id of ["queue", "mine", "recent"]) $(id).replaceChildren();
}

export async function loadConversations() {
  const data = await api("GET", "/api/conversations");
  for (const c of data.conversations || []) upsert(c);
  renderLists();
}

export async function loadQueue() {
  const queue = state.queue;
  const seq = ++queue.seq;
  const data = await api("GET", "/api/queue");
  if (seq < queue.shown) return; // an answer to a later request is on screen already
  queue.shown = seq;
  const items = data.queue || [];
  let fresh = false;
  for (const item of items) {
    if (!queue.seen.has(item.id)) {
      queue.seen.add(item.id);
      fresh = true;
    }
  }
  if (fresh && queue.loaded) beep();
  queue.loaded = true;
  queue.items = items;
  renderQueue();
}

// Many frames can arrive at once: one reload for all of them.
export function scheduleQueue() {
  clearTimeout(state.queue.timer);
  state.queue.timer = setTimeout(() => loadQueue().catch((err) => showError(err.message)), 150);
}

// Rebuilding a list would drop keyboard focus; put it back on the same row.
function replaceRows(container, rows, empty) {
  const focused = document.activeElement && container.contains(document.activeElement)
    ? document.activeElement.getAttribute("data-id") : null;
  container.replaceChildren(...(rows.length ? rows : [h("p", { class: "empty" }, empty)]));
  if (focused !== null) {
    const again = rows.find((r) => r.getAttribute("data-id") === focused);
    if (again) again.focus();
  }
}

function prioBadge(priority) {
  return h("span", { class: "prio prio-" + priority }, priority);
}

function queueRow(item) {
  return h("button", {
    type: "button", class: "conv-item queue-item prio-row-" + item.priority,
    "data-id": String(item.conversation_id), "data-ticket": String(item.id), "data-state": "queued",
    "aria-current": item.conversation_id === state.open.id ? "true" : null,
  },
  h("span", { class: "qi-head" }, prioBadge(item.priority), " #" + item.number, " · ", item.channel || "widget",
    h("span", { class: "qi-wait" }, clock("wait", item.waiting_seconds || 0))),
  h("span", { class: "qi-subject" }, excerpt(item.subject, 90) || t("(no subject)")),
  h("span", { class: "qi-meta" },
    (item.contact && item.contact.name) || t("Unknown contact"),
    item.language ? " · " + languageName(item.language) : "",
    item.category ? " · " + item.category : "",
    item.team ? " · " + item.team.name : ""),
  h("span", { class: "qi-sla" }, slaLine(item.sla)));
}

export function renderQueue() {
  const items = state.queue.items;
  $("queue-count").textContent = String(items.length);
  replaceRows($("queue"), items.map(queueRow), t("Nobody is waiting."));
  updateTitle();
}

function convRow(c, cls) {
  const t = c.ticket;
  const count = state.unread.get(c.id) || 0;
  return h("button", {
    type: "button", class: "conv-item " + cls + " state-" + c.state,
    "data-id": String(c.id), "data-state": String(c.state),
    "aria-current": c.id === state.open.id ? "true" : null,
  },
  h("span", { class: "qi-head" },
    t ? prioBadge(t.priority) : null,
    (t ? " #" + t.number : tr("Conversation {id}", { id: c.id })), " · ", tr(c.state),
    t && t.status === "pending" ? h("span", { class: "chip" }, tr("pending")) : null,
    count ? h("span", { class: "unread", "aria-label": tr("{n} unread", { n: count }) }, String(count)) : null),
  h("span", { class: "qi-meta" },
    (c.contact && c.contact.name) || tr("Unknown contact"),
    c.language && c.language !== "en" ? " · " + languageName(c.language) : "",
    c.agent && !isMine(c) ? " → " + c.agent.name : ""),
  h("span", { class: "qi-last", dir: "auto" }, excerpt(c.last_message && c.last_message.text, 80)));
}

export function renderLists() {
  const all = Array.from(state.convs.values()).sort(byUpdate);
  const mine = all.filter(isMine);
  $("mine-count").textContent = String(mine.length);
  replaceRows($("mine"), mine.map((c) => convRow(c, "mine-item")), tr("No conversations of yours."));
  const recent = all.filter((c) => !isMine(c)).slice(0, 50);
  replaceRows($("recent"), recent.map((c) => convRow(c, "recent-item")), tr("No conversations yet."));
  updateTitle();
}
