// The operator console's call-backs list: the requests callers left instead of waiting longer
// (number in full, language, when, what it is about), oldest first, each with a "done" button
// once called back. Talks to /api/callbacks (operator session); refreshed when the console
// starts, every REFRESH_MS, on its button and after marking one done.

const $ = (id) => document.getElementById(id);
/** How often the list is read again while the console is open. */
const REFRESH_MS = 30000;

/**
 * @param {{ i18n: import("../i18n/console.js").PageLanguage, token: () => string | null,
 *           langLabel: (l: { code: string | null }) => string }} deps
 */
export function attachCallbacksPanel({ i18n, token, langLabel }) {
  const t = (k, v) => i18n.t(k, v);
  const panel = { list: [], problem: null, timer: null };

  const api = async (method, path, body) => {
    const headers = { authorization: `Bearer ${token()}` };
    if (body) headers["content-type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body && JSON.stringify(body) }).catch(() => null);
    const json = r ? await r.json().catch(() => ({})) : {};
    return { ok: !!r?.ok, status: r?.status ?? 0, json };
  };

  async function refresh() {
    if (!token()) return;
    const r = await api("GET", "/api/callbacks");
    if (r.ok) { panel.list = r.json; panel.problem = null; }
    else panel.problem = r.json?.error?.code === "no_record" ? "callbacks_no_record" : "callbacks_failed";
    render();
  }

  async function done(callId, button) {
    button.disabled = true;
    const r = await api("PATCH", `/api/callbacks/${encodeURIComponent(callId)}`, { status: "done" });
    if (!r.ok) { button.disabled = false; panel.problem = "callbacks_failed"; render(); return; }
    $("callbacks-msg").textContent = t("callback_marked_done", { number: r.json.number });
    await refresh();
  }

  function time(ms) {
    return new Date(ms).toLocaleString(i18n.lang, { dateStyle: "short", timeStyle: "short" });
  }

  function render() {
    $("callbacks-count").textContent = String(panel.list.length);
    $("callbacks-none").hidden = panel.list.length > 0 || !!panel.problem;
    $("callbacks-problem").hidden = !panel.problem;
    $("callbacks-problem").textContent = panel.problem ? t(panel.problem) : "";
    $("callbacks-list").replaceChildren(...panel.list.map((c) => {
      const li = document.createElement("li");
      li.className = "callback-item";
      li.dataset.callId = c.call_id;
      const number = document.createElement("a");
      number.className = "callback-number";
      number.href = `tel:${c.number.replace(/ /g, "")}`;
      number.textContent = c.number;
      const meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = ` · ${langLabel({ code: c.language })} · ${t("callback_left_at", { time: time(c.requested_at) })}`;
      const about = document.createElement("p");
      about.className = "callback-about";
      about.textContent = c.description || t("callback_no_description");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "callback-done";
      button.textContent = t("callback_done");
      button.setAttribute("aria-label", t("callback_done_label", { number: c.number }));
      button.addEventListener("click", () => done(c.call_id, button));
      li.append(number, meta, about, button);
      return li;
    }));
  }

  function start() {
    refresh();
    clearInterval(panel.timer);
    panel.timer = setInterval(refresh, REFRESH_MS);
  }

  $("callbacks-refresh").addEventListener("click", refresh);
  return { start, refresh, relabel: render };
}
