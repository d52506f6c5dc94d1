// The interpreter console: sign in with the personal token, set availability (the signalling
// client's pings keep presence), ring with a countdown and an audible tone (WebAudio), accept or
// decline, join the call's audio, leave, and the wrap-up countdown. Errors are shown plainly
// (expired token, offer already taken, connection lost and reconnecting). `window.hotline` is for
// diagnostics and automated checks. Every word comes from the catalog (i18n/interpreter.js) in
// the page language, the interpreter's choice remembered.
//
// A call lives on one node. When it lives on another node than this console's (`invited` with a
// `ws_url`), the call is entered over a second signalling session to that node (`me.callSig`) and
// all its messages go there; rings, status and presence stay on the console's session (`me.sig`).

import { SignalingClient, wsUrl } from "./signaling.js";
import { CallMedia, microphone } from "./rtc.js";
import { NAMES } from "../i18n/strings.js";
import { STRINGS } from "../i18n/interpreter.js";
import { PageLanguage } from "../i18n/console.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.interpreter.token";
const i18n = new PageLanguage(STRINGS);
const t = (key, vars) => i18n.t(key, vars);
/** `prefix_value` from the catalog when it has it, else the value as the server sent it. */
const word = (prefix, value) => (STRINGS.en[`${prefix}_${value}`] ? t(`${prefix}_${value}`) : value);
const ERRORS = { not_found: "err_not_found", conflict: "err_conflict", forbidden: "err_forbidden", media: "err_media", draining: "draining" };
/** `left` reasons (LeftReason in src/protocol.rs) → catalog keys. */
const LEFT_REASONS = { you_left: "left_you", removed: "left_removed",
  disconnected: "left_disconnected", media_silent: "left_media_silent", call_ended: "left_ended" };

const me = {
  token: sessionStorage.getItem(TOKEN_KEY),
  sig: null,
  /** The call's own session when the call lives on another node; null = `sig` carries the call. */
  callSig: null,
  status: "offline",
  ring: null, // the `ring` message
  clockOffset: 0, // server now − local now
  call: null, // CallView
  participant: null,
  media: null,
  muted: false,
  wrapUntil: null,
  tone: null,
  /** The interpreter wants calls (pressed Available, not paused or offline since). */
  wantAvailable: false,
  /** The server drained: be made available again after reconnecting (to another node). */
  restore: false,
};
window.hotline = me;
me.i18n = i18n;

// ---- sign in ----

function signIn(ev) {
  ev.preventDefault();
  const token = $("token").value.trim();
  if (!/^[^.\s]+\.[^\s]+$/.test(token)) {
    $("signin-error").dataset.key = "token_malformed";
    $("signin-error").textContent = t("token_malformed");
    return;
  }
  me.token = token;
  start();
}

function signOut() {
  me.sig?.setAvailability("offline");
  sessionStorage.removeItem(TOKEN_KEY);
  setTimeout(() => location.reload(), 200);
}

function start() {
  $("signin-error").textContent = "";
  const sig = new SignalingClient({ url: wsUrl("/ws"), token: me.token });
  me.sig = sig;
  sig.on("open", () => setLink("connecting"));
  sig.on("welcome", (m) => {
    if (m.role !== "interpreter") { fail("not_interpreter"); return; }
    sessionStorage.setItem(TOKEN_KEY, me.token);
    $("signin").hidden = true;
    $("console").hidden = false;
    $("signout").hidden = false;
    $("whoami").textContent = m.name;
    setLink("online");
    hideBanner();
    // Back after a reconnect while in a call carried by this session: rejoin it.
    if (me.call && !me.callSig) sig.joinCall(me.call.call_id);
    // The last server shut down and set us offline: available again here (a server that is
    // itself draining refuses, and we try again on the next one).
    if (me.restore) sig.setAvailability("available");
  });
  sig.on("draining", () => {
    me.restore = me.restore || me.wantAvailable;
    const restore = me.restore;
    banner(() => (restore ? `${t("draining")} ${t("draining_restore")}` : t("draining")));
  });
  sig.on("close", (e) => {
    if (e.willReconnect) { setLink("reconnecting"); banner(() => t("conn_lost")); }
    else setLink("offline");
  });
  sig.on("interpreter_status", onStatus);
  sig.on("ring", onRing);
  sig.on("offer_ended", onOfferEnded);
  sig.on("invited", onInvited);
  onCallMessages(sig);
  sig.on("error", (m) => {
    if (m.code === "unauthorized") {
      sessionStorage.removeItem(TOKEN_KEY);
      fail("token_refused");
      return;
    }
    const text = () => t(ERRORS[m.code] || "err_other", { code: m.code });
    banner(text);
    log(text);
  });
  sig.connect();
}

