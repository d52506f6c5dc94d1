// The partner-university page: sign in with the API key, list, add, edit and remove the
// university's interpreters (languages, time zone, weekly hours on a 7×24 grid), show a new
// personal token once, and the week's coverage heat map. Talks only to /api/….

import { api, ApiError, session } from './university/api.js';
import { WeekGrid, shiftsToHours, hoursToShifts, wholeHours, weeklyHours, describeShifts } from './university/week.js';
import { renderHeatmap, gapSentences } from './university/heatmap.js';

const $ = (id) => document.getElementById(id);
const LIST_REFRESH_MS = 20000;
const LEVELS = ['native', 'professional', 'student'];
const STATUS_TEXT = {
  offline: 'Offline',
  available: 'Available',
  offered: 'Ringing',
  busy: 'On a call',
  wrap_up: 'Wrapping up',
  paused: 'Paused',
};
const FIELDS = ['name', 'id', 'languages', 'timezone', 'shifts'];
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
  grid = new WeekGrid($('week-grid'), onGridChange);
  fillTimeZones();
  bindEvents();
  try {
    const langs = await api('GET', '/api/languages', undefined, { auth: false });
    state.languages = langs;
    for (const l of [...langs.core, ...langs.extended, langs.operator]) state.names[l.code] = l;
  } catch (e) {
    notice(`Could not load the language list: ${e.message}`, 'error');
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
      setFieldError('api-key-error', e.status === 401 ? 'That key is not valid. Check it and try again.' : e.message);
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
  document.title = `${state.university.name} · Partner universities · hotline-bridge`;
  $('id-hint').textContent = `Leave empty for a generated one. Must start with “${state.university.id}-”, e.g. ${state.university.id}-pt-01.`;
  $('f-id').placeholder = `${state.university.id}-pt-01`;
  await Promise.all([loadList(), loadCoverage()]);
  clearInterval(state.refreshTimer);
  state.refreshTimer = setInterval(() => {
    if (!document.hidden) loadList({ quiet: true });
  }, LIST_REFRESH_MS);
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
    setFieldError('api-key-error', 'Your key is no longer accepted. Sign in again.');
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
    if (!quiet) notice(`Could not load your interpreters: ${e.message}`, 'error');
  }
}

function languageLabel(code) {
  const n = state.names[code];
  return n ? n.name : code.toUpperCase();
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
      lv.textContent = l.level;
      li.append(lv);
      list.append(li);
    }
    langs.append(list);

    const sched = document.createElement('td');
    const hours = weeklyHours(p.shifts);
    const sh = document.createElement('div');
    sh.textContent = hours ? `${formatHours(hours)} h / week` : 'No hours yet';
    const tz = document.createElement('div');
    tz.className = 'muted small';
    tz.textContent = p.timezone;
    sched.append(sh, tz);
    sched.title = describeShifts(p.shifts);

    const status = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = `status status-${p.status}`;
    badge.textContent = STATUS_TEXT[p.status] || p.status;
    status.append(badge);
    if (!p.has_token) {
      const warn = document.createElement('div');
      warn.className = 'muted small token-note';
      warn.textContent = 'No token yet';
      status.append(warn);
    }

    const actions = document.createElement('td');
    actions.className = 'row-actions';
    if (state.confirmRemove === p.id) {
      const q = document.createElement('span');
      q.className = 'confirm-text';
      q.textContent = `Remove ${p.name}?`;
      actions.append(
        q,
        button('Remove', 'danger', () => removeInterpreter(p)),
        button('Keep', '', () => {
          state.confirmRemove = null;
          renderList();
        }),
      );
    } else {
      actions.append(
        button('Edit', '', () => openEditor('edit', p), `Edit ${p.name}`),
        button('New token', '', () => newToken(p), `Issue a new token for ${p.name}`),
        button('Remove', 'quiet danger-text', () => {
          state.confirmRemove = p.id;
          renderList();
        }, `Remove ${p.name}`),
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
  $('team-summary').textContent = n
    ? `${n} interpreter${n === 1 ? '' : 's'} · ${available} available now`
    : '';
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
    notice(`${p.name} was removed.`, 'ok');
    if (state.editing && state.editing.id === p.id) closeEditor();
    await Promise.all([loadList(), loadCoverage()]);
  } catch (e) {
    if (handleAuth(e)) return;
    state.confirmRemove = null;
    renderList();
    notice(e.status === 409 ? `${p.name} is on a call right now; remove them when the call has ended.` : e.message, 'error');
  }
}

