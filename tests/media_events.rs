//! The media plane reports what consoles need, over real UDP on loopback: `Connected` when a peer
//! is up, `Slots` naming the receive slot (by the client's own mid) that carries each source,
//! `Levels` from the RFC 6464 header extension, `Silent` when a connected participant stops
//! sending, `Disconnected` when a peer goes away without leaving; and bad input to `MediaHandle`
//! gets a clear error.
use crate::common;

use common::media::{spawn_media, Events};
use hotline_bridge::domain::{CallId, ParticipantId, Role};
use hotline_bridge::drivers::media::{MediaError, MediaEvent};
use hotline_bridge::engine::{AudioRoutes, Controls};
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::sfu::SfuError;
use hotline_bridge::testkit::{TestPeer, TestPeerOptions};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn pid(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_slots_levels_silent_and_disconnected_are_reported() {
    let (media, _stop) = spawn_media().await;
    let mut events = Events::new(&media);
    let config = PeerConfig::new().expect("config");
    let call = CallId::random();
    let (caller, operator) = (pid("caller"), pid("operator"));
    let routes = AudioRoutes::compute(
        &[
            (caller.clone(), Role::Caller),
            (operator.clone(), Role::Operator),
        ],
        &Controls::default(),
    );
    media
        .set_routes(call.clone(), routes)
        .await
        .expect("routes");
    let loud = TestPeerOptions {
        level: 20,
        ..TestPeerOptions::default()
    };
    let quiet = TestPeerOptions {
        level: 50,
        ..TestPeerOptions::default()
    };
    let c = TestPeer::join(&media, &config, &call, &caller, 1, loud)
        .await
        .expect("caller joins");
    let o = TestPeer::join(&media, &config, &call, &operator, 2, quiet)
        .await
        .expect("operator joins");
    for who in [&caller, &operator] {
        events
            .wait(
                "connected",
                WAIT,
                |e| matches!(e, MediaEvent::Connected { participant, .. } if participant == who),
            )
            .await;
    }

    // The slot event names the caller's own mid for the operator, and the audio arrives there.
    let slots = match events
        .wait("slots", WAIT, |e| {
            matches!(e, MediaEvent::Slots { participant, slots, .. }
            if *participant == caller && slots.iter().any(|(_, s)| s.as_ref() == Some(&operator)))
        })
        .await
    {
        MediaEvent::Slots { slots, .. } => slots,
        other => panic!("not a slots event: {other:?}"),
    };
    let mids: Vec<&String> = slots.iter().map(|(m, _)| m).collect();
    assert_eq!(
        mids,
        c.slot_mids().iter().collect::<Vec<_>>(),
        "slots by the caller's mids"
    );
    let op_slot = slots
        .iter()
        .position(|(_, s)| s.as_ref() == Some(&operator))
        .expect("operator slot");
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.packets_from(2) < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "caller hears the operator"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = c.take();
    assert_eq!(
        r.by_slot[&op_slot].1,
        vec![2],
        "operator audio on the announced slot"
    );

    // Levels: each sender's RFC 6464 level, unchanged through the SFU (reported when it changes,
    // so once here: both may come in one report or in two).
    let mut levels = Vec::new();
    for who in [&caller, &operator] {
        if levels.iter().any(|(p, _)| p == who) {
            continue;
        }
        let ev = events
            .wait(
                "levels",
                WAIT,
                |e| matches!(e, MediaEvent::Levels { levels, .. } if levels.iter().any(|(p, _)| p == who)),
            )
            .await;
        let MediaEvent::Levels { levels: got, .. } = ev else {
            unreachable!()
        };
        levels.extend(got);
    }
    assert!(levels.contains(&(caller.clone(), 20)), "{levels:?}");
    assert!(levels.contains(&(operator.clone(), 50)), "{levels:?}");

    // The operator's microphone stops: Silent after about two seconds.
    o.set_sending(false);
    let ev = events
        .wait(
            "silent",
            WAIT,
            |e| matches!(e, MediaEvent::Silent { participant, .. } if *participant == operator),
        )
        .await;
    let MediaEvent::Silent { for_ms, .. } = ev else {
        unreachable!()
    };
    assert!((2_000..4_000).contains(&for_ms), "silent for {for_ms} ms");

    // The caller's client goes away without `leave`: Disconnected.
    drop(c);
    events
        .wait(
            "disconnected",
            Duration::from_secs(20),
            |e| matches!(e, MediaEvent::Disconnected { participant, .. } if *participant == caller),
        )
        .await;
    drop(o);
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_leaving_twice_is_fine() {
    let (media, _stop) = spawn_media().await;
    let config = PeerConfig::new().expect("config");
    let call = CallId::random();
    let err = media
        .join(call.clone(), pid("caller"), "not an sdp".into())
        .await
        .expect_err("garbage offer");
    assert!(
        matches!(err, MediaError::Sfu(SfuError::BadOffer(_))),
        "{err}"
    );

    let err = media
        .add_candidate(
            call.clone(),
            pid("caller"),
            "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
        )
        .await
        .expect_err("unknown call");
    assert!(
        matches!(err, MediaError::Sfu(SfuError::UnknownCall(_))),
        "{err}"
    );

    let _peer = TestPeer::join(
        &media,
        &config,
        &call,
        &pid("caller"),
        1,
        TestPeerOptions::default(),
    )
    .await
    .expect("join");
    let err = media
        .add_candidate(
            call.clone(),
            pid("operator"),
            "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
        )
        .await
        .expect_err("unknown participant");
    assert!(
        matches!(err, MediaError::Sfu(SfuError::UnknownParticipant { .. })),
        "{err}"
    );
    let err = media
        .add_candidate(call.clone(), pid("caller"), "candidate:nonsense".into())
        .await
        .expect_err("bad candidate");
    assert!(
        matches!(err, MediaError::Sfu(SfuError::BadCandidate(_))),
        "{err}"
    );
    media
        .add_candidate(
            call.clone(),
            pid("caller"),
            "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host".into(),
        )
        .await
        .expect("a good candidate");

    media
        .leave(call.clone(), pid("caller"))
        .await
        .expect("leave");
    media
        .leave(call.clone(), pid("caller"))
        .await
        .expect("leave again");
    media.end_call(call.clone()).await.expect("end");
    media.end_call(call).await.expect("end again");
}
