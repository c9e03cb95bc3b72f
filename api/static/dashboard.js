// Frontline dashboard for support leads: GET /api/reports (docs/support-operations.md) as
// figures, tables and an inline SVG chart. Everything from the hub is rendered as text.

import { api, getToken, onSessionEnd, setToken, signOut } from "./lib/api.js";
import { $, h, ltr, showError, svg as s } from "./lib/dom.js";
import { applyLanguage, t, tParts } from "./lib/i18n.js";
import { PRIORITIES, reasonTitle } from "./lib/labels.js";

// The page in the agent's language (lib/i18n.js) before anything else is drawn.
applyLanguage($("console-lang"));

const DASH = "—";
let loading = 0;

// ---- Formatting: null is "—" -------------------------------------------------------------

const isNum = (v) => typeof v === "number" && isFinite(v);
const num = (v) => (isNum(v) ? String(Number(v.toFixed(2))) : DASH);
const int = (v) => (isNum(v) ? String(Math.round(v)) : DASH);
const pct = (v) => (isNum(v) ? String(Number((v * 100).toFixed(1))) + "%" : DASH);

function secs(v) {
  if (!isNum(v)) return DASH;
  const t = Math.round(v);
  if (t < 60) return t + "s";
  if (t < 3600) return Math.floor(t / 60) + "m " + String(t % 60).padStart(2, "0") + "s";
  if (t < 86400) return Math.floor(t / 3600) + "h " + String(Math.floor((t % 3600) / 60)).padStart(2, "0") + "m";
  return (t / 86400).toFixed(1) + "d";
}

function get(obj, path) {
  return path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
}

// SLA attainment over all priorities: met tickets over tickets with a known outcome.
function slaOverall(m) {
  let met = 0;
  let total = 0;
  for (const p in (m && m.sla_attainment) || {}) {
    met += Number(m.sla_attainment[p].met) || 0;
    total += Number(m.sla_attainment[p].tickets) || 0;
  }
  return { share: total ? met / total : null, met: met, tickets: total };
}

// ---- Session (the token is shared with the console, same tab) -------------------------

function signedOut() {
  setToken(null);
  $("dash").hidden = true;
  $("topnav").hidden = true;
  $("logout").hidden = true;
  $("me").textContent = "";
  $("login").hidden = false;
  $("login-email").focus();
}

function signedIn(agent) {
  $("login").hidden = true;
  $("dash").hidden = false;
  $("topnav").hidden = false;
  $("logout").hidden = false;
  $("me").textContent = agent ? agent.name : "";
  api("GET", "/api/me").then((me) => {
    for (const link of document.querySelectorAll("[data-admin]")) link.hidden = me.role !== "admin";
    for (const link of document.querySelectorAll("[data-lead]")) link.hidden = me.role === "agent";
  }, () => {});
  load();
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = { email: $("login-email").value.trim(), password: $("login-password").value };
  api("POST", "/api/auth/login", body).then((data) => {
    setToken(data.token);
    $("login-password").value = "";
    showError("");
    signedIn(data.agent);
  }, (err) => showError(err.message));
});

$("logout").addEventListener("click", () => {
  signOut().finally(() => { signedOut(); showError(""); });
});

// ---- Range -----------------------------------------------------------------------------

function isoDay(d) {
  return d.toISOString().slice(0, 10); // report days are UTC days
}

function initRange() {
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 29 * 86400000);
  const valid = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || "");
  $("end").value = valid(params.get("end")) ? params.get("end") : isoDay(today);
  $("start").value = valid(params.get("start")) ? params.get("start") : isoDay(monthAgo);
  const by = params.get("by");
  $("by").value = ["team", "channel", "topic"].indexOf(by) >= 0 ? by : "";
}

function query(extra) {
  const params = new URLSearchParams({ start: $("start").value, end: $("end").value });
  if ($("by").value) params.set("by", $("by").value);
  for (const k in extra || {}) params.set(k, extra[k]);
  return params.toString();
}

$("dash-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  history.replaceState(null, "", "?" + query());
  load();
});

$("csv").addEventListener("click", () => {
  api("GET", "/api/reports?" + query({ format: "csv" }), undefined, { raw: true })
    .then((res) => res.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: "frontline-report-" + $("start").value + "-" + $("end").value + ".csv" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }, (err) => showError(err.message));
});

async function load() {
  const mine = ++loading;
  $("range").textContent = t("Loading…");
  try {
    const report = await api("GET", "/api/reports?" + query());
    if (mine !== loading) return;
    render(report);
    showError("");
  } catch (err) {
    if (mine === loading) {
      $("range").textContent = "";
      showError(err.message);
    }
  }
}

// ---- Rendering -------------------------------------------------------------------------

function figure(path, text) {
  return h("span", { "data-figure": path }, text);
}

