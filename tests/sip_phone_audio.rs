//! A phone leg is just another participant for audio. sipp calls in as the trunk, with the
//! phone's RTP on a socket of the test (a PCMU tone); an operator on a WebRTC test peer answers
//! in the console and talks (a real Opus tone). The operator hears the phone caller (real Opus,
//! decoded above silence) and the phone hears the operator (PCMU RTP every 20 ms with its own
//! sequence, decoded above silence). With sipp's own RTP stack playing Debian's G.711 A-law pcap
//! (PCMA negotiated), the operator hears it too. A phone whose RTP stops is taken out of the
//! call, as a web caller who disconnects, and gets the bridge's BYE.
use crate::common;

use common::phone_rtp::PhoneRtp;
use common::sipp::{self, sip_settings, SippRun};
use common::spawn_app;
use common::ws::{
    answer, operator_hangs_up, operator_login, operator_session, settings_with_operator, WsClient,
};
use hotline_bridge::app::AppState;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{TestPeer, TestPeerOffer, TestPeerOptions};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Longest wait for any one step.
const STEP: Duration = Duration::from_secs(20);
/// Packets (of 50 a second) that prove a stream flows, not a stray one.
const FLOWING: u64 = 25;
/// sipp calls the bridge (DID 12345001) with its media at `phone_rtp`, until the bridge's BYE.
fn calls_in(bridge: SocketAddr, phone_rtp: &PhoneRtp) -> JoinHandle<SippRun> {
    sipp::phone_call(
        bridge,
        "12345001",
        "uac_audio_until_bye.xml",
        phone_rtp.addr,
        &[],
    )
}

/// The id of the first call in the operator's queue.
async fn queued_call_id(ws: &mut WsClient) -> String {
    let call = sipp::first_queued(ws, STEP).await;
    call["call_id"].as_str().expect("call id").to_owned()
}

/// The operator's test peer, talking a 660 Hz tone as real Opus.
async fn operator_talks(ws: &mut WsClient) -> TestPeer {
    let config = PeerConfig::new().expect("peer config");
    let opts = TestPeerOptions {
        tone_hz: Some(660.0),
        ..TestPeerOptions::default()
    };
    let (offer, sdp) = TestPeerOffer::new(&config, 2, opts).expect("offer");
    ws.send(json!({"type": "offer", "sdp": sdp})).await;
    let answer = ws.wait_for("answer").await;
    let peer = offer
        .start(answer["sdp"].as_str().expect("sdp"))
        .expect("start peer");
    assert!(
        peer.wait_connected(STEP).await,
        "the operator's peer connects"
    );
    peer
}

