// Words every dispatch progress event (src/engine/dispatch/types.rs ProgressEvent) with the
// operator console's own code (web/js/dispatch_panel.js progressText) and catalogs, in English
// and Chinese, and prints one JSON object {lang: {event: line}}; tests/dispatch_wording.rs runs
// it and asserts each line says what happened, with names.
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../../web/', import.meta.url));
const { progressText } = await import(`${web}js/dispatch_panel.js`);
const { STRINGS } = await import(`${web}i18n/operator.js`);
const { fill } = await import(`${web}i18n/console.js`);

// The names the panel learnt from earlier events (a decline carries only the id).
const names = new Map([['i-li', 'Li Na'], ['i-wang', 'Wang Fang']]);
const EVENTS = {
  ringing: { event: 'ringing', interpreter: 'i-li', name: 'Li Na', university: 'SISU', level: 'professional', language: 'pt' },
  declined: { event: 'declined', interpreter: 'i-li' },
  timed_out: { event: 'timed_out', interpreter: 'i-li', paused: false },
  timed_out_paused: { event: 'timed_out', interpreter: 'i-li', paused: true },
  ringing_next: { event: 'ringing_next' },
  waiting: { event: 'waiting', position: 2, language: 'pt' },
  escalated_off_shift: { event: 'escalated', to: { kind: 'off_shift' } },
  escalated_relay: { event: 'escalated', to: { kind: 'relay', language: 'en' } },
  accepted: { event: 'accepted', interpreter: 'i-li', name: 'Li Na', waited_ms: 4200, relay: null },
  withdrawn: { event: 'withdrawn', interpreter: 'i-wang' },
  failed: { event: 'failed', reason: 'no_interpreter_for_language', language: 'pt' },
  failed_unknown_language: { event: 'failed', reason: 'no_interpreter_for_language' },
  cancelled: { event: 'cancelled' },
  left: { event: 'left', interpreter: 'i-li', name: 'Li Na' },
  removed: { event: 'removed', interpreter: 'i-li', name: 'Li Na' },
  lost_disconnected: { event: 'replacement_requested', lost: 'i-li', why: 'disconnected' },
  lost_media_silent: { event: 'replacement_requested', lost: 'i-li', why: 'media_silent' },
  lost_replaced: { event: 'replacement_requested', lost: 'i-li', why: 'replaced' },
};

const out = {};
for (const lang of ['en', 'zh']) {
  const i18n = {
    t: (key, vars) => fill(STRINGS[lang][key] ?? `<missing ${key}>`, vars),
    languageName: (code) => (code ? new Intl.DisplayNames([lang], { type: 'language' }).of(code) : ''),
  };
  out[lang] = Object.fromEntries(Object.entries(EVENTS).map(([k, p]) => [k, progressText(p, i18n, names)]));
}
console.log(JSON.stringify(out));
