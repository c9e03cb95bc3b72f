// Canned responses in the composer: "/" at the start of the reply box opens the list, what
// follows filters it (shortcut, then title, then text), arrows move, Enter or Tab picks,
// Escape closes. {customer} and {agent} are filled in.

import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { excerpt } from "../lib/format.js";
import { openSummary, state } from "./state.js";

export async function loadCanned() {
  const data = await api("GET", "/api/canned-responses");
  state.canned.all = data.canned_responses || [];
}

function fillPlaceholders(text) {
  const c = openSummary();
  const customer = (c && c.contact && c.contact.name) || "there";
  return String(text).replace(/\{customer\}/g, customer).replace(/\{agent\}/g, (state.me && state.me.name) || "");
}

function matches(query) {
  const q = query.trim().toLowerCase();
  // Shortcut matches first, then titles, then texts.
  const rank = (r) => {
    const fields = [r.shortcut, r.title, r.text].map((s) => String(s || "").toLowerCase());
    if (fields[0].startsWith(q)) return 0;
    const i = fields.findIndex((s) => s.indexOf(q) >= 0);
    return i < 0 ? -1 : i + 1;
  };
  return state.canned.all.map((r) => [rank(r), r]).filter(([k]) => k >= 0)
    .sort((a, b) => a[0] - b[0]).map(([, r]) => r);
}

function show(items) {
  const ui = state.canned;
  const list = $("canned");
  ui.items = items;
  ui.index = Math.min(ui.index, Math.max(0, items.length - 1));
  if (!items.length) {
    list.replaceChildren(h("li", { class: "muted", role: "option", "aria-disabled": "true" },
      ui.all.length ? "No canned response matches." : "No canned responses."));
  } else {
    list.replaceChildren(...items.map((r, i) => h("li", {
      id: "canned-" + i, role: "option", class: "canned-item", "aria-selected": i === ui.index ? "true" : "false",
      onmousedown: (ev) => { ev.preventDefault(); choose(i); },
    }, h("strong", null, "/" + r.shortcut), " ", h("span", null, r.title), h("div", { class: "muted" }, excerpt(fillPlaceholders(r.text), 110)))));
  }
  list.hidden = false;
  $("reply").setAttribute("aria-expanded", "true");
  if (items.length) $("reply").setAttribute("aria-activedescendant", "canned-" + ui.index);
  else $("reply").removeAttribute("aria-activedescendant");
}

export function hideCanned() {
  $("canned").hidden = true;
  state.canned.items = [];
  state.canned.index = 0;
  $("reply").setAttribute("aria-expanded", "false");
  $("reply").removeAttribute("aria-activedescendant");
}

function choose(i) {
  const r = state.canned.items[i];
  if (!r) return;
  const box = $("reply");
  box.value = fillPlaceholders(r.text);
  hideCanned();
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

// After each edit of the reply box.
export function updateCanned() {
  const value = $("reply").value;
  // "/" at the start of an otherwise one-line box opens the list; what follows filters it.
  if (/^\/[^\n]*$/.test(value)) {
    state.canned.index = 0;
    show(matches(value.slice(1)));
  } else if (!$("canned").hidden) {
    hideCanned();
  }
}

// A key in the reply box while the list is open; true if the list used it.
export function cannedKey(ev) {
  if ($("canned").hidden) return false;
  const ui = state.canned;
  const n = ui.items.length;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    ev.preventDefault();
    if (n) {
      ui.index = (ui.index + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
      show(ui.items);
    }
    return true;
  }
  if ((ev.key === "Enter" || ev.key === "Tab") && !ev.shiftKey && n) {
    ev.preventDefault();
    choose(ui.index);
    return true;
  }
  if (ev.key === "Escape") {
    ev.preventDefault();
    hideCanned();
    return true;
  }
  return false;
}
