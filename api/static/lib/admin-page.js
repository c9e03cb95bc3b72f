// Sign-in and sign-out for the admins' pages (agents, audit log): the same per-tab token as
// the console and the dashboard. `startAdminPage(onReady)` calls onReady(me) once an admin
// is signed in; anyone else is told the page is for admins (the hub refuses them anyway).

import { api, getToken, onSessionEnd, setToken, signOut } from "./api.js";
import { $, showError } from "./dom.js";
import { t } from "./i18n.js";

function signedOut() {
  setToken(null);
  $("page").hidden = true;
  $("topnav").hidden = true;
  $("logout").hidden = true;
  $("me").textContent = "";
  $("login").hidden = false;
  $("login-email").focus();
}

// `role`: who the page is for, "admin" (the default) or "lead" (leads and admins).
export function startAdminPage(onReady, role = "admin") {
  const allowed = role === "lead" ? ["lead", "admin"] : ["admin"];
  function signedIn(me) {
    $("login").hidden = true;
    $("topnav").hidden = false;
    $("logout").hidden = false;
    $("me").textContent = me.name;
    if (allowed.indexOf(me.role) < 0) {
      $("page").hidden = true;
      showError(t(role === "lead"
        ? "This page is for leads and admins."
        : "This page is for admins. Ask an admin if you need something changed."));
      return;
    }
    for (const link of document.querySelectorAll("[data-admin]")) link.hidden = me.role !== "admin";
    for (const link of document.querySelectorAll("[data-lead]")) link.hidden = me.role === "agent";
    $("page").hidden = false;
    onReady(me);
  }

  function loadMe() {
    api("GET", "/api/me").then(signedIn, (err) => showError(err.message));
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { email: $("login-email").value.trim(), password: $("login-password").value };
    api("POST", "/api/auth/login", body).then((data) => {
      setToken(data.token);
      $("login-password").value = "";
      showError("");
      loadMe();
    }, (err) => showError(err.message));
  });
  $("logout").addEventListener("click", () => {
    signOut().finally(() => { signedOut(); showError(""); });
  });
  onSessionEnd(signedOut);
  if (getToken()) loadMe();
  else signedOut();
}
