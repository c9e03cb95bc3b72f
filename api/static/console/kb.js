// The knowledge-base panel: search the articles, and insert a link ("title — url") or an
// article's text into the reply.

import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { excerpt, plain, score } from "../lib/format.js";
import { link, safeUrl } from "../lib/markdown.js";
import { run } from "./attention.js";
import { insertText } from "./composer.js";
import { t } from "../lib/i18n.js";

export function hitItem(hit) {
  const title = hit.title || hit.article_id || "article";
  const href = safeUrl(hit.url);
  return h("li", { class: "kb-hit", "data-article": String(hit.article_id) },
    h("div", { class: "kb-title" }, link(hit.url, title, "source"), h("span", { class: "score" }, score(hit.score))),
    hit.section ? h("div", { class: "muted" }, hit.section) : null,
    h("div", { class: "kb-snippet" }, excerpt(plain(hit.snippet), 220)),
    h("div", { class: "kb-actions" },
      h("button", {
        type: "button", class: "insert-link", disabled: !href,
        "aria-label": "Insert link to " + title,
        onclick: () => insertText(title + " — " + href),
      }, t("Insert link")),
      h("button", {
        type: "button", class: "insert-snippet", "aria-label": "Insert text of " + title,
        onclick: () => insertText(plain(hit.snippet) + (href ? "\n" + href : "")),
      }, t("Insert text"))));
}

function search(ev) {
  ev.preventDefault();
  const q = $("kb-q").value.trim();
  if (!q) return;
  const list = $("kb-results");
  list.replaceChildren(h("li", { class: "muted" }, t("Searching…")));
  run(api("GET", "/api/kb/search?q=" + encodeURIComponent(q)).then((data) => {
    const hits = data.hits || [];
    if (!hits.length) {
      list.replaceChildren(h("li", { class: "muted" }, t("No articles found.")));
      return;
    }
    list.replaceChildren(...hits.map(hitItem));
  }, (err) => { list.replaceChildren(); throw err; }));
}

// Alt+K: open the panel and go to the search box.
export function focusSearch() {
  $("kb-panel").open = true;
  if (!$("side").hidden) $("kb-q").focus();
}

export function initKb() {
  $("kb-form").addEventListener("submit", search);
}
