// Knowledge gaps for leads (GET /api/kb/gaps): topics of unsettled questions, each with a
// suggestion: add phrasings to an article (one click: POST /api/kb/gaps/phrasings, which
// rebuilds the index), or a draft of a new article to finish. Text nodes only.

import { api } from "./lib/api.js";
import { startAdminPage } from "./lib/admin-page.js";
import { $, h, showError } from "./lib/dom.js";

const KIND_LABELS = { no_answer: "no answer", clarified: "choices, then a person", not_helpful: "didn't help" };

function mix(counts) {
  return Object.keys(counts || {}).map((k) => (KIND_LABELS[k] || k) + " " + counts[k]).join(", ");
}

function addPhrasings(suggestion, boxes, button, result) {
  const questions = boxes.filter((b) => b.checked).map((b) => b.value);
  if (!questions.length) return;
  button.disabled = true;
  result.textContent = "Adding and rebuilding the index…";
  api("POST", "/api/kb/gaps/phrasings", { article_id: suggestion.article_id, questions, lang: suggestion.lang }).then((done) => {
    result.textContent = done.added.length
      ? "Added " + done.added.length + " phrasing(s) to " + suggestion.title + (done.index_rebuilt ? "; the bot uses them now." : ".")
      : "Nothing new to add.";
  }, (err) => { button.disabled = false; result.textContent = ""; showError(err.message); });
}

function suggestionBlock(suggestion) {
  if (suggestion.action === "add_phrasings") {
    const boxes = suggestion.questions.map((q) => h("input", { type: "checkbox", value: q, checked: true }));
    const result = h("p", { class: "muted", role: "status" });
    const button = h("button", { type: "button", class: "add-phrasings" },
      "Add " + suggestion.questions.length + " phrasing(s) to “" + suggestion.title + "”");
    button.addEventListener("click", () => addPhrasings(suggestion, boxes, button, result));
    return h("div", { class: "gap-suggestion" },
      h("h4", null, "Suggestion: these phrasings belong to “" + suggestion.title + "”"),
      h("ul", { class: "plain-list" }, boxes.map((box) => h("li", null, h("label", null, box, " " + box.value)))),
      button, result);
  }
  const draft = h("textarea", { class: "gap-draft", rows: "10", readonly: true, "aria-label": "Draft article" });
  draft.value = suggestion.draft;
  return h("div", { class: "gap-suggestion" },
    h("h4", null, "Suggestion: a new article"),
    h("p", { class: "hint" }, "A draft with the customers' questions and what agents answered: save it as a .md file in the knowledge base and write the answer."),
    draft);
}

function topicItem(topic) {
  return h("li", { class: "gap-topic" },
    h("h3", null, topic.examples[0]),
    h("p", { class: "muted" }, topic.size + " question(s): " + mix(topic.kinds)),
    h("p", { class: "muted" }, "Channels: " + Object.entries(topic.channels).map((e) => e[0] + " " + e[1]).join(", ")
      + " · languages: " + Object.entries(topic.languages).map((e) => e[0] + " " + e[1]).join(", ")
      + " · tickets: " + topic.tickets.slice(0, 10).map((t) => "#" + t).join(", ")),
    topic.examples.length > 1
      ? h("ul", { class: "plain-list" }, topic.examples.slice(1).map((q) => h("li", null, q))) : null,
    topic.agent_answers.length
      ? h("details", null, h("summary", null, "What agents answered (" + topic.agent_answers.length + ")"),
        h("ul", { class: "plain-list" }, topic.agent_answers.map((a) => h("li", null, a))))
      : null,
    suggestionBlock(topic.suggestion));
}

function load() {
  showError("");
  const params = new URLSearchParams();
  if ($("f-since").value) params.set("since", $("f-since").value);
  if ($("f-until").value) params.set("until", $("f-until").value);
  $("status").textContent = "Grouping…";
  api("GET", "/api/kb/gaps?" + params.toString()).then((report) => {
    $("status").textContent = "";
    $("summary").textContent = report.questions + " unsettled question(s) since " + report.since
      + (report.until ? " until " + report.until : "") + ", in " + report.topics.length + " topic(s).";
    $("topics").replaceChildren(...report.topics.map(topicItem));
    const unhelpful = report.help_articles_not_helpful || [];
    $("help-articles").replaceChildren(...(unhelpful.length
      ? unhelpful.map((a) => h("li", null, h("a", { href: "/help/articles/" + encodeURIComponent(a.article_id) }, a.article_id),
        " · " + a.not_helpful + " of " + (a.helpful + a.not_helpful) + " votes: not helpful · " + a.views + " views"))
      : [h("li", { class: "muted" }, "None in this period.")]));
  }, (err) => { $("status").textContent = ""; showError(err.message); });
}

startAdminPage(() => {
  $("gaps-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
}, "lead");
