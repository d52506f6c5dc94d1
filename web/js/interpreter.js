// The interpreter console: sign in with the personal token, set availability (the signalling
// client's pings keep presence), ring with a countdown and an audible tone (WebAudio), accept or
// decline, join the call's audio, leave, and the wrap-up countdown. Errors are shown plainly
// (expired token, offer already taken, connection lost and reconnecting). `window.hotline` is for
// diagnostics and automated checks.
//
// A call lives on one node. When it lives on another node than this console's (`invited` with a
// `ws_url`), the call is entered over a second signalling session to that node (`me.callSig`) and
// all its messages go there; rings, status and presence stay on the console's session (`me.sig`).

import { SignalingClient, wsUrl } from "./signaling.js";
import { CallMedia, microphone } from "./rtc.js";
import { NAMES } from "../i18n/strings.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.interpreter.token";
const STATUS_TEXT = { offline: "offline", available: "available — waiting for calls", offered: "ringing",
  busy: "in a call", wrap_up: "wrap-up", paused: "paused" };

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
};
window.hotline = me;

// ---- sign in ----

function signIn(ev) {
  ev.preventDefault();
  const token = $("token").value.trim();
  if (!/^[^.\s]+\.[^\s]+$/.test(token)) {
    $("signin-error").textContent = "A personal token looks like your-id.secret.";
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
  sig.on("open", () => setLink("connecting…"));
  sig.on("welcome", (m) => {
    if (m.role !== "interpreter") { fail("This token is not an interpreter's personal token."); return; }
    sessionStorage.setItem(TOKEN_KEY, me.token);
    $("signin").hidden = true;
    $("console").hidden = false;
    $("signout").hidden = false;
    $("whoami").textContent = m.name;
    setLink("online");
    hideBanner();
    // Back after a reconnect while in a call carried by this session: rejoin it.
    if (me.call && !me.callSig) sig.joinCall(me.call.call_id);
  });
  sig.on("close", (e) => {
    if (e.willReconnect) { setLink("reconnecting…"); banner("Connection lost — reconnecting…"); }
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
      fail("Your token is wrong or has expired. Ask your university for a new one.");
      return;
    }
    banner(m.message);
    log(`error: ${m.message}`);
  });
  sig.connect();
}

/** The session the call's messages go over. */
function callSig() { return me.callSig || me.sig; }

/** The call's messages, on whichever session carries the call. */
function onCallMessages(sig) {
  sig.on("joined", onJoined);
  sig.on("answer", (m) => me.media?.answer(m.sdp).catch((e) => banner(`audio: ${e.message}`)));
  sig.on("call_state", (m) => onCallState(m.call));
  sig.on("slots", (m) => { me.slots = m.slots; me.media?.setSlots(m.slots); });
  sig.on("levels", (m) => onLevels(m.levels));
  sig.on("left", (m) => { log(`out of the call: ${m.reason}`); endCall(); });
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
  sig.on("close", (e) => { if (e.willReconnect) banner("Connection to the call lost — reconnecting…"); });
  sig.on("error", (e) => { banner(`call: ${e.message}`); log(`call error: ${e.message}`); });
  log("the call is on another node: connecting to it…");
  sig.connect();
}

function closeCallSig() {
  me.callSig?.close();
  me.callSig = null;
}

function fail(text) {
  me.sig?.close();
  $("console").hidden = true;
  $("signin").hidden = false;
  $("signout").hidden = true;
  $("whoami").textContent = "";
  $("signin-error").textContent = text;
  setLink("offline");
}

function setLink(t) { $("link").textContent = t; }
function banner(t) { const b = $("banner"); b.textContent = t; b.hidden = false; }
function hideBanner() { $("banner").hidden = true; }

function log(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").prepend(li);
  while ($("log").children.length > 50) $("log").lastChild.remove();
}

// ---- status ----

function onStatus(m) {
  me.clockOffset = m.now - Date.now();
  me.status = m.status;
  renderStatus(me.ring ? "offered" : m.status);
  me.wrapUntil = m.status === "wrap_up" ? m.until : null;
  $("wrap-up").hidden = !me.wrapUntil;
  $("status-detail").textContent = m.status === "paused" ? "You will not be offered calls until you press Available." : "";
  $("go-available").disabled = ["available", "busy", "offered"].includes(m.status);
}

function renderStatus(status) {
  const s = $("status");
  s.textContent = STATUS_TEXT[status] || status;
  s.dataset.status = status;
}

// ---- ringing ----

