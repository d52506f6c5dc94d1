// Signalling client: mirrors src/protocol.rs message for message (keep them in step).
// A small WebSocket wrapper: it sends `hello` with the token on every (re)connect, reconnects with
// back-off while the call lives, sends heartbeats, and dispatches each server message as an event
// named after its `type` ("welcome", "answer", "call_state", "slots", "levels", "queue", "error"…).

/** Client → server types (ClientMessage::TYPES). */
export const CLIENT_TYPES = [
  "hello", "offer", "ice_candidate", "answer_call", "join_call", "leave_call",
  "mute", "hold", "consult", "set_language", "hang_up", "ping",
  "set_availability", "accept_offer", "decline_offer",
  "request_interpreter", "cancel_interpreter", "remove_interpreter", "replace_interpreter",
  "keep_waiting", "request_callback", "supervise", "read_case_number",
];

/** Server → client types (ServerMessage). */
export const SERVER_TYPES = [
  "welcome", "joined", "left", "answer", "call_state", "slots", "levels", "queue", "pong",
  "interpreter_status", "ring", "offer_ended", "invited", "dispatch", "interpreting", "long_wait",
  "draining", "error",
];

/**
 * `interpreting` (ServerMessage::Interpreting), callers only: how the search for their
 * interpreter is going, without names; `stage` is one of INTERPRETER_STAGES.
 * @typedef {{ type: "interpreting", stage: string }} Interpreting
 */

/** InterpreterStage values of `interpreting` messages. */
export const INTERPRETER_STAGES = ["seeking", "joining", "unavailable", "left", "replacing", "stopped"];

/** EndedBy values of a call view's `ended_by`: who or what ended the call. */
export const ENDED_BY = ["caller", "operator", "no_reply", "callback", "connection_lost", "hotline"];

/**
 * `long_wait` (ServerMessage::LongWait), callers only: the call has waited `waited_ms` for an
 * operator. Answer `keepWaiting()` before `reply_by` (server clock; `now` is the server's time
 * when sent) to stay in the queue, or hang up; unanswered, the call ends. With `callback` (the
 * hotline keeps a record) the caller may instead `requestCallback()`.
 * @typedef {{ type: "long_wait", waited_ms: number, reply_by: number, now: number, callback: boolean }} LongWait
 */

/**
 * `draining` (ServerMessage::Draining): the node is shutting down. It takes no new calls; the
 * call in progress goes on until it ends or `deadline` (server clock, `now` = server time when
 * sent); then the socket closes with 1001 and this client reconnects (to another node). May come
 * again with an earlier deadline.
 * @typedef {{ type: "draining", deadline: number, now: number, message: string }} Draining
 */

/**
 * `joined` (ServerMessage::Joined): the session entered a call; offer next, with `ice_servers`
 * (RTCConfiguration.iceServers, TURN credentials valid for media.turn_ttl_s) and
 * `ice_transport_policy` ("relay": only through TURN, media.turn_relay_only) in the connection.
 * @typedef {{ type: "joined", call_id: string, participant: string,
 *   ice_servers: { urls: string[], username?: string, credential?: string }[],
 *   ice_transport_policy?: "all" | "relay" }} Joined
 */

/**
 * `invited` (ServerMessage::Invited): enter the accepted call with `joinCall`. With `ws_url` the
 * call lives on another node: open a second client to that URL (same token, `callId` = the call,
 * so its `hello` names it), `joinCall` after its `welcome`, and send the call's messages there.
 * @typedef {{ type: "invited", call_id: string, ws_url?: string }} Invited
 */

/** OfferEndReason values of `offer_ended` messages. */
export const OFFER_END_REASONS = ["accepted", "declined", "expired", "taken", "cancelled"];

/** Interpreter statuses (pool Status) of `interpreter_status` messages. */
export const INTERPRETER_STATUSES = ["offline", "available", "offered", "busy", "wrap_up", "paused"];

/** ErrorCode values of `error` messages. */
export const ERROR_CODES = [
  "bad_json", "unknown_type", "invalid", "too_large", "hello_first", "unauthorized", "forbidden",
  "not_in_call", "not_found", "conflict", "media", "idle", "internal", "draining", "rate_limited",
];

/** LeftReason values of `left` messages. */
export const LEFT_REASONS = ["you_left", "removed", "disconnected", "media_silent", "no_reply", "call_ended"];

/** Error codes after which reconnecting cannot help. */
const FATAL = new Set(["unauthorized", "forbidden"]);
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;
const DEFAULT_HEARTBEAT_S = 15;

/** Resolves "/ws" (or an absolute URL) against the page's own origin, ws: or wss:. */
export function wsUrl(path = "/ws") {
  const u = new URL(path, window.location.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol === "https:") u.protocol = "wss:";
  return u.toString();
}

