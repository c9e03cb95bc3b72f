// Agent accounts for admins: list, create, change role, deactivate or activate, reset a
// password (POST/PATCH /api/agents, POST /api/agents/{id}/password). Text nodes only.

import { api } from "./lib/api.js";
import { startAdminPage } from "./lib/admin-page.js";
import { $, h, showError } from "./lib/dom.js";

const ROLES = ["agent", "lead", "admin"];
let me = null;

function act(promise, done) {
  showError("");
  return promise.then(done || load, (err) => showError(err.message));
}

function roleSelect(agent) {
  const select = h("select", {
    "aria-label": "Role of " + agent.email,
    onchange: () => act(api("PATCH", "/api/agents/" + agent.id, { role: select.value })),
  }, ROLES.map((r) => h("option", { value: r, selected: r === agent.role }, r)));
  select.disabled = !agent.is_active;
  return select;
}

function resetPassword(agent) {
  const input = h("input", {
    type: "password", autocomplete: "new-password",
    "aria-label": "New password for " + agent.email, placeholder: "new password",
  });
  const button = h("button", {
    type: "button",
    onclick: () => act(api("POST", "/api/agents/" + agent.id + "/password", { password: input.value }),
      () => { input.value = ""; $("new-status").textContent = "Password reset for " + agent.email + "."; }),
  }, "Reset password");
  return h("span", { class: "inline-form" }, input, button);
}

function activeButton(agent) {
  const label = agent.is_active ? "Deactivate" : "Activate";
  return h("button", {
    type: "button",
    "aria-label": label + " " + agent.email,
    onclick: () => {
      if (agent.is_active && !window.confirm("Deactivate " + agent.email + "? They are signed out at once.")) return;
      act(api("PATCH", "/api/agents/" + agent.id, { is_active: !agent.is_active }));
    },
  }, label);
}

function render(agents) {
  const head = h("tr", null, ["Name", "Email", "Role", "Status", "Actions"].map((t) => h("th", { scope: "col" }, t)));
  const rows = agents.map((a) => h("tr", { "data-email": a.email, class: a.is_active ? null : "inactive" },
    h("td", null, a.name + (me && a.id === me.id ? " (you)" : "")),
    h("td", null, a.email),
    h("td", null, roleSelect(a)),
    h("td", { class: "status" }, a.is_active ? "active" : "deactivated"),
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
    $("new-status").textContent = "Created " + created.email + ".";
    return load();
  });
});

startAdminPage((agent) => { me = agent; load(); });
