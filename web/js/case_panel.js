// The operator console's case panel: the current call's case (number told to the caller, notes,
// category, department, status, follow-ups), editable during the call and after it until the
// next call is answered; for a returning caller, the calls on the case and "same interpreter
// first" (the dispatcher rings that interpreter before the usual search, api/calls/participants).
// Talks to /api/cases (operator session). operator.js hands it each call state.

const $ = (id) => document.getElementById(id);
const STATUSES = ["open", "passed_on", "resolved"];

/**
 * @param {{ i18n: import("../i18n/console.js").PageLanguage, token: () => string | null }} deps
 */
export function attachCasePanel({ i18n, token, readOut }) {
  const t = (k, v) => i18n.t(k, v);
  const panel = { file: null, callId: null, live: false, returning: null, message: null, phone: false };

  const api = async (method, path, body) => {
    const headers = { authorization: `Bearer ${token()}` };
    if (body) headers["content-type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body && JSON.stringify(body) }).catch(() => null);
    const json = r ? await r.json().catch(() => ({})) : {};
    return { ok: !!r?.ok, status: r?.status ?? 0, json };
  };

  function say(key, vars, isError = false) {
    panel.message = key ? { key, vars, isError } : null;
    renderMessage();
  }

  function renderMessage() {
    const m = panel.message;
    $("case-msg").textContent = m ? t(m.key, m.vars) : "";
    $("case-msg").classList.toggle("field-error", !!m?.isError);
  }

  function fillStatuses() {
    const select = $("case-status");
    const chosen = select.value;
    select.replaceChildren(...STATUSES.map((s) => new Option(t(`case_status_${s}`), s)));
    if (chosen) select.value = chosen;
  }

  /** The form from the stored case (what another operator saved shows too). */
  function fill(file) {
    panel.file = file;
    $("case-status").value = file.status;
    $("case-category").value = file.category;
    $("case-department").value = file.department;
    $("case-notes").value = file.notes;
    render();
  }

  function render() {
    const f = panel.file;
    $("case-none").hidden = !!f;
    $("case-form").hidden = !f;
    $("case-follow-up-box").hidden = !f;
    $("case-returning").hidden = !(panel.returning && !f);
    $("case-returning").textContent = panel.returning ? t("case_returning_given", { number: panel.returning }) : "";
    if (!f) return;
    $("case-title").textContent = t("case_title", { number: f.number });
    $("case-calls").textContent = f.calls.length > 1 ? t("case_calls", { n: f.calls.length }) : "";
    $("case-follow-ups").replaceChildren(...f.follow_ups.map((e) => {
      const li = document.createElement("li");
      const when = new Date(e.at).toLocaleString(i18n.lang);
      li.textContent = `${when} · ${e.author}: ${e.text}`;
      return li;
    }));
    const first = f.interpreters[0];
    const same = $("case-same-interpreter");
    same.hidden = !(first && panel.live && f.calls.length > 1);
    same.textContent = first ? t("case_same_interpreter", { id: first }) : "";
    // A phone caller cannot see the number: the bridge reads it out to them on request.
    $("case-read-out").hidden = !(panel.live && panel.phone);
    renderMessage();
  }

  async function load(number) {
    const r = await api("GET", `/api/cases/${encodeURIComponent(number)}`);
    if (r.ok) fill(r.json);
    else say("case_load_failed", { code: r.json?.error?.code || r.status }, true);
  }

  async function save(ev) {
    ev.preventDefault();
    const f = panel.file;
    if (!f) return;
    const change = {
      notes: $("case-notes").value,
      category: $("case-category").value,
      department: $("case-department").value,
    };
    if ($("case-status").value !== f.status) change.status = $("case-status").value;
    const r = await api("PATCH", `/api/cases/${encodeURIComponent(f.number)}`, change);
    if (r.ok) {
      fill(r.json);
      say("case_saved");
      return;
    }
    const e = r.json?.error || {};
    if (e.code === "invalid_transition") say("case_err_transition", {}, true);
    else if (e.field === "department") say("case_err_department", {}, true);
    else say("case_err_save", { code: e.code || r.status }, true);
  }

  async function addFollowUp(ev) {
    ev.preventDefault();
    const f = panel.file;
    const text = $("case-follow-up-text").value.trim();
    if (!f || !text) return;
    const r = await api("POST", `/api/cases/${encodeURIComponent(f.number)}/follow_ups`, { text });
    if (r.ok) {
      $("case-follow-up-text").value = "";
      // The form keeps what the operator is typing; only the entries and times are new.
      panel.file = { ...r.json, notes: f.notes, category: f.category, department: f.department, status: f.status };
      render();
    } else {
      say("case_err_save", { code: r.json?.error?.code || r.status }, true);
    }
  }

  async function sameInterpreter() {
    const id = panel.file?.interpreters[0];
    if (!id || !panel.live) return;
    const r = await api("POST", `/api/calls/${panel.callId}/participants`, { interpreter_id: id });
    if (r.ok) say("case_same_interpreter_asked", { id });
    else say("case_err_save", { code: r.json?.error?.code || r.status }, true);
  }

  $("case-form").addEventListener("submit", save);
  $("case-follow-up-form").addEventListener("submit", addFollowUp);
  $("case-same-interpreter").addEventListener("click", sameInterpreter);
  $("case-read-out").addEventListener("click", () => {
    if (readOut()) say("case_read_out_sent");
    else say("case_err_save", { code: "offline" }, true);
  });
  fillStatuses();

  return {
    /** A call state of the call this console is in. */
    show(view) {
      if (view.call_id !== panel.callId) {
        // Another call answered: the previous case leaves the panel.
        panel.callId = view.call_id;
        panel.file = null;
        panel.message = null;
      }
      panel.live = !["ended", "abandoned"].includes(view.state);
      panel.returning = view.returning_case || null;
      panel.phone = !!view.caller_on_phone;
      const number = view.case_number;
      if (number && panel.file?.number !== number) load(number);
      else render();
    },
    /** The call is over here: the case stays to be finished. */
    callEnded() {
      panel.live = false;
      render();
    },
    relabel() {
      fillStatuses();
      render();
    },
    get file() { return panel.file; },
  };
}
