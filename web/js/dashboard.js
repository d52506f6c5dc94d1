// The supervisors' big screen: login, then the figures of GET /api/dashboard/live (Server-Sent
// Events read with fetch, so the session token stays in a header), redrawn on every update
// without reloading: calls and interpreters now (tiles and a table per language), today's
// service level, time to interpreter and satisfaction, and a 24-hour chart drawn with uPlot
// (vendored in /vendor/uplot, served by the bridge itself). A dropped stream is opened again
// after a pause. Every word comes from i18n/dashboard.js in the page language.

import uPlot from "/vendor/uplot/uPlot.esm.js";
import { STRINGS } from "../i18n/dashboard.js";
import { PageLanguage } from "../i18n/console.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.supervisor.token";
/** Pause before the stream is opened again after it dropped. */
const RECONNECT_MS = 2000;
/** The chart's height in CSS pixels (its width follows the panel). */
const CHART_HEIGHT = 380;
const i18n = new PageLanguage(STRINGS);
const t = (key, vars) => i18n.t(key, vars);

const board = {
  token: sessionStorage.getItem(TOKEN_KEY),
  view: null,
  chart: null,
  stream: null, // AbortController of the open stream
  updates: 0,
};
window.hotline = board;

// ---- login ----

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const resp = await fetch("/api/supervisor/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: $("name").value, password: $("password").value }),
  }).catch(() => null);
  if (!resp || !resp.ok) {
    $("login-error").textContent = t(resp && resp.status === 401 ? "login_wrong" : "login_failed");
    return;
  }
  const me = await resp.json();
  board.token = me.token;
  sessionStorage.setItem(TOKEN_KEY, me.token);
  show(true);
}

async function logout() {
  board.stream?.abort();
  await fetch("/api/supervisor/logout", { method: "POST", headers: auth() }).catch(() => {});
  sessionStorage.removeItem(TOKEN_KEY);
  board.token = null;
  show(false);
}

function auth() {
  return { authorization: `Bearer ${board.token}` };
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("board").hidden = !signedIn;
  $("logout").hidden = !signedIn;
  if (signedIn) follow();
  else setLink("offline");
}

function setLink(state) {
  const link = $("link");
  link.dataset.state = state;
  link.textContent = t(`link_${state}`);
}

// ---- the live stream ----

/** Reads the stream until it ends; opens it again unless logged out. */
async function follow() {
  board.stream?.abort();
  const ctl = new AbortController();
  board.stream = ctl;
  while (board.token && !ctl.signal.aborted) {
    const resp = await fetch("/api/dashboard/live", { headers: auth(), signal: ctl.signal }).catch(() => null);
    if (resp && (resp.status === 401 || resp.status === 403)) {
      sessionStorage.removeItem(TOKEN_KEY);
      board.token = null;
      show(false);
      $("login-error").textContent = t(resp.status === 403 ? "login_forbidden" : "login_failed");
      return;
    }
    if (resp && resp.ok && resp.body) {
      setLink("online");
      try {
        await readEvents(resp.body, (data) => update(JSON.parse(data)));
      } catch {
        // Dropped: open it again below.
      }
    }
    if (ctl.signal.aborted) return;
    setLink("reconnecting");
    await new Promise((r) => setTimeout(r, RECONNECT_MS));
  }
}

/** Calls `onData` with the data of each `dashboard` event of an SSE body. */
async function readEvents(body, onData) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (event === "dashboard" && data.length) onData(data.join("\n"));
    }
  }
}

// ---- drawing ----

const pct = (x) => (x == null ? "–" : `${Math.round(x * 1000) / 10} %`);
const secs = (ms) => (ms == null ? "–" : t("seconds", { n: Math.round(ms / 100) / 10 }));

function languageName(code) {
  if (!code) return t("language_unknown");
  return i18n.languageName(code);
}

function update(view) {
  board.view = view;
  board.updates += 1;
  draw();
}

