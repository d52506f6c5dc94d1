// Caller-page language helper: language names in their own script, text direction, and a live
// suggestion from POST /api/detect ("Português?") while the caller types. Owns no DOM; the page
// decides what to show. Mirrors the response of src/api/detect.rs.

/** Each language's name in that language. */
export const NAMES = Object.freeze({
  ar: 'العربية',
  de: 'Deutsch',
  en: 'English',
  es: 'Español',
  fa: 'فارسی',
  fr: 'Français',
  he: 'עברית',
  hi: 'हिन्दी',
  id: 'Bahasa Indonesia',
  it: 'Italiano',
  ja: '日本語',
  ko: '한국어',
  ms: 'Bahasa Melayu',
  nl: 'Nederlands',
  pl: 'Polski',
  pt: 'Português',
  ru: 'Русский',
  th: 'ไทย',
  tr: 'Türkçe',
  uk: 'Українська',
  ur: 'اردو',
  vi: 'Tiếng Việt',
  zh: '中文',
});

const RTL = new Set(['ar', 'fa', 'he', 'ur', 'ps', 'yi', 'dv']);
// The question mark each script writes: Arabic-script languages turn it, CJK use the full-width one.
const QUESTION_MARKS = { ar: '؟', fa: '؟', ur: '؟', ja: '？', zh: '？' };

/** Milliseconds of quiet typing before asking the server. */
export const DEBOUNCE_MS = 400;

/** The language's name in its own script; any code works where the browser knows it. */
export function name(lang) {
  if (NAMES[lang]) return NAMES[lang];
  try {
    const n = new Intl.DisplayNames([lang], { type: 'language' }).of(lang);
    if (n && n !== lang) return n.charAt(0).toLocaleUpperCase(lang) + n.slice(1);
  } catch {
    // Not a code Intl knows: fall through to the code itself.
  }
  return lang;
}

/** 'rtl' for right-to-left languages (Arabic…), otherwise 'ltr'. */
export function dir(lang) {
  return RTL.has(String(lang).split('-')[0].toLowerCase()) ? 'rtl' : 'ltr';
}

/** "Português?" — the suggestion as a question in the language's own script. */
export function question(lang) {
  return `${name(lang)}${QUESTION_MARKS[lang] ?? '?'}`;
}

/**
 * One call to POST /api/detect. Resolves to `{candidates, decided}`; rejects with an Error whose
 * `code` is the server's error code on a 4xx/5xx.
 */
export async function detect({ text = '', browserLanguages = [], chosen = null } = {}, opts = {}) {
  const fetchFn = opts.fetch ?? globalThis.fetch;
  const resp = await fetchFn(opts.endpoint ?? '/api/detect', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text, browser_languages: [...browserLanguages], chosen }),
    signal: opts.signal,
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(body?.error?.message ?? `detect failed (${resp.status})`);
    err.code = body?.error?.code ?? 'http_error';
    err.status = resp.status;
    throw err;
  }
  return body;
}

/** What the page shows for an assessment: the best candidate, or null when there is none. */
export function toSuggestion(assessment) {
  const best = assessment?.candidates?.[0];
  if (!best) return null;
  return {
    language: best.language,
    confidence: best.confidence,
    sources: best.sources,
    decided: assessment.decided ?? null,
    name: name(best.language),
    question: question(best.language),
    dir: dir(best.language),
    candidates: assessment.candidates,
  };
}

/**
 * A debounced suggester. Each call supersedes the previous one: the earlier promise resolves to
 * null and its request, if already sent, is aborted. Options: `delayMs`, `fetch`, `endpoint`.
 */
export function createSuggester(opts = {}) {
  const delay = opts.delayMs ?? DEBOUNCE_MS;
  let pending = null; // { timer, controller, resolve }
  return function suggestDebounced(text, languages = globalThis.navigator?.languages ?? []) {
    if (pending) {
      clearTimeout(pending.timer);
      pending.controller.abort();
      pending.resolve(null);
    }
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      const mine = { controller, resolve, timer: null };
      mine.timer = setTimeout(async () => {
        try {
          const a = await detect(
            { text, browserLanguages: languages },
            { fetch: opts.fetch, endpoint: opts.endpoint, signal: controller.signal },
          );
          if (pending === mine) pending = null;
          resolve(toSuggestion(a));
        } catch (e) {
          if (pending === mine) pending = null;
          if (e?.name === 'AbortError') resolve(null);
          else reject(e);
        }
      }, delay);
      pending = mine;
    });
  };
}

const shared = createSuggester();

/**
 * Suggests the caller's language from what they typed and `navigator.languages`, debounced
 * (DEBOUNCE_MS). Resolves to `{language, confidence, decided, name, question, dir, candidates}`,
 * or null when there is nothing to suggest or a newer call superseded this one.
 */
export function suggest(text, languages = globalThis.navigator?.languages ?? []) {
  return shared(text, languages);
}