/** The session the call's messages go over. */
function callSig() { return me.callSig || me.sig; }

/** The call's messages, on whichever session carries the call. */
function onCallMessages(sig) {
  sig.on("joined", onJoined);
  sig.on("answer", (m) => me.media?.answer(m.sdp).catch((e) => banner(() => t("audio_error", { message: e.message }))));
  sig.on("call_state", (m) => onCallState(m.call));
  sig.on("slots", (m) => { me.slots = m.slots; me.media?.setSlots(m.slots); });
  sig.on("levels", (m) => onLevels(m.levels));
  sig.on("left", (m) => {
    log(() => t("log_left", { reason: LEFT_REASONS[m.reason] ? t(LEFT_REASONS[m.reason]) : m.reason }));
    endCall();
  });
}

/** Enter the accepted call: here, or on the call's node over a second session. */
function onInvited(m) {
  if (!m.ws_url) { me.sig.joinCall(m.call_id); return; }
  // Invited again after this console reconnected: the call's session is already there.
  if (me.callSig?.callId === m.call_id && me.callSig.url === m.ws_url) return;
  closeCallSig();
  const sig = new SignalingClient({ url: m.ws_url, token: me.token, callId: m.call_id });
  me.callSig = sig;
  onCallMessages(sig);
  // After every (re)connect: enter, or re-enter, the call.
  sig.on("welcome", () => sig.joinCall(m.call_id));
  sig.on("close", (e) => { if (e.willReconnect) banner(() => t("call_conn_lost")); });
  sig.on("error", (e) => {
    const text = () => t(ERRORS[e.code] || "err_other", { code: e.code });
    banner(text);
    log(text);
  });
  log(() => t("call_elsewhere"));
  sig.connect();
}

function closeCallSig() {
  me.callSig?.close();
  me.callSig = null;
}

/** Back to the sign-in form, saying why (`key` in the catalog). */
function fail(key) {
  me.sig?.close();
  $("console").hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("whoami").textContent = "";
  $("signin-error").dataset.key = key;
  $("signin-error").textContent = t(key);
  setLink("offline");
}

/** The link badge: `state` is connecting, online, reconnecting or offline (also `data-state`). */
function setLink(state) {
  $("link").dataset.state = state;
  $("link").textContent = t(`link_${state}`);
}

// The banner and the log keep how to word their text, so a language switch rewords them.
function banner(text) {
  const b = $("banner");
  b.word = text;
  b.textContent = text();
  b.hidden = false;
}
function hideBanner() { $("banner").hidden = true; }

/** A log line; `text` words it in the current language. */
function log(text) {
  const li = document.createElement("li");
  li.at = new Date();
  li.word = text;
  li.textContent = `${li.at.toLocaleTimeString(i18n.lang)} ${text()}`;
  $("log").prepend(li);
  while ($("log").children.length > 50) $("log").lastChild.remove();
}

// ---- status ----

function onStatus(m) {
  me.clockOffset = m.now - Date.now();
  me.status = m.status;
  if (m.status === "available") { me.wantAvailable = true; me.restore = false; }
  if (m.status === "paused") me.wantAvailable = false;
  renderStatus(me.ring ? "offered" : m.status);
  me.wrapUntil = m.status === "wrap_up" ? m.until : null;
  $("wrap-up").hidden = !me.wrapUntil;
  $("status-detail").textContent = m.status === "paused" ? t("paused_detail") : "";
  $("go-available").disabled = ["available", "busy", "offered"].includes(m.status);
}

function renderStatus(status) {
  const s = $("status");
  s.textContent = word("status", status);
  s.dataset.status = status;
}

// ---- ringing ----

// While ringing, the tab's title says so, and (with the permission asked for when going
// available) a system notification reaches an interpreter who is in another tab or app.

function notifyRing(m, language) {
  document.title = `${t("ringing_tab", { language })} · ${t("page_title")}`;
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  try {
    const seconds = Math.max(0, Math.round((m.deadline - m.now) / 1000));
    const n = new Notification(t("notify_title"), {
      body: t("notify_body", { language, n: seconds }), tag: "hotline-ring", requireInteraction: true,
    });
    n.onclick = () => { window.focus(); n.close(); };
    me.notification = n;
  } catch { /* some mobile browsers allow notifications only from a service worker */ }
}

