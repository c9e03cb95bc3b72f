// Help beside the conversation: for the customer's latest message, the knowledge base's best
// sections and colleagues' replies to similar questions in conversations rated 4-5, each one
// click from the reply box. Fetched again only when the customer writes something new.

import { api } from "../lib/api.js";
import { $, h } from "../lib/dom.js";
import { excerpt, score } from "../lib/format.js";
import { insertText } from "./composer.js";
import { hitItem } from "./kb.js";

let shown = { conversation: null, message: undefined };

export function clearAssist() {
  shown = { conversation: null, message: undefined };
  $("assist-articles").replaceChildren();
  $("assist-replies").replaceChildren();
  $("assist-for").textContent = "";
}

function replyItem(reply) {
  return h("li", { class: "kb-hit assist-reply" },
    h("div", { class: "kb-title" }, "Ticket #" + reply.ticket_number + " · rated " + reply.rating + "/5",
      h("span", { class: "score" }, score(reply.score))),
    h("div", { class: "muted" }, "Asked: " + excerpt(reply.question, 120)),
    h("div", { class: "kb-snippet" }, excerpt(reply.text, 400)),
    h("div", { class: "kb-actions" },
      h("button", {
        type: "button", class: "insert-reply", "aria-label": "Insert this reply",
        onclick: () => insertText(reply.text),
      }, "Insert reply")));
}

function render(data) {
  $("assist-for").textContent = data.query ? "For: “" + excerpt(data.query, 80) + "”" : "The customer has not written yet.";
  const articles = data.articles || [];
  const replies = data.replies || [];
  $("assist-articles").replaceChildren(...(articles.length
    ? articles.map(hitItem) : [h("li", { class: "muted" }, "No article matches.")]));
  $("assist-replies").replaceChildren(...(replies.length
    ? replies.map(replyItem) : [h("li", { class: "muted" }, "No similar rated reply yet.")]));
}

// `messages`: the open conversation's messages; asks the hub only when the latest customer
// message is not the one the suggestions were made for.
export async function refreshAssist(conversationId, messages) {
  const customer = (messages || []).filter((m) => m.role === "customer");
  const latest = customer.length ? customer[customer.length - 1].id : null;
  if (shown.conversation === conversationId && shown.message === latest) return;
  shown = { conversation: conversationId, message: latest };
  const data = await api("GET", "/api/conversations/" + encodeURIComponent(conversationId) + "/assist");
  if (shown.conversation !== conversationId) return; // another conversation was opened meanwhile
  render(data);
}
