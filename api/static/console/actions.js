// The conversation's toolbar: take over, set pending, resolve, hand back to the bot, and
// transfer to an agent or a team. The hub decides; a 409 shows what really happened.

import { api } from "../lib/api.js";
import { $, showError } from "../lib/dom.js";
import { run } from "./attention.js";
import { setMode } from "./composer.js";
import { scheduleDetail, updateConversation } from "./conversation.js";
import { scheduleQueue } from "./queue.js";
import { state } from "./state.js";

function action(verb, body) {
  const id = state.open.id;
  if (id === null) return Promise.resolve();
  return run(api("POST", "/api/conversations/" + encodeURIComponent(id) + "/" + verb, body)
    .then((data) => {
      updateConversation(data.conversation);
      scheduleQueue();
      if (verb === "takeover" && state.open.id === id) {
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

function transfer() {
  const value = $("transfer-to").value;
  if (!value) { showError("Choose an agent or a team to transfer to."); return; }
  const [kind, rawId] = value.split(":");
  const body = kind === "team" ? { team_id: Number(rawId) } : { agent_id: Number(rawId) };
  action("transfer", body).then(() => { $("transfer-to").value = ""; });
}

export function initActions() {
  for (const verb of ["takeover", "pending", "resolve", "handback"]) {
    $(verb).addEventListener("click", () => action(verb));
  }
  $("transfer").addEventListener("click", transfer);
}
