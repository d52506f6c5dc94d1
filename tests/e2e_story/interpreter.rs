//! The interpreter's scenes: registered by her university, signed in with the token its page
//! showed once, rung when the operator adds an interpreter, in the call, out of it, and
//! available again after her wrap-up.

use super::page::MEDIA_UP;
use super::routes::{EVERYONE, TWO_PARTY};
use super::scenes::Story;
use std::time::Instant;

impl Story<'_> {
    /// A university registers a Portuguese interpreter on /university, on shift from this hour,
    /// with its API key `key`; returns the personal token the page showed once.
    pub async fn university_registers_the_interpreter(&mut self, key: &str) -> String {
        let step = "university registers the interpreter";
        // The interpreter's browser serves the university's coordinator first.
        let u = &self.interpreter;
        u.b.client
            .goto(&self.app.url("/university"))
            .await
            .expect("goto");
        u.wait(step, "!document.getElementById('signin').hidden")
            .await;
        u.b.type_into("#api-key", key).await;
        u.click(step, "#signin-form button[type=submit]").await;
        u.wait(step, "!document.getElementById('app').hidden").await;
        u.click(step, "#add").await;
        u.b.type_into("#f-name", "Li Na").await;
        u.b.type_into("#f-id", "bfsu-pt-01").await;
        u.b.select("#f-languages .lang-code", "pt").await;
        u.b.type_into("#f-timezone", "UTC").await;
        // On shift from this hour for the next three (grid: Monday 00:00 is cell 0, one per hour).
        let now = chrono::Utc::now();
        let hour_of_week = {
            use chrono::{Datelike, Timelike};
            now.weekday().num_days_from_monday() * 24 + now.hour()
        };
        for k in 0..3 {
            let cell = format!(".wg-cell[data-i=\"{}\"]", (hour_of_week + k) % 168);
            u.click(step, &cell).await;
        }
        u.click(step, "#save").await;
        u.wait(step, "!document.getElementById('token-panel').hidden")
            .await;
        let token =
            u.b.eval("return document.getElementById('token-value').value;")
                .await;
        let token = token.as_str().expect("token shown").to_owned();
        u.shot("university-token", &mut self.report).await;
        u.click(step, "#token-done").await;
        token
    }

    /// The interpreter signs in on /interpreter with `token` and goes available.
    pub async fn interpreter_signs_in(&mut self, token: &str) {
        let step = "interpreter signs in";
        let interpreter = &self.interpreter;
        interpreter
            .b
            .client
            .goto(&self.app.url("/interpreter"))
            .await
            .expect("goto");
        interpreter.b.type_into("#token", token).await;
        interpreter
            .click(step, "#signin-form button[type=submit]")
            .await;
        interpreter
            .wait(step, "!document.getElementById('console').hidden")
            .await;
        interpreter.click(step, "#go-available").await;
        interpreter
            .wait(
                step,
                "document.getElementById('status').dataset.status === 'available'",
            )
            .await;
        interpreter
            .shot("interpreter-available", &mut self.report)
            .await;
    }

    /// The operator adds an interpreter: her console rings with the call's language, and the
    /// operator's dispatch panel says so.
    pub async fn operator_adds_an_interpreter(&mut self) {
        let (operator, interpreter) = (&self.operator, &self.interpreter);
        let step = "operator adds an interpreter";
        let clicked = Instant::now();
        operator.click(step, "#dispatch-add").await;
        interpreter
            .wait(step, "!document.getElementById('ringing').hidden")
            .await;
        self.report
            .timing("operator click → interpreter ringing", clicked.elapsed());
        operator
            .wait(
                step,
                "document.querySelector('#dispatch-lines li[data-event=ringing]')",
            )
            .await;
        let ring = interpreter
            .b
            .eval("return document.getElementById('ring-language').textContent;")
            .await;
        assert_eq!(
            ring, "Português (pt)",
            "{step}: the ring shows the language"
        );
        interpreter
            .shot("interpreter-ringing", &mut self.report)
            .await;
        operator.shot("operator-ringing", &mut self.report).await;
    }

    /// The interpreter accepts: she hears the call at once, every page shows her in it, and all
    /// three hear each other.
    pub async fn interpreter_accepts(&mut self) {
        let (caller, operator, interpreter) = (&self.caller, &self.operator, &self.interpreter);
        let step = "interpreter accepts";
        let accepted = Instant::now();
        interpreter.click(step, "#accept").await;
        interpreter.wait(step, MEDIA_UP).await;
        // First audio: a remote stream with energy on the interpreter's page.
        interpreter.first_audio(step).await;
        self.report
            .timing("interpreter accept → first audio", accepted.elapsed());
        caller
            .wait(step, "window.hotline.state === 'interpreter'")
            .await;
        operator
            .wait(
                step,
                "document.querySelector('#dispatch-lines li[data-event=accepted]') \
                 && [...document.querySelectorAll('#participants .who')] \
                      .some(e => e.textContent === '口译员 · Li Na')",
            )
            .await;
        interpreter
            .wait(
                step,
                "document.getElementById('whoami').textContent === 'Li Na'",
            )
            .await;
        self.routes("three-party", EVERYONE).await;
        let report = &mut self.report;
        self.caller.shot("caller-interpreter-joined", report).await;
        self.operator.shot("operator-three-party", report).await;
        self.interpreter.shot("interpreter-in-call", report).await;
    }

    /// The interpreter leaves and goes into wrap-up; the call goes on between caller and
    /// operator.
    pub async fn interpreter_leaves(&mut self) {
        let step = "interpreter leaves";
        let interpreter = &self.interpreter;
        interpreter.click(step, "#leave").await;
        interpreter
            .wait(
                step,
                "document.getElementById('in-call').hidden \
                 && document.querySelector('#log li').textContent.endsWith('Out of the call: you left')",
            )
            .await;
        interpreter
            .wait(
                step,
                "document.getElementById('status').dataset.status === 'wrap_up' && !document.getElementById('wrap-up').hidden",
            )
            .await;
        interpreter
            .shot("interpreter-wrap-up", &mut self.report)
            .await;
        self.caller
            .wait(step, "window.hotline.state === 'connected'")
            .await;
        self.routes(step, TWO_PARTY).await;
    }

    /// After wrap-up the interpreter is available again.
    pub async fn interpreter_is_back_after_wrap_up(&mut self) {
        let step = "interpreter back after wrap-up";
        self.interpreter
            .wait(
                step,
                "document.getElementById('status').dataset.status === 'available' && document.getElementById('wrap-up').hidden",
            )
            .await;
        self.interpreter
            .shot("interpreter-available-again", &mut self.report)
            .await;
        self.operator.shot("operator-after", &mut self.report).await;
    }
}
