// Knowledge gaps for leads (GET /api/kb/gaps): topics of unsettled questions, each with a
// suggestion: add phrasings to an article (one click: POST /api/kb/gaps/phrasings, which
// rebuilds the index), or a draft of a new article to finish. Text nodes only.

import { api } from "./lib/api.js";
import { startAdminPage } from "./lib/admin-page.js";
import { $, h, ltr, showError } from "./lib/dom.js";
import { applyLanguage, t, tParts } from "./lib/i18n.js";
import { buildOutcome, followBuild } from "./lib/index-build.js";

// The page in the agent's language (lib/i18n.js) before anything else is drawn.
applyLanguage($("console-lang"));

const KIND_LABELS = { no_answer: "no answer", clarified: "choices, then a person", not_helpful: "didn't help" };

function mix(counts) {
  return Object.keys(counts || {}).map((k) => (KIND_LABELS[k] ? t(KIND_LABELS[k]) : k) + " " + counts[k]).join(", ");
}

function addPhrasings(suggestion, boxes, button, result) {
  const questions = boxes.filter((b) => b.checked).map((b) => b.value);
  if (!questions.length) return;
  button.disabled = true;
  result.textContent = t("Adding and rebuilding the index…");
  api("POST", "/api/kb/gaps/phrasings", { article_id: suggestion.article_id, questions, lang: suggestion.lang }).then((done) => {
    const added = { n: done.added.length, title: suggestion.title };
    const live = () => t("Added {n} phrasing(s) to {title}; the bot uses them now.", added);
    const failed = (error) => t("Added {n} phrasing(s) to {title}, but the index could not be rebuilt ({error}).", { ...added, error });
    const outcome = buildOutcome(done);
    result.textContent = !done.added.length ? t("Nothing new to add.")
      : outcome === "live" ? live()
        : outcome === "failed" ? failed(done.index_error)
          : t("Added {n} phrasing(s) to {title}; the index is being rebuilt, and the bot uses them when that is done.", added);
    if (done.added.length && outcome === "building") {
      followBuild((build) => { result.textContent = build.state === "failed" ? failed(build.error) : live(); });
    }
  }, (err) => { button.disabled = false; result.textContent = ""; showError(err.message); });
}

function suggestionBlock(suggestion) {
  if (suggestion.action === "add_phrasings") {
    const boxes = suggestion.questions.map((q) => h("input", { type: "checkbox", value: q, checked: true }));
    const result = h("p", { class: "muted", role: "status" });
    const button = h("button", { type: "button", class: "add-phrasings" },
      t("Add {n} phrasing(s) to “{title}”", { n: suggestion.questions.length, title: suggestion.title }));
    button.addEventListener("click", () => addPhrasings(suggestion, boxes, button, result));
    return h("div", { class: "gap-suggestion" },
      h("h4", null, t("Suggestion: these phrasings belong to “{title}”", { title: suggestion.title })),
      h("ul", { class: "plain-list" }, boxes.map((box) => h("li", null, h("label", null, box, " " + box.value)))),
      button, result);
  }
  const draft = h("textarea", { class: "gap-draft", rows: "10", readonly: true, "aria-label": t("Draft article") });
  draft.value = suggestion.draft;
  return h("div", { class: "gap-suggestion" },
    h("h4", null, t("Suggestion: a new article")),
    h("p", { class: "hint" }, t("A draft with the customers' questions and what agents answered: save it as a .md file in the knowledge base and write the answer.")),
    draft);
}

function topicItem(topic) {
  return h("li", { class: "gap-topic" },
    h("h3", null, topic.examples[0]),
    h("p", { class: "muted" }, t("{n} question(s): {mix}", { n: topic.size, mix: mix(topic.kinds) })),
    h("p", { class: "muted" }, t("Channels: {channels} · languages: {languages} · tickets: {tickets}", {
      channels: Object.entries(topic.channels).map((e) => e[0] + " " + e[1]).join(", "),
      languages: Object.entries(topic.languages).map((e) => e[0] + " " + e[1]).join(", "),
      tickets: topic.tickets.slice(0, 10).map((n) => "#" + n).join(", "),
    })),
    topic.examples.length > 1
      ? h("ul", { class: "plain-list" }, topic.examples.slice(1).map((q) => h("li", null, q))) : null,
    topic.agent_answers.length
      ? h("details", null, h("summary", null, t("What agents answered ({n})", { n: topic.agent_answers.length })),
        h("ul", { class: "plain-list" }, topic.agent_answers.map((a) => h("li", null, a))))
      : null,
    suggestionBlock(topic.suggestion));
}

function load() {
  showError("");
  const params = new URLSearchParams();
  if ($("f-since").value) params.set("since", $("f-since").value);
  if ($("f-until").value) params.set("until", $("f-until").value);
  $("status").textContent = t("Grouping…");
  api("GET", "/api/kb/gaps?" + params.toString()).then((report) => {
    $("status").textContent = "";
    const counts = { n: report.questions, since: ltr(report.since), until: ltr(report.until), topics: report.topics.length };
    $("summary").replaceChildren(...tParts(report.until
      ? "{n} unsettled question(s) since {since} until {until}, in {topics} topic(s)."
      : "{n} unsettled question(s) since {since}, in {topics} topic(s).", counts));
    $("topics").replaceChildren(...report.topics.map(topicItem));
    const unhelpful = report.help_articles_not_helpful || [];
    $("help-articles").replaceChildren(...(unhelpful.length
      ? unhelpful.map((a) => h("li", null, h("a", { href: "/help/articles/" + encodeURIComponent(a.article_id) }, a.article_id),
        t(" · {n} of {total} votes: not helpful · {views} views",
          { n: a.not_helpful, total: a.helpful + a.not_helpful, views: a.views })))
      : [h("li", { class: "muted" }, t("None in this period."))]));
  }, (err) => { $("status").textContent = ""; showError(err.message); });
}

startAdminPage(() => {
  $("gaps-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
}, "lead");
