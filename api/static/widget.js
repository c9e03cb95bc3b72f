// Frontline chat widget: one WebSocket to the hub, protocol in docs/protocol.md ("Widget WebSocket").
// Everything that came from the network is rendered with textContent, never innerHTML.
(function () {
  "use strict";
  // A page that includes the script twice must not get two widgets fighting over one token.
  if (window.__frontlineWidget) return;
  window.__frontlineWidget = true;

  const TOKEN_KEY = "frontline.token";
  const MAX_LEN = 4000; // the hub refuses longer texts; check here so a refusal never eats a message
  const ROLES = ["customer", "bot", "agent", "system"];

  // localStorage throws in some privacy modes; the widget still works, just without resuming.
  function loadToken() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function saveToken(token) {
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* see loadToken */ }
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function newClientId() {
    return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  // ---- DOM -------------------------------------------------------------------------------

  document.head.appendChild(el("link", { rel: "stylesheet", href: "/static/widget.css" }));

  const launcher = el("button", {
    type: "button", id: "fl-launcher", "aria-controls": "frontline-widget", "aria-expanded": "true",
  }, "Close chat");
  const panel = el("section", { id: "frontline-widget", "aria-label": "Tandem support chat" });
  const header = el("div", { class: "fl-header" });
  const title = el("div", { class: "fl-title" }, "Tandem support");
  const status = el("div", { id: "fl-status" }, "Connecting…");
  // Connection trouble gets its own line so #fl-status only ever says the conversation state.
  const conn = el("div", { id: "fl-conn", "aria-live": "polite" });
  const log = el("div", { id: "fl-log", role: "log", "aria-live": "polite" });
  const form = el("form", { class: "fl-form" });
  const input = el("input", {
    id: "fl-input", type: "text", "aria-label": "Message", autocomplete: "off",
    maxlength: String(MAX_LEN), placeholder: "Type a message…",
  });
  const sendBtn = el("button", { type: "submit", id: "fl-send" }, "Send");

  header.append(title, status, conn);
  form.append(input, sendBtn);
  panel.append(header, log, form);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.textContent = open ? "Close chat" : "Chat with us";
    if (open) input.focus({ preventScroll: true });
  }
  launcher.addEventListener("click", () => setOpen(panel.hidden));

  function mount() {
    document.body.append(panel, launcher);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // ---- Messages --------------------------------------------------------------------------

  const shown = new Map(); // message.id -> element; the hub may send a message more than once

  function sourceLink(source) {
    const link = el("a", { class: "fl-source" }, "Source: " + (source.title || source.article_id || "article"));
    const url = typeof source.url === "string" ? source.url : "";
    // Only web links get an href: a javascript: or data: URL from a bad article must not be clickable.
    if (/^https?:\/\//i.test(url)) {
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    return link;
  }

  function roleOf(m) {
    return ROLES.indexOf(m.role) >= 0 ? m.role : "system";
  }

  function fillMessage(node, m) {
    const role = roleOf(m);
    node.className = "fl-msg fl-" + role;
    node.setAttribute("data-role", role);
    node.setAttribute("data-id", String(m.id));
    node.replaceChildren();
    if (role === "agent" && m.author) node.appendChild(el("div", { class: "fl-author" }, m.author));
    node.appendChild(el("div", { class: "fl-text" }, m.text));
    if (role === "bot" && Array.isArray(m.sources)) {
      for (const s of m.sources) if (s) node.appendChild(sourceLink(s));
    }
    if (role === "bot" && Array.isArray(m.buttons) && m.buttons.length) {
      const row = el("div", { class: "fl-buttons" });
      for (const b of m.buttons) {
        if (!b || typeof b.title !== "string" || typeof b.payload !== "string") continue;
        const button = el("button", { type: "button", class: "fl-button" }, b.title);
        // The hub accepts a payload only if it is one of the bot's own latest buttons.
        button.addEventListener("click", () => queueMessage(b.title, b.payload));
        row.appendChild(button);
      }
      node.appendChild(row);
    }
  }

  // Stored messages stay in id order with pending ones at the bottom, because a reconnect's
  // welcome replays history that may be older than frames already on screen. Failed (never
  // stored) bubbles have no id and simply stay where they were.
  function place(node, id) {
    for (const other of log.children) {
      if (other === node) continue;
      const otherId = other.getAttribute("data-id");
      if (other.classList.contains("fl-pending") || (otherId !== null && Number(otherId) > id)) {
        log.insertBefore(node, other);
        return;
      }
    }
    log.appendChild(node);
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function addMessage(m) {
    if (!m || m.id === undefined || shown.has(m.id)) return;
    const node = el("div");
    fillMessage(node, m);
    shown.set(m.id, node);
    place(node, Number(m.id));
    scrollDown();
  }

  function clearTranscript() {
    for (const node of shown.values()) node.remove();
    shown.clear();
  }

  // ---- Outbox: a message is ours until the hub acks it ------------------------------------

  const outbox = []; // {client_id, text, sent, node}, oldest first

  function queueMessage(text, payload) {
    const item = { client_id: newClientId(), text: text, payload: payload || null, sent: false, node: null };
    item.node = el("div", {
      class: "fl-msg fl-customer fl-pending", "data-role": "customer", "data-client-id": item.client_id,
    });
    item.node.appendChild(el("div", { class: "fl-text" }, text));
    log.appendChild(item.node);
    scrollDown();
    outbox.push(item);
    flush();
  }

  function takeFromOutbox(predicate) {
    const i = outbox.findIndex(predicate);
    return i < 0 ? null : outbox.splice(i, 1)[0];
  }

  function onAck(frame) {
    const item = takeFromOutbox((it) => it.client_id === frame.client_id);
    const m = frame.message;
    if (!item) { addMessage(m); return; }
    if (!m || shown.has(m.id)) { item.node.remove(); return; }
    // Upgrade the pending bubble in place so screen readers do not hear the text twice.
    item.node.removeAttribute("data-client-id");
    fillMessage(item.node, m);
    shown.set(m.id, item.node);
    place(item.node, Number(m.id));
    scrollDown();
  }

  function onRefused(frame) {
    const error = frame.error;
    // Match by client_id when the hub echoes it; otherwise, as the hub handles frames in
    // order, the refusal is for the oldest message still in flight.
    const item = (frame.client_id && takeFromOutbox((it) => it.client_id === frame.client_id))
      || takeFromOutbox((it) => it.sent);
    if (!item) { setConn(error || "Something went wrong."); return; }
    item.node.classList.remove("fl-pending");
    item.node.classList.add("fl-failed");
    item.node.appendChild(el("div", { class: "fl-note" }, "Not sent: " + (error || "refused")));
  }

  // ---- Conversation state ----------------------------------------------------------------

  let conversationId = null;

  function setState(c) {
    const agentName = c.agent && c.agent.name ? c.agent.name : "An agent";
    const labels = {
      bot: "Assistant",
      queued: c.ticket_number != null ? "Waiting for an agent (ticket #" + c.ticket_number + ")" : "Waiting for an agent",
      agent: agentName + " joined",
      resolved: "Resolved",
    };
    status.textContent = labels[c.state] || String(c.state || "");
    status.setAttribute("data-state", String(c.state || ""));
  }

  function setConn(text) {
    conn.textContent = text || "";
  }

  // ---- Socket ----------------------------------------------------------------------------

  let ws = null;
  let ready = false; // true between welcome and close: only then may messages go out
  let attempt = 0;
  let helloToken = null;

  function flush() {
    if (!ready || !ws || ws.readyState !== WebSocket.OPEN) return;
    for (const item of outbox) {
      if (item.sent) continue;
      const frame = { type: "message", text: item.text, client_id: item.client_id };
      if (item.payload) frame.payload = item.payload;
      ws.send(JSON.stringify(frame));
      item.sent = true;
    }
  }

  function sendHello(sock, token) {
    helloToken = token;
    sock.send(JSON.stringify({ type: "hello", token: token }));
  }

  function onWelcome(frame) {
    saveToken(frame.token);
    const c = frame.conversation || {};
    // A new conversation (the old token was gone) must not show the old transcript.
    if (conversationId !== null && c.id !== conversationId) clearTranscript();
    conversationId = c.id;
    ready = true;
    attempt = 0;
    setConn("");
    setState(c);
    for (const m of frame.messages || []) addMessage(m);
    flush();
  }

  function handle(sock, frame) {
    switch (frame.type) {
      case "welcome": onWelcome(frame); break;
      case "ack": onAck(frame); break;
      case "message": addMessage(frame.message); break;
      case "state": setState(frame); break;
      case "error":
        if (!ready && helloToken !== null) {
          // The hub forgot our token (for example a reset database): start over as a new visitor.
          saveToken(null);
          sendHello(sock, null);
        } else if (ready) {
          onRefused(frame);
        } else {
          setConn(frame.error || "The chat is unavailable.");
        }
        break;
      default: break; // newer hubs may add frames; ignore what we do not know
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let sock;
    try {
      sock = new WebSocket(scheme + location.host + "/ws/widget");
    } catch (e) {
      reconnectLater();
      return;
    }
    ws = sock;
    ready = false;
    sock.onopen = () => sendHello(sock, loadToken());
    sock.onmessage = (ev) => {
      if (sock !== ws) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handle(sock, frame);
    };
    sock.onclose = () => {
      if (sock !== ws) return;
      ws = null;
      ready = false;
      // Unacked messages may not have reached the hub: send them again after the next welcome.
      for (const item of outbox) item.sent = false;
      reconnectLater();
    };
  }

  function reconnectLater() {
    const delay = Math.min(1000 * Math.pow(2, attempt), 10000);
    attempt += 1;
    setConn("Connection lost. Reconnecting in " + Math.round(delay / 1000) + " s…");
    setTimeout(connect, delay);
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (text.length > MAX_LEN) {
      setConn("That message is too long (" + MAX_LEN + " characters at most).");
      return;
    }
    input.value = "";
    queueMessage(text);
  });

  connect();
})();