// While ringing, the tab's title says so, and (with the permission asked for when going
// available) a system notification reaches an interpreter who is in another tab or app.
const TITLE = document.title;

function notifyRing(m, language) {
  document.title = `☎ ${language} — ringing · ${TITLE}`;
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  try {
    const seconds = Math.max(0, Math.round((m.deadline - m.now) / 1000));
    const n = new Notification("Incoming call 来电", {
      body: `${language} — answer within ${seconds} s`, tag: "hotline-ring", requireInteraction: true,
    });
    n.onclick = () => { window.focus(); n.close(); };
    me.notification = n;
  } catch { /* some mobile browsers allow notifications only from a service worker */ }
}

function unnotifyRing() {
  document.title = TITLE;
  me.notification?.close();
  me.notification = null;
}

function onRing(m) {
  me.clockOffset = m.now - Date.now();
  me.ring = { ...m, receivedAt: Date.now() };
  renderStatus("offered");
  $("ringing").hidden = false;
  const language = `${NAMES[m.language] || m.language} (${m.language})`;
  $("ring-language").textContent = language;
  notifyRing(m, language);
  $("accept").disabled = false;
  $("decline").disabled = false;
  log(`ringing: ${m.language}, caller waiting ${Math.round(m.caller_waited_ms / 1000)} s`);
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
  const text = { accepted: "accepted — joining the call…", declined: "declined",
    expired: m.message || "not answered in time", taken: "taken by another interpreter",
    cancelled: "cancelled by the hotline" }[m.reason] || m.reason;
  log(`offer ${text}`);
  if (m.reason === "taken" || m.reason === "cancelled" || m.reason === "expired") banner(`The call was ${text}.`);
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
    $("ring-countdown").textContent = String(Math.ceil(left / 1000));
    $("ring-progress").value = left / total;
    const waited = me.ring.caller_waited_ms + (Date.now() - me.ring.receivedAt);
    $("ring-waited").textContent = `${Math.round(waited / 1000)} s`;
    if (left === 0) stopTone();
  }
  if (me.wrapUntil) {
    const left = Math.max(0, me.wrapUntil - now);
    $("wrap-countdown").textContent = String(Math.ceil(left / 1000));
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
  log("in the call");
  // Rejoined after a reconnect: live audio goes on (with fresh TURN credentials); a leg that
  // failed meanwhile is replaced on the same microphone.
  if (me.media?.usable) { me.media.setIceServers(m.ice_servers); return; }
  try {
    me.media = me.media
      ? me.media.renew(m.ice_servers ?? [])
      : new CallMedia(await microphone(), m.ice_servers ?? [], $("audio-host"));
    me.media.setSlots(me.slots);
    me.media.addEventListener("state", (e) => { $("media-state").textContent = `audio: ${e.detail}`; });
    callSig().offer(await me.media.offer());
  } catch (e) {
    banner(e.kind === "denied" ? "The microphone is blocked: allow it for this site." : `audio: ${e.message}`);
  }
}

function onCallState(view) {
  me.call = view;
  if (["ended", "abandoned"].includes(view.state)) { endCall(); return; }
  $("call-state").textContent = view.state + (view.hold ? " · hold" : "") + (view.consult ? " · consult" : "");
  $("participants").replaceChildren(...view.participants.map((p) => {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    li.textContent = `${p.role}${p.name ? ` · ${p.name}` : ""}${p.id === me.participant ? " (you)" : ""}`
      + `${p.muted ? " · muted" : ""}${p.connected ? "" : " · no audio"}`;
    return li;
  }));
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
  $("in-call").hidden = true;
  $("media-state").textContent = "";
  closeCallSig();
}

function setMute(on) {
  me.muted = on;
  me.media?.setMic(!on);
  if (me.participant) callSig().mute(me.participant, on);
  $("mute-me").setAttribute("aria-pressed", String(on));
}

// ---- wiring ----

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", signOut);
$("go-available").addEventListener("click", () => {
  // Asked here, on a click, so that rings can reach an interpreter in another tab.
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  me.sig.setAvailability("available");
});
$("go-paused").addEventListener("click", () => me.sig.setAvailability("paused"));
$("go-offline").addEventListener("click", () => me.sig.setAvailability("offline"));
$("accept").addEventListener("click", () => answer(true));
$("decline").addEventListener("click", () => answer(false));
$("leave").addEventListener("click", () => callSig().leaveCall());
$("mute-me").addEventListener("click", () => setMute(!me.muted));
setInterval(tick, 250);
if (me.token) start();
