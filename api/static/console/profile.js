// The signed-in agent in the top bar: name, presence (online/away) and the sound setting.

import { api } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { run, setSound, soundOn } from "./attention.js";
import { renderLists } from "./queue.js";
import { state } from "./state.js";

export function showMe() {
  const me = state.me;
  $("me").textContent = me ? me.name : "";
  const presence = (me && me.presence) || "online";
  if (presence === "online" || presence === "away") $("presence").value = presence;
  $("presence-dot").className = "presence-dot presence-" + presence;
}

export async function loadMe() {
  state.me = await api("GET", "/api/me");
  showMe();
  renderLists();
}

// A live presence change of this agent (e.g. from another tab).
export function setMyPresence(presence) {
  if (!state.me) return;
  state.me.presence = presence;
  showMe();
}

export function initProfile() {
  $("presence").addEventListener("change", () => {
    const presence = $("presence").value;
    run(api("PUT", "/api/me/presence", { presence: presence }).then((data) => {
      if (state.me) state.me.presence = data.presence;
      showMe();
    }));
  });
  $("sound").addEventListener("change", () => setSound($("sound").checked));
}

// Shown once signed in.
export function showProfile() {
  $("presence-box").hidden = false;
  $("sound-box").hidden = false;
  $("sound").checked = soundOn();
  showMe();
}
