// The console's one store: everything the modules share, in one object, instead of loose
// variables. Modules read and write it directly; reset() is signing out.

export const state = {
  me: null, // the signed-in agent: {id, name, email, role, presence, ...}
  convs: new Map(), // conversation id -> summary (GET /api/conversations and live frames)
  unread: new Map(), // conversation id -> customer messages the agent has not seen yet
  drafts: new Map(), // conversation id -> {text, mode}: the composer of conversations not open
  queue: {
    items: [], // GET /api/queue: waiting tickets, most urgent first
    loaded: false, // the first answer came (a new ticket after that beeps)
    seen: new Set(), // ticket ids seen in the queue
    seq: 0, // requests sent
    shown: 0, // the latest of them rendered
    timer: null, // a coalesced reload
  },
  open: {
    id: null, // the conversation in the detail view
    data: null, // GET /api/conversations/{id} for it
    nodes: new Map(), // "m12" / "n3" -> its transcript element
    seq: 0, // detail requests sent
    shown: 0, // the latest of them rendered
    timer: null, // a coalesced reload
  },
  people: { agents: [], teams: [] }, // transfer targets
  canned: { all: [], items: [], index: 0 }, // canned responses; the list shown and its selection
  live: {
    ws: null, // the current agents' socket
    attempt: 0, // reconnections since it last opened
    timer: null, // the next reconnection
    dropped: false, // the socket was lost, so frames may have been missed
    typingSentAt: 0,
    typingHideTimer: null,
  },
  timers: [], // intervals while signed in (clocks, queue poll)
};

export function reset() {
  state.me = null;
  state.convs.clear();
  state.unread.clear();
  state.drafts.clear();
  state.queue.items = [];
  state.queue.loaded = false;
  state.queue.seen.clear();
  state.timers.forEach(clearInterval);
  state.timers = [];
}

function stamp(c) {
  return Date.parse(c.updated_at) || 0;
}

// Newest first.
export function byUpdate(a, b) {
  return stamp(b) - stamp(a);
}

// Frames and a GET can cross on the wire: never let an older summary replace a newer one.
export function upsert(c) {
  const old = state.convs.get(c.id);
  if (old && stamp(old) > stamp(c)) return false;
  state.convs.set(c.id, c);
  return true;
}

export function isMine(c) {
  return !!(state.me && c && c.state === "agent" && c.agent && c.agent.id === state.me.id);
}

// The summary of the open conversation, or null.
export function openSummary() {
  return state.open.id !== null ? state.convs.get(state.open.id) || null : null;
}
