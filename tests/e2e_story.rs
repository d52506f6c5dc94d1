//! The whole story in three real headless Chromium browsers, on a real redis-server: a caller whose
//! browser speaks Brazilian Portuguese, an operator, and an interpreter whom a university registers
//! on /university during the test and who signs in with the token the page showed once.
//!
//! Each browser has its own fake microphone playing distinct speech (espeak-ng: Portuguese,
//! Mandarin, English). At every step each page's `RTCPeerConnection.getStats()` says which remote
//! streams flow (packets arriving and audio energy rising) and which do not, and that is compared
//! with who should hear whom. A failure names the step and the route ("consult: caller still hears
//! operator"). Step timings are printed at the end; screenshots go to target/e2e/story-*.png.
mod common;

use common::browser::{artifacts_dir, speech_wav, Browser};
use common::dispatch::app_on;
use common::redis::TestRedis;
use common::universities;
use common::ws::{settings_with_operator, OPERATOR, OPERATOR_PASSWORD};
use fantoccini::Locator;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Longest wait for one step of the story (slow, shared CI machines).
const STEP: Duration = Duration::from_secs(30);
/// How long each getStats window lasts: ~50 packets from a party that is heard.
const WINDOW: Duration = Duration::from_millis(1200);
/// Packets in one window that prove a stream flows (50 per second are sent).
const FLOWING_PKTS: u64 = 15;
/// Packets in one window still tolerated from a stream that should be cut (in flight at a switch).
const STOPPED_PKTS: u64 = 2;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Who {
    Caller,
    Operator,
    Interpreter,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Caller => "caller",
            Who::Operator => "operator",
            Who::Interpreter => "interpreter",
        }
    }
    fn from_role(role: &str) -> Option<Who> {
        match role {
            "caller" => Some(Who::Caller),
            "operator" => Some(Who::Operator),
            "interpreter" => Some(Who::Interpreter),
            _ => None,
        }
    }
}

/// One page of the story.
struct Page {
    who: Who,
    b: Browser,
}

/// What one page receives: per receive slot, its source (role) and cumulative counters.
#[derive(Debug, Default)]
struct Sample {
    /// mid → (source, packets, energy)
    slots: BTreeMap<String, (Option<Who>, u64, f64)>,
}

/// Reads the page's call view and inbound stats (every page exposes `window.hotline`, with the
/// call as `view` on the caller page and `call` on the consoles, and its media leg as `media`).
const SAMPLE_JS: &str = "
    const h = window.hotline;
    const view = h.view || h.call;
    if (!h.media || !view) return { inbound: [], roles: {} };
    const s = await h.media.stats();
    const roles = {};
    for (const p of view.participants) roles[p.id] = p.role;
    return { inbound: s.inbound, roles, state: s.state };";

impl Page {
    async fn sample(&self) -> Sample {
        let v = self.b.eval(SAMPLE_JS).await;
        let mut out = Sample::default();
        for i in v["inbound"].as_array().into_iter().flatten() {
            let mid = i["mid"].as_str().unwrap_or("?").to_owned();
            let source = i["participant"]
                .as_str()
                .and_then(|p| v["roles"][p].as_str())
                .and_then(Who::from_role);
            let packets = i["packetsReceived"].as_u64().unwrap_or(0);
            let energy = i["totalAudioEnergy"].as_f64().unwrap_or(0.0);
            out.slots.insert(mid, (source, packets, energy));
        }
        out
    }

    async fn wait(&self, step: &str, condition: &str) -> Duration {
        let t = Instant::now();
        self.b
            .wait_for(&format!("{step} ({})", self.who.name()), condition, STEP)
            .await;
        t.elapsed()
    }

    async fn click(&self, step: &str, css: &str) {
        self.b
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{step}: {} has no {css}: {e}", self.who.name()))
            .click()
            .await
            .unwrap_or_else(|e| panic!("{step}: {} cannot click {css}: {e}", self.who.name()));
    }

    async fn shot(&self, name: &str, shots: &mut Vec<String>) {
        let path = self.b.screenshot(&format!("story-{name}")).await;
        shots.push(path.display().to_string());
    }
}

/// Who hears whom in a step: listener → sources.
type Routes = BTreeMap<Who, BTreeSet<Who>>;

fn routes(pairs: &[(Who, &[Who])]) -> Routes {
    pairs
        .iter()
        .map(|(l, s)| (*l, s.iter().copied().collect()))
        .collect()
}