// `name` is the English name (data-metric, what tests and scripts find); shown translated.
function card(name, path, value, sub) {
  return h("dl", { class: "card", "data-metric": name },
    h("dt", null, t(name)),
    h("dd", null, figure(path, value), sub ? h("span", { class: "sub" }, sub) : null));
}

function renderCards(m) {
  const fr = m.first_response || {};
  const res = m.resolution || {};
  const csat = m.csat || {};
  const sla = slaOverall(m);
  $("cards").replaceChildren(
    card("Conversations", "conversations", int(m.conversations)),
    card("Bot containment", "containment_rate", pct(m.containment_rate),
      tParts("{n} contained by the bot", { n: figure("bot_contained", int(m.bot_contained)) })),
    card("Hand-off rate", "handoff_rate", pct(m.handoff_rate),
      tParts("{n} hand-offs", { n: figure("handoffs", int(m.handoffs)) })),
    card("CSAT", "csat.mean", num(csat.mean),
      tParts("{n} response(s) · satisfied {share}", {
        n: figure("csat.responses", int(csat.responses)),
        share: figure("csat.satisfied_share", pct(csat.satisfied_share)),
      })),
    card("First response", "first_response.mean_seconds", secs(fr.mean_seconds),
      tParts("p90 {p90} · within SLA {share}", {
        p90: figure("first_response.p90_seconds", secs(fr.p90_seconds)),
        share: figure("first_response.within_sla_share", pct(fr.within_sla_share)),
      })),
    card("Resolution time", "resolution.mean_seconds", secs(res.mean_seconds),
      tParts("p90 {p90} · {n} resolved", {
        p90: figure("resolution.p90_seconds", secs(res.p90_seconds)),
        n: figure("resolution.count", int(res.count)),
      })),
    card("SLA attainment", "sla_attainment.overall", pct(sla.share),
      t("{n} ticket(s) with a known outcome", { n: sla.tickets })),
    card("First contact resolution", "fcr_rate", pct(m.fcr_rate)),
    card("Reopen rate", "reopen_rate", pct(m.reopen_rate)));
}

function table(id, headers, rows, empty) {
  const thead = h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, t(x)))));
  const body = rows.length
    ? rows.map((r) => h("tr", null, r.map((cell, i) => (i === 0 ? h("th", { scope: "row" }, cell) : h("td", null, cell)))))
    : [h("tr", null, h("td", { colspan: String(headers.length), class: "muted" }, t(empty || "Nothing in this range.")))];
  $(id).replaceChildren(thead, h("tbody", null, body));
}

function renderTables(report) {
  const m = report.overall || {};
  const reasons = m.handoff_by_reason || {};
  table("reasons", ["Reason", "Hand-offs", "Rate"],
    Object.keys(reasons).sort().map((r) => [t(reasonTitle(r)), int(reasons[r].count), pct(reasons[r].rate)]));
  const sla = m.sla_attainment || {};
  const order = PRIORITIES.concat(Object.keys(sla).filter((p) => PRIORITIES.indexOf(p) < 0));
  table("sla", ["Priority", "Tickets", "Met", "Share"],
    order.filter((p) => sla[p]).map((p) => [t(p), int(sla[p].tickets), int(sla[p].met), pct(sla[p].share)]));

  const groups = report.groups || [];
  $("groups-box").hidden = !report.by;
  if (report.by) {
    $("groups-title").textContent = t("By {group}", { group: t(report.by) });
    table("groups", [report.by, "Conversations", "Containment", "Hand-off rate", "First response (mean)",
      "Within SLA", "Resolution (mean)", "SLA attainment", "CSAT", "FCR", "Reopen"],
    groups.map((g) => [String(g.key), int(g.conversations), pct(g.containment_rate), pct(g.handoff_rate),
      secs(get(g, "first_response.mean_seconds")), pct(get(g, "first_response.within_sla_share")),
      secs(get(g, "resolution.mean_seconds")), pct(slaOverall(g).share),
      num(get(g, "csat.mean")) + " (" + int(get(g, "csat.responses")) + ")", pct(g.fcr_rate), pct(g.reopen_rate)]));
  }
  table("unanswered", ["Question", "Times"],
    (report.top_unanswered || []).map((q) => [q.question, int(q.count)]), "The bot had an answer every time.");
  table("not-helpful", ["Question", "Times"],
    (report.top_not_helpful || []).map((q) => [q.question, int(q.count)]), "No answer was marked unhelpful.");
  const help = report.help_center || { views: 0, helpful: 0, not_helpful: 0, articles: [] };
  $("help-summary").textContent = t("{views} article views; {helpful} helpful, {not_helpful} not helpful.",
    { views: int(help.views), helpful: int(help.helpful), not_helpful: int(help.not_helpful) });
  table("help-articles", ["Article", "Views", "Helpful", "Not helpful"],
    help.articles.map((a) => [a.article_id, int(a.views), int(a.helpful), int(a.not_helpful)]), "Nobody read the help center in this period.");
  table("series-table", ["Day", "Conversations", "Bot containment", "SLA attainment"],
    (report.series || []).map((d) => [d.date, int(d.conversations), pct(d.containment_rate), pct(d.sla_attainment)]));
}

