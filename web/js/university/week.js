// Weekly hours: conversion between shift lists ({day, start, end} in local time, an end at or
// before the start running past midnight) and 168 hour cells (Monday 00:00 first), plus the
// clickable 7×24 grid that edits them. Pure conversions first, so they can be checked alone. Day
// names and the grid's labels come from the page (`labels`: `t`, `days`, `daysLong`).

export const HOURS = 168;
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const DAY_LABELS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONDAY = Date.UTC(2024, 0, 1); // a Monday

/** The seven day names, Monday first, in `lang` ('short' "Mon" / "周一", or 'long'). */
export function dayNames(lang, width = 'short') {
  try {
    const fmt = new Intl.DateTimeFormat(lang, { weekday: width, timeZone: 'UTC' });
    return Array.from({ length: 7 }, (_, d) => fmt.format(new Date(MONDAY + d * 86400000)));
  } catch {
    return width === 'long' ? DAY_NAMES.slice() : DAY_LABELS.slice();
  }
}

/** English labels, for use without a page language. */
const ENGLISH = {
  t: (key, v) => (key === 'wg_label' ? 'Weekly hours, rows are days, columns are hours' : `${v.day} ${v.from} to ${v.to}`),
  days: DAY_LABELS,
  daysLong: DAY_NAMES,
};

const pad = (n) => String(n).padStart(2, '0');
const minutes = (t) => {
  const [h, m] = String(t).split(':').map(Number);
  return h * 60 + m;
};

/** Hour cells touched by the shifts (a shift starting or ending mid-hour marks that hour). */
export function shiftsToHours(shifts) {
  const hours = new Array(HOURS).fill(false);
  for (const s of shifts || []) {
    const day = DAYS.indexOf(s.day);
    if (day < 0) continue;
    const start = minutes(s.start);
    const end = minutes(s.end);
    if (Number.isNaN(start) || Number.isNaN(end) || start === end) continue;
    const length = end > start ? end - start : 1440 - start + end;
    const from = day * 1440 + start;
    for (let m = Math.floor(from / 60) * 60; m < from + length; m += 60) {
      hours[(m / 60) % HOURS] = true;
    }
  }
  return hours;
}

/** Whether the shifts fall on whole hours (the grid can show them exactly). */
export function wholeHours(shifts) {
  return (shifts || []).every((s) => s.start.endsWith(':00') && s.end.endsWith(':00'));
}

/**
 * Shifts for the marked hours: each run of consecutive hours (wrapping from Sunday into Monday)
 * becomes one shift when it is shorter than a day, else one shift per calendar day.
 */
export function hoursToShifts(hours) {
  const on = (h) => hours[((h % HOURS) + HOURS) % HOURS];
  const total = hours.filter(Boolean).length;
  if (total === 0) return [];
  // Start scanning at the beginning of a run, so a run across Sunday midnight stays whole.
  let origin = 0;
  if (total < HOURS) {
    while (on(origin) || !on(origin + 1)) origin += 1;
    origin += 1;
  }
  const runs = [];
  for (let i = 0; i < HOURS; ) {
    if (!on(origin + i)) {
      i += 1;
      continue;
    }
    let len = 0;
    while (len < HOURS && i + len < HOURS && on(origin + i + len)) len += 1;
    runs.push([(origin + i) % HOURS, len]);
    i += len;
  }
  const shifts = [];
  const push = (start, len) => {
    const day = Math.floor(start / 24) % 7;
    const end = (start % 24) + len;
    shifts.push({ day: DAYS[day], start: `${pad(start % 24)}:00`, end: end % 24 === 0 ? '24:00' : `${pad(end % 24)}:00` });
  };
  for (const [start, len] of runs) {
    // A 24-hour run from midnight is one day; from any other hour it would read as empty.
    if (len < 24 || (len === 24 && start % 24 === 0)) {
      push(start, len);
      continue;
    }
    let at = start;
    let left = len;
    while (left > 0) {
      const piece = Math.min(left, 24 - (at % 24));
      push(at % HOURS, piece);
      at += piece;
      left -= piece;
    }
  }
  shifts.sort((a, b) => DAYS.indexOf(a.day) - DAYS.indexOf(b.day) || a.start.localeCompare(b.start));
  return shifts;
}

/** Hours per week of a shift list. */
export function weeklyHours(shifts) {
  let m = 0;
  for (const s of shifts || []) {
    const a = minutes(s.start);
    const b = minutes(s.end);
    if (a !== b) m += b > a ? b - a : 1440 - a + b;
  }
  return m / 60;
}

/** "Mon 09:00–17:00, Sat 22:00–06:00" (`days`: the day labels, Monday first). */
export function describeShifts(shifts, days = DAY_LABELS) {
  return (shifts || [])
    .map((s) => `${days[DAYS.indexOf(s.day)] || s.day} ${s.start}–${s.end}`)
    .join(', ');
}

