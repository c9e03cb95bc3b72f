// The agents' live socket (/ws/agents, docs/protocol.md): frames update the lists, the open
// conversation, typing and presence; it reconnects with backoff and then catches up on what
// it missed. The token goes in the first frame, never in the URL (URLs end up in logs).
// Close code 4401 means the session is over (logged out, deactivated, expired).

import { endSession, getToken } from "../lib/api.js";
import { $, showError } from "../lib/dom.js";
import { beep, run } from "./attention.js";
import { refreshOpen, scheduleDetail, updateConversation } from "./conversation.js";
import { updatePresence } from "./people.js";
import { loadMe, setMyPresence } from "./profile.js";
import { loadConversations, loadQueue, renderLists, scheduleQueue } from "./queue.js";
import { isMine, state } from "./state.js";
import { addMessage, addNote } from "./transcript.js";
import { t } from "../lib/i18n.js";

const TYPING_SHOW_MS = 5000;

function onMessage(frame) {
  const m = frame.message;
  const id = frame.conversation_id;
  if (!m) return;
  if (id === state.open.id) addMessage(m);
  if (m.role === "customer") {
    const c = state.convs.get(id);
    if (isMine(c) && (id !== state.open.id || document.hidden)) {
      state.unread.set(id, (state.unread.get(id) || 0) + 1);
      beep();
      renderLists();
    }
    if (id === state.open.id) $("typing").textContent = "";
  }
}

function onTyping(frame) {
  if (frame.conversation_id !== state.open.id || frame.role === "agent") return;
  $("typing").textContent = t("{name} is typing…", { name: frame.name || t("The customer") });
  clearTimeout(state.live.typingHideTimer);
  state.live.typingHideTimer = setTimeout(() => { $("typing").textContent = ""; }, TYPING_SHOW_MS);
}

function onPresence(frame) {
  updatePresence(frame.agent_id, frame.presence);
  if (state.me && frame.agent_id === state.me.id) setMyPresence(frame.presence);
}

function handleFrame(frame) {
  switch (frame.type) {
    case "conversation":
      updateConversation(frame.conversation);
      scheduleQueue();
      break;
    case "message": onMessage(frame); break;
    case "note":
      if (frame.note && frame.note.conversation_id === state.open.id) addNote(frame.note);
      break;
    case "ticket_event":
      if (frame.conversation_id === state.open.id) scheduleDetail();
      scheduleQueue();
      break;
    case "typing": onTyping(frame); break;
    case "presence": onPresence(frame); break;
    case "ready": break; // the hub accepted the sign-in frame
    default: break; // newer hubs may add frames; ignore what we do not know
  }
}

export function closeSocket() {
  const live = state.live;
  clearTimeout(live.timer);
  const sock = live.ws;
  live.ws = null; // handlers ignore frames from a socket that is no longer current
  if (sock) sock.close();
}

export function connectSocket() {
  const token = getToken();
  if (!token) return;
  const live = state.live;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const sock = new WebSocket(scheme + location.host + "/ws/agents");
  live.ws = sock;
  sock.onopen = () => {
    if (sock !== live.ws) return;
    sock.send(JSON.stringify({ type: "auth", token: token }));
    $("live").textContent = t("Live");
    live.attempt = 0;
    if (live.dropped) {
      // Catch up on what happened while the socket was down.
      live.dropped = false;
      run(Promise.all([loadConversations(), loadQueue(), loadMe()])
        .then(() => (state.open.id !== null ? refreshOpen() : null)));
    }
  };
  sock.onmessage = (ev) => {
    if (sock !== live.ws) return;
    let frame;
    try { frame = JSON.parse(ev.data); } catch (e) { return; }
    if (frame && typeof frame === "object") handleFrame(frame);
  };
  sock.onclose = (ev) => {
    if (sock !== live.ws) return;
    live.ws = null;
    if (ev.code === 4401) {
      endSession();
      showError("Your session has ended. Please sign in again.");
      return;
    }
    live.dropped = true;
    const delay = Math.min(1000 * Math.pow(2, live.attempt), 10000);
    live.attempt += 1;
    $("live").textContent = t("Reconnecting…");
    live.timer = setTimeout(connectSocket, delay);
  };
}
