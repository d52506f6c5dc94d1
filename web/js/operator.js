// The operator console: login, the live queue, answering, the current call's participants with
// speaking indicators, mute / hold / consult / hang-up, and inviting an interpreter by id. The
// console is itself a WebRTC participant (microphone + receive slots, rtc.js). Every word comes
// from the catalog (i18n/operator.js) in the page language; keyboard shortcuts for the frequent
// actions (js/shortcuts.js); the call's case in its own panel (js/case_panel.js); the call-backs callers left (js/callbacks_panel.js). Exposes `window.hotline` for diagnostics and automated checks.

import { SignalingClient, wsUrl } from "./signaling.js";
import { CallMedia, microphone } from "./rtc.js";
import { NAMES } from "../i18n/strings.js";
import { STRINGS } from "../i18n/operator.js";
import { PageLanguage } from "../i18n/console.js";
import { attachDispatchPanel } from "./dispatch_panel.js";
import { attachCasePanel } from "./case_panel.js";
import { attachCallbacksPanel } from "./callbacks_panel.js";
import { bindShortcuts } from "./shortcuts.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.operator.token";
const i18n = new PageLanguage(STRINGS);
const t = (key, vars) => i18n.t(key, vars);
const ERRORS = { not_found: "err_not_found", conflict: "err_conflict", forbidden: "err_forbidden", media: "err_media", draining: "err_draining" };

const op = {
  token: sessionStorage.getItem(TOKEN_KEY),
  name: null,
  sig: null,
  queue: [],
  clockOffset: 0, // server now − local now
  call: null, // CallView
  me: null,
  media: null,
  muted: false,
  levels: new Map(),
};
window.hotline = op;
op.i18n = i18n;

// ---- login ----

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const resp = await fetch("/api/operator/login", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: $("name").value, password: $("password").value }),
  }).catch(() => null);
  if (!resp || !resp.ok) {
    const body = resp ? await resp.json().catch(() => ({})) : {};
    $("login-error").textContent = t(body?.error?.code === "unauthorized" ? "login_wrong" : "login_failed");
    return;
  }
  const body = await resp.json();
  op.token = body.token;
  sessionStorage.setItem(TOKEN_KEY, op.token);
  start();
}

async function resume() {
  if (!op.token) return;
  const r = await fetch("/api/operator/me", { headers: { authorization: `Bearer ${op.token}` } }).catch(() => null);
  if (r && r.ok) start();
  else { sessionStorage.removeItem(TOKEN_KEY); op.token = null; }
}

