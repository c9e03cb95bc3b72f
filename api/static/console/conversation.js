// The open conversation: opening and closing it (several can be worked on, one is shown;
// each keeps its draft and unread count), loading it, its heading, which actions are
// offered, and the side panels.

import { api } from "../lib/api.js";
import { $, showError } from "../lib/dom.js";
import { ACTIVE_STATUSES, reasonText } from "../lib/labels.js";
import { clearAssist, refreshAssist } from "./assist.js";
import { run } from "./attention.js";
import { hideCanned } from "./canned.js";
import { restoreDraft, saveDraft, updateComposer } from "./composer.js";
import { clearContact, renderContact } from "./contact-panel.js";
import { loadPeople } from "./people.js";
import { renderLists, renderQueue, scheduleQueue } from "./queue.js";
import { isMine, state, upsert } from "./state.js";
import { clearTicketPanels, renderAttempts, renderHistory, renderTicket } from "./ticket-panel.js";
import { addMessage, addNote, clearTranscript } from "./transcript.js";
import { languageName, t as tr } from "../lib/i18n.js";

export function closeConversation() {
  saveDraft();
  state.open.id = null;
  state.open.data = null;
  clearTranscript();
  $("detail").hidden = true;
  $("side").hidden = true;
  $("placeholder").hidden = false;
  hideCanned();
}

export function openConversation(id) {
  const open = state.open;
  if (id !== open.id) {
    saveDraft();
    open.id = id;
    open.data = null;
    clearTranscript();
    clearTicketPanels();
    clearContact();
    clearAssist();
    $("typing").textContent = "";
    restoreDraft(id);
  }
  state.unread.delete(id);
  $("placeholder").hidden = true;
  $("detail").hidden = false;
  $("side").hidden = false;
  renderLists();
  renderQueue();
  if (state.convs.has(id)) renderOpen(state.convs.get(id));
  loadPeople().catch(() => {}); // fresh presence and load for the transfer list
  return run(refreshOpen());
}

// Many frames can arrive at once: one reload of the open conversation for all of them.
export function scheduleDetail() {
  clearTimeout(state.open.timer);
  state.open.timer = setTimeout(() => {
    if (state.open.id !== null) refreshOpen().catch((err) => showError(err.message));
  }, 200);
}

export async function refreshOpen() {
  const open = state.open;
  const id = open.id;
  const seq = ++open.seq;
  const data = await api("GET", "/api/conversations/" + encodeURIComponent(id));
  if (open.id !== id) return; // the agent clicked elsewhere meanwhile
  // Responses can overtake each other: never let an older read replace a newer one.
  if (seq < open.shown) return;
  open.shown = seq;
  open.data = data;
  upsert(data.conversation);
  state.convs.set(id, data.conversation);
  renderLists();
  renderOpen(data.conversation);
  for (const m of data.messages || []) addMessage(m);
  for (const n of data.notes || []) addNote(n);
  renderSide();
  // Suggestions are a help, not the work: a failure must not disturb the conversation.
  refreshAssist(id, data.messages).catch(() => {});
}

// A new summary of a conversation (an action's answer or a live frame).
export function updateConversation(c) {
  if (!c || !upsert(c)) return;
  renderLists();
  if (c.id === state.open.id) {
    renderOpen(c);
    scheduleDetail();
  }
}

function renderOpen(c) {
  const contact = (c.contact && c.contact.name) || tr("Unknown contact");
  const t = c.ticket;
  $("conv-title").textContent = (t ? tr("Ticket #{n}", { n: t.number }) : tr("Conversation #{id}", { id: c.id })) + " · " + contact;
  const sub = [c.channel || "widget", tr(c.state) + (c.agent ? " (" + c.agent.name + ")" : ""),
    tr("language: {language}", { language: languageName(c.language) })];
  if (t) sub.push(tr("priority {p}", { p: t.priority }), tr("handed off: {reason}", { reason: tr(reasonText(t.reason)) }));
  $("conv-sub").textContent = sub.join(" · ");

  // Only hints: the hub decides (409); disabled buttons just avoid pointless clicks.
  const mine = isMine(c);
  const active = !!(t && ACTIVE_STATUSES.indexOf(t.status) >= 0);
  $("takeover").disabled = c.state !== "queued";
  $("pending").disabled = !(mine && t && (t.status === "new" || t.status === "open"));
  $("resolve").disabled = c.state === "resolved" || (c.state === "agent" && !mine);
  $("handback").disabled = !(mine && active);
  $("transfer").disabled = !(active && (c.state === "queued" || c.state === "agent"));
  $("transfer-to").disabled = $("transfer").disabled;
  updateComposer();
}

function ticketSaved() {
  scheduleQueue();
  return refreshOpen();
}

function renderSide() {
  const data = state.open.data;
  if (!data) return;
  renderTicket(data.ticket, ticketSaved);
  renderAttempts(data.ticket);
  renderContact(data.contact, state.open.id, openConversation);
  renderHistory(data.ticket);
}
