// The staff pages' language (operator, interpreter, university): which catalog language a page
// shows (the one chosen with the page's switch and remembered in localStorage, else the first of
// the browser's languages the catalog has, else English), `t(key, vars)` with English fallback,
// the static strings of the HTML (`data-i18n`, `data-i18n-title`, `data-i18n-placeholder`,
// `data-i18n-label` for aria-label), text direction, and the switch itself. The catalogs are one
// file per page next to this one; every language has every key (tests/console_catalogs.rs).

import { NAMES } from "./strings.js";

/** localStorage slot of the chosen language, shared by the staff pages. */
export const STORE_KEY = "hotline.console.language";
const RTL = new Set(["ar"]);

/** The first of `languages` (BCP 47 tags, e.g. navigator.languages) offered; zh-CN → zh. */
export function pick(languages, offered) {
  for (const tag of languages || []) {
    const primary = String(tag).toLowerCase().split(/[-_]/)[0];
    if (offered.includes(primary)) return primary;
  }
  return "en";
}

/** `{name}` placeholders filled from `vars`; unknown ones stay visible. */
export function fill(s, vars = {}) {
  return String(s).replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

function stored() {
  try { return localStorage.getItem(STORE_KEY); } catch { return null; }
}

export class PageLanguage extends EventTarget {
  /** @param {Record<string, Record<string, string>>} catalogs  language → key → text */
  constructor(catalogs) {
    super();
    this.catalogs = catalogs;
    const offered = Object.keys(catalogs);
    const chosen = stored();
    this.lang = chosen && offered.includes(chosen) ? chosen : pick(globalThis.navigator?.languages, offered);
  }

  /** `key` in the page language (English if missing), `{name}`s filled from `vars`. */
  t(key, vars) {
    const s = this.catalogs[this.lang]?.[key] ?? this.catalogs.en[key] ?? key;
    return fill(s, vars);
  }

  /** A language's name in the page language ("葡萄牙语" on a Chinese page), else its code. */
  languageName(code) {
    if (!code) return "";
    try {
      const n = new Intl.DisplayNames([this.lang], { type: "language" }).of(code);
      if (n && n !== code) return n;
    } catch {
      // Not a code Intl knows.
    }
    return NAMES[code] || code;
  }

  /** Language, direction and every marked string of the document. */
  apply(root = document) {
    const html = document.documentElement;
    html.lang = this.lang;
    html.dir = RTL.has(this.lang) ? "rtl" : "ltr";
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = this.t(el.dataset.i18nTitle);
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = this.t(el.dataset.i18nPlaceholder);
    for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", this.t(el.dataset.i18nLabel));
  }

  /** Switches the page to `lang`, remembers it and tells listeners ("change"). */
  set(lang) {
    if (!this.catalogs[lang] || lang === this.lang) return;
    this.lang = lang;
    try { localStorage.setItem(STORE_KEY, lang); } catch { /* private mode: this page only */ }
    this.apply();
    this.dispatchEvent(new Event("change"));
  }

  /** Fills `select` with the offered languages, each in its own name, and follows it. */
  bindSwitch(select) {
    select.replaceChildren(...Object.keys(this.catalogs).map((l) => {
      const o = new Option(NAMES[l] || l, l);
      o.lang = l;
      o.dir = RTL.has(l) ? "rtl" : "ltr";
      return o;
    }));
    select.value = this.lang;
    select.addEventListener("change", () => this.set(select.value));
    this.addEventListener("change", () => { select.value = this.lang; });
  }
}
