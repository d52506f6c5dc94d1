// The coverage heat map: languages × the 168 hours of the week, shown in a chosen time zone
// (converted from the API's UTC hours with Intl), core-language gaps highlighted, and the gaps
// listed as sentences in that time zone. Words and day names come from the page (`t`, `days`);
// English without them.

const HOUR_MS = 3600 * 1000;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const pad = (n) => String(n).padStart(2, '0');
const ENGLISH = {
  hm_caption: 'Interpreters on shift per hour of the week, times in {zone}',
  hm_best_effort: '{language}: served best effort, not around the clock',
  hm_no_hour: '{when}: this hour does not exist this week (clock change)',
  hm_cell: '{language} · {when}: {count} on shift',
  hm_cell_gap: '{language} · {when}: {count} on shift — below the {min} needed',
  all_week: 'all week',
};
const english = (key, vars = {}) => (ENGLISH[key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));

function partsIn(timeZone) {
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return (ms) => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return { day: WEEKDAYS.indexOf(p.weekday), hour: Number(p.hour) % 24, minute: Number(p.minute) };
  };
}

/** "Tue 11:00" in `timeZone` (`days`: the day labels, Monday first). */
export function localLabel(ms, timeZone, days = WEEKDAYS) {
  const p = partsIn(timeZone)(ms);
  return `${days[p.day]} ${pad(p.hour)}:${pad(p.minute)}`;
}

/**
 * For each local cell (day × hour, Monday 00:00 local first), the UTC hour of the API's week that
 * falls in it, or -1 (the hour skipped when clocks go forward). Where two UTC hours land in one
 * cell (clocks going back), the cell keeps the first.
 */
export function localCells(weekStartMs, timeZone) {
  const at = partsIn(timeZone);
  const cells = new Array(168).fill(-1);
  for (let i = 0; i < 168; i += 1) {
    const p = at(weekStartMs + i * HOUR_MS);
    const j = p.day * 24 + p.hour;
    if (cells[j] === -1) cells[j] = i;
  }
  return cells;
}

function level(count) {
  if (count <= 0) return 0;
  if (count === 1) return 1;
  if (count === 2) return 2;
  if (count <= 4) return 3;
  return 4;
}

/**
 * Renders `coverage` (the /api/coverage answer) into `container`.
 * `names`: code → { name, native_name }. `highlightGaps`: mark core hours below the minimum.
 */
export function renderHeatmap(container, coverage, { timeZone, names, highlightGaps, t = english, days = WEEKDAYS }) {
  const weekStart = Date.parse(coverage.week_start);
  const cells = localCells(weekStart, timeZone);
  const min = coverage.min_interpreters;
  const table = document.createElement('table');
  table.className = 'heatmap';
  const caption = document.createElement('caption');
  caption.className = 'visually-hidden';
  caption.textContent = t('hm_caption', { zone: timeZone });
  table.append(caption);
  const cols = document.createElement('colgroup');
  cols.append(Object.assign(document.createElement('col'), { className: 'hm-label-col' }));
  table.append(cols);

  const thead = document.createElement('thead');
  const dayRow = document.createElement('tr');
  dayRow.append(Object.assign(document.createElement('th'), { className: 'hm-corner' }));
  for (const d of days) {
    const th = document.createElement('th');
    th.colSpan = 24;
    th.scope = 'colgroup';
    th.className = 'hm-day';
    th.textContent = d;
    dayRow.append(th);
  }
  const hours = document.createElement('tr');
  hours.className = 'hm-hours';
  hours.append(Object.assign(document.createElement('th'), { className: 'hm-corner' }));
  for (let j = 0; j < 168; j += 1) {
    const th = document.createElement('th');
    th.className = j % 24 === 0 ? 'hm-tick day-start' : 'hm-tick';
    th.textContent = j % 6 === 0 ? String(j % 24).padStart(2, '0') : '';
    hours.append(th);
  }
  thead.append(dayRow, hours);
  table.append(thead);

  const tbody = document.createElement('tbody');
  for (const lang of coverage.languages) {
    const tr = document.createElement('tr');
    tr.className = lang.core ? 'core' : 'extended';
    tr.dataset.language = lang.language;
    const th = document.createElement('th');
    th.scope = 'row';
    const n = names[lang.language];
    th.innerHTML = '';
    const name = document.createElement('span');
    name.className = 'hm-lang';
    name.textContent = n ? n.name : lang.language.toUpperCase();
    const code = document.createElement('span');
    code.className = 'hm-code';
    code.textContent = lang.language;
    if (!lang.core) th.title = t('hm_best_effort', { language: name.textContent });
    th.append(name, code);
    tr.append(th);
    for (let j = 0; j < 168; j += 1) {
      const td = document.createElement('td');
      const i = cells[j];
      const day = days[Math.floor(j / 24)];
      const when = `${day} ${pad(j % 24)}:00–${pad((j % 24) + 1)}:00`;
      let cls = j % 24 === 0 ? 'hm day-start' : 'hm';
      if (i < 0) {
        cls += ' hm-none';
        td.title = t('hm_no_hour', { when });
      } else {
        const count = lang.counts[i];
        cls += ` l${level(count)}`;
        const gap = highlightGaps && lang.core && count < min;
        if (gap) cls += ' gap';
        td.title = t(gap ? 'hm_cell_gap' : 'hm_cell', { language: n ? n.name : lang.language, when, count, min });
      }
      td.className = cls;
      tr.append(td);
    }
    tbody.append(tr);
  }
  table.append(tbody);
  container.replaceChildren(table);
}

/** Gap sentences in `timeZone`, e.g. "Korean: Tue 11:00 – Tue 13:00 · 0 of 1". */
export function gapSentences(coverage, { timeZone, names, t = english, days = WEEKDAYS }) {
  const weekStart = Date.parse(coverage.week_start);
  return coverage.gaps.map((g) => {
    const n = names[g.language];
    const from = localLabel(weekStart + g.start_hour * HOUR_MS, timeZone, days);
    const to = localLabel(weekStart + g.end_hour * HOUR_MS, timeZone, days);
    return {
      language: n ? `${n.name} (${g.language})` : g.language,
      when: g.end_hour - g.start_hour >= 168 ? t('all_week') : `${from} – ${to}`,
      count: g.count,
      needs: g.needs,
    };
  });
}
