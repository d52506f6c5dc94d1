//! Headless Chromium for end-to-end tests, driven over WebDriver (chromedriver + fantoccini).
//! Each `Browser` is its own Chromium process with its own profile, language and fake microphone
//! (a WAV file played as the capture device), so one test can hold a caller, an operator and an
//! interpreter side by side. Nothing is downloaded: Debian's /usr/bin/chromium and chromedriver.

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Map, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a page is watched to tell whether a participant is heard.
const HEAR_WINDOW: Duration = Duration::from_millis(1200);
/// Packets in a window that prove a stream flows (50 a second are sent) ...
const FLOWING_PKTS: u64 = 15;
/// ... and the most still tolerated from one that should be cut (in flight at a switch).
const STOPPED_PKTS: u64 = 2;

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Where screenshots and other artifacts go: `target/e2e/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Speech in `voice` (espeak-ng) saying `text`, as 48 kHz mono WAV, a few seconds long; Chromium
/// loops the file. Speech, not a sine: Chromium's noise suppression erases pure tones.
pub fn speech_wav(name: &str, voice: &str, text: &str) -> PathBuf {
    let dir = artifacts_dir();
    let raw = dir.join(format!("{name}-raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng (installed by scripts/test.sh)")
        .success();
    assert!(ok, "espeak-ng failed");
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", "48000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["norm", "-3", "repeat", "3"])
        .status()
        .expect("sox (installed by scripts/test.sh)")
        .success();
    assert!(ok, "sox failed");
    out
}

impl Browser {
    /// Starts Chromium with `accept_language` (e.g. "pt-BR,pt") and, if given, a fake microphone.
    pub async fn launch(accept_language: &str, microphone: Option<&Path>) -> Browser {
        Browser::launch_with(accept_language, microphone, &[]).await
    }

    /// `launch` with Chromium flags of the test's own (e.g. a certificate to accept).
    pub async fn launch_with(
        accept_language: &str,
        microphone: Option<&Path>,
        extra_args: &[String],
    ) -> Browser {
        let port = super::ports::free_port();
        // Its own process group, which Chromium inherits: dropping the Browser (a failed test
        // included) kills the whole browser, not only the driver.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver (installed by scripts/test.sh)");
        let profile = tempfile::tempdir().expect("profile dir");
        let lang = accept_language.split(',').next().unwrap_or("en");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            "--allow-loopback-in-peer-connection".into(),
            "--autoplay-policy=no-user-gesture-required".into(),
            "--window-size=1280,900".into(),
            format!("--lang={lang}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend_from_slice(extra_args);
        if let Some(wav) = microphone {
            args.push(format!(
                "--use-file-for-fake-audio-capture={}",
                wav.display()
            ));
        }
        let mut options = Map::new();
        options.insert("binary".into(), json!(CHROMIUM));
        options.insert("args".into(), json!(args));
        options.insert(
            "prefs".into(),
            json!({ "intl.accept_languages": accept_language }),
        );
        let mut caps = Map::new();
        caps.insert("goog:chromeOptions".into(), Value::Object(options));

        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver did not start a session: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Replaces the text of the field at `css` with `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        field.clear().await.expect("clear field");
        field.send_keys(text).await.expect("type into field");
    }

    /// Clicks the element at `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Chooses the option of value `value` in the `<select>` at `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no select {css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css} has no option {value}: {e}"));
    }

    /// Saves a PNG screenshot as `target/e2e/<name>.png`, then checks the state it shows with
    /// axe-core (`axe`): every state a test saves for review is also checked for accessibility.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        self.axe(&format!("the state of screenshot {name}")).await;
        path
    }

    /// Runs `script` (a function body that may `await`; its `return` value comes back) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];\n\
             (async () => {{ {script} }})().then(done, e => done({{ __error: String(e) }}));"
        );
        let v = self
            .client
            .execute_async(&wrapped, vec![])
            .await
            .expect("execute_async");
        if let Some(err) = v.get("__error") {
            panic!("page script failed: {err}");
        }
        v
    }

    /// Runs axe-core (vendored test dependency, tests/js/vendor/axe-core) on the page as it is now
    /// and fails, listing them, if it finds any serious or critical violation. `context` names the
    /// page and state in the failure.
    pub async fn axe(&self, context: &str) {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/js/vendor/axe-core/axe.min.js"
        ))
        .expect("read the vendored axe.min.js");
        // WebDriver runs the script as a function body outside the page's CSP; axe sets `window.axe`.
        // Once a page: it stays until the next navigation.
        let loaded = self.eval("return typeof window.axe === 'object';").await;
        if loaded != Value::Bool(true) {
            self.client
                .execute(&source, vec![])
                .await
                .expect("inject axe-core");
        }
        let found = self
            .eval(
                "const r = await window.axe.run(document, { resultTypes: ['violations'] });\n\
                 return r.violations\n\
                   .filter((v) => v.impact === 'serious' || v.impact === 'critical')\n\
                   .map((v) => `${v.impact} ${v.id}: ${v.help}\\n    ` + v.nodes\n\
                     .map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\\n/g, ' ')}`)\n\
                     .join('\\n    '));",
            )
            .await;
        let found: Vec<String> = serde_json::from_value(found).expect("a list of violations");
        assert!(
            found.is_empty(),
            "axe-core finds {} serious or critical violation(s) on {context}:\n{}",
            found.len(),
            found.join("\n")
        );
    }

    /// Polls `condition` (a JS expression) until it is truthy, or fails naming `what`.
    pub async fn wait_for(&self, what: &str, condition: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self
                .client
                .execute(&format!("return !!({condition});"), vec![])
                .await
                .unwrap_or(Value::Bool(false));
            if v == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let _ = self
                    .screenshot(&format!("failed-{}", what.replace(' ', "_")))
                    .await;
                panic!("{what}: not reached within {timeout:?} ({condition})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Chromium (Chinese first, `microphone` as its mic) with the operator console of `base_url`
    /// logged in as the test operator (`ws::settings_with_operator`), online.
    pub async fn operator_console(base_url: &str, microphone: &Path, step: Duration) -> Browser {
        let b = Browser::launch("zh-CN,zh,en", Some(microphone)).await;
        b.client
            .goto(&format!("{base_url}/operator"))
            .await
            .expect("goto");
        b.type_into("#name", super::ws::OPERATOR).await;
        b.type_into("#password", super::ws::OPERATOR_PASSWORD).await;
        b.click("#login-form button[type=submit]").await;
        b.wait_for(
            "operator online",
            "document.getElementById('link').dataset.state === 'online'",
            step,
        )
        .await;
        b
    }

    /// Packets received and audio energy so far, summed over the page's receive slots.
    pub async fn inbound_total(&self) -> (u64, f64) {
        let v = self
            .eval(
                "const h = window.hotline;
                 if (!h.media) return { packets: 0, energy: 0 };
                 const s = await h.media.stats();
                 let packets = 0, energy = 0;
                 for (const i of s.inbound) { packets += i.packetsReceived; energy += i.totalAudioEnergy; }
                 return { packets, energy };",
            )
            .await;
        (
            v["packets"].as_u64().unwrap_or(0),
            v["energy"].as_f64().unwrap_or(0.0),
        )
    }

    /// Packets this page receives over one `HEAR_WINDOW` (a rate needs a duration).
    pub async fn packets_in_window(&self) -> u64 {
        let (p0, _) = self.inbound_total().await;
        tokio::time::sleep(HEAR_WINDOW).await;
        let (p1, _) = self.inbound_total().await;
        p1.saturating_sub(p0)
    }

    /// Asserts that this page hears audio from someone: over one `HEAR_WINDOW` packets keep
    /// coming and carry sound; `step` and `who` name the failure.
    pub async fn hears_audio(&self, step: &str, who: &str) {
        let (p0, e0) = self.inbound_total().await;
        // A measuring window, not synchronisation.
        tokio::time::sleep(HEAR_WINDOW).await;
        let (p1, e1) = self.inbound_total().await;
        assert!(
            p1 >= p0 + FLOWING_PKTS && e1 > e0,
            "{step}: {who} hears nothing ({} packets, audio energy {:.5} in {HEAR_WINDOW:?})",
            p1.saturating_sub(p0),
            e1 - e0
        );
    }

    /// Packets and audio energy this page has received so far from the participants of `role`
    /// (its media leg's getStats; sources named by the call's slots and view: `window.hotline`
    /// has `media`, and the call as `view` on the caller page or `call` on the consoles).
    pub async fn received_from(&self, role: &str) -> (u64, f64) {
        let v = self
            .eval(&format!(
                "const h = window.hotline;
                 const view = h.view || h.call;
                 if (!h.media || !view) return [0, 0];
                 const s = await h.media.stats();
                 const roles = {{}};
                 for (const p of view.participants) roles[p.id] = p.role;
                 let n = 0, e = 0;
                 for (const i of s.inbound) if (roles[i.participant] === '{role}') {{
                   n += i.packetsReceived || 0; e += i.totalAudioEnergy || 0;
                 }}
                 return [n, e];"
            ))
            .await;
        (v[0].as_u64().unwrap_or(0), v[1].as_f64().unwrap_or(0.0))
    }

    /// Waits (up to `within`) until one `HEAR_WINDOW` on this page (`who`: whose page, for the
    /// failure) shows audio flowing from every role in `heard` and (almost) no packets from any
    /// in `cut`; fails naming `step`, with a screenshot.
    pub async fn hears(
        &self,
        who: &str,
        within: Duration,
        step: &str,
        heard: &[&str],
        cut: &[&str],
    ) {
        let deadline = Instant::now() + within;
        loop {
            let mut before = Vec::new();
            for role in heard.iter().chain(cut) {
                before.push(self.received_from(role).await);
            }
            // A measuring window (a rate needs a duration), not synchronisation.
            tokio::time::sleep(HEAR_WINDOW).await;
            let mut wrong = Vec::new();
            for (k, role) in heard.iter().chain(cut).enumerate() {
                let (pkts, energy) = self.received_from(role).await;
                let (pkts, energy) = (pkts.saturating_sub(before[k].0), energy - before[k].1);
                if k < heard.len() && (pkts < FLOWING_PKTS || energy <= 0.0) {
                    wrong.push(format!(
                        "the {who} does not hear the {role} ({pkts} packets, energy {energy:.5})"
                    ));
                }
                if k >= heard.len() && pkts > STOPPED_PKTS {
                    wrong.push(format!("the {who} still hears the {role} ({pkts} packets)"));
                }
            }
            if wrong.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                let _ = self
                    .screenshot(&format!("failed-{who}-{}", step.replace(' ', "_")))
                    .await;
                panic!("{step}: {}", wrong.join("; "));
            }
        }
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills what is left of the process group.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver's process group: chromedriver and the Chromium processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
