//! A staff page in a zh-CN browser, checked state by state against its catalog
//! (`web/i18n/<catalog>.js`): no English string shown, the expected Chinese ones there.

use super::STEP;
use crate::common::browser::Browser;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use serde_json::{json, Value};
use std::cell::RefCell;

/// Catalog strings that are the same in every language: the brand, the token's format.
const SHARED: [&str; 2] = ["hotline-bridge", "your-id.secret"];

/// The visible words of the page (text, titles, placeholders, labels of what is shown), checked
/// against the page's catalog: `{ english: [English strings found], missing: [keys of `expect`
/// whose Chinese string is absent] }`. An English string counts by its fragments between
/// placeholders that have at least four characters and three Latin letters in a row, unless it is
/// one of the `SHARED` words every language writes alike.
async fn words(b: &Browser, catalog: &str, expect: &[&str]) -> Value {
    let script = format!(
        "const {{ STRINGS }} = await import('/i18n/{catalog}.js');
         const shown = (el) => !el.closest('[hidden]') && el.getClientRects().length > 0;
         const parts = [document.title, document.body.innerText];
         for (const el of document.querySelectorAll('[title], [placeholder], [aria-label]')) {{
           if (!shown(el)) continue;
           parts.push(el.title || '', el.placeholder || '', el.getAttribute('aria-label') || '');
         }}
         const text = parts.join('\\n');
         const english = [];
         const SHARED = {shared};
         for (const [key, en] of Object.entries(STRINGS.en)) {{
           const zh = STRINGS.zh[key];
           for (const f of en.split(/\\{{\\w+\\}}/).map((s) => s.trim())) {{
             if (f.length < 4 || !/[A-Za-z]{{3}}/.test(f) || SHARED.includes(f)) continue;
             if (text.includes(f)) english.push(`${{key}}: ${{f}}`);
           }}
         }}
         const expect = {expect};
         const longest = (s) => s.split(/\\{{\\w+\\}}/).map((f) => f.trim()).sort((a, b) => b.length - a.length)[0];
         const missing = expect.filter((k) => !text.includes(longest(STRINGS.zh[k])));
         return {{ english, missing, lang: document.documentElement.lang }};",
        expect = json!(expect),
        shared = json!(SHARED),
    );
    b.eval(&script).await
}

/// The JS condition "the page speaks Chinese".
pub const ZH: &str = "document.documentElement.lang === 'zh'";

/// A page in a zh-CN browser, checked against its catalog (`web/i18n/<catalog>.js`).
pub struct ZhPage {
    b: Browser,
    catalog: &'static str,
    /// What the checks found wrong so far.
    failures: RefCell<Vec<String>>,
}

impl std::ops::Deref for ZhPage {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.b
    }
}

impl ZhPage {
    /// Opens `url` in a zh-CN browser; returns once `ready` (a JS condition, named `what`) holds.
    pub async fn open(url: String, catalog: &'static str, what: &str, ready: &str) -> ZhPage {
        let b = Browser::launch("zh-CN,zh,en", None).await;
        b.client.goto(&url).await.expect("goto");
        b.wait_for(what, ready, STEP).await;
        ZhPage {
            b,
            catalog,
            failures: RefCell::default(),
        }
    }

    /// Checks one state of the page and saves its screenshot; failures are collected (see
    /// `failures`), not fatal, so one run reports every state that shows English.
    pub async fn check(&self, state: &str, expect: &[&str]) {
        let catalog = self.catalog;
        // The words first: a passing state (wrap-up) may be over once the screenshot is saved.
        let v = words(self, catalog, expect).await;
        self.screenshot(&format!("console-zh-{catalog}-{state}"))
            .await;
        let mut failures = self.failures.borrow_mut();
        if v["lang"] != "zh" {
            failures.push(format!("{catalog} {state}: page language {}", v["lang"]));
        }
        if v["english"] != json!([]) {
            failures.push(format!(
                "{catalog} {state}: English shown: {}",
                v["english"]
            ));
        }
        if v["missing"] != json!([]) {
            failures.push(format!(
                "{catalog} {state}: Chinese missing for {}",
                v["missing"]
            ));
        }
    }

    /// What the checks so far found wrong, "<catalog> <state>: …" each.
    pub fn failures(&self) -> Vec<String> {
        self.failures.take()
    }

    /// Presses `key` (a letter) on the page, wherever the focus is.
    pub async fn press(&self, key: char) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client.perform_actions(keys).await.expect("key press");
    }

    /// Presses `key` with Shift held, as a user types Shift+X.
    pub async fn press_shifted(&self, key: char) {
        const SHIFT: char = '\u{E008}';
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: SHIFT })
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key })
            .then(KeyAction::Up { value: SHIFT });
        self.client.perform_actions(keys).await.expect("key press");
    }

    pub async fn close(self) {
        self.b.close().await;
    }
}
