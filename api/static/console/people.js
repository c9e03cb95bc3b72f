// Agents and teams: the "Transfer to…" list, with each agent's presence and load.

import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { state } from "./state.js";
import { t } from "../lib/i18n.js";

export async function loadPeople() {
  const [agents, teams] = await Promise.all([api("GET", "/api/agents"), api("GET", "/api/teams")]);
  state.people.agents = agents.agents || [];
  state.people.teams = teams.teams || [];
  renderTransferOptions();
}

export function renderTransferOptions() {
  const { agents, teams } = state.people;
  const select = $("transfer-to");
  const chosen = select.value;
  const others = agents.filter((a) => !state.me || a.id !== state.me.id);
  const agentGroup = h("optgroup", { label: t("Agents") },
    others.map((a) => h("option", { value: "agent:" + a.id },
      a.name + " (" + a.presence + (a.load !== undefined ? ", " + a.load + "/" + a.capacity : "") + ")")));
  const teamGroup = h("optgroup", { label: t("Teams") },
    teams.map((t) => h("option", { value: "team:" + t.id }, t.name)));
  select.replaceChildren(h("option", { value: "" }, t("Transfer to…")),
    ...(others.length ? [agentGroup] : []), ...(teams.length ? [teamGroup] : []));
  select.value = chosen;
  if (select.value !== chosen) select.value = "";
}

// A live presence change of an agent in the list.
export function updatePresence(agentId, presence) {
  const agent = state.people.agents.find((a) => a.id === agentId);
  if (agent) {
    agent.presence = presence;
    renderTransferOptions();
  }
}
