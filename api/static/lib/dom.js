// DOM helpers shared by the console and the dashboard. Strings always become text nodes or
// attribute values, never markup: nothing from the hub goes through innerHTML.

export const $ = (id) => document.getElementById(id);

// h("div", {class: "x", onclick: fn}, "text", child, [more, kids]): an element. Attributes that
// are null, undefined or false are left out, true is an empty attribute, a function is an
// event listener ("onclick" listens to "click"); kids may be arrays, and null,
// undefined and false kids are skipped.
export function h(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const name in attrs || {}) {
    const value = attrs[name];
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") node.addEventListener(name.replace(/^on/, ""), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return node;
}

// A value that reads left to right on any page (a date, an id), isolated from the text
// around it: in a Persian sentence, "2026-11-02" would otherwise show as "02-11-2026".
export function ltr(text) {
  return h("bdi", { dir: "ltr" }, text);
}

const SVG = "http://www.w3.org/2000/svg";

// An SVG element with its attributes and, optionally, its text.
export function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const name in attrs || {}) node.setAttribute(name, String(attrs[name]));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

// A <dt>/<dd> pair for a <dl>; an empty value shows as "—".
export function field(name, value) {
  return [h("dt", null, name), h("dd", null, value === null || value === undefined || value === "" ? "—" : value)];
}

// The page's error line (<p id="error" role="alert">); an empty text hides it.
export function showError(text) {
  $("error").textContent = text || "";
  $("error").hidden = !text;
}