function unnotifyRing() {
  document.title = t("page_title");
  me.notification?.close();
  me.notification = null;
}

function onRing(m) {
  me.clockOffset = m.now - Date.now();
  me.ring = { ...m, receivedAt: Date.now() };
  renderStatus("offered");
  $("ringing").hidden = false;
  const language = ringLanguage(m.language);
  $("ring-language").textContent = language;
  $("ring-job").textContent = m.job_number || "";
  $("ring-brief").textContent = m.brief || "";
  $("ring-brief-row").hidden = !m.brief;
  notifyRing(m, language);
  $("accept").disabled = false;
  $("decline").disabled = false;
  log(() => t("log_ringing", { language, n: Math.round(m.caller_waited_ms / 1000) }));
  startTone();
  tick();
}

function stopRing() {
  me.ring = null;
  unnotifyRing();
  renderStatus(me.status);
  $("ringing").hidden = true;
  stopTone();
}

function onOfferEnded(m) {
  if (me.ring?.offer_id === m.offer_id) stopRing();
  log(() => word("offer", m.reason));
  if (m.reason === "taken" || m.reason === "cancelled" || m.reason === "expired") banner(() => t(`banner_${m.reason}`));
}

function answer(accept) {
  if (!me.ring) return;
  $("accept").disabled = true;
  $("decline").disabled = true;
  if (accept) me.sig.acceptOffer(me.ring.offer_id);
  else me.sig.declineOffer(me.ring.offer_id);
  stopTone();
}

function tick() {
  const now = Date.now() + me.clockOffset;
  if (me.ring) {
    const left = Math.max(0, me.ring.deadline - now);
    const total = Math.max(1, me.ring.deadline - me.ring.now);
    $("ring-countdown").textContent = t("seconds", { n: Math.ceil(left / 1000) });
    $("ring-progress").value = left / total;
    const waited = me.ring.caller_waited_ms + (Date.now() - me.ring.receivedAt);
    $("ring-waited").textContent = t("seconds", { n: Math.round(waited / 1000) });
    if (left === 0) stopTone();
  }
  renderElapsed();
  if (me.wrapUntil) {
    const left = Math.max(0, me.wrapUntil - now);
    $("wrap-text").textContent = t("wrap_text", { n: Math.ceil(left / 1000) });
    if (left === 0) { $("wrap-up").hidden = true; me.wrapUntil = null; me.sig?.ping(); }
  }
}

// An audible ring: two short tones a second, until answered or over.
function startTone() {
  stopTone();
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gain.connect(ctx.destination);
    const osc = ctx.createOscillator();
    osc.frequency.value = 440;
    osc.connect(gain);
    osc.start();
    const beat = () => {
      const t = ctx.currentTime;
      gain.gain.setValueAtTime(0.2, t);
      gain.gain.setValueAtTime(0, t + 0.2);
      gain.gain.setValueAtTime(0.2, t + 0.3);
      gain.gain.setValueAtTime(0, t + 0.5);
    };
    beat();
    me.tone = { ctx, timer: setInterval(beat, 1000) };
  } catch { /* no audio output: the panel still flashes */ }
}

function stopTone() {
  if (!me.tone) return;
  clearInterval(me.tone.timer);
  me.tone.ctx.close().catch(() => {});
  me.tone = null;
}

// ---- the call ----

async function onJoined(m) {
  me.participant = m.participant;
  $("in-call").hidden = false;
  hideBanner();
  log(() => t("log_in_call"));
  // Rejoined after a reconnect: live audio goes on (with fresh TURN credentials); a leg that
  // failed meanwhile is replaced on the same microphone.
  if (me.media?.usable) { me.media.setIceServers(m.ice_servers); return; }
  try {
    me.media = me.media
      ? me.media.renew(m.ice_servers ?? [])
      : new CallMedia(await microphone(), m.ice_servers ?? [], $("audio-host"), m.ice_transport_policy);
    me.media.setSlots(me.slots);
    me.media.addEventListener("state", (e) => { me.mediaState = e.detail; renderMediaState(); });
    callSig().offer(await me.media.offer());
  } catch (e) {
    banner(e.kind === "denied" ? () => t("mic_blocked") : () => t("audio_error", { message: e.message }));
  }
}

