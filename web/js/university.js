// The partner-university page: sign in with the API key, list, add, edit and remove the
// university's interpreters (languages, time zone, weekly hours on a 7×24 grid), show a new
// personal token once, and the week's coverage heat map. Talks only to /api/…. Every word comes
// from the catalog (i18n/university.js) in the page language.

import { api, ApiError, session } from './university/api.js';
import { WeekGrid, shiftsToHours, hoursToShifts, wholeHours, weeklyHours, describeShifts, dayNames } from './university/week.js';
import { renderHeatmap, gapSentences } from './university/heatmap.js';
import { loadMinutes, prefillMinutes } from './university/minutes.js';
import { STRINGS } from '../i18n/university.js';
import { PageLanguage } from '../i18n/console.js';

const $ = (id) => document.getElementById(id);
/** An API error's message; the one the page itself words (unreachable service) in its language. */
const msg = (e) => (e && e.code === 'network' ? t('net_error') : e.message);
const LIST_REFRESH_MS = 20000;
const LEVELS = ['native', 'professional', 'student'];
const i18n = new PageLanguage(STRINGS);
const t = (key, vars) => i18n.t(key, vars);
/** `prefix_value` from the catalog when it has it, else the value as the server sent it. */
const word = (prefix, value) => (STRINGS.en[`${prefix}_${value}`] ? t(`${prefix}_${value}`) : value);
/** What the grid, the shift lists and the heat map need to speak the page language. */
const labels = () => ({ t, days: dayNames(i18n.lang, 'short'), daysLong: dayNames(i18n.lang, 'long') });
const FIELDS = ['name', 'id', 'languages', 'timezone', 'phone', 'ring', 'shifts'];
const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

const state = {
  university: null,
  languages: { core: [], extended: [], operator: null },
  names: {},
  interpreters: [],
  editing: null, // { mode: 'create' | 'edit', id, originalShifts, gridTouched }
  confirmRemove: null,
  scope: 'all',
  zone: viewerZone,
  refreshTimer: null,
};

let grid;

// ---------------------------------------------------------------------------------------------
// Sign in / out

async function start() {
  i18n.apply();
  i18n.bindSwitch($('ui-language'));
  i18n.addEventListener('change', relabel);
  $('week-hint').textContent = t('week_hint');
  grid = new WeekGrid($('week-grid'), onGridChange, labels());
  fillTimeZones();
  bindEvents();
  try {
    const langs = await api('GET', '/api/languages', undefined, { auth: false });
    state.languages = langs;
    for (const l of [...langs.core, ...langs.extended, langs.operator]) state.names[l.code] = l;
  } catch (e) {
    notice(t('lang_load_failed', { message: msg(e) }), 'error');
  }
  if (session.key) {
    await signIn(session.key, { quiet: true });
  } else {
    showSignIn();
  }
}

function showSignIn() {
  $('app').hidden = true;
  $('whoami').hidden = true;
  $('signin').hidden = false;
  $('api-key').focus();
}

async function signIn(key, { quiet = false } = {}) {
  session.key = key;
  try {
    state.university = await api('GET', '/api/university');
  } catch (e) {
    session.key = null;
    if (!quiet) {
      setFieldError('api-key-error', e.status === 401 ? t('key_invalid') : msg(e));
    }
    showSignIn();
    return;
  }
  $('signin').hidden = true;
  $('api-key').value = '';
  setFieldError('api-key-error', '');
  $('university-name').textContent = state.university.name;
  $('whoami').hidden = false;
  $('app').hidden = false;
  renderUniversity();
  $('f-id').placeholder = `${state.university.id}-pt-01`;
  prefillMinutes();
  await Promise.all([loadList(), loadCoverage(), loadMinutes(state.university.id, t, msg)]);
  clearInterval(state.refreshTimer);
  state.refreshTimer = setInterval(() => {
    if (!document.hidden) loadList({ quiet: true });
  }, LIST_REFRESH_MS);
}

function renderUniversity() {
  const u = state.university;
  if (!u) return;
  document.title = t('doc_title', { university: u.name });
  $('id-hint').textContent = t('id_hint', { prefix: u.id, example: `${u.id}-pt-01` });
}