async function logout() {
  await fetch("/api/operator/logout", { method: "POST", headers: { authorization: `Bearer ${op.token}` } }).catch(() => {});
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

// ---- signalling ----

function start() {
  $("login").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  const sig = new SignalingClient({ url: wsUrl("/ws"), token: op.token });
  op.sig = sig;
  sig.on("welcome", (m) => {
    op.name = m.name; $("whoami").textContent = m.name; setLink("online");
    // A node that drains says so right after its welcome; any other has nothing to tell.
    $("draining").hidden = true;
  });
  sig.on("draining", onDraining);
  sig.on("close", (e) => setLink(e.willReconnect ? "reconnecting" : "offline"));
  sig.on("queue", (m) => {
    op.clockOffset = m.now - Date.now();
    op.queue = m.calls;
    renderQueue();
  });
  sig.on("joined", (m) => onJoined(m));
  sig.on("answer", (m) => op.media?.answer(m.sdp).catch((e) => showError(t("media_error", { message: e.message }))));
  sig.on("call_state", (m) => onCallState(m.call));
  sig.on("slots", (m) => { op.slots = m.slots; op.media?.setSlots(m.slots); });
  sig.on("left", () => endCall());
  sig.on("levels", (m) => onLevels(m.levels));
  sig.on("error", (m) => {
    if (m.code === "unauthorized") { sessionStorage.removeItem(TOKEN_KEY); location.reload(); return; }
    showError(t(ERRORS[m.code] || "err_other", { code: m.code }));
  });
  attachDispatchPanel(sig, () => op.call, i18n);
  op.callbacks.start();
  sig.connect();
  setInterval(renderWaits, 1000);
}

/** The link badge: `state` is online, reconnecting or offline (also in `data-state`). */
function setLink(state) {
  $("link").dataset.state = state;
  $("link").textContent = t(`link_${state}`);
}

/** This server is shutting down: the call goes on until the deadline, new calls go elsewhere. */
function onDraining(m) {
  const until = new Date(m.deadline - (m.now - Date.now())).toLocaleTimeString();
  const el = $("draining");
  el.textContent = t("draining", { until });
  el.hidden = false;
}

function showError(text) {
  const el = $("call-error");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(showError.t);
  showError.t = setTimeout(() => { el.hidden = true; }, 6000);
}

// ---- queue ----

/** "葡萄牙语 · Português (pt)": the language in the page language, and in its own name. */
function langLabel(l) {
  if (!l?.code) return t("language_unknown");
  const local = i18n.languageName(l.code);
  const own = NAMES[l.code];
  return own && own !== local ? `${local} · ${own} (${l.code})` : `${local} (${l.code})`;
}

function sourceLabel(source) {
  return STRINGS.en[`source_${source}`] ? t(`source_${source}`) : source;
}

function renderQueue() {
  const body = $("queue").querySelector("tbody");
  const known = new Set([...body.querySelectorAll("tr")].map((r) => r.dataset.call));
  body.replaceChildren(...op.queue.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.call = q.call_id;
    if (!known.has(q.call_id)) tr.classList.add("fresh");
    // A phone call shows the caller's number as the bridge masked it (its last digits).
    const lang = q.phone ? `${langLabel(q.language)} · ☎ ${q.phone}` : langLabel(q.language);
    const cells = [String(q.position), lang, sourceLabel(q.language.source),
      `${Math.round((q.language.confidence || 0) * 100)} %`, ""];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    tr.children[4].className = "wait";
    tr.children[4].dataset.since = String(q.queued_at);
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "primary";
    b.textContent = t("answer");
    if (q === op.queue[0]) {
      b.title = t("answer_title");
      b.setAttribute("aria-keyshortcuts", "A");
    }
    b.disabled = !!op.call;
    b.addEventListener("click", () => op.sig.answerCall(q.call_id));
    td.appendChild(b);
    tr.appendChild(td);
    return tr;
  }));
  $("queue-count").textContent = String(op.queue.length);
  $("queue-empty").hidden = op.queue.length > 0;
  renderWaits();
}

function renderWaits() {
  const now = Date.now() + op.clockOffset;
  for (const td of document.querySelectorAll("#queue td.wait")) {
    const s = Math.max(0, Math.round((now - Number(td.dataset.since)) / 1000));
    td.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }
}

// ---- the current call ----

async function onJoined(m) {
  op.me = m.participant;
  const fresh = $("call").hidden;
  $("no-call").hidden = true;
  $("call").hidden = false;
  // Keyboard users land in the call they answered (the controls follow the heading).
  if (fresh) $("call-h").focus();
  // Re-joined after a reconnect: a live media leg goes on (with fresh TURN credentials); one
  // that failed meanwhile is replaced on the same microphone.
  if (op.media?.usable) { op.media.setIceServers(m.ice_servers); return; }
  try {
    op.media = op.media
      ? op.media.renew(m.ice_servers ?? [])
      : new CallMedia(await microphone(), m.ice_servers ?? [], $("audio-host"), m.ice_transport_policy);
    op.media.setSlots(op.slots);
    op.media.addEventListener("state", (e) => { op.mediaState = e.detail; renderMediaState(); });
    op.sig.offer(await op.media.offer());
  } catch (e) {
    showError(e.kind === "denied" ? t("mic_blocked") : t("media_error", { message: e.message }));
  }
}