/// Polls the operator's count of sound packets (packets are not events a test can await).
async fn operator_hears_sound(peer: &TestPeer) {
    let deadline = tokio::time::Instant::now() + STEP;
    while peer.sound_packets() < FLOWING {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the operator should hear the phone caller: {} packets of sound",
            peer.sound_packets()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_caller_and_the_browser_operator_hear_each_other() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    let phone_rtp = PhoneRtp::start().await;
    let phone = calls_in(bridge, &phone_rtp);
    let call_id = queued_call_id(&mut console).await;
    answer(&mut console, &call_id).await;
    let operator = operator_talks(&mut console).await;

    operator_hears_sound(&operator).await;
    let before = phone_rtp.heard();
    phone_rtp
        .wait("the phone should hear the operator", STEP, |h| {
            h.sound >= before.sound + FLOWING
        })
        .await;
    let heard = phone_rtp.heard();
    assert_eq!(heard.wrong_type, 0, "PCMU as negotiated: {heard:?}");
    assert_eq!(
        heard.seq_jumps, 0,
        "one RTP stream, sequence by one: {heard:?}"
    );

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    let run = sipp::finished(phone, STEP).await;
    assert_eq!(run.code, 0, "sipp got the BYE:\n{}", run.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_whose_rtp_stops_is_taken_out_and_gets_bye() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    s.sip.rtp_timeout_s = 2;
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;
    let mut live = app.state.calls.live_count();

    let phone_rtp = PhoneRtp::start().await;
    let phone = calls_in(bridge, &phone_rtp);
    let call_id = queued_call_id(&mut console).await;
    answer(&mut console, &call_id).await;
    // The phone's media was flowing (the bridge has sent it its mix), then it dies.
    phone_rtp
        .wait("the bridge sends the phone RTP", STEP, |h| {
            h.packets >= FLOWING
        })
        .await;
    phone_rtp.fall_silent();

    sipp::completed(phone, STEP, "the bridge sent BYE after the RTP timeout").await;
    sipp::no_call_left(
        &mut live,
        STEP,
        "the call ended when its phone caller dropped",
    )
    .await;
}

/// The pcap Debian's sip-tester ships: a few seconds of speech as G.711 A-law RTP.
const G711A_PCAP: &str = "/usr/share/sip-tester/g711a.pcap";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_hears_pcma_played_by_sipps_own_rtp_stack() {
    assert!(
        std::path::Path::new(G711A_PCAP).exists(),
        "{G711A_PCAP} is missing: install sip-tester (apt-get install sip-tester)"
    );
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    // sipp answers the bridge's BYE only after the pcap has played (its `exec` runs first).
    let phone = tokio::spawn(sipp::run(
        "uac_pcap_audio.xml",
        "127.0.0.1",
        bridge,
        "12345001",
        &["-key", "pcap", G711A_PCAP],
    ));
    let call_id = queued_call_id(&mut console).await;
    answer(&mut console, &call_id).await;
    let operator = operator_talks(&mut console).await;
    operator_hears_sound(&operator).await;

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    let run = sipp::finished(phone, STEP).await;
    assert_eq!(run.code, 0, "sipp got the BYE:\n{}", run.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pbx_moving_the_media_by_re_invite_is_followed_both_ways() {
    let mut s = settings_with_operator();
    let bridge = sip_settings(&mut s, &["127.0.0.1"]);
    let app = spawn_app(AppState::in_memory(s)).await;
    let op_token = operator_login(&app.url("")).await;
    let mut console = operator_session(app.addr, &op_token).await;

    // The call starts on `first`; the PBX's re-INVITE 4 s in moves it to `moved`. The first
    // socket goes on sending: after the move it is not the phone any more.
    let (first, moved) = (PhoneRtp::start().await, PhoneRtp::start().await);
    let port2 = moved.addr.port().to_string();
    let phone = sipp::phone_call(
        bridge,
        "12345001",
        "uac_moves_media.xml",
        first.addr,
        &["-key", "rtp_port2", &port2],
    );
    let call_id = queued_call_id(&mut console).await;
    answer(&mut console, &call_id).await;
    let operator = operator_talks(&mut console).await;

    // After the move the new address hears the operator, and the operator hears the phone from
    // it (its tone; the old address's packets are refused).
    moved
        .wait("the moved media hear the operator", STEP, |h| {
            h.sound >= FLOWING
        })
        .await;
    let before = operator.sound_packets();
    let deadline = tokio::time::Instant::now() + STEP;
    while operator.sound_packets() < before + FLOWING {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the operator should hear the phone after the move: {} packets of sound since",
            operator.sound_packets() - before
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = first.heard();
    moved
        .wait("the moved media keep flowing", STEP, |h| {
            h.packets >= FLOWING * 2
        })
        .await;
    assert_eq!(
        first.heard().packets,
        after.packets,
        "nothing goes to the old address once moved"
    );

    assert_eq!(
        operator_hangs_up(&app.url(""), &op_token, &call_id).await,
        204
    );
    sipp::completed(
        phone,
        STEP,
        "the re-INVITE answered 200, then the bridge's BYE",
    )
    .await;
}
