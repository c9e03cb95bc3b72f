// The reply box: reply to the customer or write an internal note (Enter sends, Shift+Enter
// is a new line), a draft per conversation, text inserted from the knowledge base, canned
// responses (canned.js), and the agent's "typing" signal.

import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { run } from "./attention.js";
import { cannedKey, hideCanned, updateCanned } from "./canned.js";
import { isMine, openSummary, state } from "./state.js";
import { addMessage, addNote } from "./transcript.js";
import { t } from "../lib/i18n.js";

const TYPING_SEND_MS = 2500;

export function currentMode() {
  return $("mode-note").checked ? "note" : "reply";
}

export function setMode(mode) {
  $("mode-note").checked = mode === "note";
  $("mode-reply").checked = mode !== "note";
  updateComposer();
}

// Replying needs the conversation to be the agent's; a note can always be written.
export function updateComposer() {
  const c = openSummary();
  const note = currentMode() === "note";
  const channel = state.open.data && state.open.data.channel;
  // A channel's customer-service window (WhatsApp 24 h) closed: only its template may go.
  const windowClosed = !!channel && channel.window_open === false;
  const canReply = !!c && isMine(c) && !windowClosed;
  const enabled = note || canReply;
  $("send-template").hidden = note || !channel || !channel.template || !c || !isMine(c);
  $("reply-form").className = note ? "mode-note" : "mode-reply";
  $("reply").disabled = !enabled;
  $("send-reply").disabled = !enabled;
  $("send-reply").textContent = note ? t("Add note") : t("Send");
  $("reply").placeholder = note
    ? t("Internal note: only agents see it, never the customer.")
    : canReply ? t("Reply to the customer… (type / for canned responses)")
      : windowClosed ? "The customer's window has closed: " + (channel.template ? "send the template." : "wait for them to write.")
        : t("Take over the conversation to reply.");
  // What the customer's channel cannot show, said before the agent types.
  const limits = channel && Array.isArray(channel.limits) && channel.limits.length && !note
    ? channel.name + ": " + channel.limits.join("; ") : "";
  $("channel-limits").textContent = limits;
  $("channel-limits").hidden = !limits;
}

// Keep what is in the box for the open conversation, before another one is shown.
export function saveDraft() {
  const id = state.open.id;
  if (id === null) return;
  const text = $("reply").value;
  const mode = currentMode();
  if (text || mode !== "reply") state.drafts.set(id, { text: text, mode: mode });
  else state.drafts.delete(id);
}

// The box for conversation `id`: its draft, or empty.
export function restoreDraft(id) {
  const draft = state.drafts.get(id);
  $("reply").value = draft ? draft.text : "";
  setMode(draft ? draft.mode : "reply");
  hideCanned();
}

// `text` at the caret (after a space if needed), e.g. a knowledge-base link.
export function insertText(text) {
  const box = $("reply");
  const start = box.selectionStart === undefined ? box.value.length : box.selectionStart;
  const end = box.selectionEnd === undefined ? box.value.length : box.selectionEnd;
  const before = box.value.slice(0, start);
  const glue = before && !/\s$/.test(before) ? " " : "";
  box.value = before + glue + text + box.value.slice(end);
  const caret = (before + glue + text).length;
  if (!box.disabled) {
    box.focus();
    box.setSelectionRange(caret, caret);
  }
}

// "Agent is typing" for the customer, at most every TYPING_SEND_MS, over the live socket.
function sendTyping() {
  const ws = state.live.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || currentMode() !== "reply" || !isMine(openSummary())) return;
  const now = Date.now();
  if (now - state.live.typingSentAt < TYPING_SEND_MS) return;
  state.live.typingSentAt = now;
  ws.send(JSON.stringify({ type: "typing", conversation_id: state.open.id }));
}

function send(ev) {
  ev.preventDefault();
  const id = state.open.id;
  const text = $("reply").value;
  const note = currentMode() === "note";
  if (id === null || !text.trim() || $("send-reply").disabled) return;
  $("send-reply").disabled = true;
  const path = "/api/conversations/" + encodeURIComponent(id) + (note ? "/notes" : "/messages");
  // The text stays in the box until the hub has stored it, so a failure loses nothing.
  run(api("POST", path, { text: text })
    .then((data) => {
      if (state.open.id === id) $("reply").value = "";
      state.drafts.delete(id);
      if (state.open.id !== id) return;
      if (note) {
        addNote({ ...data.note, author: state.me && state.me.name, created_at: new Date().toISOString() });
      } else {
        addMessage(data.message);
      }
    })
    .finally(updateComposer));
}

// The channel's configured template (the one message allowed outside its window).
function sendTemplate() {
  const id = state.open.id;
  if (id === null) return;
  $("send-template").disabled = true;
  run(api("POST", "/api/conversations/" + encodeURIComponent(id) + "/template", {})
    .then((data) => { if (state.open.id === id) addMessage(data.message); })
    .finally(() => { $("send-template").disabled = false; updateComposer(); }));
}

export function initComposer() {
  for (const id of ["mode-reply", "mode-note"]) $(id).addEventListener("change", updateComposer);
  $("reply").addEventListener("input", () => {
    updateCanned();
    if ($("reply").value.trim()) sendTyping();
  });
  $("reply").addEventListener("blur", () => setTimeout(hideCanned, 150));
  $("reply").addEventListener("keydown", (ev) => {
    if (cannedKey(ev)) return;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("reply-form").requestSubmit();
    }
  });
  $("reply-form").addEventListener("submit", send);
  $("send-template").addEventListener("click", sendTemplate);
}
