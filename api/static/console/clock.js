// Live clocks: how long a customer has waited, and SLA countdowns.
//
// An element with class "tick" shows a clock: data-base seconds at data-at (performance.now()),
// counting up (waiting) or down (SLA); tick() repaints them all every second, and the server's
// figures are re-read with the queue every 30 s.

import { h } from "../lib/dom.js";
import { duration, shortTime } from "../lib/format.js";
import { t } from "../lib/i18n.js";

export function clock(kind, base, label) {
  const node = h("span", {
    class: "tick tick-" + kind, "data-kind": kind, "data-base": String(base),
    "data-at": String(performance.now()), "data-label": label || "",
  });
  paint(node);
  return node;
}

function paint(node) {
  const elapsed = (performance.now() - Number(node.getAttribute("data-at"))) / 1000;
  const base = Number(node.getAttribute("data-base"));
  const label = node.getAttribute("data-label");
  if (node.getAttribute("data-kind") === "wait") {
    node.textContent = t("waiting {d}", { d: duration(base + elapsed) });
    return;
  }
  const left = base - elapsed;
  node.textContent = left >= 0
    ? t("{label} due in {d}", { label: t(label), d: duration(left) })
    : t("{label} overdue by {d}", { label: t(label), d: duration(left) });
  node.classList.toggle("overdue", left < 0);
  node.classList.toggle("soon", left >= 0 && left < 300);
}

export function tick() {
  for (const node of document.querySelectorAll(".tick")) paint(node);
}

// A queue row's SLA: first response while it is due, then resolution; paused while pending.
export function slaLine(sla) {
  if (!sla) return null;
  const first = sla.first_response || {};
  const resolution = sla.resolution || {};
  if (first.seconds_left !== null && first.seconds_left !== undefined) {
    return clock("sla", first.seconds_left, "First reply");
  }
  if (resolution.paused) return h("span", { class: "sla paused" }, t("Resolution clock paused"));
  if (resolution.seconds_left !== null && resolution.seconds_left !== undefined) {
    return clock("sla", resolution.seconds_left, "Resolution");
  }
  return null;
}

// One SLA clock of a ticket, in the ticket panel: met/missed, paused, or counting down.
export function slaText(clockData, label) {
  if (!clockData || !clockData.due) return "—";
  if (clockData.done_at) {
    return t(clockData.breached ? "missed (due {t})" : "met (due {t})", { t: shortTime(clockData.due) });
  }
  if (clockData.paused) return t("paused");
  return h("span", null, clock("sla", clockData.seconds_left || 0, label), t(" · due {t}", { t: shortTime(clockData.due) }));
}
