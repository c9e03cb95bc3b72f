// The hub's REST API for the console and the dashboard: the agent's bearer token (kept per
// tab in sessionStorage, so both pages of one tab share it) and the hub's errors as Errors.

const TOKEN_KEY = "frontline.agent_token";

let token = sessionStorage.getItem(TOKEN_KEY);
let sessionEnded = () => {};

export function getToken() {
  return token;
}

// Remember the token after signing in; null forgets it (signing out).
export function setToken(value) {
  token = value || null;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// What to do when the hub answers 401 (the token expired or was revoked): sign out.
export function onSessionEnd(handler) {
  sessionEnded = handler;
}

// Sign out on the hub: the session is deleted there, so the token is dead even if a copy of
// it survives somewhere. Errors are ignored (the token is forgotten here either way).
export async function signOut() {
  const current = token;
  if (!current) return;
  try {
    await fetch("/api/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + current } });
  } catch (e) {
    // the hub is unreachable: the session expires on its own
  }
}

// Sign out because the hub said the session is over (also for the live socket's close code).
export function endSession() {
  sessionEnded();
}

function detailOf(data, res) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  // FastAPI validation errors are a list of {msg, loc}.
  if (Array.isArray(detail)) return detail.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
  return res.status + " " + (res.statusText || "error");
}

// The parsed JSON answer, or, with {raw: true}, the Response itself (e.g. a CSV download).
// Failures throw an Error with the hub's message and, for HTTP errors, its `status`.
export async function api(method, path, body, options) {
  const raw = !!(options && options.raw);
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error("Cannot reach the hub. Check your connection and try again.");
  }
  if (res.status === 401 && path !== "/api/auth/login") {
    sessionEnded();
    throw new Error("Your session has ended. Please sign in again.");
  }
  if (raw && res.ok) return res;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(detailOf(data, res));
    error.status = res.status;
    throw error;
  }
  return data;
}
