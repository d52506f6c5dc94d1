// The operator console: login, the live queue, answering, the current call's participants with
// speaking indicators, mute / hold / consult / hang-up, and inviting an interpreter by id. The
// console is itself a WebRTC participant (microphone + receive slots, rtc.js). Exposes
// `window.hotline` for diagnostics and automated checks.

import { SignalingClient, wsUrl } from "./signaling.js";
import { CallMedia, microphone } from "./rtc.js";
import { NAMES } from "../i18n/strings.js";
import { attachDispatchPanel } from "./dispatch_panel.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.operator.token";
const SOURCES = { chosen: "picked by caller", browser: "browser languages", text: "detected from text",
  combined: "several signals", operator: "set by operator", unknown: "unknown" };

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
    $("login-error").textContent = body?.error?.message || "Login failed.";
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
  sig.on("welcome", (m) => { op.name = m.name; $("whoami").textContent = m.name; setLink("online"); });
  sig.on("close", (e) => setLink(e.willReconnect ? "reconnecting…" : "offline"));
  sig.on("queue", (m) => {
    op.clockOffset = m.now - Date.now();
    op.queue = m.calls;
    renderQueue();
  });
  sig.on("joined", (m) => onJoined(m));
  sig.on("answer", (m) => op.media?.answer(m.sdp).catch((e) => showError(`media: ${e.message}`)));
  sig.on("call_state", (m) => onCallState(m.call));
  sig.on("slots", (m) => { op.slots = m.slots; op.media?.setSlots(m.slots); });
  sig.on("left", () => endCall());
  sig.on("levels", (m) => onLevels(m.levels));
  sig.on("error", (m) => {
    if (m.code === "unauthorized") { sessionStorage.removeItem(TOKEN_KEY); location.reload(); return; }
    showError(`${m.code}: ${m.message}`);
  });
  attachDispatchPanel(sig, () => op.call);
  sig.connect();
  setInterval(renderWaits, 1000);
}

function setLink(text) { $("link").textContent = text; }

function showError(text) {
  const el = $("call-error");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(showError.t);
  showError.t = setTimeout(() => { el.hidden = true; }, 6000);
}

// ---- queue ----

function langLabel(l) {
  if (!l?.code) return "unknown";
  return `${NAMES[l.code] || l.code} (${l.code})`;
}

function renderQueue() {
  const body = $("queue").querySelector("tbody");
  const known = new Set([...body.querySelectorAll("tr")].map((r) => r.dataset.call));
  body.replaceChildren(...op.queue.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.call = q.call_id;
    if (!known.has(q.call_id)) tr.classList.add("fresh");
    const cells = [String(q.position), langLabel(q.language), SOURCES[q.language.source] || q.language.source,
      `${Math.round((q.language.confidence || 0) * 100)} %`, ""];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    tr.children[4].className = "wait";
    tr.children[4].dataset.since = String(q.queued_at);
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "primary";
    b.textContent = "Answer";
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
  $("no-call").hidden = true;
  $("call").hidden = false;
  // Re-joined after a reconnect: a live media leg goes on (with fresh TURN credentials); one
  // that failed meanwhile is replaced on the same microphone.
  if (op.media?.usable) { op.media.setIceServers(m.ice_servers); return; }
  try {
    op.media = op.media
      ? op.media.renew(m.ice_servers ?? [])
      : new CallMedia(await microphone(), m.ice_servers ?? [], $("audio-host"));
    op.media.setSlots(op.slots);
    op.media.addEventListener("state", (e) => { $("media-state").textContent = `audio: ${e.detail}`; });
    op.sig.offer(await op.media.offer());
  } catch (e) {
    showError(e.kind === "denied" ? "The microphone is blocked: allow it for this site." : `media: ${e.message}`);
  }
}

function onCallState(view) {
  op.call = view;
  if (["ended", "abandoned"].includes(view.state)) { endCall(); return; }
  $("call-state").textContent = view.state + (view.hold ? " · hold" : "") + (view.consult ? " · consult" : "");
  $("call-language").textContent = `${langLabel(view.language)} — ${SOURCES[view.language.source] || ""}, ${Math.round((view.language.confidence || 0) * 100)} %`;
  if (view.language.code) $("set-language").value = view.language.code;
  press("hold", view.hold);
  press("consult", view.consult);
  const meMuted = view.participants.some((p) => p.id === op.me && p.muted);
  press("mute-me", meMuted);
  renderParticipants();
  renderQueue();
}

function press(id, on) { $(id).setAttribute("aria-pressed", String(!!on)); }

function renderParticipants() {
  const list = $("participants");
  list.replaceChildren(...(op.call?.participants || []).map((p) => {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    const dot = document.createElement("span");
    dot.className = "dot" + (p.connected ? " up" : "");
    dot.title = p.connected ? "audio connected" : "audio not connected";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${p.role}${p.name ? ` · ${p.name}` : ""}${p.id === op.me ? " (you)" : ""}${p.muted ? " · muted" : ""}`;
    const meter = document.createElement("span");
    meter.className = "meter";
    meter.appendChild(document.createElement("i"));
    const mute = document.createElement("button");
    mute.type = "button";
    mute.textContent = p.muted ? "Unmute" : "Mute";
    mute.addEventListener("click", () => {
      if (p.id === op.me) setMyMute(!p.muted);
      else op.sig.mute(p.id, !p.muted);
    });
    li.append(dot, who, meter, mute);
    if (p.role !== "caller" && p.role !== "operator") {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.addEventListener("click", () => removeParticipant(p.id));
      li.appendChild(remove);
    }
    return li;
  }));
  onLevels([...op.levels.entries()].map(([participant, v]) => ({ participant, ...v })));
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
  if (!r || !r.ok) showError("Could not remove the participant.");
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
    $("invite-status").textContent = `Invited ${id}: waiting for their console to join.`;
  } else {
    const body = r ? await r.json().catch(() => ({})) : {};
    $("invite-status").textContent = body?.error?.message || "Invitation failed.";
  }
}

function endCall() {
  op.media?.close();
  op.media = null;
  op.call = null;
  op.me = null;
  op.muted = false;
  op.levels.clear();
  $("call").hidden = true;
  $("no-call").hidden = false;
  $("invite-status").textContent = "";
  $("media-state").textContent = "";
  renderQueue();
}

// ---- wiring ----

$("set-language").replaceChildren(...Object.keys(NAMES).map((l) => {
  const o = document.createElement("option");
  o.value = l;
  o.textContent = `${NAMES[l]} (${l})`;
  return o;
}));
$("set-language").addEventListener("change", (e) => op.sig?.setLanguage(e.target.value));
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("hold").addEventListener("click", () => op.sig.hold(!op.call?.hold));
$("consult").addEventListener("click", () => op.sig.consult(!op.call?.consult));
$("mute-me").addEventListener("click", () => setMyMute(!op.muted));
$("hang-up").addEventListener("click", () => op.sig.hangUp());
$("invite-form").addEventListener("submit", invite);
resume();
