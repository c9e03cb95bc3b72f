// The transcript of the open conversation: messages (bot and agent ones as the customer saw
// them, in safe Markdown, with the bot's sources and offered buttons) and internal notes, in
// time order.

import { h } from "../lib/dom.js";
import { time, score } from "../lib/format.js";
import { ROLES } from "../lib/labels.js";
import { link, render as markdown } from "../lib/markdown.js";
import { state } from "./state.js";
import { t } from "../lib/i18n.js";

// Customer, bot and agent texts read in their own direction, whatever the console's.
function withDir(node) {
  node.setAttribute("dir", "auto");
  return node;
}

export function clearTranscript() {
  state.open.nodes = new Map();
  document.getElementById("transcript").replaceChildren();
}

function sourceItem(s) {
  const title = s.title || s.article_id || "article";
  return h("li", null, link(s.url, s.section ? title + " › " + s.section : title, "source"), " (" + score(s.score) + ")");
}

// Messages and notes in time order; live frames can arrive before the GET with the history.
function place(node) {
  const transcript = document.getElementById("transcript");
  const key = (n) => [Number(n.getAttribute("data-ts")) || 0, Number(n.getAttribute("data-seq")) || 0];
  const [ts, seq] = key(node);
  const later = Array.from(transcript.children).find((n) => {
    const [t2, s2] = key(n);
    return t2 > ts || (t2 === ts && s2 > seq);
  });
  const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 60;
  transcript.insertBefore(node, later || null);
  if (!later || atBottom) transcript.scrollTop = transcript.scrollHeight;
}

const DELIVERY = { queued: "queued", sent: "sent", delivered: "delivered", read: "read" };

// Where a reply sent through a channel's API stands (queued / sent / failed with the reason).
function deliveryNode(d) {
  if (!d || !d.status) return null;
  const text = d.status === "failed"
    ? "not delivered: " + (d.error || "failed")
    : (DELIVERY[d.status] || d.status) + (d.status === "queued" && d.attempts ? " (retrying: " + (d.error || "") + ")" : "");
  return h("div", { class: "msg-delivery delivery-" + d.status, "data-delivery": d.status }, text);
}

// A message of the open conversation (once, however often it arrives; a repeat updates
// its delivery status).
export function addMessage(m) {
  const nodes = state.open.nodes;
  if (!m || m.id === undefined) return;
  if (nodes.has("m" + m.id)) {
    const known = nodes.get("m" + m.id);
    const fresh = deliveryNode(m.delivery);
    const old = known.querySelector(".msg-delivery");
    if (fresh && old) old.replaceWith(fresh);
    else if (fresh) known.append(fresh);
    return;
  }
  const role = ROLES[m.role] ? m.role : "system";
  const node = h("div", {
    class: "msg role-" + role, "data-role": role, "data-id": String(m.id),
    "data-ts": String(Date.parse(m.created_at) || 0), "data-seq": String(m.id),
  },
  h("div", { class: "msg-head" },
    h("span", { class: "msg-role" }, t(ROLES[role])),
    m.author ? h("span", { class: "msg-author" }, m.author) : null,
    h("time", { datetime: String(m.created_at || "") }, time(m.created_at))),
  // The widget shows bot and agent messages as (safe) Markdown: show them as the customer saw them.
  role === "bot" || role === "agent"
    ? withDir(markdown(m.text, "msg-text md", "md-heading"))
    : h("div", { class: "msg-text", dir: "auto" }, m.text));
  if (role === "bot" && Array.isArray(m.sources) && m.sources.length) {
    node.append(h("ul", { class: "msg-sources", "aria-label": t("Sources") }, m.sources.filter(Boolean).map(sourceItem)));
  }
  if (Array.isArray(m.buttons) && m.buttons.length) {
    node.append(h("div", { class: "msg-buttons" }, t("Offered: "),
      m.buttons.filter((b) => b && b.title).map((b) => h("span", { class: "chip" }, b.title))));
  }
  const delivery = deliveryNode(m.delivery);
  if (delivery) node.append(delivery);
  nodes.set("m" + m.id, node);
  place(node);
}

// An internal note of the open conversation (once).
export function addNote(n) {
  const nodes = state.open.nodes;
  if (!n || n.id === undefined || nodes.has("n" + n.id)) return;
  const node = h("div", {
    class: "msg note", "data-role": "note", "data-note-id": String(n.id),
    "data-ts": String(Date.parse(n.created_at) || Date.now()), "data-seq": "0",
  },
  h("div", { class: "msg-head" },
    h("span", { class: "msg-role" }, t("Internal note")),
    n.author ? h("span", { class: "msg-author" }, n.author) : null,
    h("span", { class: "note-private" }, t("not sent to the customer")),
    h("time", { datetime: String(n.created_at || "") }, time(n.created_at))),
  h("div", { class: "msg-text", dir: "auto" }, n.text));
  nodes.set("n" + n.id, node);
  place(node);
}
