// A safe subset of Markdown, built as DOM elements: the one implementation, shared by the
// console (an ES module import) and the widget (the hub serves /static/widget.js with this
// file in front of it, turned into the global FrontlineMarkdown by api/routes/pages.py: so no
// imports here, and exports only as top-level `export function`).
//
// Every piece of text becomes a text node, never HTML; only http(s) links get an href, so a
// `javascript:` or `data:` URL stays text. Inline: `code`, **bold**, *emphasis*,
// [label](url) and bare URLs, not nested. Blocks: paragraphs, "- " / "* " / "1. " lists,
// "#" headings as bold lines.

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const name in attrs || {}) node.setAttribute(name, attrs[name]);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function safeUrl(raw) {
  if (typeof raw !== "string") return null;
  try {
    const url = new URL(raw.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

function anchor(text, href) {
  return el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" }, text);
}

// A link to `url` if it is http(s), else a <span> of the same text.
export function link(url, text, className) {
  const href = safeUrl(url);
  const node = href ? anchor(text, href) : el("span", {}, text);
  if (className) node.className = className;
  return node;
}

const INLINE = /`([^`\n]+)`|\*\*([^*\n]+?)\*\*|\[([^\]\n]+)\]\(([^()\s]+)\)|(https?:\/\/[^\s<>()]*[^\s<>().,;:!?'"])|\*([^*\s](?:[^*\n]*[^*\s])?)\*/g;

function inline(text, parent) {
  let at = 0;
  INLINE.lastIndex = 0;
  let m;
  while ((m = INLINE.exec(text)) !== null) {
    if (m.index > at) parent.appendChild(document.createTextNode(text.slice(at, m.index)));
    if (m[1] !== undefined) parent.appendChild(el("code", {}, m[1]));
    else if (m[2] !== undefined) parent.appendChild(el("strong", {}, m[2]));
    else if (m[3] !== undefined) {
      const href = safeUrl(m[4]);
      parent.appendChild(href ? anchor(m[3], href) : document.createTextNode(m[0]));
    } else if (m[5] !== undefined) {
      const href = safeUrl(m[5]);
      parent.appendChild(href ? anchor(m[5], href) : document.createTextNode(m[0]));
    } else parent.appendChild(el("em", {}, m[6]));
    at = m.index + m[0].length;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
}

// `text` as a <div class="{className}">; headings get class "{headingClass}".
export function render(text, className, headingClass) {
  const root = el("div", { class: className || "md" });
  let para = null;
  let list = null;
  for (const line of String(text).replace(/\r\n?/g, "\n").split("\n")) {
    const bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
    const numbered = /^\s*(\d{1,9})[.)]\s+(.*)$/.exec(line);
    const heading = /^\s*#{1,6}\s+(.*)$/.exec(line);
    if (!line.trim()) { para = null; list = null; continue; }
    if (bullet || numbered) {
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag);
        if (numbered && numbered[1] !== "1") list.setAttribute("start", numbered[1]);
        root.appendChild(list);
      }
      const item = el("li");
      inline(bullet ? bullet[1] : numbered[2], item);
      list.appendChild(item);
      para = null;
      continue;
    }
    list = null;
    if (heading) {
      const p = el("p", { class: headingClass || "md-heading" });
      p.appendChild(el("strong", {}, heading[1]));
      root.appendChild(p);
      para = null;
      continue;
    }
    if (para) para.appendChild(document.createTextNode("\n"));
    else { para = el("p"); root.appendChild(para); }
    inline(line, para);
  }
  return root;
}