async function newToken(p) {
  try {
    const issued = await api('POST', `${base()}/${encodeURIComponent(p.id)}/token`);
    showToken(issued);
    await loadList({ quiet: true });
  } catch (e) {
    if (!handleAuth(e)) notice(e.message, 'error');
  }
}

// ---------------------------------------------------------------------------------------------
// The one-time token

function showToken(issued) {
  $('token-for').textContent = issued.interpreter.name;
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
    $('token-copied').textContent = 'Copied to the clipboard.';
  } catch (e) {
    input.select();
    const ok = document.execCommand && document.execCommand('copy');
    $('token-copied').textContent = ok ? 'Copied to the clipboard.' : 'Select the token and copy it (Ctrl+C).';
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
  const choices = [[viewerZone, `Your time (${viewerZone})`], ['Asia/Shanghai', 'Beijing (Asia/Shanghai)'], ['UTC', 'UTC']];
  const seen = new Set();
  const select = $('coverage-tz');
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
      o.textContent = l.native_name === l.name ? `${l.name} (${l.code})` : `${l.name} · ${l.native_name} (${l.code})`;
      if (l.code === selected) o.selected = true;
      g.append(o);
    }
    frag.append(g);
  };
  group('Around the clock', state.languages.core);
  group('Best effort', state.languages.extended);
  return frag;
}

function addLanguageRow(language = '', level = 'professional') {
  const row = document.createElement('div');
  row.className = 'lang-row';
  const n = $('f-languages').children.length + 1;
  const sel = document.createElement('select');
  sel.className = 'lang-code';
  sel.setAttribute('aria-label', `Language ${n}`);
  const blank = Object.assign(document.createElement('option'), { value: '', textContent: 'Choose a language…' });
  sel.append(blank, languageOptions(language));
  if (language && !state.names[language]) {
    sel.append(Object.assign(document.createElement('option'), { value: language, textContent: language, selected: true }));
  }
  const lvl = document.createElement('select');
  lvl.className = 'lang-level';
  lvl.setAttribute('aria-label', `Level in language ${n}`);
  for (const l of LEVELS) lvl.append(Object.assign(document.createElement('option'), { value: l, textContent: l[0].toUpperCase() + l.slice(1), selected: l === level }));
  const remove = button('×', 'quiet icon', () => {
    row.remove();
    clearError('languages');
  }, `Remove language ${n}`);
  row.append(sel, lvl, remove);
  $('f-languages').append(row);
  return sel;
}

function openEditor(mode, p) {
  hideToken();
  clearErrors();
  state.editing = {
    mode,
    id: p ? p.id : null,
    originalShifts: p ? p.shifts : [],
    gridTouched: false,
  };
  $('editor-title').textContent = mode === 'create' ? 'Add interpreter' : `Edit ${p.name}`;
  $('f-name').value = p ? p.name : '';
  $('f-id').value = p ? p.id : '';
  $('f-id').disabled = mode === 'edit';
  $('id-field').hidden = mode === 'edit';
  $('f-timezone').value = p ? p.timezone : viewerZone;
  $('f-languages').replaceChildren();
  if (p) for (const l of p.languages) addLanguageRow(l.language, l.level);
  else addLanguageRow();
  grid.setHours(shiftsToHours(p ? p.shifts : []));
  updateShiftSummary(p ? p.shifts : []);
  if (p && !wholeHours(p.shifts)) {
    $('week-hint').textContent = 'Some shifts start or end between full hours; they are kept as they are unless you change the grid.';
  } else {
    $('week-hint').textContent = 'Click or drag across the hours the interpreter works, in their own time zone. Keyboard: arrow keys move, Space toggles.';
  }
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
  $('week-total').textContent = h ? `${formatHours(h)} hours a week` : 'No hours chosen';
  $('shift-list').textContent = shifts.length ? describeShifts(shifts) : '';
}

