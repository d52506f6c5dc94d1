// The supervisor console: login, the node's live calls (GET /api/supervisor/calls, refreshed
// every few seconds), and listening in: the console enters a call as a WebRTC participant
// (microphone + receive slots, rtc.js) and chooses how it is there — listen (nobody hears it),
// whisper (only the operator) or barge in (everyone). Every word comes from the catalog
// (i18n/supervisor.js). Recordings: a call's recorded legs (GET
// /api/supervisor/calls/{id}/recordings), each played in the page's <audio> from a blob fetched
// with the session (an <audio src> cannot send it); the service audits every play.
// Exposes `window.hotline` for diagnostics and automated checks.

import { SignalingClient, wsUrl } from "./signaling.js";
import { CallMedia, microphone } from "./rtc.js";
import { NAMES } from "../i18n/strings.js";
import { STRINGS } from "../i18n/supervisor.js";
import { PageLanguage } from "../i18n/console.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.supervisor.token";
const REFRESH_MS = 2000;
const MODES = ["listen", "whisper", "barge"];
const i18n = new PageLanguage(STRINGS);
const t = (key, vars) => i18n.t(key, vars);
const ERRORS = { not_found: "err_not_found", forbidden: "err_forbidden", conflict: "err_conflict" };

const sup = {
  token: sessionStorage.getItem(TOKEN_KEY),
  sig: null,
  calls: [],
  call: null, // the CallView of the call listened to
  me: null,
  media: null,
  mediaState: null,
  slots: [],
  levels: new Map(),
};
window.hotline = sup;

// ---- login ----

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const resp = await fetch("/api/supervisor/login", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: $("name").value, password: $("password").value }),
  }).catch(() => null);
  if (!resp || !resp.ok) {
    const body = resp ? await resp.json().catch(() => ({})) : {};
    $("login-error").textContent = t(body?.error?.code === "unauthorized" ? "login_wrong" : "login_failed");
    return;
  }
  sup.token = (await resp.json()).token;
  sessionStorage.setItem(TOKEN_KEY, sup.token);
  start();
}

async function resume() {
  if (!sup.token) return;
  const r = await fetch("/api/supervisor/me", { headers: { authorization: `Bearer ${sup.token}` } }).catch(() => null);
  if (r && r.ok) start();
  else { sessionStorage.removeItem(TOKEN_KEY); sup.token = null; }
}

