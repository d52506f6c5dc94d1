// The pages' WebRTC leg to the media service (docs: /work/helpers contract, DESIGN §5): one
// sendrecv audio transceiver carrying the microphone plus RECV_SLOTS recvonly ones created up
// front, so parties joining or leaving never renegotiate. The offer is sent complete (after ICE
// gathering, at most GATHER_TIMEOUT_MS). Each receive slot plays in its own <audio> element.

export const RECV_SLOTS = 3;
export const GATHER_TIMEOUT_MS = 2000;

/** Asks for the microphone; rejects with an Error whose `kind` is "denied", "missing" or "other". */
export async function microphone() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw Object.assign(new Error("no media devices (insecure origin?)"), { kind: "other" });
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: false,
    });
  } catch (e) {
    const kind = e?.name === "NotAllowedError" || e?.name === "SecurityError" ? "denied"
      : e?.name === "NotFoundError" || e?.name === "OverconstrainedError" ? "missing" : "other";
    throw Object.assign(new Error(e?.message || String(e)), { kind });
  }
}

export class CallMedia extends EventTarget {
  /**
   * @param {MediaStream} stream  the microphone
   * @param {RTCIceServer[]} iceServers
   * @param {HTMLElement} audioHost  where the slots' <audio> elements go (hidden is fine)
   * @param {RTCIceTransportPolicy} [policy]  "relay": only through the TURN servers
   */
  constructor(stream, iceServers, audioHost, policy = "all") {
    super();
    this.stream = stream;
    this.audioHost = audioHost;
    this.policy = policy === "relay" ? "relay" : "all";
    this.pc = new RTCPeerConnection({
      iceServers: iceServers || [], bundlePolicy: "max-bundle", iceTransportPolicy: this.policy,
    });
    const [track] = stream.getAudioTracks();
    this.mic = this.pc.addTransceiver(track, { direction: "sendrecv", streams: [stream] });
    this.slots = [];
    for (let i = 0; i < RECV_SLOTS; i++) {
      this.slots.push(this.pc.addTransceiver("audio", { direction: "recvonly" }));
    }
    this.speakersOn = true;
    this.audio = new Map(); // mid → <audio>
    this.slotMap = new Map(); // mid → participant id the server forwards on it (from `slots`)
    this.pc.addEventListener("track", (ev) => this.#play(ev));
    this.pc.addEventListener("connectionstatechange", () => {
      this.dispatchEvent(new CustomEvent("state", { detail: this.pc.connectionState }));
    });
  }

  /** Whether this leg can carry audio again: a failed or closed connection cannot (`renew` it). */
  get usable() {
    const s = this.pc.connectionState;
    return s !== "failed" && s !== "closed";
  }

  /** Fresh ICE servers (TURN credentials expire) for any later gathering on this leg. */
  setIceServers(iceServers) {
    if (!iceServers?.length) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (e) {
      console.warn("ice servers not updated", e);
    }
  }

  /** A new leg on the same microphone, in place of this one (closed, the microphone kept). */
  renew(iceServers) {
    this.close({ keepMic: true });
    const next = new CallMedia(this.stream, iceServers, this.audioHost, this.policy);
    next.slotMap = new Map(this.slotMap);
    next.speakersOn = this.speakersOn;
    return next;
  }

  /** A complete offer (candidates included). */
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await new Promise((resolve) => {
      if (this.pc.iceGatheringState === "complete") return resolve();
      const t = setTimeout(resolve, GATHER_TIMEOUT_MS);
      this.pc.addEventListener("icegatheringstatechange", () => {
        if (this.pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
      });
    });
    const sdp = this.pc.localDescription.sdp;
    if (!/\r\na=candidate:/.test(sdp)) {
      // Nothing to reach us by (a TURN server refusing the credentials with
      // iceTransportPolicy "relay", or no network at all): said now, not when ICE gives up.
      this.dispatchEvent(new CustomEvent("state", { detail: "failed" }));
    }
    return sdp;
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /** The microphone on or off (the server also stops routing a muted participant). */
  setMic(on) {
    for (const t of this.stream.getAudioTracks()) t.enabled = on;
  }

  /** Silences what we hear (the caller on hold hears only the page's own tone). */
  setSpeakers(on) {
    this.speakersOn = on;
    for (const a of this.audio.values()) a.muted = !on;
  }

  /** Which participant each receive slot carries now (the server's `slots` message). */
  setSlots(slots) {
    this.slotMap = new Map((slots || []).map((s) => [s.mid, s.participant || null]));
  }

  /** Per-slot inbound figures (with the participant the slot carries, when known) and the
   * outbound packet count, for status and tests. */
  async stats() {
    const report = await this.pc.getStats();
    const inbound = [];
    let packetsSent = 0;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        inbound.push({ mid: s.mid, participant: this.slotMap.get(s.mid) ?? null, packetsReceived: s.packetsReceived || 0, audioLevel: s.audioLevel || 0,
          totalAudioEnergy: s.totalAudioEnergy || 0, jitter: s.jitter || 0, packetsLost: s.packetsLost || 0 });
      }
      if (s.type === "outbound-rtp" && s.kind === "audio") packetsSent += s.packetsSent || 0;
    });
    return { state: this.pc.connectionState, inbound, packetsSent };
  }

  /** Ends the leg; the microphone too unless `keepMic`. */
  close({ keepMic = false } = {}) {
    for (const a of this.audio.values()) { a.srcObject = null; a.remove(); }
    this.audio.clear();
    this.pc.close();
    if (!keepMic) for (const t of this.stream.getTracks()) t.stop();
  }

  #play(ev) {
    const mid = ev.transceiver?.mid ?? String(this.audio.size);
    let el = this.audio.get(mid);
    if (!el) {
      el = document.createElement("audio");
      el.autoplay = true;
      el.muted = !this.speakersOn;
      el.dataset.mid = mid;
      this.audioHost.appendChild(el);
      this.audio.set(mid, el);
    }
    el.srcObject = new MediaStream([ev.track]);
    el.play().catch(() => { /* autoplay needs the click that started the call; it had one */ });
  }
}

/** A soft, slow two-note hold tone played locally (the server sends the caller nothing on hold). */
export class HoldTone {
  constructor() { this.ctx = null; this.timer = null; }
  start() {
    if (this.timer) return;
    this.ctx = this.ctx || new (window.AudioContext || window.webkitAudioContext)();
    const beep = (freq, at) => {
      const o = this.ctx.createOscillator();
      const g = this.ctx.createGain();
      o.type = "sine";
      o.frequency.value = freq;
      g.gain.setValueAtTime(0, at);
      g.gain.linearRampToValueAtTime(0.06, at + 0.08);
      g.gain.linearRampToValueAtTime(0, at + 0.7);
      o.connect(g).connect(this.ctx.destination);
      o.start(at);
      o.stop(at + 0.75);
    };
    const phrase = () => { const t = this.ctx.currentTime; beep(523.25, t); beep(659.25, t + 0.8); };
    this.ctx.resume().catch(() => {});
    phrase();
    this.timer = setInterval(phrase, 4000);
  }
  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}
