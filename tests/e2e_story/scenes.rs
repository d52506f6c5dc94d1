//! The story's scenes, in the order the README tells them. Each scene drives the pages, checks
//! who hears whom where the call changes, and records its timings and screenshots.

use super::page::{Page, Who, MEDIA_UP};
use super::report::Report;
use super::routes::{assert_routes, Heard, CALLER_MUTED, EVERYONE, STAFF_ONLY, TWO_PARTY};
use crate::common::browser::{speech_wav, Browser};
use crate::common::ws::{OPERATOR, OPERATOR_PASSWORD};
use crate::common::TestApp;
use std::path::PathBuf;
use std::time::Instant;

/// The app, the three pages (each browser with its own fake microphone playing distinct
/// speech: Portuguese, Mandarin, English) and what the report will say.
pub struct Story<'a> {
    pub app: &'a TestApp,
    caller_mic: PathBuf,
    pub caller: Page,
    pub operator: Page,
    pub interpreter: Page,
    pub report: Report,
}

impl<'a> Story<'a> {
    /// A caller whose browser speaks Brazilian Portuguese, an operator whose browser speaks
    /// Chinese, and an interpreter's browser in English, none of them on a page yet.
    pub async fn begin(app: &'a TestApp) -> Story<'a> {
        Story::begin_with(app, &[]).await
    }

    /// `begin` with Chromium flags of the test's own for the three browsers (e.g. the test
    /// certificate to accept).
    pub async fn begin_with(app: &'a TestApp, browser_args: &[String]) -> Story<'a> {
        let caller_mic = speech_wav(
            "story-caller",
            "pt-br",
            "Olá, perdi o meu passaporte no metrô. Preciso de ajuda, por favor.",
        );
        let operator_mic = speech_wav(
            "story-operator",
            "cmn",
            "你好，这里是市民热线，请问有什么可以帮您？",
        );
        let interpreter_mic = speech_wav(
            "story-interpreter",
            "en",
            "Hello, I am the interpreter. I will translate for you both.",
        );
        let caller = Page {
            who: Who::Caller,
            b: Browser::launch_with("pt-BR,pt", Some(&caller_mic), browser_args).await,
        };
        let operator = Page {
            who: Who::Operator,
            b: Browser::launch_with("zh-CN,zh,en", Some(&operator_mic), browser_args).await,
        };
        let interpreter = Page {
            who: Who::Interpreter,
            b: Browser::launch_with("en-US,en", Some(&interpreter_mic), browser_args).await,
        };
        Story {
            app,
            caller_mic,
            caller,
            operator,
            interpreter,
            report: Report::default(),
        }
    }

    /// Checks, on the pages `heard` lists (in its order), that each hears exactly the parties
    /// listed with it.
    pub async fn routes(&mut self, step: &str, heard: Heard) {
        let pages: Vec<&Page> = heard
            .iter()
            .map(|(who, _)| match who {
                Who::Caller => &self.caller,
                Who::Operator => &self.operator,
                Who::Interpreter => &self.interpreter,
            })
            .collect();
        assert_routes(step, &pages, heard, &mut self.report.routes).await;
    }

    /// The operator logs in on /operator.
    pub async fn operator_logs_in(&mut self) {
        let step = "operator logs in";
        let operator = &self.operator;
        operator
            .b
            .client
            .goto(&self.app.url("/operator"))
            .await
            .expect("goto");
        for (css, text) in [("#name", OPERATOR), ("#password", OPERATOR_PASSWORD)] {
            operator.b.type_into(css, text).await;
        }
        operator
            .click(step, "#login-form button[type=submit]")
            .await;
        operator
            .wait(step, "!document.getElementById('console').hidden && document.getElementById('link').dataset.state === 'online'")
            .await;
    }

    /// The caller opens /call: the page is in Portuguese with Portuguese suggested; they call
    /// and wait, their audio connected.
    pub async fn caller_calls(&mut self) {
        let (caller, report) = (&self.caller, &mut self.report);
        let step = "caller opens the page";
        let loaded = Instant::now();
        caller
            .b
            .client
            .goto(&self.app.url("/call"))
            .await
            .expect("goto");
        caller
            .wait(step, "document.documentElement.lang === 'pt'")
            .await;
        let start = caller
            .b
            .eval(
                "const s = document.getElementById('call-language');
                 return { call: document.getElementById('call').textContent,
                          chosen: s.value, label: s.selectedOptions[0].textContent };",
            )
            .await;
        assert_eq!(
            start["call"], "Ligar",
            "{step}: the call button is Portuguese"
        );
        assert_eq!(start["chosen"], "pt", "{step}: Portuguese is suggested");
        assert_eq!(start["label"], "Português", "{step}: in its own name");
        caller.shot("caller-start-pt", report).await;
        caller.click(step, "#call").await;
        let step = "caller waits for an operator";
        caller
            .wait(step, "window.hotline.state === 'waiting'")
            .await;
        caller.wait(step, MEDIA_UP).await;
        report.timing("caller: page load → audio connected", loaded.elapsed());
        caller.shot("caller-waiting", report).await;
    }

    /// The operator sees the call in the queue, in Portuguese and how sure that is, and answers:
    /// caller and operator hear each other.
    pub async fn operator_answers(&mut self) {
        let (caller, operator, report) = (&self.caller, &self.operator, &mut self.report);
        let step = "operator answers";
        operator
            .wait(step, "document.querySelector('#queue tbody tr')")
            .await;
        let row = operator
            .b
            .eval(
                "const r = document.querySelector('#queue tbody tr');
                 return [...r.children].map(td => td.textContent);",
            )
            .await;
        // In the operator's language (Chinese) and in its own name, as the caller would say it.
        assert_eq!(
            row[1], "葡萄牙语 · Português (pt)",
            "{step}: queue row {row}"
        );
        let confidence: f64 = row[3]
            .as_str()
            .and_then(|s| s.trim_end_matches(" %").parse().ok())
            .unwrap_or_else(|| panic!("{step}: confidence cell {row}"));
        assert!(confidence >= 90.0, "{step}: pt confidence {confidence} %");
        operator.shot("operator-queue", report).await;
        let answered = Instant::now();
        operator.click(step, "#queue tbody tr button.primary").await;
        operator.wait(step, MEDIA_UP).await;
        caller
            .wait(step, "window.hotline.state === 'connected'")
            .await;
        report.timing(
            "operator: answer click → audio connected",
            answered.elapsed(),
        );
        self.routes("two-party", TWO_PARTY).await;
        self.caller.shot("caller-connected", &mut self.report).await;
    }

    /// Consult: operator and interpreter talk privately, then the caller is back.
    pub async fn consult(&mut self) {
        self.operator.click("consult", "#consult").await;
        self.operator
            .wait(
                "consult",
                "window.hotline.call && window.hotline.call.consult",
            )
            .await;
        self.routes("consult", STAFF_ONLY).await;
        self.caller.shot("caller-consult", &mut self.report).await;
        self.operator
            .shot("operator-consult", &mut self.report)
            .await;
        self.operator.click("end consult", "#consult").await;
        self.operator
            .wait(
                "end consult",
                "window.hotline.call && !window.hotline.call.consult",
            )
            .await;
        self.routes("end consult", EVERYONE).await;
    }

    /// The operator puts the call on hold, then resumes it.
    pub async fn hold_and_resume(&mut self) {
        self.operator.click("hold", "#hold").await;
        self.caller
            .wait("hold", "window.hotline.state === 'hold'")
            .await;
        self.routes("hold", STAFF_ONLY).await;
        self.caller.shot("caller-hold", &mut self.report).await;
        self.operator.click("resume", "#hold").await;
        self.caller
            .wait("resume", "window.hotline.state === 'interpreter'")
            .await;
        self.routes("resume", EVERYONE).await;
    }

    /// The caller mutes themselves: nobody hears them; then they unmute.
    pub async fn caller_mutes_and_unmutes(&mut self) {
        let caller_muted = |on: bool| {
            format!(
                "window.hotline.call && window.hotline.call.participants.some(p => p.role === 'caller' && p.muted === {on})"
            )
        };
        self.caller.click("caller mutes", "#mute").await;
        self.operator
            .wait("caller mutes", &caller_muted(true))
            .await;
        self.routes("caller muted", CALLER_MUTED).await;
        self.caller.shot("caller-muted", &mut self.report).await;
        self.caller.click("caller unmutes", "#mute").await;
        self.operator
            .wait("caller unmutes", &caller_muted(false))
            .await;
        self.routes("caller unmuted", EVERYONE).await;
    }

    /// The caller hangs up and rates the call five stars.
    pub async fn caller_hangs_up_and_rates(&mut self) {
        let (caller, report) = (&self.caller, &mut self.report);
        let step = "caller hangs up";
        caller.click(step, "#hang-up").await;
        caller
            .wait(step, "!document.getElementById('after').hidden")
            .await;
        self.operator
            .wait(step, "!document.getElementById('no-call').hidden")
            .await;
        caller.shot("caller-ended", report).await;
        let step = "caller rates the call";
        caller.click(step, "#stars button[data-stars='5']").await;
        caller
            .wait(step, "!document.getElementById('thanks').hidden")
            .await;
        caller.shot("caller-rated", report).await;
    }

    /// The audit stream in Redis tells the call's story too, the rating included.
    pub async fn audit_tells_the_story(&self) {
        let call_id = self
            .caller
            .b
            .eval("return window.hotline.call.call_id;")
            .await;
        let call_id = call_id.as_str().expect("call id").to_owned();
        let events = self
            .app
            .state
            .pool
            .recent_events(500)
            .await
            .expect("events");
        let story: Vec<(String, String)> = events
            .iter()
            .filter(|e| e.call_id.as_ref().map(|c| c.to_string()).as_deref() == Some(&call_id))
            .map(|e| (e.kind.as_str().to_owned(), e.detail.clone()))
            .collect();
        for kind in [
            "request",
            "offer",
            "accept",
            "join",
            "leave",
            "release",
            "call_ended",
        ] {
            assert!(
                story.iter().any(|(k, _)| k == kind),
                "audit: no {kind} event for the call in {story:?}"
            );
        }
        assert!(
            story.contains(&("rating".to_owned(), "5".to_owned())),
            "audit: the 5-star rating is not recorded: {story:?}"
        );
    }

    /// A caller whose browser speaks Arabic opens /call (the Portuguese caller's browser is
    /// closed): the page reads right to left, before and during a call.
    pub async fn arabic_caller_page(self) -> Story<'a> {
        let Story {
            app,
            caller_mic,
            caller,
            operator,
            interpreter,
            mut report,
        } = self;
        caller.b.close().await;
        let ar = Page {
            who: Who::Caller,
            b: Browser::launch("ar,en", Some(&caller_mic)).await,
        };
        let step = "arabic caller page";
        ar.b.client.goto(&app.url("/call")).await.expect("goto");
        ar.wait(
            step,
            "document.documentElement.lang === 'ar' && document.documentElement.dir === 'rtl'",
        )
        .await;
        ar.shot("caller-start-ar", &mut report).await;
        ar.click(step, "#call").await;
        ar.wait(step, "window.hotline.state === 'waiting'").await;
        ar.shot("caller-waiting-ar", &mut report).await;
        ar.click(step, "#hang-up").await;
        ar.wait(step, "!document.getElementById('after').hidden")
            .await;
        Story {
            app,
            caller_mic,
            caller: ar,
            operator,
            interpreter,
            report,
        }
    }

    /// Writes the report, then closes the browsers.
    pub async fn end(self) {
        self.report.write();
        self.caller.b.close().await;
        self.operator.b.close().await;
        self.interpreter.b.close().await;
    }
}