async function logout() {
  await fetch("/api/supervisor/logout", { method: "POST", headers: { authorization: `Bearer ${sup.token}` } }).catch(() => {});
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

function start() {
  $("login").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  const sig = new SignalingClient({ url: wsUrl("/ws"), token: sup.token });
  sup.sig = sig;
  sig.on("welcome", (m) => { $("whoami").textContent = m.name; setLink("online"); });
  sig.on("close", (e) => setLink(e.willReconnect ? "reconnecting" : "offline"));
  sig.on("joined", onJoined);
  sig.on("answer", (m) => sup.media?.answer(m.sdp).catch((e) => showError(t("media_error", { message: e.message }))));
  sig.on("call_state", (m) => onCallState(m.call));
  sig.on("slots", (m) => { sup.slots = m.slots; sup.media?.setSlots(m.slots); });
  sig.on("levels", (m) => onLevels(m.levels));
  sig.on("left", () => endCall());
  sig.on("error", (m) => {
    if (m.code === "unauthorized") { sessionStorage.removeItem(TOKEN_KEY); location.reload(); return; }
    showError(t(ERRORS[m.code] || "err_other", { code: m.code }));
  });
  sig.connect();
  refresh();
  setInterval(refresh, REFRESH_MS);
}

function setLink(state) {
  $("link").dataset.state = state;
  $("link").textContent = t(`link_${state}`);
}

function showError(text) {
  const el = $("call-error");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(showError.t);
  showError.t = setTimeout(() => { el.hidden = true; }, 6000);
}

// ---- live calls ----

async function refresh() {
  const r = await fetch("/api/supervisor/calls", { headers: { authorization: `Bearer ${sup.token}` } }).catch(() => null);
  if (r && r.status === 401) { sessionStorage.removeItem(TOKEN_KEY); location.reload(); return; }
  if (!r || !r.ok) return;
  sup.calls = (await r.json()).calls;
  renderCalls();
}

function langLabel(code) {
  if (!code) return t("language_unknown");
  const local = i18n.languageName(code);
  const own = NAMES[code];
  return own && own !== local ? `${local} · ${own}` : local;
}

function stateLabel(view) {
  const s = STRINGS.en[`state_${view.state}`] ? t(`state_${view.state}`) : view.state;
  return s + (view.hold ? ` · ${t("on_hold")}` : "") + (view.consult ? ` · ${t("consulting")}` : "");
}

function people(view) {
  return view.participants
    .filter((p) => p.role !== "caller")
    .map((p) => `${t(`role_${p.role}`)}${p.name ? ` ${p.name}` : ""}`)
    .join(", ");
}

function since(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return t("waited", { min: Math.floor(s / 60), s: s % 60 });
}

function renderCalls() {
  const body = $("calls").querySelector("tbody");
  body.replaceChildren(...sup.calls.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.call = c.call_id;
    tr.classList.toggle("current", sup.call?.call_id === c.call_id);
    const cells = [langLabel(c.language.code), stateLabel(c), people(c), since(c.answered_at || c.created_at)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "listen";
    b.textContent = t("listen");
    b.title = t("listen_title");
    b.disabled = sup.call?.call_id === c.call_id;
    b.addEventListener("click", () => listen(c.call_id));
    td.appendChild(b);
    tr.appendChild(td);
    return tr;
  }));
  $("calls-count").textContent = String(sup.calls.length);
  $("calls-empty").hidden = sup.calls.length > 0;
}

// ---- listening in ----

function listen(callId) {
  if (sup.call && sup.call.call_id !== callId) sup.sig.leaveCall();
  sup.sig.joinCall(callId);
}

async function onJoined(m) {
  sup.me = m.participant;
  $("no-call").hidden = true;
  $("call").hidden = false;
  if (sup.media?.usable) { sup.media.setIceServers(m.ice_servers); return; }
  try {
    sup.media = sup.media
      ? sup.media.renew(m.ice_servers ?? [])
      : new CallMedia(await microphone(), m.ice_servers ?? [], $("audio-host"));
    sup.media.setSlots(sup.slots);
    sup.media.addEventListener("state", (e) => { sup.mediaState = e.detail; renderMediaState(); });
    sup.sig.offer(await sup.media.offer());
  } catch (e) {
    showError(e.kind === "denied" ? t("mic_blocked") : t("media_error", { message: e.message }));
  }
}

function onCallState(view) {
  if (["ended", "abandoned"].includes(view.state)) { endCall(); refresh(); return; }
  sup.call = view;
  renderCall();
  renderCalls();
}

/** This console's own mode in the call (listen until it chose another). */
function myMode() {
  return sup.call?.participants.find((p) => p.id === sup.me)?.supervision || "listen";
}

