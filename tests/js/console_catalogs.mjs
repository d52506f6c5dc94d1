// Checks the staff pages' catalogs (web/i18n/{operator,interpreter,university,dashboard,
// supervisor,reports}.js) against each
// other and against the pages that use them, and that the pages' scripts parse, and prints one
// JSON object; tests/console_catalogs.rs runs it and asserts on the output.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../../web/', import.meta.url));
const read = (path) => readFileSync(`${web}${path}`, 'utf8');
const placeholders = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join();

const PAGES = {
  operator: { html: ['operator.html'], js: ['js/operator.js', 'js/dispatch_panel.js', 'js/case_panel.js', 'js/callbacks_panel.js', 'js/shortcuts.js', 'i18n/console.js'] },
  interpreter: { html: ['interpreter.html'], js: ['js/interpreter.js'] },
  supervisor: { html: ['supervisor.html'], js: ['js/supervisor.js'] },
  university: {
    html: ['university.html'],
    js: ['js/university.js', 'js/university/week.js', 'js/university/heatmap.js', 'js/university/minutes.js'],
  },
  dashboard: { html: ['dashboard.html'], js: ['js/dashboard.js'] },
  reports: { html: ['reports.html'], js: ['js/reports.js'] },
};

const out = {};
for (const [page, files] of Object.entries(PAGES)) {
  const { STRINGS } = await import(`${web}i18n/${page}.js`);
  const en = STRINGS.en;
  const keys = Object.keys(en).sort();
  const result = { languages: Object.keys(STRINGS).sort(), keys: keys.length, problems: [] };
  for (const [lang, strings] of Object.entries(STRINGS)) {
    for (const k of keys) {
      if (!(k in strings)) result.problems.push(`${lang} lacks ${k}`);
      else if (typeof strings[k] !== 'string' || !strings[k].trim()) result.problems.push(`${lang}.${k} is empty`);
      else if (placeholders(strings[k]) !== placeholders(en[k])) result.problems.push(`${lang}.${k} has other placeholders than en`);
    }
    for (const k of Object.keys(strings)) if (!(k in en)) result.problems.push(`${lang} has extra key ${k}`);
  }
  // Every key the page names must be in the catalog: data-i18n* attributes in the HTML, literal
  // t("key") calls in the scripts.
  const used = new Set();
  for (const f of files.html) {
    for (const m of read(f).matchAll(/data-i18n(?:-title|-placeholder|-label)?="(\w+)"/g)) used.add(m[1]);
  }
  for (const f of files.js) {
    for (const m of read(f).matchAll(/\bt\(\s*["'](\w+)["']/g)) used.add(m[1]);
    // A syntax error would leave the page dead without a word: parse each module.
    const check = spawnSync(process.execPath, ['--experimental-default-type=module', '--check', `${web}${f}`]);
    if (check.status !== 0) result.problems.push(`${f} does not parse: ${check.stderr}`);
  }
  for (const k of used) if (!(k in en)) result.problems.push(`${page} uses ${k}, which the catalog lacks`);
  result.used = used.size;
  out[page] = result;
}
console.log(JSON.stringify(out));
