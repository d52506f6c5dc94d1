//! TURN proven: a real coturn (Debian's `coturn`) with the shared secret the service signs its
//! time-limited TURN credentials with, and the service set to `media.turn_relay_only`, so every
//! page's Chromium may only send through coturn (`iceTransportPolicy: "relay"`). In the
//! three-way call of the web story (caller, operator, an interpreter a university registers)
//! everyone must hear everyone, and each page's selected ICE pair must be a relay candidate on
//! one of coturn's relay ports, its bytes growing both ways. With a secret coturn does not share,
//! the caller's page says in words that the audio could not connect.
use crate::common;
use crate::e2e_story;

use common::browser::{speech_wav, Browser};
use common::coturn::TestCoturn;
use common::dispatch::app_on;
use common::redis::TestRedis;
use common::universities;
use common::ws::settings_with_operator;
use e2e_story::scenes::Story;
use serde_json::Value;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);

/// A secret made for the test run (none is kept in the repository).
fn secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The page's selected ICE candidate pair: its local and remote candidates and bytes carried.
async fn selected_pair(b: &Browser) -> Value {
    b.eval(
        "const r = await window.hotline.media.pc.getStats();
         let id = null;
         r.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) id = s.selectedCandidatePairId; });
         const pair = id && r.get(id);
         if (!pair) return null;
         const l = r.get(pair.localCandidateId), rm = r.get(pair.remoteCandidateId);
         return { local: { type: l.candidateType, address: l.address, port: l.port,
                           relayProtocol: l.relayProtocol ?? null },
                  remote: { type: rm.candidateType, address: rm.address, port: rm.port },
                  bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived };",
    )
    .await
}

/// A caller page in a pt-BR browser, Call pressed, waiting for an operator.
async fn caller_calls(app: &common::TestApp) -> Browser {
    let mic = speech_wav(
        "turn-caller",
        "pt-br",
        "Alô, estou num hotel e a rede bloqueia quase tudo. Vocês me ouvem?",
    );
    let caller = Browser::launch("pt-BR,pt", Some(&mic)).await;
    caller.client.goto(&app.url("/call")).await.expect("goto");
    caller
        .wait_for(
            "caller page in Portuguese",
            "document.documentElement.lang === 'pt'",
            STEP,
        )
        .await;
    caller.click("#call").await;
    caller
        .wait_for("caller waiting", "window.hotline.state === 'waiting'", STEP)
        .await;
    caller
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_way_call_relay_only_goes_through_coturn() {
    let _heavy = common::one_heavy_at_a_time().await;
    let secret = secret();
    let turn = TestCoturn::start(&secret);
    let redis = TestRedis::start();
    let mut settings = settings_with_operator();
    let keys = universities::with_keys(&mut settings, &["bfsu"]);
    settings.dispatch.predispatch = false;
    settings.dispatch.ring_timeout_s = 60;
    settings.media.turn_urls = vec![turn.url()];
    settings.media.turn_secret = secret;
    settings.media.turn_relay_only = true;
    let app = app_on(&redis, settings).await;

    // The story up to the three-way call; each scene checks who hears whom (getStats).
    let mut story = Story::begin(&app).await;
    let token = story
        .university_registers_the_interpreter(&keys["bfsu"])
        .await;
    story.interpreter_signs_in(&token).await;
    story.operator_logs_in().await;
    story.caller_calls().await;
    story.operator_answers().await;
    story.operator_adds_an_interpreter().await;
    story.interpreter_accepts().await;
    let (caller, operator, interpreter) =
        (&story.caller.b, &story.operator.b, &story.interpreter.b);

    // Every leg goes through coturn: each page's selected pair's local candidate is a relay
    // candidate on one of coturn's relay ports, each offer holds relay candidates only, and the
    // pairs' bytes grow both ways while everyone hears audio.
    let pages = [
        ("caller", caller),
        ("operator", operator),
        ("interpreter", interpreter),
    ];
    let mut pairs = Vec::new();
    for (who, page) in pages {
        let pair = selected_pair(page).await;
        assert_eq!(pair["local"]["type"], "relay", "{who}: {pair}");
        assert_eq!(pair["local"]["relayProtocol"], "udp", "{who}: {pair}");
        let port = pair["local"]["port"].as_u64().unwrap_or(0);
        assert!(
            turn.relay_ports.contains(&(port as u16)),
            "{who}: relay port {port} is not coturn's {:?}: {pair}",
            turn.relay_ports
        );
        let offered = page
            .eval(
                "return window.hotline.media.pc.localDescription.sdp.split('\\r\\n')
                     .filter((l) => l.startsWith('a=candidate:'));",
            )
            .await;
        let offered = offered.as_array().expect("candidate lines");
        assert!(!offered.is_empty(), "{who}: no candidate offered");
        for line in offered {
            let line = line.as_str().unwrap_or_default();
            assert!(
                line.contains(" typ relay"),
                "{who}: a candidate other than relay: {line}"
            );
        }
        pairs.push(pair);
    }
    for (who, page) in pages {
        page.hears_audio("through the relay", who).await;
    }
    for ((who, page), pair) in pages.iter().zip(&pairs) {
        let later = selected_pair(page).await;
        assert_eq!(later["local"]["type"], "relay", "{who}: {later}");
        for way in ["bytesSent", "bytesReceived"] {
            let (before, after) = (pair[way].as_u64(), later[way].as_u64());
            assert!(
                after > before,
                "{who}: {way} did not grow through the relay: {pair} → {later}"
            );
        }
    }
    let Story {
        caller,
        operator,
        interpreter,
        ..
    } = story;
    for page in [caller, operator, interpreter] {
        page.b.close().await;
    }
}

/// coturn refuses credentials signed with another secret: a relay-only caller then has no way
/// for its audio, and the page says so in its language instead of waiting in silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_turn_secret_is_said_in_the_caller_page() {
    let turn = TestCoturn::start(&secret());
    let redis = TestRedis::start();
    let mut settings = settings_with_operator();
    settings.dispatch.predispatch = false;
    settings.media.turn_urls = vec![turn.url()];
    settings.media.turn_secret = secret();
    settings.media.turn_relay_only = true;
    let app = app_on(&redis, settings).await;

    let caller = caller_calls(&app).await;
    caller
        .wait_for(
            "the audio error shown",
            "!document.getElementById('media-error').hidden",
            STEP,
        )
        .await;
    let shown = caller
        .eval(
            "const e = document.getElementById('media-error');
             return { text: e.textContent, role: e.getAttribute('role'),
                      visible: e.getBoundingClientRect().height > 0,
                      state: window.hotline.media.pc.connectionState };",
        )
        .await;
    assert_eq!(
        shown["text"],
        "Não foi possível conectar o áudio: esta rede parece bloquear chamadas. Tente outra \
         rede (Wi-Fi ou dados móveis), depois desligue e ligue novamente.",
        "{shown}"
    );
    assert_eq!(shown["role"], "alert", "{shown}");
    assert_eq!(shown["visible"], true, "{shown}");
    let offered = caller
        .eval("return window.hotline.media.pc.localDescription.sdp.includes('a=candidate:');")
        .await;
    assert_eq!(
        offered, false,
        "a candidate was gathered with the wrong secret"
    );
    caller.screenshot("turn-wrong-secret").await;
    assert!(
        turn.log().contains("401"),
        "coturn did not refuse the credentials:\n{}",
        turn.log()
    );
    caller.close().await;
}