function renderCall() {
  const view = sup.call;
  if (!view) return;
  $("call-state").textContent = stateLabel(view);
  $("call-language").textContent = langLabel(view.language.code);
  const mode = myMode();
  for (const m of MODES) $(`mode-${m}`).setAttribute("aria-pressed", String(m === mode));
  $("mode-hint").textContent = t(`hint_${mode}`);
  $("participants").replaceChildren(...view.participants.map((p) => {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    li.dataset.role = p.role;
    const dot = document.createElement("span");
    dot.className = "dot" + (p.connected ? " up" : "");
    dot.title = t(p.connected ? "audio_up" : "audio_down");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${t(`role_${p.role}`)}${p.name ? ` · ${p.name}` : ""}${p.id === sup.me ? ` ${t("you")}` : ""}${p.muted ? ` · ${t("muted")}` : ""}`;
    const meter = document.createElement("span");
    meter.className = "meter";
    meter.appendChild(document.createElement("i"));
    li.append(dot, who, meter);
    return li;
  }));
  onLevels([...sup.levels.entries()].map(([participant, v]) => ({ participant, ...v })));
}

function renderMediaState() {
  const s = sup.mediaState;
  $("media-state").textContent = s ? t("audio_state", { state: STRINGS.en[`media_${s}`] ? t(`media_${s}`) : s }) : "";
}

function onLevels(levels) {
  for (const l of levels) {
    sup.levels.set(l.participant, { level: l.level, speaking: l.speaking });
    const li = document.querySelector(`#participants li[data-participant="${CSS.escape(l.participant)}"]`);
    if (!li) continue;
    li.classList.toggle("speaking", !!l.speaking);
    const pct = Math.max(0, Math.min(100, Math.round(((127 - l.level) / 127) * 100)));
    li.querySelector(".meter > i").style.inlineSize = `${pct}%`;
  }
}

function endCall() {
  sup.media?.close();
  sup.media = null;
  sup.call = null;
  sup.me = null;
  sup.levels.clear();
  sup.mediaState = null;
  $("call").hidden = true;
  $("no-call").hidden = false;
  $("media-state").textContent = "";
  renderCalls();
}

// ---- recordings ----

async function findRecordings(ev) {
  ev.preventDefault();
  const id = $("rec-call").value.trim();
  $("recordings").replaceChildren();
  $("rec-status").textContent = "";
  const r = await fetch(`/api/supervisor/calls/${encodeURIComponent(id)}/recordings`, {
    headers: { authorization: `Bearer ${sup.token}` },
  }).catch(() => null);
  if (!r || !r.ok) { $("rec-status").textContent = t(r?.status === 404 ? "rec_none" : "rec_failed"); return; }
  sup.recordings = (await r.json()).recordings;
  renderRecordings();
}

function renderRecordings() {
  const list = sup.recordings || [];
  $("rec-status").textContent = list.length ? "" : t("rec_none");
  $("recordings").replaceChildren(...list.map((rec) => {
    const li = document.createElement("li");
    li.dataset.recording = rec.id;
    const what = document.createElement("span");
    const secs = rec.ended_at ? Math.round((rec.ended_at - rec.started_at) / 1000) : null;
    what.textContent = t("rec_leg", {
      who: rec.participant,
      at: new Date(rec.started_at).toLocaleString(i18n.lang),
      length: secs === null ? t("rec_ongoing") : t("waited", { min: Math.floor(secs / 60), s: secs % 60 }),
    });
    const b = document.createElement("button");
    b.type = "button";
    b.className = "play";
    b.textContent = t("rec_play");
    b.addEventListener("click", () => play(rec));
    li.append(what, b);
    return li;
  }));
}

async function play(rec) {
  $("rec-status").textContent = "";
  const r = await fetch(rec.audio, { headers: { authorization: `Bearer ${sup.token}` } }).catch(() => null);
  if (!r || !r.ok) { $("rec-status").textContent = t("rec_failed"); return; }
  const player = $("rec-player");
  if (player.src) URL.revokeObjectURL(player.src);
  player.src = URL.createObjectURL(await r.blob());
  player.hidden = false;
  player.dataset.recording = rec.id;
  await player.play().catch(() => {});
}

function relabel() {
  renderRecordings();
  renderCalls();
  renderCall();
  renderMediaState();
  setLink($("link").dataset.state);
}

// ---- wiring ----

i18n.apply();
i18n.bindSwitch($("ui-language"));
i18n.addEventListener("change", relabel);
setLink("offline");
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("rec-form").addEventListener("submit", findRecordings);
for (const m of MODES) $(`mode-${m}`).addEventListener("click", () => sup.sig?.supervise(m));
$("leave").addEventListener("click", () => { sup.sig?.leaveCall(); endCall(); });
resume();
