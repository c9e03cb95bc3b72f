// The audit log for admins (GET /api/audit): filters, newest first, older pages on demand.
// Read-only: the hub offers no way to change an entry. Text nodes only.

import { api } from "./lib/api.js";
import { startAdminPage } from "./lib/admin-page.js";
import { $, h, showError } from "./lib/dom.js";
import { applyLanguage, t } from "./lib/i18n.js";

// The page in the agent's language (lib/i18n.js) before anything else is drawn.
applyLanguage($("console-lang"));

let next = null;

function query(before) {
  const params = new URLSearchParams();
  const action = $("f-action").value.trim();
  const actor = $("f-actor").value.trim();
  const since = $("f-since").value;
  if (action) params.set("action", action);
  if (actor) params.set("actor", actor);
  if (since) params.set("since", since + "T00:00:00Z");
  if (before) params.set("before", String(before));
  params.set("limit", "100");
  return "/api/audit?" + params.toString();
}

function detailText(detail) {
  const keys = Object.keys(detail || {});
  return keys.map((k) => k + ": " + JSON.stringify(detail[k])).join(", ");
}

function row(e) {
  const who = e.actor ? e.actor.name + " <" + e.actor.email + ">" : "—";
  return h("tr", { "data-action": e.action },
    h("td", null, new Date(e.at).toLocaleString()),
    h("td", null, who),
    h("td", null, e.action),
    h("td", null, e.target),
    h("td", null, detailText(e.detail)),
    h("td", null, e.ip));
}

function load(append) {
  showError("");
  api("GET", query(append ? next : null)).then((page) => {
    const table = $("audit");
    if (!append) {
      const head = h("tr", null, ["When", "Who", "Action", "Target", "Detail", "From"].map((x) => h("th", { scope: "col" }, t(x))));
      table.replaceChildren(h("thead", null, head), h("tbody"));
    }
    table.querySelector("tbody").append(...page.entries.map(row));
    next = page.next_before;
    $("more").hidden = next === null;
  }, (err) => showError(err.message));
}

$("audit-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(false); });
$("more").addEventListener("click", () => load(true));
startAdminPage(() => load(false));