/// Checks one window of every page's stats against `expected`; the wrong routes, if any, and
/// what each listener received from each source ("caller←operator 58").
fn judge(
    expected: &Routes,
    before: &BTreeMap<Who, Sample>,
    after: &BTreeMap<Who, Sample>,
) -> (Vec<String>, String) {
    let mut wrong = Vec::new();
    let mut seen = Vec::new();
    for (listener, sources) in expected {
        let (Some(b), Some(a)) = (before.get(listener), after.get(listener)) else {
            wrong.push(format!("{} has no media", listener.name()));
            continue;
        };
        // Per source: packets and energy gained in the window, on slots mapped the same way at
        // both ends of it (a slot that switched source in between proves nothing either way).
        let mut got: BTreeMap<Option<Who>, (u64, f64)> = BTreeMap::new();
        for (mid, (src, pkts, energy)) in &a.slots {
            let (bsrc, bpkts, benergy) = b.slots.get(mid).cloned().unwrap_or((*src, 0, 0.0));
            if bsrc != *src {
                wrong.push(format!(
                    "{}'s slot {mid} switched source mid-window",
                    listener.name()
                ));
                continue;
            }
            let e = got.entry(*src).or_default();
            e.0 += pkts.saturating_sub(bpkts);
            e.1 += (energy - benergy).max(0.0);
        }
        for source in [Who::Caller, Who::Operator, Who::Interpreter] {
            if source == *listener {
                continue;
            }
            let (pkts, energy) = got.get(&Some(source)).copied().unwrap_or((0, 0.0));
            seen.push(format!("{}←{} {pkts}", listener.name(), source.name()));
            if sources.contains(&source) {
                if pkts < FLOWING_PKTS || energy <= 0.0 {
                    wrong.push(format!(
                        "{} does not hear {} ({pkts} packets, audio energy {energy:.5} in {WINDOW:?})",
                        listener.name(),
                        source.name()
                    ));
                }
            } else if pkts > STOPPED_PKTS {
                wrong.push(format!(
                    "{} still hears {} ({pkts} packets in {WINDOW:?})",
                    listener.name(),
                    source.name()
                ));
            }
        }
        if let Some((pkts, _)) = got.get(&None) {
            if *pkts > STOPPED_PKTS {
                wrong.push(format!(
                    "{} receives {pkts} packets on a slot the server assigned to nobody",
                    listener.name()
                ));
            }
        }
    }
    (wrong, seen.join(", "))
}

/// Waits until one measuring window shows exactly `expected` on every page listed in it; fails
/// naming the step and the routes that were still wrong in the last window.
async fn assert_routes(step: &str, pages: &[&Page], expected: &Routes, log: &mut Vec<String>) {
    let deadline = Instant::now() + STEP;
    loop {
        let mut before = BTreeMap::new();
        for p in pages {
            before.insert(p.who, p.sample().await);
        }
        // A measuring window (a rate needs a duration), not synchronisation.
        tokio::time::sleep(WINDOW).await;
        let mut after = BTreeMap::new();
        for p in pages {
            after.insert(p.who, p.sample().await);
        }
        let (wrong, seen) = judge(expected, &before, &after);
        if wrong.is_empty() {
            log.push(format!("{step}: {seen} packets in {WINDOW:?}"));
            return;
        }
        if Instant::now() > deadline {
            for p in pages {
                let _ =
                    p.b.screenshot(&format!(
                        "failed-{}-{}",
                        step.replace(' ', "_"),
                        p.who.name()
                    ))
                    .await;
            }
            panic!("{step}: {}", wrong.join("; "));
        }
    }
}

