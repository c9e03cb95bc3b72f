// Agent accounts for admins: list, create, change role, deactivate or activate, reset a
// password (POST/PATCH /api/agents, POST /api/agents/{id}/password). Text nodes only.

import { api } from "./lib/api.js";
import { startAdminPage } from "./lib/admin-page.js";
import { $, h, showError } from "./lib/dom.js";
import { applyLanguage, t } from "./lib/i18n.js";

// The page in the agent's language (lib/i18n.js) before anything else is drawn.
applyLanguage($("console-lang"));

const ROLES = ["agent", "lead", "admin"];
let me = null;

function act(promise, done) {
  showError("");
  return promise.then(done || load, (err) => showError(err.message));
}

function roleSelect(agent) {
  const select = h("select", {
    "aria-label": t("Role of {email}", { email: agent.email }),
    onchange: () => act(api("PATCH", "/api/agents/" + agent.id, { role: select.value })),
  }, ROLES.map((r) => h("option", { value: r, selected: r === agent.role }, t(r))));
  select.disabled = !agent.is_active;
  return select;
}

function resetPassword(agent) {
  const input = h("input", {
    type: "password", autocomplete: "new-password",
    "aria-label": t("New password for {email}", { email: agent.email }), placeholder: t("new password"),
  });
  const button = h("button", {
    type: "button",
    onclick: () => act(api("POST", "/api/agents/" + agent.id + "/password", { password: input.value }),
      () => { input.value = ""; $("new-status").textContent = t("Password reset for {email}.", { email: agent.email }); }),
  }, t("Reset password"));
  return h("span", { class: "inline-form" }, input, button);
}

function activeButton(agent) {
  const label = agent.is_active ? "Deactivate" : "Activate";
  return h("button", {
    type: "button",
    "aria-label": t(label + " {email}", { email: agent.email }),
    onclick: () => {
      if (agent.is_active && !window.confirm(t("Deactivate {email}? They are signed out at once.", { email: agent.email }))) return;
      act(api("PATCH", "/api/agents/" + agent.id, { is_active: !agent.is_active }));
    },
  }, t(label));
}

function render(agents) {
  const head = h("tr", null, ["Name", "Email", "Role", "Status", "Actions"].map((x) => h("th", { scope: "col" }, t(x))));
  const rows = agents.map((a) => h("tr", { "data-email": a.email, class: a.is_active ? null : "inactive" },
    h("td", null, me && a.id === me.id ? t("{name} (you)", { name: a.name }) : a.name),
    h("td", null, a.email),
    h("td", null, roleSelect(a)),
    h("td", { class: "status" }, t(a.is_active ? "active" : "deactivated")),
    h("td", null, activeButton(a), " ", a.is_active ? resetPassword(a) : null),
  ));
  $("agents").replaceChildren(h("thead", null, head), h("tbody", null, rows));
}

function load() {
  return api("GET", "/api/agents?include_inactive=true").then((data) => render(data.agents),
    (err) => showError(err.message));
}

$("new-agent").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = {
    name: $("new-name").value.trim(),
    email: $("new-email").value.trim(),
    password: $("new-password").value,
    role: $("new-role").value,
  };
  act(api("POST", "/api/agents", body), (created) => {
    $("new-agent").reset();
    $("new-status").textContent = t("Created {email}.", { email: created.email });
    return load();
  });
});

startAdminPage((agent) => { me = agent; load(); });
