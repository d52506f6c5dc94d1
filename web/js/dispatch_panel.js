// The operator console's dispatch panel: "Add interpreter" (language defaults to the call's),
// live progress lines from the dispatcher (with a running "… 12 s" while ringing), cancel the
// search, remove or replace the interpreter. Owns only the panel; operator.js hands it the
// signalling client and the current call.

import { NAMES } from "../i18n/strings.js";

const $ = (id) => document.getElementById(id);
const MAX_LINES = 30;

/**
 * @param {import("./signaling.js").SignalingClient} sig
 * @param {() => object|null} currentCall  the operator's CallView, or null
 */
export function attachDispatchPanel(sig, currentCall) {
  const state = { ringingSince: null, ringingLine: null, clockOffset: 0, active: false };
  const lang = $("dispatch-language");
  lang.replaceChildren(new Option("the call's language", ""),
    ...Object.keys(NAMES).filter((l) => l !== "zh").map((l) => new Option(`${NAMES[l]} (${l})`, l)));

  $("dispatch-add").addEventListener("click", () => {
    if (!currentCall()) return;
    $("dispatch-lines").replaceChildren();
    sig.requestInterpreter(lang.value || null);
  });
  $("dispatch-cancel").addEventListener("click", () => sig.cancelInterpreter());
  $("dispatch-remove").addEventListener("click", () => sig.removeInterpreter());
  $("dispatch-replace").addEventListener("click", () => sig.replaceInterpreter());

  sig.on("dispatch", (m) => {
    const call = currentCall();
    if (!call || call.call_id !== m.progress.call) return;
    state.clockOffset = m.progress.at - Date.now();
    const ev = m.progress.event;
    const li = document.createElement("li");
    li.dataset.event = ev;
    li.textContent = m.line;
    $("dispatch-lines").prepend(li);
    while ($("dispatch-lines").children.length > MAX_LINES) $("dispatch-lines").lastChild.remove();
    if (ev === "ringing") { state.ringingSince = m.progress.since; state.ringingLine = li; } else { state.ringingLine = null; }
    const searching = !["accepted", "failed", "cancelled"].includes(ev);
    const joined = ev === "accepted";
    state.active = searching || joined;
    render(searching, joined);
  });
  sig.on("left", () => { $("dispatch-lines").replaceChildren(); render(false, false); });
  setInterval(() => {
    if (!state.ringingLine) return;
    const s = Math.max(0, Math.round((Date.now() + state.clockOffset - state.ringingSince) / 1000));
    const base = state.ringingLine.textContent.replace(/ \d+ s…$/, "");
    state.ringingLine.textContent = `${base} ${s} s…`;
  }, 500);
  render(false, false);
}

function render(searching, joined) {
  $("dispatch-add").disabled = searching || joined;
  $("dispatch-cancel").hidden = !searching;
  $("dispatch-remove").hidden = !joined;
  $("dispatch-replace").hidden = !joined;
}
