// Text for times, durations and scores in the console.

// A date and time in the agent's locale ("" when not a date).
export function time(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleString();
}

// Only the time for today, else the date and time.
export function shortTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleString();
}

// One line of at most n characters.
export function excerpt(text, n) {
  const s = String(text || "").replace(/\s+/g, " ").trim();
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

// "42s", "3m 05s", "2h 10m", "1d 4h" (the sign is ignored).
export function duration(seconds) {
  const s = Math.max(0, Math.round(Math.abs(seconds)));
  const pad = (x) => String(x).padStart(2, "0");
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

// A retrieval score with two decimals, "—" when there is none.
export function score(value) {
  const n = Number(value);
  return value !== null && value !== undefined && isFinite(n) ? n.toFixed(2) : "—";
}

// Snippets are Markdown; a chat reply is plain text.
export function plain(markdown) {
  return String(markdown || "").replace(/\*\*|__|`/g, "").replace(/\[([^\]]*)\]\(([^)]*)\)/g, "$1 ($2)").trim();
}