function renderMediaState() {
  $("media-state").textContent = me.mediaState ? t("audio_state", { state: word("media", me.mediaState) }) : "";
}

function onCallState(view) {
  me.call = view;
  if (["ended", "abandoned"].includes(view.state)) { endCall(); return; }
  renderCall();
}

function renderCall() {
  const view = me.call;
  if (!view) return;
  $("call-state").textContent = word("state", view.state)
    + (view.hold ? ` · ${t("on_hold")}` : "") + (view.consult ? ` · ${t("consulting")}` : "");
  $("call-state").dataset.state = view.state;
  $("call-job").textContent = view.job_number || "";
  $("call-language").textContent = view.language?.code ? ringLanguage(view.language.code) : "–";
  $("call-category").textContent = view.case_category || "";
  $("call-category-row").hidden = !view.case_category;
  $("call-brief").textContent = view.brief || "";
  $("call-brief-row").hidden = !view.brief;
  renderElapsed();
  $("participants").replaceChildren(...view.participants.map((p) => {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    li.dataset.role = p.role;
    li.textContent = `${word("role", p.role)}${p.name ? ` · ${p.name}` : ""}${p.id === me.participant ? ` ${t("you")}` : ""}`
      + `${p.muted ? ` · ${t("muted")}` : ""}${p.connected ? "" : ` · ${t("no_audio")}`}`;
    return li;
  }));
}

/** How long the call has gone on (m:ss, or h:mm:ss), by the server's clock. */
function renderElapsed() {
  const view = me.call;
  if (!view) return;
  const s = Math.max(0, Math.floor((Date.now() + me.clockOffset - view.created_at) / 1000));
  const two = (n) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  $("call-elapsed").textContent = h > 0
    ? `${h}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`
    : `${Math.floor(s / 60)}:${two(s % 60)}`;
}

function onLevels(levels) {
  for (const l of levels) {
    const li = document.querySelector(`#participants li[data-participant="${CSS.escape(l.participant)}"]`);
    if (li) li.dataset.speaking = String(!!l.speaking);
  }
}

function endCall() {
  me.media?.close();
  me.media = null;
  me.call = null;
  me.participant = null;
  me.muted = false;
  me.mediaState = null;
  $("in-call").hidden = true;
  $("media-state").textContent = "";
  closeCallSig();
}

/** Everything worded by the page, again in the new language. */
function relabel() {
  setLink($("link").dataset.state);
  renderStatus($("status").dataset.status || "offline");
  $("status-detail").textContent = me.status === "paused" ? t("paused_detail") : "";
  if ($("signin-error").textContent && $("signin-error").dataset.key) $("signin-error").textContent = t($("signin-error").dataset.key);
  if (me.ring) {
    const language = ringLanguage(me.ring.language);
    $("ring-language").textContent = language;
    document.title = `${t("ringing_tab", { language })} · ${t("page_title")}`;
  }
  renderCall();
  renderMediaState();
  tick();
  const b = $("banner");
  if (b.word) b.textContent = b.word();
  for (const li of $("log").children) li.textContent = `${li.at.toLocaleTimeString(i18n.lang)} ${li.word()}`;
}

/** The ringing call's language in its own name: interpreters know it by that. */
function ringLanguage(code) {
  return `${NAMES[code] || i18n.languageName(code)} (${code})`;
}

function setMute(on) {
  me.muted = on;
  me.media?.setMic(!on);
  if (me.participant) callSig().mute(me.participant, on);
  $("mute-me").setAttribute("aria-pressed", String(on));
}

// ---- wiring ----

i18n.apply();
i18n.bindSwitch($("ui-language"));
i18n.addEventListener("change", relabel);
setLink("offline");
renderStatus("offline");

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
$("go-available").addEventListener("click", () => {
  // Asked here, on a click, so that rings can reach an interpreter in another tab.
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  me.wantAvailable = true;
  me.sig.setAvailability("available");
});
$("go-paused").addEventListener("click", () => { me.wantAvailable = false; me.restore = false; me.sig.setAvailability("paused"); });
$("go-offline").addEventListener("click", () => { me.wantAvailable = false; me.restore = false; me.sig.setAvailability("offline"); });
$("accept").addEventListener("click", () => answer(true));
$("decline").addEventListener("click", () => answer(false));
$("leave").addEventListener("click", () => callSig().leaveCall());
$("mute-me").addEventListener("click", () => setMute(!me.muted));
setInterval(tick, 250);
if (me.token) start();
