// The knowledge-base editor for leads: list and filter the articles, create or edit one
// (preview as the bot and the help center show Markdown), try a question, publish (the hub
// checks the whole knowledge base and rebuilds the index), and restore an earlier version.
// Text nodes only.

import { api } from "./lib/api.js";
import { startAdminPage } from "./lib/admin-page.js";
import { $, h, showError } from "./lib/dom.js";
import { applyLanguage, t } from "./lib/i18n.js";
import { buildOutcome, followBuild } from "./lib/index-build.js";
import { render } from "./lib/markdown.js";

// The page in the agent's language (lib/i18n.js) before anything else is drawn.
applyLanguage($("console-lang"));

let articles = [];
let current = null; // {id, lang} of the article in the form, null for a new one

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function renderList() {
  const words = $("filter").value.trim().toLowerCase();
  const shown = articles.filter((a) => !words
    || (a.title + " " + a.tags.join(" ") + " " + a.lang + " " + a.id).toLowerCase().includes(words));
  $("articles").replaceChildren(...shown.map((a) => h("li", null,
    h("button", { type: "button", class: "linkish", dir: "auto", "data-article": a.id + ":" + a.lang, onclick: () => open(a.id, a.lang) },
      a.title), " ", h("span", { class: "muted" }, a.lang + (a.tags.length ? " · " + a.tags.join(", ") : "")))));
}

function loadList() {
  return api("GET", "/api/kb/articles").then((data) => { articles = data.articles; renderList(); });
}

function preview() {
  $("preview").replaceChildren(render($("f-body").value, "md"));
}

function fill(a) {
  $("f-id").value = a.id || "";
  $("f-id").readOnly = !!current;
  $("f-lang").value = a.lang || "en";
  $("f-lang").readOnly = !!current;
  $("f-title").value = a.title || "";
  $("f-url").value = a.url || "";
  $("f-tags").value = (a.tags || []).join(", ");
  $("f-questions").value = (a.questions || []).join("\n");
  $("f-body").value = a.body || "";
  $("save-status").textContent = a.path ? t("File: {path}", { path: a.path }) : "";
  $("edit").hidden = false;
  $("edit-hint").hidden = true;
  preview();
}

function loadHistory() {
  if (!current) { $("history").replaceChildren(); return Promise.resolve(); }
  const q = "?lang=" + encodeURIComponent(current.lang);
  return api("GET", "/api/kb/articles/" + encodeURIComponent(current.id) + "/history" + q).then((data) => {
    $("history").replaceChildren(...(data.revisions.length ? data.revisions.map((r) => h("li", null,
      new Date(r.at).toLocaleString() + " · " + (r.author || "—") + " · " + r.action + " ",
      h("button", { type: "button", class: "linkish", onclick: () => restore(r.id) }, t("Restore this version"))))
      : [h("li", { class: "muted" }, t("No changes made here yet (edits of the file on the server are not listed)."))]));
  });
}

function open(id, lang) {
  showError("");
  current = { id, lang };
  api("GET", "/api/kb/articles/" + encodeURIComponent(id) + "?lang=" + encodeURIComponent(lang))
    .then((a) => { fill(a); return loadHistory(); }, (err) => showError(err.message));
}

const PUBLISHED = "Published: the bot and the help center answer with it now.";

function buildFailed(error) {
  return t("Saved, but the index could not be rebuilt ({error}); the bot still answers from the one before.", { error });
}

function saved(result) {
  const status = $("save-status");
  const outcome = buildOutcome(result);
  status.textContent = !result.changed ? t("No change.")
    : outcome === "live" ? t(PUBLISHED)
      : outcome === "failed" ? buildFailed(result.index_error)
        : t("Saved. The index is being rebuilt; the bot and the help center answer with it when that is done.");
  if (result.changed && outcome === "building") {
    followBuild((build) => {
      status.textContent = build.state === "failed" ? buildFailed(build.error) : t(PUBLISHED);
    });
  }
  return loadList().then(loadHistory);
}

function publish(ev) {
  ev.preventDefault();
  showError("");
  const id = $("f-id").value.trim();
  const lang = $("f-lang").value.trim() || "en";
  const body = {
    title: $("f-title").value, body: $("f-body").value, questions: lines($("f-questions").value),
    tags: $("f-tags").value.split(",").map((tag) => tag.trim()).filter(Boolean), url: $("f-url").value.trim() || null,
  };
  $("save-status").textContent = t("Checking and publishing…");
  $("publish").disabled = true;
  api("PUT", "/api/kb/articles/" + encodeURIComponent(id) + "?lang=" + encodeURIComponent(lang), body)
    .then((result) => { current = { id, lang }; $("f-id").readOnly = true; $("f-lang").readOnly = true; return saved(result); },
      (err) => { $("save-status").textContent = ""; showError(t("Not published: {error}", { error: err.message })); })
    .finally(() => { $("publish").disabled = false; });
}

function restore(revisionId) {
  showError("");
  api("POST", "/api/kb/revisions/" + revisionId + "/restore")
    .then((result) => { open(current.id, current.lang); return saved(result); }, (err) => showError(err.message));
}

function tryIt(ev) {
  ev.preventDefault();
  const q = $("try-q").value.trim();
  if (!q) return;
  api("GET", "/api/kb/search?q=" + encodeURIComponent(q)).then((r) => {
    const best = r.hits[0];
    $("try-result").replaceChildren(
      h("p", null, t("Decision: {decision} (confidence {confidence})", { decision: t(r.decision), confidence: r.confidence.toFixed(2) })),
      h("ol", { class: "plain-list" }, r.hits.slice(0, 3).map((hit) => h("li", null,
        hit.title + (hit.section ? " › " + hit.section : "") + " · " + hit.score.toFixed(2)))),
      // The answer as the customer sees it: its Markdown rendered, as in the chat.
      best ? render(best.snippet, "md muted") : null);
  }, (err) => showError(err.message));
}

startAdminPage(() => {
  $("filter").addEventListener("input", renderList);
  $("new-article").addEventListener("click", () => { current = null; fill({ lang: "en" }); loadHistory(); $("f-id").focus(); });
  $("article-form").addEventListener("submit", publish);
  $("f-body").addEventListener("input", preview);
  $("try-form").addEventListener("submit", tryIt);
  loadList().catch((err) => showError(err.message));
}, "lead");