function draw() {
  const v = board.view;
  if (!v) return;
  const n = v.totals;
  $("live-calls").textContent = n.live;
  $("waiting-calls").textContent = n.waiting;
  $("interpreters-available").textContent = n.available;
  $("interpreters-busy").textContent = n.busy;
  $("interpreters-on-shift").textContent = n.on_shift;
  const d = v.today;
  $("no-record").hidden = !!d;
  $("calls-today").textContent = d ? d.calls : "–";
  $("service-level").textContent = d ? `${pct(d.service_level_20s)} / ${pct(d.service_level_30s)}` : "–";
  $("time-to-interpreter").textContent = d
    ? `${secs(d.time_to_interpreter_median_ms)} / ${secs(d.time_to_interpreter_p90_ms)}` : "–";
  $("satisfaction").textContent = d && d.ratings ? pct(d.satisfaction) : "–";
  $("satisfaction-detail").textContent = d && d.ratings
    ? t("satisfaction_detail", { stars: d.mean_stars.toFixed(1), ratings: d.ratings }) : "";
  $("resolution").textContent = d ? pct(d.resolution) : "–";
  $("cases-today").textContent = d && d.cases != null ? d.cases : "–";
  drawLanguages(v.languages);
  drawChart(v.hours);
  $("updated").textContent = local(new Date(), { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  tick();
}

function drawLanguages(rows) {
  // Languages with anything going on first, then by name.
  const busy = (r) => r.live + r.waiting + r.available + r.busy + r.on_shift;
  const sorted = [...rows].sort((a, b) => (busy(b) > 0) - (busy(a) > 0)
    || languageName(a.language).localeCompare(languageName(b.language), i18n.lang));
  $("language-rows").replaceChildren(...sorted.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.language = r.language || "";
    const cells = [languageName(r.language), r.live, r.waiting, r.available, r.busy, r.on_shift];
    tr.replaceChildren(...cells.map((c, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) td.scope = "row";
      td.textContent = c;
      if (i === 2 && r.waiting > 0) td.className = "alert";
      return td;
    }));
    return tr;
  }));
}

function drawChart(hours) {
  const el = $("chart");
  if (!hours || !hours.length) {
    board.chart?.destroy();
    board.chart = null;
    return;
  }
  const data = [
    hours.map((h) => h.start / 1000),
    hours.map((h) => h.calls),
    hours.map((h) => h.interpreted),
    hours.map((h) => h.abandoned),
  ];
  const width = Math.max(320, el.clientWidth || 600);
  if (board.chart && board.chart.lang === i18n.lang) {
    board.chart.setData(data);
    return;
  }
  board.chart?.destroy();
  const bars = uPlot.paths.bars({ size: [0.7, 60] });
  const opts = {
    width,
    height: CHART_HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), board.view.time_zone),
    legend: { show: true },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
    axes: [
      { stroke: "#1b1f24", font: "18px system-ui", values: (u, ticks) => ticks.map((s) =>
        uPlot.tzDate(new Date(s * 1000), board.view.time_zone).getHours().toString().padStart(2, "0") + ":00") },
      // Whole calls only.
      { stroke: "#1b1f24", font: "18px system-ui", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] },
    ],
    series: [
      {},
      { label: t("series_calls"), stroke: "#0b5cad", fill: "rgba(11,92,173,0.35)", paths: bars, points: { show: false } },
      { label: t("series_interpreted"), stroke: "#1a7f37", width: 3, points: { show: false } },
      { label: t("series_abandoned"), stroke: "#c62828", width: 3, points: { show: false } },
    ],
  };
  board.chart = new uPlot(opts, data, el);
  board.chart.lang = i18n.lang;
}

/** The hotline's time zone (the board's "today"), once the service has said it. */
function zone() {
  return board.view?.time_zone || undefined;
}

/** `date` in the page language and the hotline's time zone (the browser's if it lacks it). */
function local(date, opts) {
  try {
    return date.toLocaleString(i18n.lang, { ...opts, timeZone: zone() });
  } catch {
    return date.toLocaleString(i18n.lang, opts);
  }
}

function tick() {
  $("clock").textContent = local(new Date(), { hour: "2-digit", minute: "2-digit", weekday: "short" });
}

// ---- start ----

i18n.apply();
i18n.bindSwitch($("ui-language"));
i18n.addEventListener("change", () => {
  setLink($("link").dataset.state);
  board.chart?.destroy();
  board.chart = null;
  draw();
  tick();
});
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
window.addEventListener("resize", () => {
  const el = $("chart");
  if (board.chart) board.chart.setSize({ width: Math.max(320, el.clientWidth), height: CHART_HEIGHT });
});
tick();
setInterval(tick, 10_000);
setLink("offline");
show(!!board.token);