function formBody() {
  const languages = [...$('f-languages').querySelectorAll('.lang-row')]
    .map((row) => ({ language: row.querySelector('.lang-code').value, level: row.querySelector('.lang-level').value }))
    .filter((l) => l.language);
  const body = {
    name: $('f-name').value,
    languages,
    timezone: $('f-timezone').value.trim(),
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
  if (!body.name.trim()) local.push(new ApiError(422, 'invalid', 'Enter the interpreter’s name.', 'name'));
  if (!body.languages.length) local.push(new ApiError(422, 'invalid', 'Choose at least one language.', 'languages'));
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
      notice(`${issued.interpreter.name} was added.`, 'ok');
      showToken(issued);
    } else {
      const p = await api('PUT', `${base()}/${encodeURIComponent(state.editing.id)}`, body);
      closeEditor();
      notice(`${p.name} was saved.`, 'ok');
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
    $('editor-error').textContent = e.message;
    $('editor-error').hidden = false;
    return;
  }
  const msg = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
  const box = $(`err-${field}`);
  box.textContent = capitalise(msg);
  const target = { name: 'f-name', id: 'f-id', timezone: 'f-timezone' }[field];
  if (target) {
    $(target).setAttribute('aria-invalid', 'true');
    $(target).focus();
  } else {
    box.closest('fieldset').classList.add('invalid');
    box.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
}

const capitalise = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

function clearError(field) {
  const box = $(`err-${field}`);
  if (box) box.textContent = '';
  const target = { name: 'f-name', id: 'f-id', timezone: 'f-timezone' }[field];
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
    $('heatmap').textContent = `Coverage is not available: ${e.message}`;
  }
}

function drawCoverage() {
  const c = state.coverage;
  if (!c) return;
  const own = state.scope === 'own';
  renderHeatmap($('heatmap'), c, { timeZone: state.zone, names: state.names, highlightGaps: !own });
  const weekOf = new Intl.DateTimeFormat('en-GB', { timeZone: state.zone, day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(c.week_start));
  $('coverage-caption').textContent = own
    ? `Your interpreters on shift in each hour, week of ${weekOf}, times in ${state.zone}.`
    : `All partner universities together, week of ${weekOf}, times in ${state.zone}. Each core language needs ${c.min_interpreters} or more in every hour; italic rows are served best effort.`;
  $('legend').replaceChildren(...legendItems(own, c.min_interpreters));
  const gaps = $('gaps');
  if (own) {
    gaps.replaceChildren();
    return;
  }
  if (c.covered) {
    gaps.replaceChildren(Object.assign(document.createElement('p'), { className: 'ok-banner', textContent: 'Every core language is covered around the clock this week.' }));
    return;
  }
  const sentences = gapSentences(c, { timeZone: state.zone, names: state.names });
  const head = Object.assign(document.createElement('h3'), { textContent: `Gaps (${sentences.length})` });
  const ul = document.createElement('ul');
  ul.className = 'gap-list';
  for (const g of sentences) {
    const li = document.createElement('li');
    li.innerHTML = '';
    const lang = Object.assign(document.createElement('strong'), { textContent: g.language });
    li.append(lang, ` ${g.when}: ${g.count} on shift, ${g.needs} needed`);
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
    s.append(sw, `gap (fewer than ${min})`);
    items.push(s);
  }
  const label = Object.assign(document.createElement('span'), { className: 'legend-title', textContent: 'Interpreters on shift:' });
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
      setFieldError('api-key-error', 'Enter your API key.');
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
  $('coverage-tz').addEventListener('change', (e) => {
    state.zone = e.target.value;
    drawCoverage();
  });
}

start();
