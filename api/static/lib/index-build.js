// After an edit whose index build goes on in the background (index_status "building"): ask
// the hub how its builds are going (GET /api/kb/build) until they end, then call `done` with
// that status ({state: "idle" | "failed", error, ...}).

import { api } from "./api.js";

const EVERY_MS = 2000;

export function followBuild(done) {
  const look = () => api("GET", "/api/kb/build").then((status) => {
    if (status.state === "building") setTimeout(look, EVERY_MS);
    else done(status);
  }, () => setTimeout(look, EVERY_MS * 2));
  setTimeout(look, EVERY_MS);
}

// The outcome of an edit's build, as the editor and the gaps page say it: "live", "building"
// or "failed".
export function buildOutcome(result) {
  if (result.index_status === "building") return "building";
  if (result.index_status === "failed") return "failed";
  return "live";
}
