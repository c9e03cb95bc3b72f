// Frontline agent console: REST for reads and actions, /ws/agents for live updates.
// Protocol in docs/protocol.md. Data from the hub is rendered with textContent only.
(function () {
  "use strict";

  const TOKEN_KEY = "frontline.agent_token";
  const STATE_ORDER = { queued: 0, agent: 1 }; // everything else sorts after these
  const $ = (id) => document.getElementById(id);

  let token = sessionStorage.getItem(TOKEN_KEY);
  let me = null;
  const convs = new Map(); // conversation id -> summary
  let openId = null;
  let openMsgs = new Map(); // message id -> element, for the open conversation
  let ws = null;
  let wsAttempt = 0;
  let wsTimer = null;
  let dropped = false; // the socket was lost, so frames may have been missed

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function time(iso) {
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString();
  }

  function excerpt(text, n) {
    const s = String(text || "").replace(/\s+/g, " ").trim();
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
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
    if (!res.ok) throw new Error(detailOf(data, res));
    return data;
  }

  // Every user action reports its own failure and clears the line when it works.
  function run(promise) {
    return promise.then(() => showError(""), (err) => showError(err.message));
  }

  // ---- Session ---------------------------------------------------------------------------

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    $("me").textContent = me ? me.name : "";
    connectSocket();
    run(loadQueue());
  }

  function logout() {
    token = null;
    me = null;
    sessionStorage.removeItem(TOKEN_KEY);
    closeSocket();
    convs.clear();
    closeConversation();
    $("queue").replaceChildren();
    $("me").textContent = "";
    $("live").textContent = "";
    $("logout").hidden = true;
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-email").focus();
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

  // ---- Queue -----------------------------------------------------------------------------

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

  async function loadQueue() {
    const data = await api("GET", "/api/conversations");
    for (const c of data.conversations || []) upsert(c);
    renderQueue();
  }

  function sortedConversations() {
    const rank = (c) => (c.state in STATE_ORDER ? STATE_ORDER[c.state] : 2);
    return Array.from(convs.values()).sort((a, b) => rank(a) - rank(b) || stamp(b) - stamp(a));
  }

  function queueRow(c) {
    const t = c.ticket;
    const row = el("button", {
      type: "button", class: "queue-item state-" + c.state, "data-id": String(c.id), "data-state": String(c.state),
    });
    if (c.id === openId) row.setAttribute("aria-current", "true");
    row.append(
      el("span", { class: "qi-head" }, "#" + c.id + " · " + c.state + (t ? " · ticket " + t.number : "")),
      el("span", { class: "qi-meta" }, t ? t.priority + " · " + t.reason : "no ticket"),
      el("span", { class: "qi-contact" },
        ((c.contact && c.contact.name) || "Unknown contact") + (c.agent ? " → " + c.agent.name : "")),
      el("span", { class: "qi-last" }, excerpt(c.last_message && c.last_message.text, 80)),
    );
    row.addEventListener("click", () => openConversation(c.id));
    return row;
  }

  function renderQueue() {
    const queue = $("queue");
    // Rebuilding the list would drop keyboard focus; put it back on the same row.
    const focused = document.activeElement && queue.contains(document.activeElement)
      ? document.activeElement.getAttribute("data-id") : null;
    const rows = sortedConversations().map(queueRow);
    queue.replaceChildren(...(rows.length ? rows : [el("p", { class: "empty" }, "No conversations yet.")]));
    if (focused !== null) {
      const again = rows.find((r) => r.getAttribute("data-id") === focused);
      if (again) again.focus();
    }
  }

  function updateConversation(c) {
    if (!c || !upsert(c)) return;
    renderQueue();
    if (c.id === openId) renderOpen(c);
  }

  // ---- Open conversation -----------------------------------------------------------------

  function closeConversation() {
    openId = null;
    openMsgs = new Map();
    $("transcript").replaceChildren();
    $("detail").hidden = true;
    $("placeholder").hidden = false;
  }

  async function openConversation(id) {
    openId = id;
    openMsgs = new Map();
    $("transcript").replaceChildren();
    $("ticket").replaceChildren();
    $("placeholder").hidden = true;
    $("detail").hidden = false;
    renderQueue();
    if (convs.has(id)) renderOpen(convs.get(id));
    await run(refreshOpen());
  }

  async function refreshOpen() {
    const id = openId;
    const data = await api("GET", "/api/conversations/" + encodeURIComponent(id));
    if (openId !== id) return; // the agent clicked elsewhere meanwhile
    convs.set(id, data.conversation);
    renderQueue();
    renderOpen(data.conversation);
    for (const m of data.messages || []) addMessage(m);
  }

  function renderOpen(c) {
    const contact = (c.contact && c.contact.name) || "Unknown contact";
    $("conv-title").textContent = "Conversation #" + c.id + " · " + contact + " · " + c.state
      + (c.agent ? " (" + c.agent.name + ")" : "");

    const t = c.ticket;
    const ticket = $("ticket");
    if (!t) {
      ticket.replaceChildren(el("p", { class: "muted" }, "No ticket: the assistant is handling it."));
    } else {
      const dl = el("dl");
      const fields = [["Ticket", "#" + t.number], ["Status", t.status], ["Priority", t.priority],
        ["Reason", t.reason], ["Subject", t.subject]];
      for (const [name, value] of fields) dl.append(el("dt", null, name), el("dd", null, value == null ? "" : value));
      ticket.replaceChildren(dl);
    }

    // Only hints: the hub decides (409); disabled buttons just avoid pointless clicks.
    const mine = c.state === "agent" && (!me || !c.agent || c.agent.id === me.id);
    $("takeover").disabled = !(c.state === "queued" || c.state === "bot");
    $("resolve").disabled = c.state === "resolved";
    $("reply").disabled = !mine;
    $("send-reply").disabled = !mine;
    $("reply").placeholder = mine ? "" : "Take over the conversation to reply.";
  }

  function sourceItem(s) {
    const li = el("li");
    const url = typeof s.url === "string" ? s.url : "";
    const link = el("a", { class: "source" }, s.title || s.article_id || "article");
    // javascript: and data: URLs from a bad article must not become clickable links.
    if (/^https?:\/\//i.test(url)) {
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    const score = Number(s.score);
    li.append(link, document.createTextNode(" (" + (s.score != null && isFinite(score) ? score.toFixed(2) : "–") + ")"));
    return li;
  }

  function addMessage(m) {
    if (!m || m.id === undefined || openMsgs.has(m.id)) return;
    const node = el("div", { class: "msg role-" + m.role, "data-role": String(m.role), "data-id": String(m.id) });
    const head = el("div", { class: "msg-head" });
    head.append(el("span", { class: "msg-role" }, m.role));
    if (m.author) head.append(el("span", { class: "msg-author" }, m.author));
    head.append(el("time", { datetime: String(m.created_at || "") }, time(m.created_at)));
    node.append(head, el("div", { class: "msg-text" }, m.text));
    if (m.role === "bot" && Array.isArray(m.sources) && m.sources.length) {
      const list = el("ul", { class: "msg-sources", "aria-label": "Sources" });
      for (const s of m.sources) if (s) list.append(sourceItem(s));
      node.append(list);
    }
    openMsgs.set(m.id, node);

    // Keep id order: live frames can arrive before the GET that loads the history.
    const transcript = $("transcript");
    const later = Array.from(transcript.children).find((n) => Number(n.getAttribute("data-id")) > Number(m.id));
    transcript.insertBefore(node, later || null);
    if (!later) transcript.scrollTop = transcript.scrollHeight;
  }

  function action(verb) {
    const id = openId;
    if (id === null) return;
    run(api("POST", "/api/conversations/" + encodeURIComponent(id) + "/" + verb)
      .then((data) => updateConversation(data.conversation)));
  }
  $("takeover").addEventListener("click", () => action("takeover"));
  $("resolve").addEventListener("click", () => action("resolve"));

  $("reply").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("reply-form").requestSubmit();
    }
  });

  $("reply-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = openId;
    const text = $("reply").value;
    if (id === null || !text.trim() || $("send-reply").disabled) return;
    $("send-reply").disabled = true;
    // The text stays in the box until the hub has stored it, so a failure loses nothing.
    run(api("POST", "/api/conversations/" + encodeURIComponent(id) + "/messages", { text: text })
      .then((data) => {
        $("reply").value = "";
        if (openId === id) addMessage(data.message);
      })
      .finally(() => {
        const c = convs.get(openId);
        if (c) renderOpen(c);
      }));
  });

  // ---- Live socket -----------------------------------------------------------------------

  function closeSocket() {
    clearTimeout(wsTimer);
    const sock = ws;
    ws = null; // handlers ignore frames from a socket that is no longer current
    if (sock) sock.close();
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
        run(loadQueue().then(() => (openId !== null ? refreshOpen() : null)));
      }
    };
    sock.onmessage = (ev) => {
      if (sock !== ws) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (!frame) return;
      if (frame.type === "conversation") updateConversation(frame.conversation);
      else if (frame.type === "message" && frame.conversation_id === openId) addMessage(frame.message);
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