/** Everything worded by the page, again in the new language. */
function relabel() {
  renderUniversity();
  if (!state.university) document.title = t('page_title');
  grid.relabel(labels());
  fillTimeZones();
  renderList();
  drawCoverage();
  const e = state.editing;
  if (e) {
    $('editor-title').textContent = e.mode === 'create' ? t('editor_add') : t('editor_edit', { name: e.name });
    $('week-hint').textContent = t(e.partial ? 'week_hint_partial' : 'week_hint');
    updateShiftSummary(currentShifts());
    relabelLanguageRows();
  } else {
    $('week-hint').textContent = t('week_hint');
  }
  if ($('token-value').value) $('token-title').textContent = t('token_title', { name: state.tokenFor });
}

function signOut() {
  session.key = null;
  clearInterval(state.refreshTimer);
  state.university = null;
  state.interpreters = [];
  closeEditor();
  $('token-panel').hidden = true;
  $('team').querySelector('tbody').replaceChildren();
  $('heatmap').replaceChildren();
  notice('');
  showSignIn();
}

/** Every 401 after sign-in means the key stopped working: back to the sign-in form. */
function handleAuth(e) {
  if (e instanceof ApiError && e.status === 401) {
    signOut();
    setFieldError('api-key-error', t('key_revoked'));
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The list

const base = () => `/api/universities/${encodeURIComponent(state.university.id)}/interpreters`;

async function loadList({ quiet = false } = {}) {
  try {
    const data = await api('GET', base());
    state.interpreters = data.interpreters;
    renderList();
  } catch (e) {
    if (handleAuth(e)) return;
    if (!quiet) notice(t('list_failed', { message: msg(e) }), 'error');
  }
}

/** A language's name in the page language (the API's names are English). */
function languageLabel(code) {
  return state.names[code] ? i18n.languageName(code) : code.toUpperCase();
}

/** code → { name in the page language, native_name }, for the heat map and the gap list. */
function pageNames() {
  return Object.fromEntries(Object.entries(state.names).map(([code, l]) => [code, { ...l, name: i18n.languageName(code) }]));
}

function renderList() {
  const tbody = $('team').querySelector('tbody');
  const rows = state.interpreters.map((p) => {
    const tr = document.createElement('tr');
    tr.dataset.id = p.id;

    const who = document.createElement('td');
    const name = document.createElement('div');
    name.className = 'who-name';
    name.textContent = p.name;
    const id = document.createElement('div');
    id.className = 'who-id';
    id.textContent = p.id;
    who.append(name, id);

    const langs = document.createElement('td');
    const list = document.createElement('ul');
    list.className = 'chips';
    for (const l of p.languages) {
      const li = document.createElement('li');
      li.className = `chip level-${l.level}`;
      li.textContent = `${languageLabel(l.language)} `;
      const lv = document.createElement('span');
      lv.className = 'chip-level';
      lv.textContent = word('level', l.level);
      li.append(lv);
      list.append(li);
    }
    langs.append(list);

    const sched = document.createElement('td');
    const hours = weeklyHours(p.shifts);
    const sh = document.createElement('div');
    sh.textContent = hours ? t('hours_week', { n: formatHours(hours) }) : t('no_hours');
    const tz = document.createElement('div');
    tz.className = 'muted small';
    tz.textContent = p.timezone;
    sched.append(sh, tz);
    if (p.ring && p.ring !== 'app') {
      const rung = document.createElement('div');
      rung.className = 'muted small ring-note';
      rung.textContent = t(p.ring === 'phone' ? 'rung_by_phone' : 'rung_app_then_phone', { phone: p.phone || '' });
      sched.append(rung);
    }
    sched.title = describeShifts(p.shifts, labels().days);

    const status = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = `status status-${p.status}`;
    badge.textContent = word('status', p.status);
    status.append(badge);
    if (!p.has_token) {
      const warn = document.createElement('div');
      warn.className = 'muted small token-note';
      warn.textContent = t('no_token');
      status.append(warn);
    }

    const actions = document.createElement('td');
    actions.className = 'row-actions';
    if (state.confirmRemove === p.id) {
      const q = document.createElement('span');
      q.className = 'confirm-text';
      q.textContent = t('remove_q', { name: p.name });
      actions.append(
        q,
        button(t('remove'), 'danger', () => removeInterpreter(p)),
        button(t('keep'), '', () => {
          state.confirmRemove = null;
          renderList();
        }),
      );
    } else {
      actions.append(
        button(t('edit'), '', () => openEditor('edit', p), t('edit_label', { name: p.name })),
        button(t('new_token'), '', () => newToken(p), t('new_token_label', { name: p.name })),
        button(t('remove'), 'quiet danger-text', () => {
          state.confirmRemove = p.id;
          renderList();
        }, t('remove_label', { name: p.name })),
      );
    }
    tr.append(who, langs, sched, status, actions);
    return tr;
  });
  tbody.replaceChildren(...rows);
  $('team-empty').hidden = state.interpreters.length > 0;
  $('team').hidden = state.interpreters.length === 0;
  const available = state.interpreters.filter((p) => p.status === 'available').length;
  const n = state.interpreters.length;
  $('team-summary').textContent = n ? t(n === 1 ? 'team_summary_one' : 'team_summary', { n, available }) : '';
}

function button(text, cls, onClick, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (cls) b.className = cls;
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

const formatHours = (h) => (Number.isInteger(h) ? String(h) : h.toFixed(1));

async function removeInterpreter(p) {
  try {
    await api('DELETE', `${base()}/${encodeURIComponent(p.id)}`);
    state.confirmRemove = null;
    notice(t('removed', { name: p.name }), 'ok');
    if (state.editing && state.editing.id === p.id) closeEditor();
    await Promise.all([loadList(), loadCoverage()]);
  } catch (e) {
    if (handleAuth(e)) return;
    state.confirmRemove = null;
    renderList();
    notice(e.status === 409 ? t('remove_on_call', { name: p.name }) : msg(e), 'error');
  }
}

async function newToken(p) {
  try {
    const issued = await api('POST', `${base()}/${encodeURIComponent(p.id)}/token`);
    showToken(issued);
    await loadList({ quiet: true });
  } catch (e) {
    if (!handleAuth(e)) notice(msg(e), 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// The one-time token

function showToken(issued) {
  state.tokenFor = issued.interpreter.name;
  $('token-title').textContent = t('token_title', { name: issued.interpreter.name });
  $('token-value').value = issued.token;
  $('token-copied').textContent = '';
  $('token-panel').hidden = false;
  $('token-panel').scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  $('token-panel').focus();
}

async function copyToken() {
  const input = $('token-value');
  try {
    await navigator.clipboard.writeText(input.value);
    $('token-copied').textContent = t('copied');
  } catch (e) {
    input.select();
    const ok = document.execCommand && document.execCommand('copy');
    $('token-copied').textContent = t(ok ? 'copied' : 'copy_manually');
  }
}

function hideToken() {
  $('token-value').value = '';
  $('token-panel').hidden = true;
}

// ---------------------------------------------------------------------------------------------
// The editor

function fillTimeZones() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const list = $('tz-list');
  list.replaceChildren(...zones.map((z) => Object.assign(document.createElement('option'), { value: z })));
  const choices = [[viewerZone, t('tz_yours', { zone: viewerZone })], ['Asia/Shanghai', t('tz_beijing')], ['UTC', 'UTC']];
  const seen = new Set();
  const select = $('coverage-tz');
  select.replaceChildren();
  for (const [value, label] of choices) {
    if (seen.has(value)) continue;
    seen.add(value);
    select.append(Object.assign(document.createElement('option'), { value, textContent: label }));
  }
  select.value = state.zone;
}

function languageOptions(selected) {
  const frag = document.createDocumentFragment();
  const group = (label, langs) => {
    const g = document.createElement('optgroup');
    g.label = label;
    for (const l of langs) {
      const o = document.createElement('option');
      o.value = l.code;
      const name = i18n.languageName(l.code);
      o.textContent = l.native_name === name ? `${name} (${l.code})` : `${name} · ${l.native_name} (${l.code})`;
      if (l.code === selected) o.selected = true;
      g.append(o);
    }
    frag.append(g);
  };
  group(t('group_core'), state.languages.core);
  group(t('group_extended'), state.languages.extended);
  return frag;
}

function addLanguageRow(language = '', level = 'professional') {
  const row = document.createElement('div');
  row.className = 'lang-row';
  const n = $('f-languages').children.length + 1;
  const sel = document.createElement('select');
  sel.className = 'lang-code';
  sel.setAttribute('aria-label', t('language_n', { n }));
  const blank = Object.assign(document.createElement('option'), { value: '', textContent: t('choose_language') });
  sel.append(blank, languageOptions(language));
  if (language && !state.names[language]) {
    sel.append(Object.assign(document.createElement('option'), { value: language, textContent: language, selected: true }));
  }
  const lvl = document.createElement('select');
  lvl.className = 'lang-level';
  lvl.setAttribute('aria-label', t('level_in', { n }));
  for (const l of LEVELS) lvl.append(Object.assign(document.createElement('option'), { value: l, textContent: word('level', l), selected: l === level }));
  const remove = button('×', 'quiet icon', () => {
    row.remove();
    clearError('languages');
  }, t('remove_language', { n }));
  row.append(sel, lvl, remove);
  $('f-languages').append(row);
  return sel;
}

/** The language rows of the open editor, reworded (their choices kept). */
function relabelLanguageRows() {
  const rows = [...$('f-languages').querySelectorAll('.lang-row')].map((row) => [row.querySelector('.lang-code').value, row.querySelector('.lang-level').value]);
  $('f-languages').replaceChildren();
  for (const [language, level] of rows) addLanguageRow(language, level);
}

function openEditor(mode, p) {
  hideToken();
  clearErrors();
  state.editing = {
    mode,
    id: p ? p.id : null,
    originalShifts: p ? p.shifts : [],
    gridTouched: false,
    name: p ? p.name : '',
    partial: !!p && !wholeHours(p.shifts),
  };
  $('editor-title').textContent = mode === 'create' ? t('editor_add') : t('editor_edit', { name: p.name });
  $('f-name').value = p ? p.name : '';
  $('f-id').value = p ? p.id : '';
  $('f-id').disabled = mode === 'edit';
  $('id-field').hidden = mode === 'edit';
  $('f-timezone').value = p ? p.timezone : viewerZone;
  $('f-phone').value = (p && p.phone) || '';
  $('f-ring').value = (p && p.ring) || 'app';
  $('f-languages').replaceChildren();
  if (p) for (const l of p.languages) addLanguageRow(l.language, l.level);
  else addLanguageRow();
  grid.setHours(shiftsToHours(p ? p.shifts : []));
  updateShiftSummary(p ? p.shifts : []);
  $('week-hint').textContent = t(state.editing.partial ? 'week_hint_partial' : 'week_hint');
  $('editor').hidden = false;
  $('editor').scrollIntoView({ block: 'start', behavior: 'smooth' });
  $('f-name').focus({ preventScroll: true });
}

function closeEditor() {
  state.editing = null;
  $('editor').hidden = true;
}

function onGridChange(hours) {
  if (!state.editing) return;
  state.editing.gridTouched = true;
  clearError('shifts');
  updateShiftSummary(hoursToShifts(hours));
}

function currentShifts() {
  const e = state.editing;
  return e && !e.gridTouched ? e.originalShifts : hoursToShifts(grid.hours);
}

function updateShiftSummary(shifts) {
  const h = weeklyHours(shifts);
  $('week-total').textContent = h ? t('hours_a_week', { n: formatHours(h) }) : t('no_hours_chosen');
  $('shift-list').textContent = shifts.length ? describeShifts(shifts, labels().days) : '';
}

function formBody() {
  const languages = [...$('f-languages').querySelectorAll('.lang-row')]
    .map((row) => ({ language: row.querySelector('.lang-code').value, level: row.querySelector('.lang-level').value }))
    .filter((l) => l.language);
  const body = {
    name: $('f-name').value,
    languages,
    timezone: $('f-timezone').value.trim(),
    phone: $('f-phone').value.trim(),
    ring: $('f-ring').value,
    shifts: currentShifts(),
  };
  const id = $('f-id').value.trim();
  if (state.editing.mode === 'create' && id) body.id = id;
  return body;
}

async function save(ev) {
  ev.preventDefault();
  if (!state.editing) return;
  clearErrors();
  const body = formBody();
  // Quick checks before asking the server, which checks everything and has the last word.
  const local = [];
  if (!body.name.trim()) local.push(new ApiError(422, 'invalid', t('need_name'), 'name'));
  if (!body.languages.length) local.push(new ApiError(422, 'invalid', t('need_language'), 'languages'));
  if (local.length) {
    local.reverse().forEach(showError);
    return;
  }
  const saveButton = $('save');
  saveButton.disabled = true;
  try {
    if (state.editing.mode === 'create') {
      const issued = await api('POST', base(), body);
      closeEditor();
      notice(t('added', { name: issued.interpreter.name }), 'ok');
      showToken(issued);
    } else {
      const p = await api('PUT', `${base()}/${encodeURIComponent(state.editing.id)}`, body);
      closeEditor();
      notice(t('saved', { name: p.name }), 'ok');
    }
    await Promise.all([loadList(), loadCoverage()]);
  } catch (e) {
    if (handleAuth(e)) return;
    showError(e);
  } finally {
    saveButton.disabled = false;
  }
}

/** Shows an API error next to its field (without the "field: " prefix), else in the banner. */
function showError(e) {
  const field = e.field && FIELDS.includes(e.field) ? e.field : null;
  if (!field) {
    $('editor-error').textContent = msg(e);
    $('editor-error').hidden = false;
    return;
  }
  const text = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
  const box = $(`err-${field}`);
  box.textContent = capitalise(text);
  const target = FIELD_INPUTS[field];
  if (target) {
    $(target).setAttribute('aria-invalid', 'true');
    $(target).focus();
  } else {
    box.closest('fieldset').classList.add('invalid');
    box.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
}

const FIELD_INPUTS = { name: 'f-name', id: 'f-id', timezone: 'f-timezone', phone: 'f-phone', ring: 'f-ring' };

const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

function clearError(field) {
  const box = $(`err-${field}`);
  if (box) box.textContent = '';
  const target = FIELD_INPUTS[field];
  if (target) $(target).removeAttribute('aria-invalid');
  else if (box && box.closest('fieldset')) box.closest('fieldset').classList.remove('invalid');
}

function clearErrors() {
  FIELDS.forEach(clearError);
  $('editor-error').hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Coverage

async function loadCoverage() {
  if (!state.university) return;
  const own = state.scope === 'own';
  const path = own ? `/api/coverage?university=${encodeURIComponent(state.university.id)}` : '/api/coverage';
  try {
    state.coverage = await api('GET', path, undefined, { auth: own });
    drawCoverage();
  } catch (e) {
    if (handleAuth(e)) return;
    $('heatmap').textContent = t('coverage_unavailable', { message: msg(e) });
  }
}

function drawCoverage() {
  const c = state.coverage;
  if (!c) return;
  const own = state.scope === 'own';
  renderHeatmap($('heatmap'), c, { timeZone: state.zone, names: pageNames(), highlightGaps: !own, ...labels() });
  const weekOf = new Intl.DateTimeFormat(i18n.lang, { timeZone: state.zone, day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(c.week_start));
  $('coverage-caption').textContent = own
    ? t('caption_own', { week: weekOf, zone: state.zone })
    : t('caption_all', { week: weekOf, zone: state.zone, min: c.min_interpreters });
  $('legend').replaceChildren(...legendItems(own, c.min_interpreters));
  const gaps = $('gaps');
  if (own) {
    gaps.replaceChildren();
    return;
  }
  if (c.covered) {
    gaps.replaceChildren(Object.assign(document.createElement('p'), { className: 'ok-banner', textContent: t('covered') }));
    return;
  }
  const sentences = gapSentences(c, { timeZone: state.zone, names: pageNames(), ...labels() });
  const head = Object.assign(document.createElement('h3'), { textContent: t('gaps_h', { n: sentences.length }) });
  const ul = document.createElement('ul');
  ul.className = 'gap-list';
  for (const g of sentences) {
    const li = document.createElement('li');
    li.innerHTML = '';
    const lang = Object.assign(document.createElement('strong'), { textContent: g.language });
    li.append(lang, ` ${t('gap_line', { when: g.when, count: g.count, needs: g.needs })}`);
    ul.append(li);
  }
  gaps.replaceChildren(head, ul);
}

function legendItems(own, min) {
  const items = [
    ['l0', '0'],
    ['l1', '1'],
    ['l2', '2'],
    ['l3', '3–4'],
    ['l4', '5+'],
  ].map(([cls, text]) => {
    const s = document.createElement('span');
    s.className = 'legend-item';
    const sw = document.createElement('span');
    sw.className = `swatch hm ${cls}`;
    s.append(sw, text);
    return s;
  });
  if (!own) {
    const s = document.createElement('span');
    s.className = 'legend-item';
    const sw = document.createElement('span');
    sw.className = 'swatch hm l0 gap';
    s.append(sw, t('legend_gap', { min }));
    items.push(s);
  }
  const label = Object.assign(document.createElement('span'), { className: 'legend-title', textContent: t('legend_title') });
  return [label, ...items];
}

// ---------------------------------------------------------------------------------------------
// Wiring

function notice(text, kind = 'info') {
  const n = $('notice');
  n.textContent = text;
  n.className = `notice ${kind === 'error' ? 'error-banner' : kind === 'ok' ? 'ok-banner' : ''}`;
  n.hidden = !text;
}

function setFieldError(id, text) {
  $(id).textContent = text;
  if (id === 'api-key-error') {
    if (text) $('api-key').setAttribute('aria-invalid', 'true');
    else $('api-key').removeAttribute('aria-invalid');
  }
}

function bindEvents() {
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) {
      setFieldError('api-key-error', t('key_missing'));
      return;
    }
    signIn(key);
  });
  $('sign-out').addEventListener('click', signOut);
  $('add').addEventListener('click', () => openEditor('create', null));
  $('add-language').addEventListener('click', () => {
    addLanguageRow().focus();
    clearError('languages');
  });
  $('cancel').addEventListener('click', closeEditor);
  $('editor-form').addEventListener('submit', save);
  $('f-name').addEventListener('input', () => clearError('name'));
  $('f-id').addEventListener('input', () => clearError('id'));
  $('f-timezone').addEventListener('input', () => clearError('timezone'));
  $('f-phone').addEventListener('input', () => clearError('phone'));
  $('f-ring').addEventListener('change', () => { clearError('ring'); clearError('phone'); });
  $('f-languages').addEventListener('change', () => clearError('languages'));
  for (const b of document.querySelectorAll('[data-preset]')) {
    b.addEventListener('click', () => {
      const hours = new Array(168).fill(false);
      if (b.dataset.preset === 'office') {
        for (let d = 0; d < 5; d += 1) for (let h = 9; h < 17; h += 1) hours[d * 24 + h] = true;
      }
      grid.setHours(hours);
      onGridChange(hours);
    });
  }
  $('token-copy').addEventListener('click', copyToken);
  $('token-done').addEventListener('click', hideToken);
  for (const b of document.querySelectorAll('[data-scope]')) {
    b.addEventListener('click', () => {
      state.scope = b.dataset.scope;
      for (const o of document.querySelectorAll('[data-scope]')) o.setAttribute('aria-checked', String(o === b));
      loadCoverage();
    });
  }
  $('minutes-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (state.university) loadMinutes(state.university.id, t, msg);
  });
  $('coverage-tz').addEventListener('change', (e) => {
    state.zone = e.target.value;
    drawCoverage();
  });
}

start();
