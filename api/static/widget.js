// Frontline chat widget: one WebSocket to the hub, protocol in docs/protocol.md ("Widget WebSocket").
//
// Embed it on any page (options in README.md, "Embed the widget"):
//   <script src="https://HUB/static/widget.js" data-hub="https://HUB" data-title="Help"
//           data-greeting="Hi!" data-color="#0b5cad" data-position="right" data-lang="en" defer></script>
// or set `window.FrontlineWidget = {hub, title, greeting, color, position, lang, open, user,
// strings}` before the script runs.
//
// The hub serves /static/widget.js as lib/markdown.js (made the global FrontlineMarkdown) +
// widget-i18n.js + this file (one request, no build step). Everything that came from the
// network is rendered with textContent or text nodes, never innerHTML: Markdown is built as
// elements by lib/markdown.js, and only http(s) links get an href.
(function () {
  "use strict";
  // A page that includes the script twice must not get two widgets fighting over one token.
  if (window.__frontlineWidget) return;
  window.__frontlineWidget = true;

  // ---- Configuration ---------------------------------------------------------------------

  const script = document.currentScript || document.querySelector("script[src*='widget.js']");
  const dataset = (script && script.dataset) || {};
  const given = window.FrontlineWidget && typeof window.FrontlineWidget === "object" ? window.FrontlineWidget : {};
  const givenUser = given.user && typeof given.user === "object" ? given.user : {};

  function option(name, attribute) {
    const value = given[name] !== undefined && given[name] !== null ? given[name] : dataset[attribute || name];
    return value === undefined || value === null ? "" : String(value);
  }
  function userOption(name, attribute) {
    const value = givenUser[name] !== undefined && givenUser[name] !== null ? givenUser[name] : dataset[attribute];
    return value === undefined || value === null ? "" : String(value).trim();
  }

  // The hub: data-hub, else where this script came from, else this page's origin.
  function hubBase() {
    const candidates = [option("hub"), script && script.src ? new URL(".", script.src).href.replace(/\/static\/$/, "") : ""];
    for (const candidate of candidates) {
      if (!candidate) continue;
      try {
        const url = new URL(candidate, location.href);
        if (url.protocol === "http:" || url.protocol === "https:") return url.origin + url.pathname.replace(/\/+$/, "");
      } catch (e) { /* try the next one */ }
    }
    return location.origin;
  }

  const HUB = hubBase();
  const WS_URL = HUB.replace(/^http/, "ws") + "/ws/widget";
  const GREETING = option("greeting");
  const POSITION = option("position").toLowerCase() === "left" ? "left" : "right";
  const LANG = (option("lang") || document.documentElement.lang || navigator.language || "en").trim();
  const WORDS = window.FrontlineWidgetStrings.strings(LANG, given.strings);
  const t = WORDS.t;
  const TITLE = option("title") || t("title");
  const START_OPEN = /^(1|true|yes|open)$/i.test(option("open"));
  const IDENTITY = userOption("id", "userId")
    ? {
        user_id: userOption("id", "userId"),
        user_hash: userOption("hash", "userHash"),
        name: userOption("name", "userName") || null,
        email: userOption("email", "userEmail") || null,
      }
    : null;

  const TOKEN_KEY = "frontline.token";
  const SEEN_KEY = "frontline.seen"; // the newest message id the customer has had in view
  const OPEN_KEY = "frontline.open";
  const OUTBOX_KEY = "frontline.outbox"; // in sessionStorage: this tab's unacknowledged messages
  const MAX_LEN = 4000; // the hub refuses longer texts; check here so a refusal never eats a message
  const ROLES = ["customer", "bot", "agent", "system"];
  const TYPING_SEND_MS = 2500; // at most one "typing" frame per 2.5 s while the customer types
  const AGENT_TYPING_SHOW_MS = 5000;
  const BOT_TYPING_MAX_MS = 60000; // a lost "done" frame must not leave the dots forever
  const PING_MS = 25000;
  const PONG_WAIT_MS = 10000;
  const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

  // localStorage throws in some privacy modes; the widget still works, just without resuming.
  function load(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  function save(key, value) {
    try {
      if (value === null || value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, String(value));
    } catch (e) { /* see load */ }
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

  function markdown(text) {
    return window.FrontlineMarkdown.render(text, "fl-text fl-md", "fl-heading");
  }

  // ---- DOM -------------------------------------------------------------------------------

  if (!document.getElementById("fl-style")) {
    document.head.appendChild(el("link", { id: "fl-style", rel: "stylesheet", href: HUB + "/static/widget.css" }));
  }

  const side = "fl-" + POSITION;
  const launcher = el("button", {
    type: "button", id: "fl-launcher", class: side, "aria-controls": "frontline-widget", "aria-expanded": "false",
    lang: WORDS.lang, dir: WORDS.dir,
  });
  const launcherIcon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  launcherIcon.setAttribute("viewBox", "0 0 24 24");
  launcherIcon.setAttribute("aria-hidden", "true");
  launcherIcon.setAttribute("focusable", "false");
  const iconPath = document.createElementNS("http://www.w3.org/2000/svg", "path");
  iconPath.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  launcherIcon.appendChild(iconPath);
  const launcherLabel = el("span", { class: "fl-launcher-label" }, t("launcher_open"));
  const badge = el("span", { id: "fl-badge", "aria-hidden": "true", hidden: "" });
  launcher.append(launcherIcon, launcherLabel, badge);

  const panel = el("section", {
    id: "frontline-widget", class: side, role: "dialog", "aria-modal": "false", "aria-labelledby": "fl-title",
    lang: WORDS.lang, dir: WORDS.dir,
  });
  panel.hidden = true;
  const header = el("div", { class: "fl-header" });
  const titleBox = el("div", { class: "fl-titlebox" });
  const title = el("h2", { id: "fl-title", class: "fl-title" }, TITLE);
  const status = el("div", { id: "fl-status" }, t("connecting"));
  const queueLine = el("div", { id: "fl-queue", role: "status" });
  // Connection trouble gets its own line so #fl-status only ever says the conversation state.
  const conn = el("div", { id: "fl-conn", role: "status" });
  titleBox.append(title, status, queueLine, conn);
  const closeBtn = el("button", { type: "button", id: "fl-close", class: "fl-close", "aria-label": t("close_chat") }, "×");
  header.append(titleBox, closeBtn);

  const log = el("div", {
    id: "fl-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": t("conversation"), tabindex: "0",
  });
  if (GREETING) {
    const greeting = el("div", { class: "fl-msg fl-bot fl-greeting", "data-role": "greeting" });
    greeting.appendChild(markdown(GREETING));
    log.appendChild(greeting);
  }
  const typing = el("div", { id: "fl-typing", "aria-live": "polite" });

  // The offline contact form: shown while the bot collects an email because nobody is online.
  const contact = el("form", { id: "fl-contact", "aria-labelledby": "fl-contact-title", novalidate: "" });
  contact.hidden = true;
  const contactTitle = el("div", { id: "fl-contact-title", class: "fl-contact-title" }, t("contact_title"));
  const contactHint = el("p", { class: "fl-contact-hint" }, t("contact_hint"));
  const emailLabel = el("label", { for: "fl-contact-email" }, t("your_email"));
  const emailInput = el("input", {
    id: "fl-contact-email", type: "email", autocomplete: "email", required: "", maxlength: "320", inputmode: "email",
  });
  const noteLabel = el("label", { for: "fl-contact-message" }, t("contact_message"));
  const noteInput = el("textarea", { id: "fl-contact-message", rows: "3", maxlength: String(MAX_LEN) });
  const contactError = el("div", { id: "fl-contact-error", class: "fl-contact-error", role: "alert" });
  const contactSend = el("button", { type: "submit", id: "fl-contact-send" }, t("contact_send"));
  contact.append(contactTitle, contactHint, emailLabel, emailInput, noteLabel, noteInput, contactError, contactSend);

  const form = el("form", { class: "fl-form", id: "fl-composer" });
  const inputLabel = el("label", { for: "fl-input", class: "fl-visually-hidden" }, t("message"));
  const input = el("textarea", {
    id: "fl-input", rows: "1", autocomplete: "off", maxlength: String(MAX_LEN), placeholder: t("placeholder"), dir: "auto",
    "aria-describedby": "fl-input-help",
  });
  const inputHelp = el("span", { id: "fl-input-help", class: "fl-visually-hidden" }, t("input_help"));
  const sendBtn = el("button", { type: "submit", id: "fl-send" }, t("send"));
  form.append(inputLabel, input, inputHelp, sendBtn);
  panel.append(header, log, typing, contact, form);

  function applyColour(raw) {
    const colour = String(raw || "").trim();
    if (!colour || !(window.CSS && CSS.supports && CSS.supports("color", colour))) return;
    let onAccent = "#fff";
    const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour);
    if (hex) {
      const h = hex[1].length === 3 ? hex[1].replace(/./g, "$&$&") : hex[1];
      const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
      if (0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4) onAccent = "#111";
    }
    for (const node of [panel, launcher]) {
      node.style.setProperty("--fl-accent", colour);
      node.style.setProperty("--fl-on-accent", onAccent);
    }
  }
  applyColour(option("color"));

  // ---- Open, close, unread ---------------------------------------------------------------

  let unread = 0;
  let seen = Number(load(SEEN_KEY)) || 0;

  function isOpen() {
    return !panel.hidden;
  }

  function renderLauncher() {
    const open = isOpen();
    launcher.setAttribute("aria-expanded", String(open));
    launcherLabel.textContent = t(open ? "launcher_close" : "launcher_open");
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = open || unread === 0;
    let label = t(open ? "close_chat" : "open_chat");
    if (!open && unread) label += ", " + t(unread === 1 ? "unread_one" : "unread_many", { n: unread });
    launcher.setAttribute("aria-label", label);
    launcher.classList.toggle("fl-open", open);
  }

  function markSeen() {
    let newest = seen;
    for (const id of shown.keys()) newest = Math.max(newest, Number(id));
    if (newest !== seen) { seen = newest; save(SEEN_KEY, seen); }
  }

  // `focus`: false leaves the focus where it is (opening at page load must not steal it).
  function setOpen(open, focus) {
    panel.hidden = !open;
    save(OPEN_KEY, open ? "1" : "0");
    if (open) {
      unread = 0;
      markSeen();
      ensureConnected();
      scrollDown();
      if (focus !== false) input.focus({ preventScroll: true });
    }
    renderLauncher();
    if (!open && focus !== false) launcher.focus({ preventScroll: true });
  }
  launcher.addEventListener("click", () => setOpen(!isOpen()));
  closeBtn.addEventListener("click", () => setOpen(false));
  panel.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      setOpen(false);
    }
  });

  function mount() {
    document.body.append(panel, launcher);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // ---- Messages --------------------------------------------------------------------------

  const shown = new Map(); // message.id -> element; the hub may send a message more than once

  function sourceLink(source) {
    // Only web links are ever clickable: a javascript: or data: URL stays text.
    const title = source.title || source.article_id || t("article");
    const label = t("source", { title: source.section ? `${title} › ${source.section}` : title });
    return window.FrontlineMarkdown.link(source.url, label, "fl-source");
  }

  function roleOf(m) {
    return ROLES.indexOf(m.role) >= 0 ? m.role : "system";
  }

  function isRating(buttons) {
    return buttons.length === 5 && buttons.every((b, i) => b && b.title === String(i + 1));
  }

  function fillMessage(node, m) {
    const role = roleOf(m);
    node.className = "fl-msg fl-" + role;
    node.setAttribute("data-role", role);
    node.setAttribute("data-id", String(m.id));
    // Each message reads in its own direction (an English answer in a Persian chat, a
    // Persian question in an English one), whatever the widget's.
    node.setAttribute("dir", "auto");
    node.replaceChildren();
    if (role === "agent" && m.author) node.appendChild(el("div", { class: "fl-author" }, m.author));
    // The customer's own words and system lines show exactly as written; bot and agent
    // messages may use Markdown.
    if (role === "bot" || role === "agent") node.appendChild(markdown(m.text));
    else node.appendChild(el("div", { class: "fl-text" }, m.text));
    if (role === "bot" && Array.isArray(m.sources)) {
      for (const s of m.sources) if (s && typeof s === "object") node.appendChild(sourceLink(s));
    }
    if (role === "bot" && Array.isArray(m.buttons) && m.buttons.length) {
      const rating = isRating(m.buttons);
      const row = el("div", { class: "fl-buttons" + (rating ? " fl-rating" : ""), role: "group", "aria-label": t(rating ? "rating" : "choices") });
      for (const b of m.buttons) {
        if (!b || typeof b.title !== "string" || typeof b.payload !== "string") continue;
        const button = el("button", { type: "button", class: "fl-button" }, b.title);
        // The hub accepts a payload only if it is one of the bot's own latest buttons.
        button.addEventListener("click", () => {
          row.classList.add("fl-chosen");
          for (const other of row.querySelectorAll("button")) other.disabled = true;
          queueMessage(b.title, b.payload);
          input.focus({ preventScroll: true });
        });
        row.appendChild(button);
      }
      node.appendChild(row);
    }
  }

  // Only the latest bot message's buttons can still be chosen (the hub refuses older ones).
  function refreshButtons() {
    let latest = null;
    for (const node of log.querySelectorAll(".fl-msg[data-role=bot][data-id]")) {
      if (!latest || Number(node.getAttribute("data-id")) > Number(latest.getAttribute("data-id"))) latest = node;
    }
    for (const row of log.querySelectorAll(".fl-buttons")) {
      const current = row.parentNode === latest && !row.classList.contains("fl-chosen");
      row.classList.toggle("fl-stale", !current);
      for (const button of row.querySelectorAll("button")) button.disabled = !current;
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
    if (!m || m.id === undefined || m.id === null || shown.has(m.id)) return;
    const node = el("div");
    fillMessage(node, m);
    shown.set(m.id, node);
    place(node, Number(m.id));
    const role = roleOf(m);
    if (role === "bot") showTyping(null);
    if (role === "agent") showTyping(null);
    if (isOpen()) markSeen();
    else if (role !== "customer" && Number(m.id) > seen) unread += 1;
    renderLauncher();
    refreshButtons();
    scrollDown();
  }

  function clearTranscript() {
    for (const node of shown.values()) node.remove();
    shown.clear();
  }

  // ---- Typing ----------------------------------------------------------------------------

  let typingTimer = null;

  function showTyping(text, ms) {
    clearTimeout(typingTimer);
    typing.textContent = text || "";
    typing.classList.toggle("fl-active", Boolean(text));
    if (text) typingTimer = setTimeout(() => showTyping(null), ms);
  }

  function onTyping(frame) {
    if (frame.role === "bot") {
      showTyping(frame.active === false ? null : t("bot_typing"), BOT_TYPING_MAX_MS);
    } else if (frame.role === "agent") {
      const name = typeof frame.name === "string" && frame.name ? frame.name : t("an_agent");
      showTyping(frame.active === false ? null : t("agent_typing", { name: name }), AGENT_TYPING_SHOW_MS);
    }
  }

  let typingSentAt = 0;
  input.addEventListener("input", () => {
    const now = Date.now();
    if (!input.value.trim() || now - typingSentAt < TYPING_SEND_MS) return;
    if (send({ type: "typing" })) typingSentAt = now;
  });

  // ---- Outbox: a message is ours until the hub acks it ------------------------------------

  const outbox = []; // {client_id, text, payload, hold, sent, node}, oldest first

  // The outbox survives a reload of this tab (sessionStorage is per tab): a message sent just
  // before the page went away is sent again with its client_id, and stored once.
  function saveOutbox() {
    try {
      const items = outbox.map((it) => ({ client_id: it.client_id, text: it.text, payload: it.payload, hold: it.hold }));
      if (items.length) sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(items));
      else sessionStorage.removeItem(OUTBOX_KEY);
    } catch (e) { /* private mode: the outbox lives as long as the page */ }
  }

  function restoreOutbox() {
    let items = [];
    try { items = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]"); } catch (e) { items = []; }
    if (!Array.isArray(items)) return;
    for (const it of items) {
      if (it && typeof it.client_id === "string" && typeof it.text === "string") {
        queueMessage(it.text, typeof it.payload === "string" ? it.payload : null, Boolean(it.hold), it.client_id);
      }
    }
  }

  // `hold`: keep it until the conversation is with people (a contact form's message, which
  // must not reach the bot while it is still collecting the email).
  function queueMessage(text, payload, hold, clientId) {
    const item = { client_id: clientId || newClientId(), text: text, payload: payload || null, hold: Boolean(hold), sent: false, node: null };
    item.node = el("div", {
      class: "fl-msg fl-customer fl-pending", "data-role": "customer", "data-client-id": item.client_id, dir: "auto",
      "data-sending": t("sending"),
    });
    item.node.appendChild(el("div", { class: "fl-text" }, text));
    log.appendChild(item.node);
    scrollDown();
    outbox.push(item);
    saveOutbox();
    ensureConnected();
    flush();
    return item;
  }

  function takeFromOutbox(predicate) {
    const i = outbox.findIndex(predicate);
    const item = i < 0 ? null : outbox.splice(i, 1)[0];
    if (item) saveOutbox();
    return item;
  }

  function onAck(frame) {
    if (typeof frame.agents_available === "boolean") agentsAvailable = frame.agents_available;
    const item = takeFromOutbox((it) => it.client_id === frame.client_id);
    const m = frame.message;
    rateDelay = 0;
    // The hub stores nothing before the first message: its ack tells the conversation's id.
    if (conversationId === null && m && m.conversation_id != null) setConversationId(m.conversation_id);
    if (!item) { addMessage(m); return; }
    if (!m || shown.has(m.id)) { item.node.remove(); return; }
    // Upgrade the pending bubble in place so screen readers do not hear the text twice.
    item.node.removeAttribute("data-client-id");
    fillMessage(item.node, m);
    shown.set(m.id, item.node);
    place(item.node, Number(m.id));
    if (isOpen()) markSeen();
    scrollDown();
    renderState();
  }

  // A rate limit refused the message: it was not stored, so it stays in the outbox and goes
  // out again later; nothing else is sent before then (the order is kept), and each refusal
  // in a row waits longer (the hub's retry_after, doubled, at most 30 s).
  let rateDelay = 0;
  let rateUntil = 0;
  let rateTimer = null;

  function backOff(frame) {
    const hint = Math.max(1, Number(frame.retry_after) || 1) * 1000;
    rateDelay = Math.min(Math.max(hint, rateDelay * 2), 30000);
    rateUntil = Date.now() + rateDelay;
    return rateDelay;
  }

  function onRateLimited(frame) {
    const item = outbox.find((it) => it.client_id === frame.client_id);
    if (item) item.sent = false;
    for (const it of outbox) it.sent = false; // re-sent with their client_id: stored once
    clearTimeout(rateTimer);
    rateTimer = setTimeout(flush, backOff(frame));
  }

  function onRefused(frame) {
    const error = frame.error;
    // Match by client_id when the hub echoes it; otherwise, as the hub handles frames in
    // order, the refusal is for the oldest message still in flight.
    const item = (frame.client_id && takeFromOutbox((it) => it.client_id === frame.client_id))
      || takeFromOutbox((it) => it.sent);
    if (!item) { setConn(error || t("error")); return; }
    item.node.classList.remove("fl-pending");
    item.node.classList.add("fl-failed");
    item.node.appendChild(el("div", { class: "fl-note" }, t("not_sent", { error: error || t("refused") })));
  }

  // ---- Conversation state ----------------------------------------------------------------

  let conversationId = null;
  let conversation = { state: null };
  let agentsAvailable = null;
  let formState = null; // "contact" while the bot collects an email because nobody is online
  let contactSubmitted = false; // waiting to hear whether the bot took the address

  function minutes(seconds) {
    return Math.max(1, Math.round(seconds / 60));
  }

  function renderState() {
    const c = conversation;
    const agentName = c.agent && c.agent.name ? c.agent.name : t("an_agent");
    const labels = {
      bot: t(agentsAvailable === false ? "state_bot_away" : "state_bot"),
      queued: c.ticket_number != null ? t("state_queued_ticket", { n: c.ticket_number }) : t("state_queued"),
      agent: t("state_agent", { name: agentName }),
      resolved: t("state_resolved"),
    };
    status.textContent = labels[c.state] || String(c.state || "");
    status.setAttribute("data-state", String(c.state || ""));
    const q = c.state === "queued" && c.queue && typeof c.queue === "object" ? c.queue : null;
    let text = "";
    if (q && Number.isFinite(q.position) && q.position > 0) {
      text = Number.isFinite(q.estimated_wait_seconds)
        ? t("queue_wait", { n: q.position, m: minutes(q.estimated_wait_seconds) })
        : t("queue", { n: q.position });
    }
    if (queueLine.textContent !== text) queueLine.textContent = text;
    renderContactForm();
  }

  function setConversation(c) {
    conversation = Object.assign({}, conversation, c);
    if (conversation.state !== "bot") formState = null;
    if (conversation.state !== "bot" && conversation.state !== null) showTyping(null);
    renderState();
    flush();
  }

  function renderContactForm() {
    const show = formState === "contact" && conversation.state === "bot" && !contactSubmitted;
    if (contact.hidden === !show) return;
    contact.hidden = !show;
    if (show && isOpen() && !emailInput.value) emailInput.focus({ preventScroll: true });
    scrollDown();
  }

  function onForm(frame) {
    const next = frame.form === "contact" ? "contact" : null;
    if (contactSubmitted) {
      contactSubmitted = false;
      if (next === "contact") {
        // The bot did not take the address: give the held message back to the form.
        for (const item of outbox.filter((it) => it.hold && !it.sent)) {
          takeFromOutbox((it) => it === item);
          item.node.remove();
          if (!noteInput.value) noteInput.value = item.text;
        }
        contactError.textContent = t("email_check");
      }
    }
    formState = next;
    renderContactForm();
  }

  contact.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const email = emailInput.value.trim();
    const note = noteInput.value.trim();
    if (!EMAIL.test(email) || email.length > 320) {
      contactError.textContent = t("email_invalid");
      emailInput.focus();
      return;
    }
    if (note.length > MAX_LEN) {
      contactError.textContent = t("note_too_long", { n: MAX_LEN });
      return;
    }
    contactError.textContent = "";
    contactSubmitted = true;
    // The address answers the bot's question (it opens the ticket); the message follows once
    // the conversation is with the team.
    queueMessage(email);
    if (note) queueMessage(note, null, true);
    noteInput.value = "";
    renderContactForm();
    input.focus({ preventScroll: true });
  });

  function setConn(text) {
    conn.textContent = text || "";
  }

  // ---- Socket ----------------------------------------------------------------------------

  let ws = null;
  let ready = false; // true between welcome and close: only then may messages go out
  let attempt = 0;
  let helloToken = null;
  let identityRefused = false; // the hub refused the page's identity: go on as a guest
  let wanted = false; // connect only once there is a conversation to show (or one is wanted)
  let reconnectTimer = null;
  let pingTimer = null;
  let pongTimer = null;

  function send(frame) {
    if (!ready || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function withPeople() {
    return conversation.state === "queued" || conversation.state === "agent";
  }

  function flush() {
    if (!ready || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() < rateUntil) return; // the rate limit's timer flushes again
    for (const item of outbox) {
      if (item.sent) continue;
      if (item.hold && !withPeople()) break; // keep the order: nothing overtakes a held message
      const frame = { type: "message", text: item.text, client_id: item.client_id };
      if (item.payload) frame.payload = item.payload;
      ws.send(JSON.stringify(frame));
      item.sent = true;
    }
  }

  function sendHello(sock, token) {
    helloToken = token;
    // The site's `lang` option is the customer's language; the page's or browser's is a hint
    // the hub may correct from what the customer writes.
    const hello = { type: "hello", token: token, language: LANG, language_explicit: Boolean(option("lang")) };
    if (IDENTITY && !identityRefused) hello.identity = IDENTITY;
    sock.send(JSON.stringify(hello));
  }

  function onWelcome(frame) {
    save(TOKEN_KEY, frame.token);
    const c = frame.conversation || {};
    // A new conversation (the old token was gone) must not show the old transcript.
    if (conversationId !== null && c.id !== conversationId) clearTranscript();
    setConversationId(c.id == null ? null : c.id);
    ready = true;
    attempt = 0;
    setConn(identityRefused ? t("identity_refused") : "");
    if (typeof c.agents_available === "boolean") agentsAvailable = c.agents_available;
    formState = c.form === "contact" ? "contact" : null;
    const who = frame.contact || {};
    if (!emailInput.value && typeof who.email === "string") emailInput.value = who.email;
    if (!emailInput.value && IDENTITY && IDENTITY.email) emailInput.value = IDENTITY.email;
    if (!load(SEEN_KEY) && Array.isArray(frame.messages) && frame.messages.length) {
      // First time this browser sees the conversation: its history is not "unread".
      seen = Math.max.apply(null, frame.messages.map((m) => Number(m.id) || 0));
      save(SEEN_KEY, seen);
    }
    for (const m of frame.messages || []) addMessage(m);
    setConversation(c);
  }

  // Empty until the first message is stored (the hub creates the conversation then).
  function setConversationId(id) {
    conversationId = id;
    panel.setAttribute("data-conversation-id", id === null ? "" : String(id));
  }

  function handle(sock, frame) {
    switch (frame.type) {
      case "welcome": onWelcome(frame); break;
      case "ack": onAck(frame); break;
      case "message": addMessage(frame.message); break;
      case "state": setConversation(frame); break;
      case "typing": onTyping(frame); break;
      case "form": onForm(frame); break;
      case "pong": break;
      case "error":
        if (frame.code === "rate" && ready) {
          onRateLimited(frame);
        } else if (frame.code === "rate") {
          // Too many new conversations from this address: say so and ask again later.
          setConn(frame.error || t("unavailable"));
          const token = helloToken;
          setTimeout(() => { if (sock === ws && !ready) sendHello(sock, token); }, backOff(frame));
        } else if (!ready && frame.code === "identity") {
          // The page's identity did not verify: nothing is attached, chat as a guest.
          identityRefused = true;
          sendHello(sock, load(TOKEN_KEY));
        } else if (!ready && helloToken !== null) {
          // The hub does not know our token (a reset database, a bad signature, a signed-in
          // user's conversation): start over as a new visitor.
          save(TOKEN_KEY, null);
          save(SEEN_KEY, null);
          sendHello(sock, null);
        } else if (ready) {
          onRefused(frame);
        } else {
          setConn(frame.error || t("unavailable"));
        }
        break;
      default: break; // newer hubs may add frames; ignore what we do not know
    }
  }

  function ensureConnected() {
    if (wanted) return;
    wanted = true;
    connect();
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (ws) return;
    let sock;
    try {
      sock = new WebSocket(WS_URL);
    } catch (e) {
      reconnectLater();
      return;
    }
    ws = sock;
    ready = false;
    sock.onopen = () => {
      if (sock !== ws) return;
      sendHello(sock, load(TOKEN_KEY));
      heartbeat(sock);
    };
    sock.onmessage = (ev) => {
      if (sock !== ws) return;
      clearTimeout(pongTimer); // anything from the hub shows the connection is alive
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") handle(sock, frame);
    };
    sock.onclose = () => lost(sock);
  }

  // The socket is gone (closed, or silent past the heartbeat): forget it and try again.
  function lost(sock) {
    if (sock !== ws) return;
    ws = null;
    ready = false;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    showTyping(null);
    // Unacked messages may not have reached the hub: send them again after the next welcome
    // (with the same client_id, so the hub stores each once).
    for (const item of outbox) item.sent = false;
    try { sock.close(); } catch (e) { /* already closed */ }
    reconnectLater();
  }

  // A connection can die without a close event (a laptop lid, a lost network): ping it.
  function heartbeat(sock) {
    clearInterval(pingTimer);
    pingTimer = setInterval(() => {
      if (sock !== ws || sock.readyState !== WebSocket.OPEN) return;
      sock.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => lost(sock), PONG_WAIT_MS);
    }, PING_MS);
  }

  function reconnectLater(now) {
    clearTimeout(reconnectTimer);
    const delay = now ? 0 : Math.min(1000 * Math.pow(2, attempt), 10000);
    attempt += 1;
    if (!now) setConn(t("reconnecting", { s: Math.round(delay / 1000) }));
    reconnectTimer = setTimeout(connect, delay);
  }

  window.addEventListener("online", () => {
    if (wanted && !ws) { attempt = 0; reconnectLater(true); }
  });
  window.addEventListener("offline", () => {
    if (ws) lost(ws);
  });

  // ---- Composer --------------------------------------------------------------------------

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (text.length > MAX_LEN) {
      setConn(t("too_long", { n: MAX_LEN }));
      return;
    }
    input.value = "";
    resizeInput();
    queueMessage(text);
  });

  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  function resizeInput() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }
  input.addEventListener("input", resizeInput);

  // ---- Start -----------------------------------------------------------------------------

  // A visitor with a conversation connects at once (so replies raise the badge); a new one
  // only when they open the chat, so page views do not create empty conversations.
  const storedOpen = load(OPEN_KEY);
  const startOpen = storedOpen === null ? START_OPEN : storedOpen === "1";
  renderLauncher();
  restoreOutbox();
  if (load(TOKEN_KEY)) ensureConnected();
  if (startOpen) setOpen(true, false);

  // A small API for the host page: open or close the chat, or forget the conversation (call
  // reset() when your user signs out).
  window.FrontlineWidget = {
    // `options.draft`: text put in the message box (not sent), e.g. what page the visitor
    // was reading when they asked for help.
    open: (options) => {
      setOpen(true);
      const draft = options && typeof options.draft === "string" ? options.draft.slice(0, 500) : "";
      if (draft && !input.value.trim()) input.value = draft;
    },
    close: () => setOpen(false),
    reset: () => {
      for (const item of outbox.splice(0)) item.node.remove();
      saveOutbox();
      save(TOKEN_KEY, null);
      save(SEEN_KEY, null);
      if (ws) { const sock = ws; ws = null; ready = false; sock.close(); }
      conversationId = null;
      clearTranscript();
      wanted = false;
      if (isOpen()) ensureConnected();
    },
  };
})();