function renderMediaState() {
  const s = op.mediaState;
  $("media-state").textContent = s ? t("audio_state", { state: STRINGS.en[`media_${s}`] ? t(`media_${s}`) : s }) : "";
}

function onCallState(view) {
  op.call = view;
  op.casePanel.show(view);
  if (["ended", "abandoned"].includes(view.state)) { endCall(); return; }
  renderCallHead();
  if (view.language.code) $("set-language").value = view.language.code;
  press("hold", view.hold);
  press("consult", view.consult);
  const meMuted = view.participants.some((p) => p.id === op.me && p.muted);
  press("mute-me", meMuted);
  renderParticipants();
  renderQueue();
}

function renderCallHead() {
  const view = op.call;
  if (!view) return;
  const state = STRINGS.en[`state_${view.state}`] ? t(`state_${view.state}`) : view.state;
  $("call-state").textContent = state + (view.hold ? ` · ${t("on_hold")}` : "") + (view.consult ? ` · ${t("consulting")}` : "");
  $("call-state").dataset.state = view.state;
  $("call-language").textContent = t("call_language", {
    language: langLabel(view.language), source: sourceLabel(view.language.source),
    confidence: Math.round((view.language.confidence || 0) * 100),
  });
  $("job-number").textContent = view.job_number ? t("job_number", { n: view.job_number }) : "";
  // The brief the call has (also when set from another console), unless being edited.
  const brief = $("dispatch-brief");
  if (document.activeElement !== brief) brief.value = view.brief || "";
}

function press(id, on) { $(id).setAttribute("aria-pressed", String(!!on)); }

function renderParticipants() {
  const list = $("participants");
  list.replaceChildren(...(op.call?.participants || []).map((p) => {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    li.dataset.role = p.role;
    const dot = document.createElement("span");
    dot.className = "dot" + (p.connected ? " up" : "");
    dot.title = t(p.connected ? "audio_up" : "audio_down");
    const who = document.createElement("span");
    who.className = "who";
    const role = STRINGS.en[`role_${p.role}`] ? t(`role_${p.role}`) : p.role;
    const mode = p.supervision ? ` · ${t(`supervision_${p.supervision}`)}` : "";
    who.textContent = `${role}${p.name ? ` · ${p.name}` : ""}${p.id === op.me ? ` ${t("you")}` : ""}${mode}${p.muted ? ` · ${t("muted")}` : ""}`;
    const meter = document.createElement("span");
    meter.className = "meter";
    meter.appendChild(document.createElement("i"));
    const mute = document.createElement("button");
    mute.type = "button";
    mute.textContent = t(p.muted ? "unmute" : "mute");
    mute.addEventListener("click", () => {
      if (p.id === op.me) setMyMute(!p.muted);
      else op.sig.mute(p.id, !p.muted);
    });
    li.append(dot, who, meter, mute);
    if (p.role !== "caller" && p.role !== "operator") {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = t("remove");
      remove.addEventListener("click", () => removeParticipant(p.id));
      li.appendChild(remove);
    }
    return li;
  }));
  onLevels([...op.levels.entries()].map(([participant, v]) => ({ participant, ...v })));
  renderSupervised();
}

/** A supervisor in the call is never a secret from the operator: who, and listening, whispering
 * or talking in the call. */
function renderSupervised() {
  const sups = (op.call?.participants || []).filter((p) => p.role === "supervisor");
  const el = $("supervised");
  el.hidden = sups.length === 0;
  el.textContent = sups
    .map((p) => t("supervised", { name: p.name || "", mode: t(`supervision_${p.supervision || "listen"}`) }))
    .join(" ");
}

