// The caller page: language, microphone, call creation, the call's states, hang-up and rating.
// Talks to POST /api/calls, the /ws signalling socket (signaling.js) and the media service
// (rtc.js). Exposes `window.hotline` for diagnostics and automated checks.

import { SignalingClient, wsUrl } from "./signaling.js";
import { CallMedia, HoldTone, microphone } from "./rtc.js";
import { NAMES, RTL, STRINGS, pick, t } from "../i18n/strings.js";

const LANGS = Object.keys(STRINGS);
const $ = (id) => document.getElementById(id);
// State icons as inline SVG (emoji fonts are not everywhere). Stroke icons, 24×24 viewBox.
const SVG = (body) => `<svg viewBox="0 0 24 24" width="56" height="56" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">${body}</svg>`;
const PHONE = '<path d="M5 4h3l2 5-2.5 1.5a11 11 0 0 0 6 6L15 14l5 2v3a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"/>';
const ICONS = {
  connecting: SVG('<circle cx="5" cy="12" r="1.5"/><circle cx="12" cy="12" r="1.5"/><circle cx="19" cy="12" r="1.5"/>'),
  waiting: SVG('<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>'),
  connected: SVG(PHONE),
  interpreter: SVG('<circle cx="8" cy="8" r="3"/><circle cx="17" cy="9" r="2.5"/><path d="M2 20c0-3.5 2.7-6 6-6s6 2.5 6 6M14 20c.3-2.8 1.6-4.6 4-4.6 2.3 0 3.7 1.8 4 4.6"/>'),
  hold: SVG('<circle cx="12" cy="12" r="9"/><path d="M10 8v8M14 8v8"/>'),
  reconnecting: SVG('<path d="M12 3 2 20h20L12 3z"/><path d="M12 10v4M12 17h.01"/>'),
};

const page = {
  lang: pick(navigator.languages),
  callLang: null,
  state: "idle",
  call: null, // { call_id, token, ice_servers, ice_transport_policy }
  sig: null,
  media: null,
  mediaFailed: false, // the audio leg's ICE failed: said in #media-error
  view: null,
  muted: false,
  holdTone: new HoldTone(),
  longWait: null, // the open long-wait question: { waited_ms, reply_by, now, callback }
  callbackSent: false, // a callback request is on its way (a refusal is shown by the form)
  interpreting: null, // the search for the interpreter: an INTERPRETER_STAGES value
  endedBy: null, // who or what ended the call: an ENDED_BY value
};
window.hotline = page;

// ---- language ----