function niceMax(v) {
  if (v <= 4) return 4;
  const mag = Math.pow(10, Math.floor(Math.log10(v)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * mag >= v) return step * mag;
  return 10 * mag;
}

function renderChart(series) {
  const W = 960, H = 300, L = 48, R = 52, T = 14, B = 40;
  const plotW = W - L - R, plotH = H - T - B;
  const n = series.length;
  const svg = s("svg", {
    viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "chart-title chart-desc",
    direction: "ltr", // axes and anchors as drawn, also on a right-to-left page
  });
  svg.append(s("desc", { id: "chart-desc" }, n
    ? t("Daily conversations as bars, bot containment and SLA attainment as lines, from {start} to {end}.",
      { start: series[0].date, end: series[n - 1].date })
    : t("No days in range.")));
  if (!n) {
    $("chart").replaceChildren(svg);
    return;
  }
  const maxCount = niceMax(Math.max(0, ...series.map((d) => Number(d.conversations) || 0)));
  const x = (i) => L + (plotW * (i + 0.5)) / n;
  const yCount = (v) => T + plotH - (plotH * v) / maxCount;
  const yRate = (v) => T + plotH - plotH * v;
  const grid = s("g", { class: "grid" });
  for (let k = 0; k <= 4; k++) {
    const y = T + (plotH * k) / 4;
    grid.append(s("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#e4e7eb" }));
    grid.append(s("text", { x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#52606d" },
      String(Number((maxCount * (1 - k / 4)).toFixed(1)))));
    grid.append(s("text", { x: W - R + 6, y: y + 4, "font-size": 11, fill: "#52606d" }, (100 - k * 25) + "%"));
  }
  svg.append(grid);

  const bars = s("g", { class: "bars" });
  const bw = Math.max(1, Math.min(28, (plotW / n) * 0.7));
  series.forEach((d, i) => {
    const v = Number(d.conversations) || 0;
    const rect = s("rect", {
      x: x(i) - bw / 2, y: yCount(v), width: bw, height: Math.max(0, T + plotH - yCount(v)), fill: "#9fb3c8", rx: 2,
    });
    rect.append(s("title", null, t("{date}: {n} conversation(s), containment {containment}, SLA attainment {sla}",
      { date: d.date, n: v, containment: pct(d.containment_rate), sla: pct(d.sla_attainment) })));
    bars.append(rect);
  });
  svg.append(bars);

  // A line per rate; a day without data (null) breaks the line rather than dropping to 0.
  function line(key, color, label) {
    const g = s("g", { class: "line-" + key });
    let d = "";
    let pen = false;
    series.forEach((p, i) => {
      const v = p[key];
      if (!isNum(v)) { pen = false; return; }
      d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + yRate(v).toFixed(1) + " ";
      pen = true;
      const dot = s("circle", { cx: x(i), cy: yRate(v), r: 3, fill: color });
      dot.append(s("title", null, t(label, { date: p.date, value: pct(v) })));
      g.append(dot);
    });
    if (d) g.prepend(s("path", { d: d.trim(), fill: "none", stroke: color, "stroke-width": 2 }));
    svg.append(g);
  }
  line("containment_rate", "#2e7d32", "{date}: bot containment {value}");
  line("sla_attainment", "#d9822b", "{date}: SLA attainment {value}");

  const axis = s("g", { class: "x-axis" });
  axis.append(s("line", { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, stroke: "#9aa5b1" }));
  const every = Math.max(1, Math.ceil(n / 10));
  series.forEach((d, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    axis.append(s("text", { x: x(i), y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#52606d" },
      String(d.date).slice(5)));
  });
  svg.append(axis);
  $("chart").replaceChildren(svg);
}

function render(report) {
  const range = report.range || {};
  $("range").replaceChildren(...tParts("Showing {start} to {end} (UTC days)",
    { start: ltr(range.start || "?"), end: ltr(range.end || "?") }));
  renderCards(report.overall || {});
  renderChart(report.series || []);
  renderTables(report);
}

// ---- Boot ------------------------------------------------------------------------------

onSessionEnd(signedOut);
initRange();
if (!getToken()) {
  signedOut();
} else {
  api("GET", "/api/me").then(signedIn, (err) => {
    if (getToken()) signedIn(null);
    showError(err.message);
  });
}
