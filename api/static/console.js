// Frontline agent console: REST for reads and actions, /ws/agents for live updates.
// Protocol in docs/protocol.md. Everything from the hub is rendered as text (textContent,
// text nodes); links get an href only when it is http(s).
(function () {
  "use strict";

  const TOKEN_KEY = "frontline.agent_token";
  const SOUND_KEY = "frontline.sound";
  const TITLE = "Frontline console";
  const QUEUE_POLL_MS = 30000;
  const TYPING_SEND_MS = 2500;
  const TYPING_SHOW_MS = 5000;
  const REASONS = {
    customer_request: "the customer asked for a person",
    urgent: "urgent words (raised to high priority)",
    low_confidence: "the bot was not confident enough",
    not_helpful: "the bot's answers did not help",
    bot_unavailable: "the bot was unavailable",
  };
  const ROLES = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };
  const $ = (id) => document.getElementById(id);

  let token = sessionStorage.getItem(TOKEN_KEY);
  let me = null; // {id, name, email, role, presence, ...}
  const convs = new Map(); // conversation id -> summary
  let queueItems = []; // GET /api/queue
  let queueLoaded = false;
  const seenTickets = new Set(); // tickets seen in the queue (a new one beeps)
  const unread = new Map(); // conversation id -> customer messages not yet seen
  const drafts = new Map(); // conversation id -> {text, mode}
  let openId = null;
  let openData = null; // GET /api/conversations/{id} for the open conversation
  let openNodes = new Map(); // "m12" / "n3" -> transcript element
  let agentsList = [];
  let teamsList = [];
  let canned = [];
  const cannedUi = { items: [], index: 0 };
  let ws = null;
  let wsAttempt = 0;
  let wsTimer = null;
  let dropped = false; // the socket was lost, so frames may have been missed
  let timers = [];
  let queueTimer = null;
  let queueSeq = 0;
  let queueShown = 0;
  let detailTimer = null;
  let detailSeq = 0; // GET /api/conversations/{id} requests sent
  let detailShown = 0; // the latest of them rendered
  let typingSentAt = 0;
  let typingHideTimer = null;
  let audio = null;

  // ---- DOM helpers -----------------------------------------------------------------------

  // h("div", {class: "x"}, "text", child, ...): strings become text nodes, never markup.
  function h(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) continue;
      if (typeof value === "function") node.addEventListener(name.replace(/^on/, ""), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return node;
  }

  // A link only for http(s) URLs; anything else (javascript:, data:) is plain text.
  const { safeUrl, link } = window.FrontlineMarkdown;

  function time(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString();
  }

  function shortTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleString();
  }

  function excerpt(text, n) {
    const s = String(text || "").replace(/\s+/g, " ").trim();
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(Math.abs(seconds)));
    const pad = (x) => String(x).padStart(2, "0");
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  function score(value) {
    const n = Number(value);
    return value !== null && value !== undefined && isFinite(n) ? n.toFixed(2) : "—";
  }

  function reasonText(reason) {
    return REASONS[reason] || String(reason || "—");
  }

  function plain(markdown) {
    // Snippets are Markdown; a chat reply is plain text.
    return String(markdown || "").replace(/\*\*|__|`/g, "").replace(/\[([^\]]*)\]\(([^)]*)\)/g, "$1 ($2)").trim();
  }

  // ---- Errors and API --------------------------------------------------------------------

  function showError(text) {
    $("error").textContent = text;
    $("error").hidden = !text;
  }

  function detailOf(data, res) {
    const detail = data && data.detail;
    if (typeof detail === "string") return detail;
    // FastAPI validation errors are a list of {msg, loc}.
    if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
    return res.status + " " + (res.statusText || "error");
  }

  async function api(method, path, body) {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new Error("Cannot reach the hub. Check your connection and try again.");
    }
    const data = await res.json().catch(() => null);
    if (res.status === 401 && path !== "/api/auth/login") {
      logout();
      throw new Error("Your session has ended. Please sign in again.");
    }
    if (!res.ok) {
      const error = new Error(detailOf(data, res));
      error.status = res.status;
      throw error;
    }
    return data;
  }

  // Every user action reports its own failure and clears the line when it works.
  function run(promise) {
    return promise.then(() => showError(""), (err) => showError(err.message));
  }

  // ---- Attention: title badge and beep -----------------------------------------------------

  function updateTitle() {
    let n = queueItems.length;
    for (const count of unread.values()) n += count;
    document.title = n > 0 ? "(" + n + ") " + TITLE : TITLE;
  }

  function soundOn() {
    try { return localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { return true; }
  }

  function beep() {
    if (!soundOn()) return;
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      if (audio.state === "suspended") audio.resume();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const t = audio.currentTime;
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(660, t + 0.09);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.22);
    } catch (e) { /* sound is a nicety */ }
  }

  // ---- Live clocks ---------------------------------------------------------------------

  // An element with class "tick" shows a clock: data-base seconds at data-at (performance.now()),
  // counting up (waiting) or down (SLA); the server's figures are re-read every 30 s.
  function clock(kind, base, label) {
    const node = h("span", {
      class: "tick tick-" + kind, "data-kind": kind, "data-base": String(base),
      "data-at": String(performance.now()), "data-label": label || "",
    });
    paintClock(node);
    return node;
  }

  function paintClock(node) {
    const elapsed = (performance.now() - Number(node.getAttribute("data-at"))) / 1000;
    const base = Number(node.getAttribute("data-base"));
    const label = node.getAttribute("data-label");
    if (node.getAttribute("data-kind") === "wait") {
      node.textContent = "waiting " + duration(base + elapsed);
      return;
    }
    const left = base - elapsed;
    node.textContent = left >= 0 ? label + " due in " + duration(left) : label + " overdue by " + duration(left);
    node.classList.toggle("overdue", left < 0);
    node.classList.toggle("soon", left >= 0 && left < 300);
  }

  function tick() {
    for (const node of document.querySelectorAll(".tick")) paintClock(node);
  }

  function slaLine(sla) {
    // First response while it is due, then resolution; paused while pending.
    if (!sla) return null;
    const first = sla.first_response || {};
    const resolution = sla.resolution || {};
    if (first.seconds_left !== null && first.seconds_left !== undefined) {
      return clock("sla", first.seconds_left, "First reply");
    }
    if (resolution.paused) return h("span", { class: "sla paused" }, "Resolution clock paused");
    if (resolution.seconds_left !== null && resolution.seconds_left !== undefined) {
      return clock("sla", resolution.seconds_left, "Resolution");
    }
    return null;
  }

  // ---- Session ---------------------------------------------------------------------------

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    $("topnav").hidden = false;
    $("presence-box").hidden = false;
    $("sound-box").hidden = false;
    $("sound").checked = soundOn();
    showMe();
    connectSocket();
    timers.forEach(clearInterval);
    timers = [setInterval(tick, 1000), setInterval(() => loadQueue().catch(() => {}), QUEUE_POLL_MS)];
    run(Promise.all([loadMe(), loadConversations(), loadQueue(), loadPeople(), loadCanned()]));
  }

  function logout() {
    token = null;
    me = null;
    sessionStorage.removeItem(TOKEN_KEY);
    closeSocket();
    timers.forEach(clearInterval);
    timers = [];
    convs.clear();
    queueItems = [];
    queueLoaded = false;
    seenTickets.clear();
    unread.clear();
    drafts.clear();
    closeConversation();
    for (const id of ["queue", "mine", "recent"]) $(id).replaceChildren();
    $("me").textContent = "";
    $("live").textContent = "";
    for (const id of ["logout", "topnav", "presence-box", "sound-box", "app"]) $(id).hidden = true;
    $("login").hidden = false;
    updateTitle();
    $("login-email").focus();
  }

  function showMe() {
    $("me").textContent = me ? me.name : "";
    const presence = (me && me.presence) || "online";
    if (presence === "online" || presence === "away") $("presence").value = presence;
    $("presence-dot").className = "presence-dot presence-" + presence;
  }

  async function loadMe() {
    const agent = await api("GET", "/api/me");
    me = agent;
    showMe();
    renderLists();
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { email: $("login-email").value.trim(), password: $("login-password").value };
    run(api("POST", "/api/auth/login", body).then((data) => {
      token = data.token;
      me = data.agent;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("login-password").value = "";
      start();
    }));
  });

  $("logout").addEventListener("click", () => { logout(); showError(""); });

  $("presence").addEventListener("change", () => {
    const presence = $("presence").value;
    run(api("PUT", "/api/me/presence", { presence: presence }).then((data) => {
      if (me) me.presence = data.presence;
      showMe();
    }));
  });

  $("sound").addEventListener("change", () => {
    try { localStorage.setItem(SOUND_KEY, $("sound").checked ? "on" : "off"); } catch (e) { /* ignore */ }
    if ($("sound").checked) beep(); // also unlocks audio after this user gesture
  });

  // ---- Lists: queue, mine, recent ------------------------------------------------------------

  function stamp(c) {
    return Date.parse(c.updated_at) || 0;
  }

  // Frames and a GET can cross on the wire: never let an older summary replace a newer one.
  function upsert(c) {
    const old = convs.get(c.id);
    if (old && stamp(old) > stamp(c)) return false;
    convs.set(c.id, c);
    return true;
  }

  function isMine(c) {
    return !!(me && c && c.state === "agent" && c.agent && c.agent.id === me.id);
  }

  async function loadConversations() {
    const data = await api("GET", "/api/conversations");
    for (const c of data.conversations || []) upsert(c);
    renderLists();
  }

  async function loadQueue() {
    const seq = ++queueSeq;
    const data = await api("GET", "/api/queue");
    if (seq < queueShown) return; // an answer to a later request is on screen already
    queueShown = seq;
    const items = data.queue || [];
    let fresh = false;
    for (const item of items) {
      if (!seenTickets.has(item.id)) {
        seenTickets.add(item.id);
        fresh = true;
      }
    }
    if (fresh && queueLoaded) beep();
    queueLoaded = true;
    queueItems = items;
    renderQueue();
  }

  function scheduleQueue() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(() => loadQueue().catch((err) => showError(err.message)), 150);
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
    const row = h("button", {
      type: "button", class: "conv-item queue-item prio-row-" + item.priority,
      "data-id": String(item.conversation_id), "data-ticket": String(item.id), "data-state": "queued",
      "aria-current": item.conversation_id === openId ? "true" : null,
      onclick: () => openConversation(item.conversation_id),
    },
    h("span", { class: "qi-head" }, prioBadge(item.priority), " #" + item.number, " · ", item.channel || "widget",
      h("span", { class: "qi-wait" }, clock("wait", item.waiting_seconds || 0))),
    h("span", { class: "qi-subject" }, excerpt(item.subject, 90) || "(no subject)"),
    h("span", { class: "qi-meta" },
      (item.contact && item.contact.name) || "Unknown contact",
      item.category ? " · " + item.category : "",
      item.team ? " · " + item.team.name : ""),
    h("span", { class: "qi-sla" }, slaLine(item.sla)));
    return row;
  }

  function renderQueue() {
    $("queue-count").textContent = String(queueItems.length);
    replaceRows($("queue"), queueItems.map(queueRow), "Nobody is waiting.");
    updateTitle();
  }

  function convRow(c, cls) {
    const t = c.ticket;
    const count = unread.get(c.id) || 0;
    return h("button", {
      type: "button", class: "conv-item " + cls + " state-" + c.state,
      "data-id": String(c.id), "data-state": String(c.state),
      "aria-current": c.id === openId ? "true" : null,
      onclick: () => openConversation(c.id),
    },
    h("span", { class: "qi-head" },
      t ? prioBadge(t.priority) : null,
      (t ? " #" + t.number : "Conversation " + c.id), " · ", c.state,
      t && t.status === "pending" ? h("span", { class: "chip" }, "pending") : null,
      count ? h("span", { class: "unread", "aria-label": count + " unread" }, String(count)) : null),
    h("span", { class: "qi-meta" },
      (c.contact && c.contact.name) || "Unknown contact",
      c.agent && !isMine(c) ? " → " + c.agent.name : ""),
    h("span", { class: "qi-last" }, excerpt(c.last_message && c.last_message.text, 80)));
  }

  function renderLists() {
    const all = Array.from(convs.values()).sort((a, b) => stamp(b) - stamp(a));
    const mine = all.filter(isMine);
    $("mine-count").textContent = String(mine.length);
    replaceRows($("mine"), mine.map((c) => convRow(c, "mine-item")), "No conversations of yours.");
    const recent = all.filter((c) => !isMine(c)).slice(0, 50);
    replaceRows($("recent"), recent.map((c) => convRow(c, "recent-item")), "No conversations yet.");
    updateTitle();
  }

  function updateConversation(c) {
    if (!c || !upsert(c)) return;
    renderLists();
    if (c.id === openId) {
      renderOpen(c);
      scheduleDetail();
    }
  }

  // ---- People (transfers) and canned responses ------------------------------------------------

  async function loadPeople() {
    const [agents, teams] = await Promise.all([api("GET", "/api/agents"), api("GET", "/api/teams")]);
    agentsList = agents.agents || [];
    teamsList = teams.teams || [];
    renderTransferOptions();
  }

  function renderTransferOptions() {
    const select = $("transfer-to");
    const chosen = select.value;
    const others = agentsList.filter((a) => !me || a.id !== me.id);
    const agentGroup = h("optgroup", { label: "Agents" },
      others.map((a) => h("option", { value: "agent:" + a.id },
        a.name + " (" + a.presence + (a.load !== undefined ? ", " + a.load + "/" + a.capacity : "") + ")")));
    const teamGroup = h("optgroup", { label: "Teams" },
      teamsList.map((t) => h("option", { value: "team:" + t.id }, t.name)));
    select.replaceChildren(h("option", { value: "" }, "Transfer to…"),
      ...(others.length ? [agentGroup] : []), ...(teamsList.length ? [teamGroup] : []));
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
  }

  async function loadCanned() {
    const data = await api("GET", "/api/canned-responses");
    canned = data.canned_responses || [];
  }

  // ---- Open conversation -----------------------------------------------------------------

  function saveDraft() {
    if (openId === null) return;
    const text = $("reply").value;
    const mode = currentMode();
    if (text || mode !== "reply") drafts.set(openId, { text: text, mode: mode });
    else drafts.delete(openId);
  }

  function closeConversation() {
    saveDraft();
    openId = null;
    openData = null;
    openNodes = new Map();
    $("transcript").replaceChildren();
    $("detail").hidden = true;
    $("side").hidden = true;
    $("placeholder").hidden = false;
    hideCanned();
  }

  function openConversation(id) {
    if (id !== openId) {
      saveDraft();
      openId = id;
      openData = null;
      openNodes = new Map();
      $("transcript").replaceChildren();
      for (const pid of ["ticket", "bot-attempts", "contact", "history"]) $(pid).replaceChildren();
      $("typing").textContent = "";
      const draft = drafts.get(id);
      $("reply").value = draft ? draft.text : "";
      setMode(draft ? draft.mode : "reply");
      hideCanned();
    }
    unread.delete(id);
    $("placeholder").hidden = true;
    $("detail").hidden = false;
    $("side").hidden = false;
    renderLists();
    renderQueue();
    if (convs.has(id)) renderOpen(convs.get(id));
    loadPeople().catch(() => {}); // fresh presence and load for the transfer list
    return run(refreshOpen());
  }

  function scheduleDetail() {
    clearTimeout(detailTimer);
    detailTimer = setTimeout(() => { if (openId !== null) refreshOpen().catch((err) => showError(err.message)); }, 200);
  }

  async function refreshOpen() {
    const id = openId;
    const seq = ++detailSeq;
    const data = await api("GET", "/api/conversations/" + encodeURIComponent(id));
    if (openId !== id) return; // the agent clicked elsewhere meanwhile
    // Responses can overtake each other: never let an older read replace a newer one.
    if (seq < detailShown) return;
    detailShown = seq;
    openData = data;
    upsert(data.conversation);
    convs.set(id, data.conversation);
    renderLists();
    renderOpen(data.conversation);
    for (const m of data.messages || []) addMessage(m);
    for (const n of data.notes || []) addNote(n);
    renderSide();
  }

  function renderOpen(c) {
    const contact = (c.contact && c.contact.name) || "Unknown contact";
    const t = c.ticket;
    $("conv-title").textContent = (t ? "Ticket #" + t.number + " · " : "Conversation #" + c.id + " · ") + contact;
    const sub = [c.channel || "widget", c.state + (c.agent ? " (" + c.agent.name + ")" : "")];
    if (t) sub.push("priority " + t.priority, "handed off: " + reasonText(t.reason));
    $("conv-sub").textContent = sub.join(" · ");

    // Only hints: the hub decides (409); disabled buttons just avoid pointless clicks.
    const mine = isMine(c);
    const active = !!(t && ["new", "open", "pending"].indexOf(t.status) >= 0);
    $("takeover").disabled = c.state !== "queued";
    $("pending").disabled = !(mine && t && (t.status === "new" || t.status === "open"));
    $("resolve").disabled = c.state === "resolved" || (c.state === "agent" && !mine);
    $("handback").disabled = !(mine && active);
    $("transfer").disabled = !(active && (c.state === "queued" || c.state === "agent"));
    $("transfer-to").disabled = $("transfer").disabled;
    updateComposer();
  }

  function currentMode() {
    return $("mode-note").checked ? "note" : "reply";
  }

  function setMode(mode) {
    $("mode-note").checked = mode === "note";
    $("mode-reply").checked = mode !== "note";
    updateComposer();
  }

  function updateComposer() {
    const c = openId !== null ? convs.get(openId) : null;
    const note = currentMode() === "note";
    const canReply = !!c && isMine(c);
    const enabled = note || canReply;
    $("reply-form").className = note ? "mode-note" : "mode-reply";
    $("reply").disabled = !enabled;
    $("send-reply").disabled = !enabled;
    $("send-reply").textContent = note ? "Add note" : "Send";
    $("reply").placeholder = note
      ? "Internal note: only agents see it, never the customer."
      : canReply ? "Reply to the customer… (type / for canned responses)" : "Take over the conversation to reply.";
  }

  for (const id of ["mode-reply", "mode-note"]) $(id).addEventListener("change", updateComposer);

  // ---- Transcript ------------------------------------------------------------------------

  function sourceItem(s) {
    return h("li", null, link(s.url, s.title || s.article_id || "article", "source"), " (" + score(s.score) + ")");
  }

  // Messages and notes in time order; live frames can arrive before the GET with the history.
  function place(node) {
    const transcript = $("transcript");
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

  function addMessage(m) {
    if (!m || m.id === undefined || openNodes.has("m" + m.id)) return;
    const role = ROLES[m.role] ? m.role : "system";
    const node = h("div", {
      class: "msg role-" + role, "data-role": role, "data-id": String(m.id),
      "data-ts": String(Date.parse(m.created_at) || 0), "data-seq": String(m.id),
    },
    h("div", { class: "msg-head" },
      h("span", { class: "msg-role" }, ROLES[role]),
      m.author ? h("span", { class: "msg-author" }, m.author) : null,
      h("time", { datetime: String(m.created_at || "") }, time(m.created_at))),
    // The widget shows bot and agent messages as (safe) Markdown: show them as the customer saw them.
    role === "bot" || role === "agent"
      ? window.FrontlineMarkdown.render(m.text, "msg-text md", "md-heading")
      : h("div", { class: "msg-text" }, m.text));
    if (role === "bot" && Array.isArray(m.sources) && m.sources.length) {
      node.append(h("ul", { class: "msg-sources", "aria-label": "Sources" }, m.sources.filter(Boolean).map(sourceItem)));
    }
    if (Array.isArray(m.buttons) && m.buttons.length) {
      node.append(h("div", { class: "msg-buttons" }, "Offered: ",
        m.buttons.filter((b) => b && b.title).map((b) => h("span", { class: "chip" }, b.title))));
    }
    openNodes.set("m" + m.id, node);
    place(node);
  }

  function addNote(n) {
    if (!n || n.id === undefined || openNodes.has("n" + n.id)) return;
    const node = h("div", {
      class: "msg note", "data-role": "note", "data-note-id": String(n.id),
      "data-ts": String(Date.parse(n.created_at) || Date.now()), "data-seq": "0",
    },
    h("div", { class: "msg-head" },
      h("span", { class: "msg-role" }, "Internal note"),
      n.author ? h("span", { class: "msg-author" }, n.author) : null,
      h("span", { class: "note-private" }, "not sent to the customer"),
      h("time", { datetime: String(n.created_at || "") }, time(n.created_at))),
    h("div", { class: "msg-text" }, n.text));
    openNodes.set("n" + n.id, node);
    place(node);
  }

  // ---- Side panel: ticket, bot attempts, customer, history -----------------------------------

  function field(name, value) {
    return [h("dt", null, name), h("dd", null, value === null || value === undefined || value === "" ? "—" : value)];
  }

  function slaText(clockData, label) {
    if (!clockData || !clockData.due) return "—";
    if (clockData.done_at) return (clockData.breached ? "missed" : "met") + " (due " + shortTime(clockData.due) + ")";
    if (clockData.paused) return "paused";
    const node = h("span", null, clock("sla", clockData.seconds_left || 0, label), " · due " + shortTime(clockData.due));
    return node;
  }

  function renderTicket(t) {
    const box = $("ticket");
    const form = box.querySelector("form");
    // Do not throw away what the agent is typing in the ticket fields.
    if (form && (form.contains(document.activeElement) || form.getAttribute("data-dirty") === "1")
      && Number(form.getAttribute("data-ticket")) === (t && t.id)) return;
    if (!t) {
      box.replaceChildren(h("p", { class: "muted" }, "No ticket: the bot is handling this conversation."));
      return;
    }
    const prio = h("select", { id: "ticket-priority", name: "priority" },
      ["urgent", "high", "normal", "low"].map((p) => h("option", { value: p, selected: p === t.priority }, p)));
    const category = h("input", { id: "ticket-category", name: "category", type: "text", maxlength: "100", value: t.category || "" });
    const tags = h("input", { id: "ticket-tags", name: "tags", type: "text", value: (t.tags || []).join(", "), "aria-describedby": "tags-hint" });
    const sla = t.sla || {};
    const csat = t.csat || {};
    const newForm = h("form", { id: "ticket-form", "data-ticket": String(t.id) },
      h("dl", null,
        field("Ticket", "#" + t.number),
        field("Status", t.status),
        field("Hand-off reason", reasonText(t.reason)),
        field("Subject", t.subject),
        field("Team", t.team && t.team.name),
        field("Assignee", t.assignee && t.assignee.name),
        field("Channel", [t.channel, t.language].filter(Boolean).join(" · ")),
        field("First reply", slaText(sla.first_response, "First reply")),
        field("Resolution", slaText(sla.resolution, "Resolution")),
        csat.score ? field("Satisfaction", csat.score + "/5" + (csat.comment ? " — " + csat.comment : "")) : null),
      h("div", { class: "ticket-fields" },
        h("label", { for: "ticket-priority" }, "Priority"), prio,
        h("label", { for: "ticket-category" }, "Category"), category,
        h("label", { for: "ticket-tags" }, "Tags"), tags,
        h("span", { id: "tags-hint", class: "hint" }, "comma-separated"),
        h("button", { type: "submit", id: "ticket-save" }, "Save ticket")));
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
        scheduleQueue();
        return refreshOpen();
      }));
    });
    box.replaceChildren(newForm);
  }

  function renderAttempts(t) {
    const box = $("bot-attempts");
    const attempts = (t && t.bot_attempts) || [];
    if (!attempts.length) {
      box.replaceChildren(h("p", { class: "muted" }, t ? "The bot did not try a knowledge-base answer." : "No ticket yet."));
      return;
    }
    box.replaceChildren(h("ol", { class: "attempts" }, attempts.map((a) => {
      const used = new Set((a.sources || []).map((s) => s && s.article_id));
      const hits = (a.hits && a.hits.length ? a.hits : a.sources || []).filter(Boolean);
      return h("li", { class: "attempt" },
        h("div", { class: "attempt-q" }, h("span", { class: "label" }, "Asked: "), a.question || "—"),
        h("div", null, h("span", { class: "chip decision-" + a.decision }, a.decision || "—"),
          a.feedback ? h("span", { class: "chip feedback-" + a.feedback }, a.feedback.replace("_", " ")) : null),
        a.answer ? h("div", { class: "attempt-a" }, h("span", { class: "label" }, "Bot said: "), excerpt(plain(a.answer), 240)) : null,
        hits.length ? h("table", { class: "hits" },
          h("thead", null, h("tr", null, h("th", { scope: "col" }, "Article"), h("th", { scope: "col" }, "Score"))),
          h("tbody", null, hits.map((hit) => h("tr", { class: used.has(hit.article_id) ? "used" : null },
            h("td", null, link(hit.url, hit.title || hit.article_id || "article", "source"),
              used.has(hit.article_id) ? h("span", { class: "chip" }, "used") : null),
            h("td", { class: "num" }, score(hit.score)))))) : null);
    })));
  }

  function renderContact(record) {
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
          h("button", { type: "button", class: "linkish", onclick: () => openConversation(c.id) },
            "#" + c.id + " · " + c.state + " · " + shortTime(c.created_at)))))
        : h("p", { class: "muted" }, "None."),
      h("h3", null, "Notes on the customer"),
      (record.notes || []).length
        ? h("ul", { class: "plain-list notes" }, record.notes.slice(0, 10).map((n) => h("li", null,
          h("span", { class: "msg-author" }, n.author), " ", excerpt(n.text, 200))))
        : h("p", { class: "muted" }, "None."));
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

  function renderHistory(t) {
    const events = (t && t.history) || [];
    $("history").replaceChildren(...events.map((e) => h("li", null,
      h("span", { class: "event-kind" }, e.kind.replace(/_/g, " ")),
      e.agent ? " · " + e.agent.name : "",
      " · ", h("time", { datetime: e.created_at }, shortTime(e.created_at)),
      eventText(e) ? h("div", { class: "muted" }, excerpt(eventText(e), 160)) : null)));
    if (!events.length) $("history").append(h("li", { class: "muted" }, "Nothing yet."));
  }

  function renderSide() {
    if (!openData) return;
    renderTicket(openData.ticket);
    renderAttempts(openData.ticket);
    renderContact(openData.contact);
    renderHistory(openData.ticket);
  }

  // ---- Actions -----------------------------------------------------------------------------

  function action(verb, body) {
    const id = openId;
    if (id === null) return Promise.resolve();
    return run(api("POST", "/api/conversations/" + encodeURIComponent(id) + "/" + verb, body)
      .then((data) => {
        updateConversation(data.conversation);
        scheduleQueue();
        if (verb === "takeover" && openId === id) {
          setMode("reply");
          $("reply").focus();
        }
      }, (err) => {
        // 409: someone else was quicker, or the state moved on; show the truth.
        if (err.status === 409) {
          scheduleQueue();
          scheduleDetail();
          if (verb === "takeover") throw new Error("Could not take it over: " + err.message);
        }
        throw err;
      }));
  }
  $("takeover").addEventListener("click", () => action("takeover"));
  $("pending").addEventListener("click", () => action("pending"));
  $("resolve").addEventListener("click", () => action("resolve"));
  $("handback").addEventListener("click", () => action("handback"));
  $("transfer").addEventListener("click", () => {
    const value = $("transfer-to").value;
    if (!value) { showError("Choose an agent or a team to transfer to."); return; }
    const [kind, rawId] = value.split(":");
    const body = kind === "team" ? { team_id: Number(rawId) } : { agent_id: Number(rawId) };
    action("transfer", body).then(() => { $("transfer-to").value = ""; });
  });

  // ---- Composer: reply, note, canned responses, typing ---------------------------------------

  function insertText(text) {
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

  function fillPlaceholders(text) {
    const c = openId !== null ? convs.get(openId) : null;
    const customer = (c && c.contact && c.contact.name) || "there";
    return String(text).replace(/\{customer\}/g, customer).replace(/\{agent\}/g, (me && me.name) || "");
  }

  function cannedMatches(query) {
    const q = query.trim().toLowerCase();
    // Shortcut matches first, then titles, then texts.
    const rank = (r) => {
      const fields = [r.shortcut, r.title, r.text].map((s) => String(s || "").toLowerCase());
      if (fields[0].startsWith(q)) return 0;
      const i = fields.findIndex((s) => s.indexOf(q) >= 0);
      return i < 0 ? -1 : i + 1;
    };
    return canned.map((r) => [rank(r), r]).filter(([k]) => k >= 0)
      .sort((a, b) => a[0] - b[0]).map(([, r]) => r);
  }

  function showCanned(items) {
    const list = $("canned");
    cannedUi.items = items;
    cannedUi.index = Math.min(cannedUi.index, Math.max(0, items.length - 1));
    if (!items.length) {
      list.replaceChildren(h("li", { class: "muted", role: "option", "aria-disabled": "true" },
        canned.length ? "No canned response matches." : "No canned responses."));
    } else {
      list.replaceChildren(...items.map((r, i) => h("li", {
        id: "canned-" + i, role: "option", class: "canned-item", "aria-selected": i === cannedUi.index ? "true" : "false",
        onmousedown: (ev) => { ev.preventDefault(); chooseCanned(i); },
      }, h("strong", null, "/" + r.shortcut), " ", h("span", null, r.title), h("div", { class: "muted" }, excerpt(fillPlaceholders(r.text), 110)))));
    }
    list.hidden = false;
    $("reply").setAttribute("aria-expanded", "true");
    if (items.length) $("reply").setAttribute("aria-activedescendant", "canned-" + cannedUi.index);
    else $("reply").removeAttribute("aria-activedescendant");
  }

  function hideCanned() {
    $("canned").hidden = true;
    cannedUi.items = [];
    cannedUi.index = 0;
    $("reply").setAttribute("aria-expanded", "false");
    $("reply").removeAttribute("aria-activedescendant");
  }

  function chooseCanned(i) {
    const r = cannedUi.items[i];
    if (!r) return;
    const box = $("reply");
    box.value = fillPlaceholders(r.text);
    hideCanned();
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  function updateCanned() {
    const value = $("reply").value;
    // "/" at the start of an otherwise one-line box opens the list; what follows filters it.
    if (/^\/[^\n]*$/.test(value)) {
      cannedUi.index = 0;
      showCanned(cannedMatches(value.slice(1)));
    } else if (!$("canned").hidden) {
      hideCanned();
    }
  }

  function sendTyping() {
    const c = openId !== null ? convs.get(openId) : null;
    if (!ws || ws.readyState !== WebSocket.OPEN || currentMode() !== "reply" || !isMine(c)) return;
    const now = Date.now();
    if (now - typingSentAt < TYPING_SEND_MS) return;
    typingSentAt = now;
    ws.send(JSON.stringify({ type: "typing", conversation_id: openId }));
  }

  $("reply").addEventListener("input", () => {
    updateCanned();
    if ($("reply").value.trim()) sendTyping();
  });

  $("reply").addEventListener("blur", () => setTimeout(hideCanned, 150));

  $("reply").addEventListener("keydown", (ev) => {
    if (!$("canned").hidden) {
      const n = cannedUi.items.length;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (n) {
          cannedUi.index = (cannedUi.index + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
          showCanned(cannedUi.items);
        }
        return;
      }
      if ((ev.key === "Enter" || ev.key === "Tab") && !ev.shiftKey && n) {
        ev.preventDefault();
        chooseCanned(cannedUi.index);
        return;
      }
      if (ev.key === "Escape") {
        ev.preventDefault();
        hideCanned();
        return;
      }
    }
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("reply-form").requestSubmit();
    }
  });

  $("reply-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = openId;
    const text = $("reply").value;
    const note = currentMode() === "note";
    if (id === null || !text.trim() || $("send-reply").disabled) return;
    $("send-reply").disabled = true;
    const path = "/api/conversations/" + encodeURIComponent(id) + (note ? "/notes" : "/messages");
    // The text stays in the box until the hub has stored it, so a failure loses nothing.
    run(api("POST", path, { text: text })
      .then((data) => {
        if (openId === id) $("reply").value = "";
        drafts.delete(id);
        if (openId !== id) return;
        if (note) {
          addNote({ ...data.note, author: me && me.name, created_at: new Date().toISOString() });
        } else {
          addMessage(data.message);
        }
      })
      .finally(updateComposer));
  });

  // ---- Knowledge base ----------------------------------------------------------------------

  $("kb-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = $("kb-q").value.trim();
    if (!q) return;
    const list = $("kb-results");
    list.replaceChildren(h("li", { class: "muted" }, "Searching…"));
    run(api("GET", "/api/kb/search?q=" + encodeURIComponent(q)).then((data) => {
      const hits = data.hits || [];
      if (!hits.length) {
        list.replaceChildren(h("li", { class: "muted" }, "No articles found."));
        return;
      }
      list.replaceChildren(...hits.map((hit) => {
        const title = hit.title || hit.article_id || "article";
        const href = safeUrl(hit.url);
        return h("li", { class: "kb-hit", "data-article": String(hit.article_id) },
          h("div", { class: "kb-title" }, link(hit.url, title, "source"), h("span", { class: "score" }, score(hit.score))),
          hit.section ? h("div", { class: "muted" }, hit.section) : null,
          h("div", { class: "kb-snippet" }, excerpt(plain(hit.snippet), 220)),
          h("div", { class: "kb-actions" },
            h("button", {
              type: "button", class: "insert-link", disabled: !href,
              "aria-label": "Insert link to " + title,
              onclick: () => insertText(title + " — " + href),
            }, "Insert link"),
            h("button", {
              type: "button", class: "insert-snippet", "aria-label": "Insert text of " + title,
              onclick: () => insertText(plain(hit.snippet) + (href ? "\n" + href : "")),
            }, "Insert text")));
      }));
    }, (err) => { list.replaceChildren(); throw err; }));
  });

  // Keyboard shortcuts that work anywhere in the console.
  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey || $("app").hidden) return;
    if (ev.code === "KeyK") {
      ev.preventDefault();
      $("kb-panel").open = true;
      if (!$("side").hidden) $("kb-q").focus();
    } else if (ev.code === "KeyN" && openId !== null) {
      ev.preventDefault();
      setMode(currentMode() === "note" ? "reply" : "note");
      if (!$("reply").disabled) $("reply").focus();
    }
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && openId !== null && unread.has(openId)) {
      unread.delete(openId);
      renderLists();
    }
  });

  // ---- Live socket -----------------------------------------------------------------------

  function closeSocket() {
    clearTimeout(wsTimer);
    const sock = ws;
    ws = null; // handlers ignore frames from a socket that is no longer current
    if (sock) sock.close();
  }

  function onMessageFrame(frame) {
    const m = frame.message;
    const id = frame.conversation_id;
    if (!m) return;
    if (id === openId) addMessage(m);
    if (m.role === "customer") {
      const c = convs.get(id);
      if (isMine(c) && (id !== openId || document.hidden)) {
        unread.set(id, (unread.get(id) || 0) + 1);
        beep();
        renderLists();
      }
      if (id === openId) $("typing").textContent = "";
    }
  }

  function onTyping(frame) {
    if (frame.conversation_id !== openId || frame.role === "agent") return;
    $("typing").textContent = (frame.name || "The customer") + " is typing…";
    clearTimeout(typingHideTimer);
    typingHideTimer = setTimeout(() => { $("typing").textContent = ""; }, TYPING_SHOW_MS);
  }

  function onPresence(frame) {
    const agent = agentsList.find((a) => a.id === frame.agent_id);
    if (agent) {
      agent.presence = frame.presence;
      renderTransferOptions();
    }
    if (me && frame.agent_id === me.id) {
      me.presence = frame.presence;
      showMe();
    }
  }

  function handleFrame(frame) {
    switch (frame.type) {
      case "conversation":
        updateConversation(frame.conversation);
        scheduleQueue();
        break;
      case "message": onMessageFrame(frame); break;
      case "note":
        if (frame.note && frame.note.conversation_id === openId) addNote(frame.note);
        break;
      case "ticket_event":
        if (frame.conversation_id === openId) scheduleDetail();
        scheduleQueue();
        break;
      case "typing": onTyping(frame); break;
      case "presence": onPresence(frame); break;
      default: break; // newer hubs may add frames; ignore what we do not know
    }
  }

  function connectSocket() {
    if (!token) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const sock = new WebSocket(scheme + location.host + "/ws/agents?token=" + encodeURIComponent(token));
    ws = sock;
    sock.onopen = () => {
      if (sock !== ws) return;
      $("live").textContent = "Live";
      wsAttempt = 0;
      if (dropped) {
        // Catch up on what happened while the socket was down.
        dropped = false;
        run(Promise.all([loadConversations(), loadQueue(), loadMe()])
          .then(() => (openId !== null ? refreshOpen() : null)));
      }
    };
    sock.onmessage = (ev) => {
      if (sock !== ws) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handleFrame(frame);
    };
    sock.onclose = (ev) => {
      if (sock !== ws) return;
      ws = null;
      if (ev.code === 4401) {
        logout();
        showError("Your session has ended. Please sign in again.");
        return;
      }
      dropped = true;
      const delay = Math.min(1000 * Math.pow(2, wsAttempt), 10000);
      wsAttempt += 1;
      $("live").textContent = "Reconnecting…";
      wsTimer = setTimeout(connectSocket, delay);
    };
  }

  // ---- Boot ------------------------------------------------------------------------------

  if (!token) {
    logout();
  } else {
    // A token from this tab's earlier page load: check it before showing the console.
    api("GET", "/api/me").then((agent) => { me = agent; start(); }, (err) => {
      if (token) start(); // not a 401 (the hub may be down): the console retries on its own
      showError(err.message);
    });
  }
})();