function onLevels(levels) {
  for (const l of levels) {
    op.levels.set(l.participant, { level: l.level, speaking: l.speaking });
    const li = document.querySelector(`#participants li[data-participant="${CSS.escape(l.participant)}"]`);
    if (!li) continue;
    li.classList.toggle("speaking", !!l.speaking);
    const pct = Math.max(0, Math.min(100, Math.round(((127 - l.level) / 127) * 100)));
    li.querySelector(".meter > i").style.inlineSize = `${pct}%`;
  }
}

function setMyMute(on) {
  op.muted = on;
  op.media?.setMic(!on);
  if (op.me) op.sig.mute(op.me, on);
}

async function removeParticipant(id) {
  const r = await fetch(`/api/calls/${op.call.call_id}/participants/${encodeURIComponent(id)}`, {
    method: "DELETE", headers: { authorization: `Bearer ${op.token}` },
  }).catch(() => null);
  if (!r || !r.ok) showError(t("remove_failed"));
}

async function invite(ev) {
  ev.preventDefault();
  if (!op.call) return;
  const id = $("invite-id").value.trim();
  const r = await fetch(`/api/calls/${op.call.call_id}/participants`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${op.token}` },
    body: JSON.stringify({ interpreter_id: id }),
  }).catch(() => null);
  if (r && r.ok) {
    $("invite-status").textContent = t("invited", { id });
  } else {
    const body = r ? await r.json().catch(() => ({})) : {};
    const code = body?.error?.code;
    $("invite-status").textContent = t(ERRORS[code] || "invite_failed", { code });
  }
}

function endCall() {
  op.casePanel.callEnded();
  op.media?.close();
  op.media = null;
  op.call = null;
  op.me = null;
  op.muted = false;
  op.levels.clear();
  op.mediaState = null;
  const focused = $("call").contains(document.activeElement);
  $("call").hidden = true;
  $("no-call").hidden = false;
  $("invite-status").textContent = "";
  $("media-state").textContent = "";
  renderQueue();
  // Focus was in the call that is gone: back to the queue, where the next call is answered.
  if (focused) $("queue-h").focus();
}

/** Answers the first caller in the queue (the shortcut's action). */
function answerFirst() {
  if (op.call || !op.queue.length || !op.sig) return;
  op.sig.answerCall(op.queue[0].call_id);
}

/** Everything worded by the page, again in the new language. */
function relabel() {
  fillLanguages();
  renderQueue();
  renderCallHead();
  renderMediaState();
  renderParticipants();
  op.casePanel.relabel();
  op.callbacks.relabel();
  setLink($("link").dataset.state);
}

function fillLanguages() {
  const select = $("set-language");
  const chosen = select.value;
  select.replaceChildren(...Object.keys(NAMES).map((l) => new Option(langLabel({ code: l }), l)));
  if (chosen) select.value = chosen;
}

// ---- wiring ----

i18n.apply();
op.casePanel = attachCasePanel({ i18n, token: () => op.token, readOut: () => op.sig?.readCaseNumber() });
op.callbacks = attachCallbacksPanel({ i18n, token: () => op.token, langLabel });
i18n.bindSwitch($("ui-language"));
i18n.addEventListener("change", relabel);
setLink("offline");
fillLanguages();
$("call-h").tabIndex = -1;
$("queue-h").tabIndex = -1;
$("set-language").addEventListener("change", (e) => op.sig?.setLanguage(e.target.value));
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("hold").addEventListener("click", () => op.sig.hold(!op.call?.hold));
$("consult").addEventListener("click", () => op.sig.consult(!op.call?.consult));
$("mute-me").addEventListener("click", () => setMyMute(!op.muted));
$("hang-up").addEventListener("click", () => op.sig.hangUp());
$("invite-form").addEventListener("submit", invite);
bindShortcuts({
  a: answerFirst,
  i: () => { if (op.call && !$("dispatch-add").disabled) $("dispatch-add").click(); },
  h: () => { if (op.call) $("hold").click(); },
  "shift+x": () => { if (op.call) $("hang-up").click(); },
});
resume();