/** The 7×24 grid: click or drag to paint hours; arrows + Space from the keyboard. */
export class WeekGrid {
  constructor(container, onChange, labels = ENGLISH) {
    this.container = container;
    this.onChange = onChange;
    this.labels = labels;
    this.hours = new Array(HOURS).fill(false);
    this.focus = 9; // Monday 09:00
    this.painting = null;
    this.render();
  }

  render() {
    const grid = document.createElement('div');
    grid.className = 'wg';
    grid.setAttribute('role', 'grid');
    this.grid = grid;
    const head = document.createElement('div');
    head.className = 'wg-row wg-head';
    head.setAttribute('role', 'row');
    head.append(Object.assign(document.createElement('span'), { className: 'wg-day' }));
    for (let h = 0; h < 24; h += 1) {
      const c = document.createElement('span');
      c.className = 'wg-hour';
      c.setAttribute('role', 'columnheader');
      c.textContent = h % 3 === 0 ? pad(h) : '';
      head.append(c);
    }
    grid.append(head);
    this.cells = [];
    for (let d = 0; d < 7; d += 1) {
      const row = document.createElement('div');
      row.className = 'wg-row';
      row.setAttribute('role', 'row');
      const label = document.createElement('span');
      label.className = 'wg-day';
      label.setAttribute('role', 'rowheader');
      row.append(label);
      for (let h = 0; h < 24; h += 1) {
        const i = d * 24 + h;
        const cell = document.createElement('span');
        cell.className = 'wg-cell';
        cell.setAttribute('role', 'gridcell');
        cell.dataset.i = String(i);
        cell.tabIndex = i === this.focus ? 0 : -1;
        if (h % 6 === 0) cell.classList.add('wg-six');
        row.append(cell);
        this.cells.push(cell);
      }
      grid.append(row);
    }
    grid.addEventListener('pointerdown', (e) => this.pointerDown(e));
    grid.addEventListener('pointermove', (e) => this.pointerMove(e));
    window.addEventListener('pointerup', () => this.pointerUp());
    window.addEventListener('pointercancel', () => this.pointerUp());
    grid.addEventListener('keydown', (e) => this.key(e));
    this.container.replaceChildren(grid);
    this.relabel(this.labels);
    this.paint();
  }

  /** The day names and cell labels in the page language. */
  relabel(labels) {
    this.labels = labels;
    const { t, days, daysLong } = labels;
    this.grid.setAttribute('aria-label', t('wg_label'));
    this.grid.querySelectorAll('[role=rowheader]').forEach((el, d) => { el.textContent = days[d]; });
    this.cells.forEach((cell, i) => {
      const h = i % 24;
      cell.setAttribute('aria-label', t('wg_cell', { day: daysLong[Math.floor(i / 24)], from: `${pad(h)}:00`, to: `${pad((h + 1) % 24)}:00` }));
    });
  }

  cellAt(e) {
    const el = document.elementFromPoint(e.clientX, e.clientY);
    return el && el.classList && el.classList.contains('wg-cell') ? Number(el.dataset.i) : null;
  }

  pointerDown(e) {
    const i = e.target.classList && e.target.classList.contains('wg-cell') ? Number(e.target.dataset.i) : null;
    if (i === null) return;
    e.preventDefault();
    if (e.target.releasePointerCapture && e.target.hasPointerCapture && e.target.hasPointerCapture(e.pointerId)) {
      e.target.releasePointerCapture(e.pointerId);
    }
    this.painting = !this.hours[i];
    this.moveFocus(i, true);
    this.set(i, this.painting);
  }

  pointerMove(e) {
    if (this.painting === null) return;
    const i = this.cellAt(e);
    if (i !== null) this.set(i, this.painting);
  }

  pointerUp() {
    if (this.painting !== null) {
      this.painting = null;
      this.changed();
    }
  }

  key(e) {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -24, ArrowDown: 24 };
    if (e.key in moves) {
      e.preventDefault();
      this.moveFocus((this.focus + moves[e.key] + HOURS) % HOURS, true);
    } else if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      this.set(this.focus, !this.hours[this.focus]);
      this.changed();
    }
  }

  moveFocus(i, focus) {
    this.cells[this.focus].tabIndex = -1;
    this.focus = i;
    this.cells[i].tabIndex = 0;
    if (focus) this.cells[i].focus({ preventScroll: true });
  }

  set(i, value) {
    if (this.hours[i] === value) return;
    this.hours[i] = value;
    this.paintCell(i);
  }

  paintCell(i) {
    const c = this.cells[i];
    c.classList.toggle('on', this.hours[i]);
    c.setAttribute('aria-selected', this.hours[i] ? 'true' : 'false');
  }

  paint() {
    for (let i = 0; i < HOURS; i += 1) this.paintCell(i);
  }

  /** Replaces the marked hours (no change event). */
  setHours(hours) {
    this.hours = hours.slice();
    this.paint();
  }

  changed() {
    if (this.onChange) this.onChange(this.hours.slice());
  }
}
