// Frontline agent console: REST for reads and actions, /ws/agents for live updates.
// Protocol in docs/protocol.md. Everything from the hub is rendered as text (text nodes,
// lib/dom.js's h()); links get an href only when it is http(s).
//
// This module boots the console: signing in and out, starting the session, and the keyboard
// shortcuts that work anywhere. The other modules each own one part of the page.

import { api, getToken, onSessionEnd, setToken, signOut } from "../lib/api.js";
import { $, showError } from "../lib/dom.js";
import { initActions } from "./actions.js";
import { run, updateTitle } from "./attention.js";
import { loadCanned } from "./canned.js";
import { tick } from "./clock.js";
import { currentMode, initComposer, setMode } from "./composer.js";
import { closeConversation, openConversation } from "./conversation.js";
import { focusSearch, initKb } from "./kb.js";
import { closeSocket, connectSocket } from "./live.js";
import { loadPeople } from "./people.js";
import { initProfile, loadMe, showProfile } from "./profile.js";
import { clearLists, initLists, loadConversations, loadQueue, renderLists } from "./queue.js";
import { reset, state } from "./state.js";
import { applyLanguage } from "../lib/i18n.js";

const QUEUE_POLL_MS = 30000;

// The page in the agent's language (lib/i18n.js) before anything else is drawn.
applyLanguage($("console-lang"));

// The admins' pages are linked for admins only, the leads' for leads and admins (the hub
// refuses everyone else anyway).
function showAdminLinks(agent) {
  const admin = !!agent && agent.role === "admin";
  const lead = admin || (!!agent && agent.role === "lead");
  for (const link of document.querySelectorAll("[data-admin]")) link.hidden = !admin;
  for (const link of document.querySelectorAll("[data-lead]")) link.hidden = !lead;
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("topnav").hidden = false;
  showProfile();
  connectSocket();
  state.timers.forEach(clearInterval);
  state.timers = [setInterval(tick, 1000), setInterval(() => loadQueue().catch(() => {}), QUEUE_POLL_MS)];
  run(Promise.all([loadMe().then(() => showAdminLinks(state.me)), loadConversations(), loadQueue(), loadPeople(), loadCanned()]));
}

function logout() {
  setToken(null);
  closeSocket();
  reset();
  closeConversation();
  clearLists();
  $("me").textContent = "";
  $("live").textContent = "";
  for (const id of ["logout", "topnav", "presence-box", "sound-box", "app"]) $(id).hidden = true;
  $("login").hidden = false;
  updateTitle();
  $("login-email").focus();
}

function signIn(ev) {
  ev.preventDefault();
  const body = { email: $("login-email").value.trim(), password: $("login-password").value };
  run(api("POST", "/api/auth/login", body).then((data) => {
    setToken(data.token);
    state.me = data.agent;
    $("login-password").value = "";
    start();
  }));
}

// Keyboard shortcuts that work anywhere in the console: Alt+K searches articles, Alt+N
// switches between reply and internal note.
function shortcut(ev) {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey || $("app").hidden) return;
  if (ev.code === "KeyK") {
    ev.preventDefault();
    focusSearch();
  } else if (ev.code === "KeyN" && state.open.id !== null) {
    ev.preventDefault();
    setMode(currentMode() === "note" ? "reply" : "note");
    if (!$("reply").disabled) $("reply").focus();
  }
}

// Back to the tab: the open conversation's messages have been seen.
function visible() {
  if (!document.hidden && state.open.id !== null && state.unread.has(state.open.id)) {
    state.unread.delete(state.open.id);
    renderLists();
  }
}

onSessionEnd(logout);
$("login-form").addEventListener("submit", signIn);
$("logout").addEventListener("click", () => {
  signOut().finally(() => { logout(); showError(""); });
});
initProfile();
initLists(openConversation);
initActions();
initComposer();
initKb();
document.addEventListener("keydown", shortcut);
document.addEventListener("visibilitychange", visible);

if (!getToken()) {
  logout();
} else {
  // A token from this tab's earlier page load: check it before showing the console.
  api("GET", "/api/me").then((agent) => { state.me = agent; start(); }, (err) => {
    if (getToken()) start(); // not a 401 (the hub may be down): the console retries on its own
    showError(err.message);
  });
}
