// The supervisors' reports: login, a period (local dates, prefilled from ?from=&to= or this
// month), then each report of GET /api/reports/… as a table, with a link to download the same
// report as CSV (fetched with the session token in a header, offered as a file). Every word comes
// from i18n/reports.js in the page language.

import { STRINGS } from "../i18n/reports.js";
import { PageLanguage } from "../i18n/console.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.supervisor.token";
const i18n = new PageLanguage(STRINGS);
const t = (key, vars) => i18n.t(key, vars);

const page = {
  token: sessionStorage.getItem(TOKEN_KEY),
  data: {},
  /** Each report's CSV as its link offers it. */
  csv: {},
  loads: 0,
  links: [],
};
window.hotline = page;

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
  page.token = me.token;
  sessionStorage.setItem(TOKEN_KEY, me.token);
  show(true);
}

async function logout() {
  await fetch("/api/supervisor/logout", { method: "POST", headers: auth() }).catch(() => {});
  sessionStorage.removeItem(TOKEN_KEY);
  page.token = null;
  show(false);
}

function auth(extra = {}) {
  return { authorization: `Bearer ${page.token}`, ...extra };
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("reports").hidden = !signedIn;
  $("logout").hidden = !signedIn;
  if (signedIn) load();
}

// ---- the period ----

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function prefill() {
  const q = new URLSearchParams(location.search);
  const today = new Date();
  $("from").value = q.get("from") || isoDay(new Date(today.getFullYear(), today.getMonth(), 1));
  $("to").value = q.get("to") || isoDay(today);
  if (q.get("by")) $("by").value = q.get("by");
}

// ---- loading ----

async function load(ev) {
  ev?.preventDefault();
  $("error").hidden = true;
  $("status").textContent = t("loading");
  const range = new URLSearchParams({ from: $("from").value, to: $("to").value });
  const by = $("by").value;
  const reports = {
    waiting: `/api/reports/waiting?${range}&by=${encodeURIComponent(by)}`,
    satisfaction: `/api/reports/satisfaction?${range}`,
    minutes: `/api/reports/minutes?${range}`,
    demand: `/api/reports/demand?${range}`,
  };
  for (const url of page.links) URL.revokeObjectURL(url);
  page.links = [];
  try {
    for (const [name, url] of Object.entries(reports)) {
      const resp = await fetch(url, { headers: auth() });
      if (resp.status === 401) return logout();
      if (!resp.ok) throw resp;
      page.data[name] = await resp.json();
      await csvLink(name, url);
    }
  } catch (resp) {
    const code = resp?.status ?? "network";
    $("error").textContent = t(code === 403 ? "err_forbidden" : "err_other", { code });
    $("error").hidden = false;
    $("status").textContent = "";
    return;
  }
  $("status").textContent = "";
  page.loads += 1;
  draw();
}

/** The report as CSV, offered as a file by its link. */
async function csvLink(name, url) {
  const link = $(`${name}-csv`);
  const resp = await fetch(url, { headers: auth({ accept: "text/csv" }) });
  if (!resp.ok) {
    link.hidden = true;
    return;
  }
  const file = /filename="([^"]+)"/.exec(resp.headers.get("content-disposition") || "");
  page.csv[name] = await resp.text();
  const href = URL.createObjectURL(new Blob([page.csv[name]], { type: "text/csv" }));
  page.links.push(href);
  link.href = href;
  link.download = file ? file[1] : `${name}.csv`;
  link.hidden = false;
}

// ---- drawing ----

const secs = (ms) => (ms == null ? "–" : (ms / 1000).toFixed(1));
const pct = (x) => (x == null ? "–" : `${(x * 100).toFixed(1)} %`);
const mins = (ms) => (ms / 60000).toFixed(1);

function table(id, head, rows) {
  const el = $(id);
  const tr = document.createElement("tr");
  for (const [text, num] of head) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = text;
    if (num) th.className = "num";
    tr.append(th);
  }
  el.tHead.replaceChildren(tr);
  const body = rows.map(({ cells, total }) => {
    const r = document.createElement("tr");
    if (total) r.className = "total";
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      td.textContent = c;
      if (head[i][1]) td.className = "num";
      r.append(td);
    });
    return r;
  });
  if (!body.length) {
    const r = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = head.length;
    td.className = "muted";
    td.textContent = t("empty");
    r.append(td);
    body.push(r);
  }
  el.tBodies[0].replaceChildren(...body);
}

function groupName(by, row) {
  if (!row.key) return t("none");
  return by === "language" ? i18n.languageName(row.key) : row.label || row.key;
}

function draw() {
  const { waiting, satisfaction, minutes, demand } = page.data;
  if (!waiting) return;
  $("range-note").textContent = t("range_note", { zone: waiting.time_zone });
  table(
    "waiting",
    [[t(`by_${waiting.by}`)], [t("col_calls"), 1], [t("col_asked"), 1], [t("col_median"), 1],
      [t("col_p90"), 1], [t("col_sl20"), 1], [t("col_sl30"), 1], [t("col_ab_op"), 1],
      [t("col_ab_int"), 1]],
    waiting.rows.map((r) => ({
      cells: [groupName(waiting.by, r), r.calls, r.asked_for_interpreter,
        secs(r.time_to_interpreter_median_ms), secs(r.time_to_interpreter_p90_ms),
        pct(r.service_level_20s), pct(r.service_level_30s),
        pct(r.abandoned_waiting_for_operator_rate), pct(r.abandoned_waiting_for_interpreter_rate)],
    })),
  );
  table(
    "satisfaction",
    [[t("col_language")], ...[1, 2, 3, 4, 5].map((n) => [t("col_stars", { n }), 1]),
      [t("col_ratings"), 1], [t("col_mean"), 1], [t("col_satisfied"), 1]],
    satisfaction.rows.map((r) => ({
      cells: [r.language ? i18n.languageName(r.language) : t("none"), r.stars_1, r.stars_2,
        r.stars_3, r.stars_4, r.stars_5, r.ratings,
        r.mean_stars == null ? "–" : r.mean_stars.toFixed(2), pct(r.satisfied)],
    })),
  );
  const rows = [];
  for (const total of minutes.universities) {
    for (const r of minutes.interpreters) {
      if (r.month === total.month && r.university === total.university) {
        rows.push({ cells: [r.month, r.university_name || t("none"), r.interpreter, r.calls,
          r.minutes.toFixed(2)] });
      }
    }
    rows.push({
      total: true,
      cells: [total.month, t("university_total", { university: total.university_name || t("none") }),
        "", total.calls, total.minutes.toFixed(2)],
    });
  }
  table(
    "minutes",
    [[t("col_month")], [t("col_university")], [t("col_interpreter")], [t("col_calls"), 1],
      [t("col_minutes"), 1]],
    rows,
  );
  table(
    "demand",
    [[t("col_language")], [t("col_hour")], [t("col_calls"), 1], [t("col_on_shift"), 1],
      [t("col_waited"), 1], [t("col_cut"), 1]],
    demand.shortfalls.map((s) => ({
      cells: [i18n.languageName(s.language), s.label, s.calls, s.on_shift, mins(s.waited_ms),
        mins(s.cut_ms)],
    })),
  );
}

// ---- start ----

i18n.apply();
i18n.bindSwitch($("ui-language"));
i18n.addEventListener("change", draw);
prefill();
$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
$("range-form").addEventListener("submit", load);
show(!!page.token);
