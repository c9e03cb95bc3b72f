// Getting the agent's attention: the title badge, the beep (and its on/off setting), and the
// error line that every action reports to.

import { showError } from "../lib/dom.js";
import { state } from "./state.js";

const SOUND_KEY = "frontline.sound";
const TITLE = "Frontline console";
let audio = null;

// Every user action reports its own failure and clears the line when it works.
export function run(promise) {
  return promise.then(() => showError(""), (err) => showError(err.message));
}

// "(n) Frontline console": waiting tickets plus unread customer messages.
export function updateTitle() {
  let n = state.queue.items.length;
  for (const count of state.unread.values()) n += count;
  document.title = n > 0 ? "(" + n + ") " + TITLE : TITLE;
}

export function soundOn() {
  try { return localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { return true; }
}

export function setSound(on) {
  try { localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* ignore */ }
  if (on) beep(); // also unlocks audio after this user gesture
}

export function beep() {
  if (!soundOn()) return;
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    const t = audio.currentTime;
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(660, t + 0.09);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + 0.22);
  } catch (e) { /* sound is a nicety */ }
}