/// The JS condition "this page's media leg is connected".
const MEDIA_UP: &str =
    "window.hotline.media && window.hotline.media.pc.connectionState === 'connected'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_operator_and_interpreter_talk_in_one_call_through_real_browsers() {
    let redis = TestRedis::start();
    let mut settings = settings_with_operator();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    // The operator adds the interpreter in this story (pre-dispatch has its own tests); a ring
    // long enough for a slow machine; a short wrap-up to see the interpreter come back.
    settings.dispatch.predispatch = false;
    settings.dispatch.ring_timeout_s = 60;
    settings.dispatch.wrap_up_s = 4;
    let app = app_on(&redis, settings).await;

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
        b: Browser::launch("pt-BR,pt", Some(&caller_mic)).await,
    };
    let operator = Page {
        who: Who::Operator,
        b: Browser::launch("zh-CN,zh,en", Some(&operator_mic)).await,
    };
    let interpreter = Page {
        who: Who::Interpreter,
        b: Browser::launch("en-US,en", Some(&interpreter_mic)).await,
    };
    let mut timings: Vec<(String, Duration)> = Vec::new();
    let mut shots: Vec<String> = Vec::new();
    let mut routes_log: Vec<String> = Vec::new();

    // ---- A university registers a Portuguese interpreter on /university, on shift now. ----
    let step = "university registers the interpreter";
    let u = &interpreter;
    u.b.client
        .goto(&app.url("/university"))
        .await
        .expect("goto");
    u.wait(step, "!document.getElementById('signin').hidden")
        .await;
    u.b.type_into("#api-key", &keys["bfsu"]).await;
    u.click(step, "#signin-form button[type=submit]").await;
    u.wait(step, "!document.getElementById('app').hidden").await;
    u.click(step, "#add").await;
    u.b.type_into("#f-name", "Li Na").await;
    u.b.type_into("#f-id", "bfsu-pt-01").await;
    u.b.client
        .find(Locator::Css("#f-languages .lang-code"))
        .await
        .expect("language")
        .select_by_value("pt")
        .await
        .expect("pt");
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
    u.shot("university-token", &mut shots).await;
    u.click(step, "#token-done").await;

    // ---- The interpreter signs in with that token and goes available. ----
    let step = "interpreter signs in";
    interpreter
        .b
        .client
        .goto(&app.url("/interpreter"))
        .await
        .expect("goto");
    interpreter.b.type_into("#token", &token).await;
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
    interpreter.shot("interpreter-available", &mut shots).await;

    // ---- The operator logs in. ----
    let step = "operator logs in";
    operator
        .b
        .client
        .goto(&app.url("/operator"))
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

    // ---- The caller opens /call: Portuguese, Portuguese suggested, and calls. ----
    let step = "caller opens the page";
    let loaded = Instant::now();
    caller.b.client.goto(&app.url("/call")).await.expect("goto");
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
    caller.shot("caller-start-pt", &mut shots).await;
    caller.click(step, "#call").await;
    let step = "caller waits for an operator";
    caller
        .wait(step, "window.hotline.state === 'waiting'")
        .await;
    caller.wait(step, MEDIA_UP).await;
    timings.push((
        "caller: page load → audio connected".into(),
        loaded.elapsed(),
    ));
    caller.shot("caller-waiting", &mut shots).await;

    // ---- The operator sees the call with pt and its confidence, and answers. ----
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
    operator.shot("operator-queue", &mut shots).await;
    let answered = Instant::now();
    operator.click(step, "#queue tbody tr button.primary").await;
    operator.wait(step, MEDIA_UP).await;
    caller
        .wait(step, "window.hotline.state === 'connected'")
        .await;
    timings.push((
        "operator: answer click → audio connected".into(),
        answered.elapsed(),
    ));

    use Who::{Caller as C, Interpreter as I, Operator as O};
    let two = [&caller, &operator];
    assert_routes(
        "two-party",
        &two,
        &routes(&[(C, &[O]), (O, &[C])]),
        &mut routes_log,
    )
    .await;
    caller.shot("caller-connected", &mut shots).await;

    // ---- The operator adds an interpreter; the console rings; accept. ----
    let step = "operator adds an interpreter";
    let clicked = Instant::now();
    operator.click(step, "#dispatch-add").await;
    interpreter
        .wait(step, "!document.getElementById('ringing').hidden")
        .await;
    timings.push((
        "operator click → interpreter ringing".into(),
        clicked.elapsed(),
    ));
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
    interpreter.shot("interpreter-ringing", &mut shots).await;
    operator.shot("operator-ringing", &mut shots).await;

    let step = "interpreter accepts";
    let accepted = Instant::now();
    interpreter.click(step, "#accept").await;
    interpreter.wait(step, MEDIA_UP).await;
    // First audio: a remote stream with energy on the interpreter's page.
    let deadline = Instant::now() + STEP;
    loop {
        let s = interpreter.sample().await;
        if s.slots
            .values()
            .any(|(src, pkts, energy)| src.is_some() && *pkts > 0 && *energy > 0.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{step}: no audio reached the interpreter within {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    timings.push((
        "interpreter accept → first audio".into(),
        accepted.elapsed(),
    ));
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
    let all = [&caller, &operator, &interpreter];
    assert_routes(
        "three-party",
        &all,
        &routes(&[(C, &[O, I]), (O, &[C, I]), (I, &[C, O])]),
        &mut routes_log,
    )
    .await;
    caller.shot("caller-interpreter-joined", &mut shots).await;
    operator.shot("operator-three-party", &mut shots).await;
    interpreter.shot("interpreter-in-call", &mut shots).await;

    // ---- Consult: operator and interpreter talk privately. ----
    let staff_only = routes(&[(C, &[]), (O, &[I]), (I, &[O])]);
    operator.click("consult", "#consult").await;
    operator
        .wait(
            "consult",
            "window.hotline.call && window.hotline.call.consult",
        )
        .await;
    assert_routes("consult", &all, &staff_only, &mut routes_log).await;
    caller.shot("caller-consult", &mut shots).await;
    operator.shot("operator-consult", &mut shots).await;
    operator.click("end consult", "#consult").await;
    operator
        .wait(
            "end consult",
            "window.hotline.call && !window.hotline.call.consult",
        )
        .await;
    assert_routes(
        "end consult",
        &all,
        &routes(&[(C, &[O, I]), (O, &[C, I]), (I, &[C, O])]),
        &mut routes_log,
    )
    .await;

    // ---- Hold and resume. ----
    operator.click("hold", "#hold").await;
    caller.wait("hold", "window.hotline.state === 'hold'").await;
    assert_routes("hold", &all, &staff_only, &mut routes_log).await;
    caller.shot("caller-hold", &mut shots).await;
    operator.click("resume", "#hold").await;
    caller
        .wait("resume", "window.hotline.state === 'interpreter'")
        .await;
    assert_routes(
        "resume",
        &all,
        &routes(&[(C, &[O, I]), (O, &[C, I]), (I, &[C, O])]),
        &mut routes_log,
    )
    .await;

    // ---- The caller mutes themselves: nobody hears them; then unmutes. ----
    let caller_muted = |on: bool| {
        format!(
            "window.hotline.call && window.hotline.call.participants.some(p => p.role === 'caller' && p.muted === {on})"
        )
    };
    caller.click("caller mutes", "#mute").await;
    operator.wait("caller mutes", &caller_muted(true)).await;
    assert_routes(
        "caller muted",
        &all,
        &routes(&[(C, &[O, I]), (O, &[I]), (I, &[O])]),
        &mut routes_log,
    )
    .await;
    caller.shot("caller-muted", &mut shots).await;
    caller.click("caller unmutes", "#mute").await;
    operator.wait("caller unmutes", &caller_muted(false)).await;
    assert_routes(
        "caller unmuted",
        &all,
        &routes(&[(C, &[O, I]), (O, &[C, I]), (I, &[C, O])]),
        &mut routes_log,
    )
    .await;

    // ---- The interpreter leaves; the call goes on. ----
    let step = "interpreter leaves";
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
    interpreter.shot("interpreter-wrap-up", &mut shots).await;
    caller
        .wait(step, "window.hotline.state === 'connected'")
        .await;
    assert_routes(
        step,
        &two,
        &routes(&[(C, &[O]), (O, &[C])]),
        &mut routes_log,
    )
    .await;

    // ---- The caller hangs up and rates the call. ----
    let step = "caller hangs up";
    caller.click(step, "#hang-up").await;
    caller
        .wait(step, "!document.getElementById('after').hidden")
        .await;
    operator
        .wait(step, "!document.getElementById('no-call').hidden")
        .await;
    caller.shot("caller-ended", &mut shots).await;
    let step = "caller rates the call";
    caller.click(step, "#stars button[data-stars='5']").await;
    caller
        .wait(step, "!document.getElementById('thanks').hidden")
        .await;
    caller.shot("caller-rated", &mut shots).await;

    // The audit stream in Redis tells the call's story too, the rating included.
    let call_id = caller.b.eval("return window.hotline.call.call_id;").await;
    let call_id = call_id.as_str().expect("call id").to_owned();
    let events = app.state.pool.recent_events(500).await.expect("events");
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

    // ---- After wrap-up the interpreter is available again. ----
    let step = "interpreter back after wrap-up";
    interpreter
        .wait(
            step,
            "document.getElementById('status').dataset.status === 'available' && document.getElementById('wrap-up').hidden",
        )
        .await;
    interpreter
        .shot("interpreter-available-again", &mut shots)
        .await;
    operator.shot("operator-after", &mut shots).await;

    // ---- The Arabic caller page reads right to left, before and during a call. ----
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
    ar.shot("caller-start-ar", &mut shots).await;
    ar.click(step, "#call").await;
    ar.wait(step, "window.hotline.state === 'waiting'").await;
    ar.shot("caller-waiting-ar", &mut shots).await;
    ar.click(step, "#hang-up").await;
    ar.wait(step, "!document.getElementById('after').hidden")
        .await;

    let mut report = String::from("\nstory timings:\n");
    for (what, d) in &timings {
        report.push_str(&format!("  {what:<42} {:>6} ms\n", d.as_millis()));
    }
    report.push_str("routes (packets each listener received from each source in one window):\n");
    for r in &routes_log {
        report.push_str(&format!("  {r}\n"));
    }
    report.push_str("screenshots:\n");
    for s in &shots {
        report.push_str(&format!("  {s}\n"));
    }
    // Kept as an artifact; scripts/test.sh prints it after the test run.
    std::fs::write(artifacts_dir().join("story-report.txt"), &report).expect("write report");
    eprintln!("{report}");
    ar.b.close().await;
    operator.b.close().await;
    interpreter.b.close().await;
}
