// The university's own interpreter minutes (GET /api/universities/{uid}/minutes): a period of
// local dates (this month by default), a table per month and interpreter with each month's total,
// and the same statement as a CSV file to download (fetched with the key in a header).

import { api, session } from './api.js';

const $ = (id) => document.getElementById(id);

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Sets the period to this month so far, unless one is chosen. */
export function prefillMinutes() {
  const today = new Date();
  if (!$('minutes-from').value) $('minutes-from').value = isoDay(new Date(today.getFullYear(), today.getMonth(), 1));
  if (!$('minutes-to').value) $('minutes-to').value = isoDay(today);
}

let csvUrl = null;

/** Loads and draws the statement of `uid`; `t` is the page's catalog, `msg` words an error. */
export async function loadMinutes(uid, t, msg) {
  const range = new URLSearchParams({ from: $('minutes-from').value, to: $('minutes-to').value });
  const path = `/api/universities/${encodeURIComponent(uid)}/minutes?${range}`;
  $('minutes-error').textContent = '';
  let data;
  try {
    data = await api('GET', path);
  } catch (e) {
    $('minutes-error').textContent = msg(e);
    return;
  }
  const rows = [];
  for (const total of data.universities) {
    for (const r of data.interpreters.filter((i) => i.month === total.month)) {
      rows.push([r.month, r.interpreter, r.calls, r.minutes.toFixed(2)]);
    }
    rows.push([total.month, t('minutes_total'), total.calls, total.minutes.toFixed(2)]);
  }
  $('minutes').tBodies[0].replaceChildren(...rows.map((cells) => {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    return tr;
  }));
  $('minutes-empty').hidden = rows.length > 0;
  window.hotlineMinutes = data;
  const link = $('minutes-csv');
  const res = await fetch(`${path}&format=csv`, { headers: { Authorization: `Bearer ${session.key}` } }).catch(() => null);
  if (!res || !res.ok) {
    link.hidden = true;
    return;
  }
  const file = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
  if (csvUrl) URL.revokeObjectURL(csvUrl);
  csvUrl = URL.createObjectURL(new Blob([await res.text()], { type: 'text/csv' }));
  link.href = csvUrl;
  link.download = file ? file[1] : 'interpreter-minutes.csv';
  link.hidden = false;
}
