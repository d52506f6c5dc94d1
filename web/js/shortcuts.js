// Keyboard shortcuts for a console's frequent actions: single keys ("a", "h") or with Shift
// ("shift+x"), never while the user types in a field, a select or an editable element, and never
// with Ctrl, Alt or Meta (those belong to the browser). Owns no DOM beyond its keydown listener;
// the page names the keys in its buttons' titles and aria-keyshortcuts.

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** True when a key press is meant for a field, not for the page. */
export function typing(target) {
  return !!target && (TYPING.has(target.tagName) || target.isContentEditable);
}

/**
 * The shortcut name of a keydown event: "a", "shift+x"; null with Ctrl/Alt/Meta. Letters are
 * read from the key's position (`code`), so they work with any keyboard layout (Cyrillic…).
 */
export function shortcutOf(e) {
  if (e.ctrlKey || e.altKey || e.metaKey || e.repeat) return null;
  const m = /^Key([A-Z])$/.exec(e.code || "");
  if (!m) return null;
  const key = m[1].toLowerCase();
  return e.shiftKey ? `shift+${key}` : key;
}

/** @param {Record<string, () => void>} actions  shortcut name → action */
export function bindShortcuts(actions, target = document) {
  target.addEventListener("keydown", (e) => {
    if (typing(e.target)) return;
    const name = shortcutOf(e);
    const action = name && actions[name];
    if (!action) return;
    e.preventDefault();
    action();
  });
}
