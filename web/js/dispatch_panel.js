// The operator console's dispatch panel: "Add interpreter" (language defaults to the call's),
// live progress lines from the dispatcher (with a running "… 12 s" while ringing), cancel the
// search, remove or replace the interpreter. Each line is worded here, in the page language, from
// the typed `progress` event (src/engine/dispatch/types.rs ProgressEvent); an event this page
// does not know shows its name. Owns only the panel;
// operator.js hands it the signalling client, the current call and the page language.

import { NAMES } from "../i18n/strings.js";

const $ = (id) => document.getElementById(id);
const MAX_LINES = 30;
/** Events after which nothing is being sought any more. */
const SETTLED = new Set(["accepted", "failed", "cancelled", "left", "removed"]);

/**
 * The line for one progress event. `names` maps interpreter ids to the names earlier events
 * carried (a decline names only the id).
 * @param {import("../i18n/console.js").PageLanguage} i18n
 */
export function progressText(p, i18n, names = new Map()) {
  const t = (k, v) => i18n.t(k, v);
  const lang = (code) => i18n.languageName(code);
  const who = (id) => names.get(id) || id;
  switch (p.event) {
    case "ringing": {
      const details = [p.university, p.level && t(`level_${p.level}`), lang(p.language)].filter(Boolean);
      return t("p_ringing", { name: p.name, details: details.join(", ") });
    }
    case "declined": return t("p_declined", { name: who(p.interpreter) });
    case "timed_out": return t(p.paused ? "p_timed_out_paused" : "p_timed_out", { name: who(p.interpreter) });
    case "ringing_next": return t("p_ringing_next");
    case "waiting": return t("p_waiting", { language: lang(p.language), n: p.position });
    case "escalated":
      return p.to?.kind === "relay"
        ? t("p_escalated_relay", { language: lang(p.to.language) })
        : t("p_escalated_off_shift");
    case "accepted": {
      const s = (p.waited_ms / 1000).toFixed(1);
      return p.relay
        ? t("p_accepted_relay", { name: p.name, s, language: lang(p.relay) })
        : t("p_accepted", { name: p.name, s });
    }
    case "withdrawn": return t("p_withdrawn", { name: who(p.interpreter) });
    case "failed":
      return p.language ? t("p_failed", { language: lang(p.language) }) : t("p_failed_no_language");
    case "cancelled": return t("p_cancelled");
    case "left": return t("p_left", { name: p.name || who(p.interpreter) });
    case "removed": return t("p_removed", { name: p.name || who(p.interpreter) });
    case "replacement_requested":
      return t(`p_lost_${p.why}`, { name: who(p.lost) });
    default: return p.event;
  }
}

/**
 * @param {import("./signaling.js").SignalingClient} sig
 * @param {() => object|null} currentCall  the operator's CallView, or null
 * @param {import("../i18n/console.js").PageLanguage} i18n
 */
export function attachDispatchPanel(sig, currentCall, i18n) {
  const state = { ringingSince: null, ringingLine: null, clockOffset: 0, active: false, names: new Map(), language: null };
  const lang = $("dispatch-language");
  const fillLanguages = () => {
    const chosen = lang.value;
    lang.replaceChildren(new Option(i18n.t("calls_language"), ""),
      ...Object.keys(NAMES).filter((l) => l !== "zh").map((l) => new Option(`${i18n.languageName(l)} (${l})`, l)));
    lang.value = chosen;
  };
  fillLanguages();

  /** Words `li` from its event, with the ringing time when it is the live ringing line. */
  const word = (li) => {
    let text = progressText(li.progress, i18n, state.names);
    if (li === state.ringingLine) {
      const s = Math.max(0, Math.round((Date.now() + state.clockOffset - state.ringingSince) / 1000));
      text += ` ${i18n.t("seconds", { n: s })}…`;
    }
    li.textContent = text;
  };

  $("dispatch-add").addEventListener("click", () => {
    if (!currentCall()) return;
    $("dispatch-lines").replaceChildren();
    sig.requestInterpreter(lang.value || null, $("dispatch-brief").value);
  });
  $("dispatch-cancel").addEventListener("click", () => sig.cancelInterpreter());
  $("dispatch-remove").addEventListener("click", () => sig.removeInterpreter());
  $("dispatch-replace").addEventListener("click", () => sig.replaceInterpreter());

  sig.on("dispatch", (m) => {
    const call = currentCall();
    if (!call || call.call_id !== m.progress.call) return;
    const p = m.progress;
    state.clockOffset = p.at - Date.now();
    if (p.name && p.interpreter) state.names.set(p.interpreter, p.name);
    // A failure names no language: word it with the one the search was for.
    if (p.language) state.language = p.language;
    const ev = p.event;
    const li = document.createElement("li");
    li.dataset.event = ev;
    li.progress = ev === "failed" && !p.language ? { ...p, language: state.language } : p;
    if (ev === "ringing") { state.ringingSince = p.since; state.ringingLine = li; } else { state.ringingLine = null; }
    word(li);
    $("dispatch-lines").prepend(li);
    while ($("dispatch-lines").children.length > MAX_LINES) $("dispatch-lines").lastChild.remove();
    const searching = !SETTLED.has(ev);
    const joined = ev === "accepted";
    state.active = searching || joined;
    render(searching, joined);
  });
  sig.on("left", () => { $("dispatch-lines").replaceChildren(); render(false, false); });
  i18n.addEventListener("change", () => {
    fillLanguages();
    for (const li of $("dispatch-lines").children) word(li);
  });
  setInterval(() => { if (state.ringingLine) word(state.ringingLine); }, 500);
  render(false, false);
}

function render(searching, joined) {
  $("dispatch-add").disabled = searching || joined;
  $("dispatch-cancel").hidden = !searching;
  $("dispatch-remove").hidden = !joined;
  $("dispatch-replace").hidden = !joined;
}