export class SignalingClient extends EventTarget {
  /**
   * @param {object} o
   * @param {string} o.url      ws(s) URL (see wsUrl)
   * @param {string} o.token    call token, operator session token or interpreter token
   * @param {string} [o.callId] the caller's call id, or the call an interpreter's session on the
   *   call's node is for
   */
  constructor({ url, token, callId = null }) {
    super();
    this.url = url;
    this.token = token;
    this.callId = callId;
    this.ws = null;
    this.closedByUs = false;
    this.attempt = 0;
    this.heartbeatTimer = null;
    this.reconnectTimer = null;
    this.nonce = 0;
    this.welcome = null;
  }

  /** Opens the connection (and keeps it open until close()). */
  connect() {
    this.closedByUs = false;
    clearTimeout(this.reconnectTimer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      const hello = { type: "hello", token: this.token };
      if (this.callId) hello.call_id = this.callId;
      this.#sendRaw(hello);
      this.#emit("open", {});
    });
    ws.addEventListener("message", (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg.type !== "string") return;
      if (msg.type === "welcome") {
        this.welcome = msg;
        this.#startHeartbeat(msg.heartbeat_s || DEFAULT_HEARTBEAT_S);
      }
      if (msg.type === "error" && FATAL.has(msg.code)) this.closedByUs = true;
      this.#emit(msg.type, msg);
      this.#emit("message", msg);
    });
    ws.addEventListener("close", (ev) => {
      clearInterval(this.heartbeatTimer);
      this.#emit("close", { code: ev.code, reason: ev.reason, willReconnect: !this.closedByUs });
      if (!this.closedByUs) this.#scheduleReconnect();
    });
    ws.addEventListener("error", () => { /* "close" follows and decides */ });
  }

  /** Closes for good (no reconnect). */
  close() {
    this.closedByUs = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, "bye");
  }

  get connected() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  // --- typed senders, one per ClientMessage variant ---
  offer(sdp) { return this.#send({ type: "offer", sdp }); }
  iceCandidate(candidate) { return this.#send({ type: "ice_candidate", candidate }); }
  answerCall(callId) { return this.#send({ type: "answer_call", call_id: callId }); }
  joinCall(callId) { return this.#send({ type: "join_call", call_id: callId }); }
  leaveCall() { return this.#send({ type: "leave_call" }); }
  mute(participant, muted) { return this.#send({ type: "mute", participant, muted }); }
  hold(on) { return this.#send({ type: "hold", on }); }
  consult(on) { return this.#send({ type: "consult", on }); }
  setLanguage(language) { return this.#send({ type: "set_language", language }); }
  hangUp() { return this.#send({ type: "hang_up" }); }
  ping() { return this.#send({ type: "ping", nonce: ++this.nonce }); }
  /** Interpreter: "available", "paused" or "offline". */
  setAvailability(availability) { return this.#send({ type: "set_availability", availability }); }
  acceptOffer(offerId) { return this.#send({ type: "accept_offer", offer_id: offerId }); }
  declineOffer(offerId) { return this.#send({ type: "decline_offer", offer_id: offerId }); }
  /** Operator: language defaults to the call's; `brief` (one line) is shown to the interpreter rung. */
  requestInterpreter(language = null, brief = null) {
    const m = { type: "request_interpreter" };
    if (language) m.language = language;
    if (brief !== null) m.brief = brief;
    return this.#send(m);
  }
  cancelInterpreter() { return this.#send({ type: "cancel_interpreter" }); }
  removeInterpreter() { return this.#send({ type: "remove_interpreter" }); }
  replaceInterpreter() { return this.#send({ type: "replace_interpreter" }); }
  /** Caller: after `long_wait`, stay in the queue (the wait starts again). */
  keepWaiting() { return this.#send({ type: "keep_waiting" }); }
  /** Caller: after `long_wait`, leave a number to be called back; the call then ends (`ended_by` callback). */
  requestCallback(number, language, description) {
    return this.#send({ type: "request_callback", number, language, description });
  }
  /** Supervisor in a call: "listen", "whisper" (to the operators) or "barge" (everyone hears). */
  supervise(mode) { return this.#send({ type: "supervise", mode }); }
  /** Operator: the case number read out to the phone caller, in their language. */
  readCaseNumber() { return this.#send({ type: "read_case_number" }); }

  /** Resolves with the next message of `type` (or rejects on an `error` or after timeoutMs). */
  next(type, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        this.removeEventListener(type, onMsg);
        this.removeEventListener("error", onErr);
      };
      const onMsg = (e) => { done(); resolve(e.detail); };
      const onErr = (e) => { done(); reject(Object.assign(new Error(e.detail.message), { code: e.detail.code })); };
      const t = setTimeout(() => { done(); reject(new Error(`no ${type} within ${timeoutMs} ms`)); }, timeoutMs);
      this.addEventListener(type, onMsg);
      this.addEventListener("error", onErr);
    });
  }

  /** Subscribes to one message type; returns an unsubscribe function. */
  on(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  #send(msg) {
    if (!this.connected) return false;
    return this.#sendRaw(msg);
  }

  #sendRaw(msg) {
    try { this.ws.send(JSON.stringify(msg)); return true; } catch { return false; }
  }

  #emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  #startHeartbeat(seconds) {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.ping(), Math.max(1, seconds) * 1000);
  }

  #scheduleReconnect() {
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base / 2 + Math.random() * base / 2;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }
}