function applyLanguage(lang) {
  page.lang = lang;
  const root = document.documentElement;
  root.lang = lang;
  root.dir = RTL.has(lang) ? "rtl" : "ltr";
  document.title = t(lang, "title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(lang, el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(lang, el.dataset.i18nPlaceholder);
  $("page-language").value = lang;
  if (page.call && page.state !== "ended") remember();
  renderStars();
  renderState();
}

function fillPickers() {
  for (const sel of [$("page-language"), $("call-language")]) {
    sel.replaceChildren(...LANGS.map((l) => {
      const o = document.createElement("option");
      o.value = l;
      o.textContent = NAMES[l];
      o.lang = l;
      o.dir = RTL.has(l) ? "rtl" : "ltr";
      return o;
    }));
  }
  $("page-language").addEventListener("change", (e) => {
    applyLanguage(e.target.value);
    $("call-language").value = e.target.value;
    page.callLang = e.target.value;
  });
  $("call-language").addEventListener("change", (e) => {
    page.callLang = e.target.value;
    if (page.callLang !== page.lang) applyLanguage(page.callLang);
  });
}

// Language suggestions while the caller types: web/js/lang.js (the language feature) when it is
// there; the page works the same without it.
async function hookSuggestions() {
  let lang;
  try { lang = await import("./lang.js"); } catch { return; }
  if (typeof lang?.suggest !== "function") return;
  $("describe").addEventListener("input", async (e) => {
    let s = null;
    try { s = await lang.suggest(e.target.value, navigator.languages); } catch { /* offline: no hint */ }
    const box = $("suggestion");
    if (!s || !LANGS.includes(s.language) || s.language === page.callLang) { box.hidden = true; return; }
    $("suggestion-text").textContent = s.question;
    $("suggestion-text").lang = s.language;
    box.dataset.language = s.language;
    box.hidden = false;
  });
  $("suggestion-accept").addEventListener("click", () => {
    const l = $("suggestion").dataset.language;
    $("call-language").value = l;
    page.callLang = l;
    applyLanguage(l);
    $("suggestion").hidden = true;
  });
}

// ---- states ----

function show(section) {
  for (const id of ["start", "in-call", "after"]) $(id).hidden = id !== section;
}

function setState(state) {
  page.state = state;
  renderState();
}

function renderState() {
  const s = page.state;
  if (s === "idle" || s === "mic") { show("start"); return; }
  if (s === "ended") { show("after"); renderEndedBy(); renderCase(); return; }
  show("in-call");
  const box = $("in-call");
  box.dataset.state = s;
  $("state-icon").innerHTML = ICONS[s] || "";
  const L = page.lang;
  const titles = { connecting: "connecting", waiting: "waiting", connected: "connected", interpreter: "interpreter", hold: "hold", reconnecting: "reconnecting" };
  const hints = { waiting: "waiting_hint", connected: "connected_hint", interpreter: "interpreter_hint", hold: "hold_hint", reconnecting: "reconnecting_hint" };
  $("state-title").textContent = t(L, titles[s] || "connecting");
  const pos = page.view?.position;
  $("state-detail").textContent = s === "waiting" && pos ? t(L, "position", { n: pos }) : "";
  $("typical-wait").textContent = s === "waiting" ? typicalWait(page.view?.typical_wait_ms) : "";
  // "The operator can hear you" is not true while the microphone is muted.
  const heard = !(page.muted && (s === "connected" || s === "interpreter"));
  $("state-hint").textContent = hints[s] && heard ? t(L, hints[s]) : "";
  $("recorded").hidden = !page.call?.recorded;
  $("media-error").hidden = !page.mediaFailed;
  $("media-error").textContent = page.mediaFailed ? t(L, "media_failed") : "";
  renderCase();
  $("mute").textContent = t(L, page.muted ? "unmute" : "mute");
  $("mute").setAttribute("aria-pressed", String(page.muted));
  const me = page.view?.participants.find((p) => p.id === page.me);
  $("muted-by").hidden = !(page.muted && me?.muted_by === "operator");
  // The search for an interpreter, while the caller talks with the operator or is on hold.
  const news = interpreterNews(s, page.interpreting);
  $("interpreter-news").hidden = !news;
  $("interpreter-news").textContent = news ? t(L, `interpreter_${news}`) : "";
  renderLongWait();
}

/** How long callers lately waited (the node's median of the last hour), or nothing when the
 * service has too few answers to say: an honest figure, never a promise. */
function typicalWait(ms) {
  if (ms == null) return "";
  return ms < 60000 ? t(page.lang, "typical_wait_short") : t(page.lang, "typical_wait", { n: Math.round(ms / 60000) });
}

/** The interpreter news to show in page state `s`, if any. */
function interpreterNews(s, stage) {
  if (!stage || stage === "stopped") return null;
  return ["connected", "hold"].includes(s) ? stage : null;
}

function onInterpreting(m) {
  page.interpreting = m.stage;
  renderState();
}

function renderEndedBy() {
  const by = page.endedBy;
  $("ended-by").hidden = !by;
  $("ended-by").textContent = by ? t(page.lang, `ended_by_${by}`) : "";
}

// ---- the case number ----

/** The call's case number, in the page's language, during the call and after it. */
function renderCase() {
  const n = page.caseNumber;
  for (const id of ["case", "case-after"]) $(id).hidden = !n;
  if (!n) return;
  const text = t(page.lang, "case_number", { n });
  $("case-number").textContent = text;
  $("case-after").textContent = text;
}

// ---- the longest queue wait ----

/** The question after the longest queue wait, worded in the page's language. */
function renderLongWait() {
  const q = page.longWait;
  $("long-wait").hidden = !q || page.state !== "waiting";
  if (!q) return;
  const L = page.lang;
  $("long-wait-text").textContent = t(L, "long_wait", { n: Math.max(1, Math.round(q.waited_ms / 60000)) });
  $("long-wait-hint").textContent = t(L, "long_wait_hint", { n: Math.max(0, Math.round((q.reply_by - q.now) / 1000)) });
  $("callback").hidden = !q.callback || !$("callback-form").hidden;
}

/** A number the hotline can ring back: digits, an optional leading +, spaces; 6–20 digits. */
function callbackNumberOk(typed) {
  const n = typed.trim().replace(/\s+/g, " ");
  const digits = n.replace(/[^0-9]/g, "").length;
  return /^\+?[0-9][0-9 ]*$/.test(n) && digits >= 6 && digits <= 20;
}

function callbackError(key) {
  $("callback-error").hidden = !key;
  $("callback-error").textContent = key ? t(page.lang, key) : "";
  $("callback-number").setAttribute("aria-invalid", String(key === "callback_number_invalid"));
}

function offerCallback() {
  $("callback-form").hidden = false;
  $("callback").hidden = true;
  callbackError(null);
  // What the caller typed before calling goes with the number, for them to change.
  if (!$("callback-description").value) $("callback-description").value = $("describe").value.trim().slice(0, 300);
  $("callback-number").focus();
}

function sendCallback(ev) {
  ev.preventDefault();
  const number = $("callback-number").value;
  if (!callbackNumberOk(number)) {
    callbackError("callback_number_invalid");
    $("callback-number").focus();
    return;
  }
  callbackError(null);
  page.callbackSent = true;
  if (!page.sig?.requestCallback(number.trim(), page.lang.slice(0, 2), $("callback-description").value.trim())) {
    page.callbackSent = false;
    callbackError("callback_failed");
  }
}

function onLongWait(m) {
  page.longWait = m;
  $("callback-form").hidden = true;
  renderLongWait();
  $("keep-waiting").focus();
}

function keepWaiting() {
  if (page.sig?.keepWaiting()) {
    page.longWait = null;
    renderLongWait();
  }
}

/** The page state for a call view from the server. */
function stateFor(view) {
  const live = ["answered", "interpreted"].includes(view.state);
  // Its operator left (the call is queued again for another): the caller waits again.
  if (live && !view.participants.some((p) => p.role === "operator")) return "waiting";
  switch (view.state) {
    case "queued": return "waiting";
    case "answered": return view.hold ? "hold" : "connected";
    case "interpreted": return view.hold || view.consult ? "hold" : "interpreter";
    default: return "ended";
  }
}

function onCallState(view) {
  page.view = view;
  if (view.case_number) page.caseNumber = view.case_number;
  // Muted by the operator, or still muted from before a reload: the button tells the truth.
  const me = view.participants.find((p) => p.id === page.me);
  if (me && me.muted !== page.muted) {
    page.muted = me.muted;
    page.media?.setMic(!page.muted);
  }
  const next = stateFor(view);
  // An interpreter in the call: any news of the search is over (a later "left" comes anew).
  if (view.state === "interpreted") page.interpreting = null;
  if (view.ended_by) page.endedBy = view.ended_by;
  // Answered (or ended): the long-wait question is over.
  if (next !== "waiting") page.longWait = null;
  if (next === "hold") { page.holdTone.start(); page.media?.setSpeakers(false); }
  else { page.holdTone.stop(); page.media?.setSpeakers(true); }
  if (next === "ended") return finish();
  setState(next);
}

// ---- the call ----

/** Makes `media` the page's leg: a leg whose ICE fails (a network that blocks the audio, a TURN
 * server that refuses us) is said in the page, and unsaid once a leg connects. */
function useMedia(media) {
  page.media = media;
  page.mediaFailed = false;
  media.addEventListener("state", (e) => {
    if (page.media !== media) return;
    if (e.detail === "failed") page.mediaFailed = true;
    else if (e.detail === "connected") page.mediaFailed = false;
    else return;
    renderState();
  });
  renderState();
}

function startError(key) {
  const el = $("start-error");
  el.textContent = t(page.lang, key);
  el.hidden = false;
  setState("idle");
}

async function startCall() {
  $("start-error").hidden = true;
  setState("mic");
  $("call").disabled = true;
  try {
    let stream;
    try {
      stream = await microphone();
    } catch (e) {
      startError(e.kind === "denied" ? "mic_denied" : e.kind === "missing" ? "mic_missing" : "error");
      return;
    }
    setState("connecting");
    const body = {
      chosen: page.callLang || page.lang,
      browser_languages: [...(navigator.languages || [])].slice(0, 16),
      text: $("describe").value.slice(0, 500),
    };
    const returning = $("returning-case").value.trim();
    if (returning) body.case_number = returning.slice(0, 20);
    const resp = await fetch("/api/calls", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    if (!resp.ok) {
      for (const tr of stream.getTracks()) tr.stop();
      const error = (await resp.json().catch(() => ({})))?.error;
      const code = error?.field === "case_number" ? "case_unknown" : error?.code;
      // Each refusal in the caller's words: one address's calls waiting, the queue full, too
      // many calls created.
      const known = { too_many_waiting: "too_many_waiting", queue_full: "queue_full", rate_limited: "busy", case_unknown: "case_unknown" };
      startError(known[code] || (resp.status === 429 ? "busy" : "error"));
      return;
    }
    page.call = await resp.json();
    remember();
    // A recorded call says so from its first moment.
    renderState();
    useMedia(new CallMedia(stream, page.call.ice_servers, $("audio-host"), page.call.ice_transport_policy));
    connectSignaling();
  } catch (e) {
    console.error(e);
    startError("error");
  } finally {
    $("call").disabled = false;
  }
}

// A reload, or a phone's browser discarding the tab, must not lose the call: until it ends, the
// call (id, token, ICE servers) and the page's language stay in this tab's sessionStorage.
const CALL_KEY = "hotline.call";

function remember() {
  try { sessionStorage.setItem(CALL_KEY, JSON.stringify({ ...page.call, lang: page.lang })); } catch { /* private mode: no resume */ }
}

function forget() {
  try { sessionStorage.removeItem(CALL_KEY); } catch { /* nothing stored */ }
}

function remembered() {
  try {
    const c = JSON.parse(sessionStorage.getItem(CALL_KEY) || "null");
    return c && typeof c.call_id === "string" && typeof c.token === "string" ? c : null;
  } catch { return null; }
}

/** Back into the call this tab was in before it was reloaded. */
async function resumeCall(call) {
  if (STRINGS[call.lang]) applyLanguage(call.lang);
  setState("connecting");
  let stream;
  try {
    stream = await microphone();
  } catch (e) {
    forget();
    startError(e.kind === "denied" ? "mic_denied" : e.kind === "missing" ? "mic_missing" : "error");
    return;
  }
  page.call = call;
  useMedia(new CallMedia(stream, call.ice_servers, $("audio-host"), call.ice_transport_policy));
  connectSignaling();
}

function connectSignaling() {
  const sig = new SignalingClient({ url: wsUrl(page.call.ws_url), token: page.call.token, callId: page.call.call_id });
  page.sig = sig;
  let offered = false;
  sig.on("joined", async (m) => {
    page.me = m.participant;
    // Offer once. After a reconnect a live media leg goes on, with fresh TURN credentials; one
    // that failed meanwhile (e.g. the phone changed networks) is replaced on the same microphone.
    if (!page.media) return;
    const servers = m.ice_servers?.length ? m.ice_servers : page.call.ice_servers;
    if (offered && page.media.usable) { page.media.setIceServers(servers); return; }
    if (offered) useMedia(page.media.renew(servers));
    offered = true;
    try {
      sig.offer(await page.media.offer());
    } catch (e) { console.error("offer", e); }
  });
  sig.on("answer", (m) => page.media.answer(m.sdp).catch((e) => console.error("answer", e)));
  sig.on("call_state", (m) => onCallState(m.call));
  sig.on("slots", (m) => page.media?.setSlots(m.slots));
  sig.on("long_wait", onLongWait);
  sig.on("interpreting", onInterpreting);
  sig.on("left", () => finish());
  sig.on("close", (e) => {
    if (page.state !== "ended" && e.willReconnect) setState("reconnecting");
  });
  sig.on("error", (m) => {
    console.warn("signalling error", m.code, m.message);
    if (m.code === "unauthorized" || m.code === "not_found") finish();
    // A refused callback request: the call still waits, the question stays open.
    else if (page.callbackSent) {
      page.callbackSent = false;
      callbackError(m.code === "invalid" ? "callback_number_invalid" : "callback_failed");
    }
  });
  sig.connect();
}

async function hangUp() {
  $("hang-up").disabled = true;
  page.endedBy = "caller";
  if (page.sig?.connected) page.sig.hangUp();
  else if (page.call) {
    await fetch(`/api/calls/${page.call.call_id}/hangup`, {
      method: "POST", headers: { authorization: `Bearer ${page.call.token}` },
    }).catch(() => {});
  }
  finish();
}

function finish() {
  forget();
  if (page.state === "ended") return;
  page.holdTone.stop();
  page.longWait = null;
  page.interpreting = null;
  page.sig?.close();
  page.media?.close();
  page.media = null;
  page.mediaFailed = false;
  $("hang-up").disabled = false;
  $("rating").hidden = false;
  $("thanks").hidden = true;
  setState("ended");
}

// ---- rating ----

function renderStars() {
  const box = $("stars");
  box.replaceChildren(...[1, 2, 3, 4, 5].map((n) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "★";
    b.dataset.stars = String(n);
    b.setAttribute("aria-label", t(page.lang, "stars", { n }));
    b.addEventListener("click", () => rate(n));
    b.addEventListener("mouseenter", () => highlight(n));
    b.addEventListener("focus", () => highlight(n));
    return b;
  }));
  box.addEventListener("mouseleave", () => highlight(0));
}

function highlight(n) {
  for (const b of $("stars").children) b.classList.toggle("on", Number(b.dataset.stars) <= n);
}

// A rating sent right after hanging up can reach the service before the call has ended there
// ("not_ended"): it is sent again, a few times, RATE_RETRY_MS apart.
const RATE_RETRY_MS = 300;
const RATE_ATTEMPTS = 10;

async function rate(n) {
  highlight(n);
  if (!page.call) return;
  for (let attempt = 1; attempt <= RATE_ATTEMPTS; attempt++) {
    const resp = await fetch(`/api/calls/${page.call.call_id}/rating`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${page.call.token}` },
      body: JSON.stringify({ stars: n }),
    }).catch(() => null);
    const code = resp && !resp.ok ? (await resp.json().catch(() => ({})))?.error?.code : null;
    if (resp && (resp.ok || code === "already_rated")) {
      $("rating").hidden = true;
      $("thanks").hidden = false;
      return;
    }
    if (code !== "not_ended") return; // the stars stay: the caller may try again
    await new Promise((r) => setTimeout(r, RATE_RETRY_MS));
  }
}

// ---- wiring ----

fillPickers();
page.callLang = page.lang;
$("call-language").value = page.lang;
applyLanguage(page.lang);
hookSuggestions();
$("call").addEventListener("click", startCall);
const resumable = remembered();
if (resumable) resumeCall(resumable);
$("hang-up").addEventListener("click", hangUp);
$("keep-waiting").addEventListener("click", keepWaiting);
$("call-later").addEventListener("click", hangUp);
$("callback").addEventListener("click", offerCallback);
$("callback-form").addEventListener("submit", sendCallback);
$("mute").addEventListener("click", () => {
  page.muted = !page.muted;
  page.media?.setMic(!page.muted);
  if (page.me) page.sig?.mute(page.me, page.muted);
  renderState();
});
$("again").addEventListener("click", () => {
  page.call = null; page.view = null; page.sig = null; page.endedBy = null;
  // Calling again is most often about the same matter: its case number is filled in.
  if (page.caseNumber) $("returning-case").value = page.caseNumber;
  page.caseNumber = null;
  setState("idle");
});
