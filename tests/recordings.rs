//! Call recordings. A real WebRTC call (two test peers sending Opus tones over ICE and
//! DTLS-SRTP on loopback) is recorded leg by leg: each leg's file is Ogg Opus with its headers
//! first and rising granule positions, decodes with libopus to sound, and has its row (path,
//! start, end, size) in the record. A phone leg (PCMU tone over plain RTP, mixed for a browser
//! operator) is recorded as the Opus its voice is encoded to once for the browsers, which decodes
//! to sound. The retention sweep deletes files and rows past the
//! retention, given its clock. Only supervisors list and play recordings (operators 403, no
//! session 401), a play is in the audit, and a byte range answers 206.

use crate::common;

use common::media::spawn_media;
use common::spawn_app;
use common::supervisors::{supervisor_login, with_supervisor};
use common::ws::{operator_login, settings_with_operator};
use hotline_bridge::app::build_state;
use hotline_bridge::config::RecordSettings;
use hotline_bridge::domain::{CallId, ParticipantId, Recording};
use hotline_bridge::drivers::lifecycle::Lifecycle;
use hotline_bridge::drivers::recordings;
use hotline_bridge::drivers::records::Recorder;
use hotline_bridge::engine::RtpTiming;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::sfu::record::OggOpus;
use hotline_bridge::store::{Record, RecordStore, SqlStore};
use hotline_bridge::testkit::{TestPeer, TestPeerOptions};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEADLINE: Duration = Duration::from_secs(20);
/// Packets each leg sends before it leaves (two seconds).
const PACKETS: u64 = 100;

fn pid(s: &str) -> ParticipantId {
    ParticipantId::parse(s).expect("participant id")
}

/// A SQLite record in `dir`, migrated, with its writer.
async fn record_in(dir: &std::path::Path, lifecycle: &Lifecycle) -> Recorder {
    let url = format!("sqlite://{}", dir.join("hotline.db").display());
    let store = SqlStore::open(&url).expect("store");
    let recorder = Recorder::start(Arc::new(store), 10_000, lifecycle);
    let mut progress = recorder.progress();
    tokio::time::timeout(DEADLINE, progress.wait_for(|p| p.migrated))
        .await
        .expect("migrated in time")
        .expect("writer running");
    recorder
}

fn recording_settings(dir: &std::path::Path) -> RecordSettings {
    let mut s = common::test_settings().records;
    s.database = format!("sqlite://{}", dir.join("hotline.db").display());
    s.recording = true;
    s.recording_dir = dir.join("recordings").display().to_string();
    s
}

/// Until `call` has `n` recordings that have ended (the writer thread and the record's queue
/// work on their own), checked every 50 ms up to `DEADLINE`.
async fn ended_recordings(store: &dyn RecordStore, call: &CallId, n: usize) -> Vec<Recording> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let found = store.recordings_of_call(call).await.expect("list");
        if found.len() == n && found.iter().all(|r| r.ended_at.is_some()) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "recordings of {call}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a recording's file holds: its header packets, each audio packet, and the granule
/// position of each page, in file order.
struct OggFile {
    head: Vec<u8>,
    tags: Vec<u8>,
    audio: Vec<Vec<u8>>,
    granules: Vec<u64>,
    ends_stream: bool,
}

fn read_ogg(path: &str) -> OggFile {
    let bytes = std::fs::read(path).expect("recording file");
    let mut reader = ogg::reading::PacketReader::new(std::io::Cursor::new(bytes));
    let mut packets = Vec::new();
    let mut granules = Vec::new();
    let mut ends_stream = false;
    while let Some(p) = reader.read_packet().expect("valid Ogg") {
        if p.last_in_page() {
            granules.push(p.absgp_page());
        }
        ends_stream = p.last_in_stream();
        packets.push(p.data);
    }
    assert!(packets.len() > 2, "headers and audio");
    let mut packets = packets.into_iter();
    OggFile {
        head: packets.next().expect("head"),
        tags: packets.next().expect("tags"),
        audio: packets.collect(),
        granules,
        ends_stream,
    }
}

/// Decodes every audio packet (an empty frame is concealed); the RMS of what decoded.
fn decoded_rms(audio: &[Vec<u8>]) -> f64 {
    let mut decoder = opus::Decoder::new(48_000, opus::Channels::Mono).expect("decoder");
    let mut pcm = vec![0i16; 5760];
    let (mut sum, mut n) = (0f64, 0usize);
    for packet in audio {
        let got = decoder
            .decode(packet, &mut pcm, false)
            .expect("libopus decodes it");
        for s in &pcm[..got] {
            sum += f64::from(*s) * f64::from(*s);
        }
        n += got;
    }
    (sum / n.max(1) as f64).sqrt()
}

#[tokio::test]
async fn a_real_webrtc_call_is_recorded_leg_by_leg_as_ogg_opus_that_decodes_to_sound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lifecycle = Lifecycle::new();
    let recorder = record_in(dir.path(), &lifecycle).await;
    let sink =
        recordings::start(&recording_settings(dir.path()), Some(recorder.clone())).expect("writer");
    let (media, _media) = spawn_media().await;
    media.record_to(Some(sink)).await.expect("record");
    let config = PeerConfig::new().expect("peer config");
    let call = CallId::parse("call-recorded-1").expect("call id");
    let mut peers = Vec::new();
    for (tag, (who, hz)) in [("caller", 440.0), ("operator", 660.0)]
        .into_iter()
        .enumerate()
    {
        let opts = TestPeerOptions {
            tone_hz: Some(hz),
            count_sound: false,
            ..TestPeerOptions::default()
        };
        let peer = TestPeer::join(&media, &config, &call, &pid(who), tag as u32 + 1, opts)
            .await
            .expect("join");
        assert!(peer.wait_connected(CONNECT_TIMEOUT).await, "{who} connects");
        peers.push((who, peer));
    }
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while peers.iter().any(|(_, p)| p.sent() < PACKETS) {
        assert!(tokio::time::Instant::now() < deadline, "peers send");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (who, _) in &peers {
        media.leave(call.clone(), pid(who)).await.expect("leave");
    }
    let store = recorder.store().clone();
    let rows = ended_recordings(store.as_ref(), &call, 2).await;
    for row in &rows {
        let who = row.participant.as_str();
        assert!(row.path.contains("call-recorded-1"), "{row:?}");
        assert!(row.ended_at >= Some(row.started_at), "{row:?}");
        let size = std::fs::metadata(&row.path).expect("file").len();
        assert_eq!(row.bytes, size, "{who}: the row has the file's size");
        let file = read_ogg(&row.path);
        assert_eq!(&file.head[..8], b"OpusHead", "{who}");
        assert!(file.tags.starts_with(b"OpusTags"), "{who}");
        assert!(
            String::from_utf8_lossy(&file.tags).contains(&format!("PARTICIPANT={who}")),
            "{who}"
        );
        assert!(file.ends_stream, "{who}: the last packet ends the stream");
        // Two header pages at 0, then audio pages rising.
        assert_eq!(&file.granules[..2], [0, 0], "{who}");
        let audio = &file.granules[2..];
        assert!(audio.len() >= 2, "{who}: {audio:?}");
        assert!(audio.windows(2).all(|w| w[0] < w[1]), "{who}: {audio:?}");
        assert!(
            file.audio.len() as u64 >= PACKETS * 9 / 10,
            "{who}: {} packets",
            file.audio.len()
        );
        assert_eq!(
            *audio.last().expect("pages"),
            file.audio.len() as u64 * 960,
            "{who}: the granule counts every 20 ms packet"
        );
        let rms = decoded_rms(&file.audio);
        assert!(
            rms > 500.0,
            "{who}: the tone decodes to sound (RMS {rms:.0})"
        );
    }
    drop(media);
    lifecycle.root().cancel();
}

/// A small Ogg Opus file of a real tone (one second), as the writer makes them.
fn tone_file(path: &std::path::Path) -> u64 {
    std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
    let file = std::fs::File::create(path).expect("create");
    let mut enc =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    let mut ogg = OggOpus::new(std::io::BufWriter::new(file), 1, &[]).expect("ogg");
    let mut out = vec![0u8; 1500];
    for i in 0..50u32 {
        let pcm: Vec<i16> = (0..960)
            .map(|n| {
                let t = f64::from(i * 960 + n) / 48_000.0;
                (8000.0 * (t * 440.0 * std::f64::consts::TAU).sin()) as i16
            })
            .collect();
        let len = enc.encode(&pcm, &mut out).expect("encode");
        let timing = RtpTiming {
            seq: u64::from(i),
            ts: i * 960,
            marker: false,
        };
        ogg.push(timing, &out[..len]).expect("push");
    }
    ogg.finish().expect("finish");
    std::fs::metadata(path).expect("file").len()
}

fn row(id: &str, call: &str, path: &std::path::Path, started_at: u64) -> Recording {
    Recording {
        id: id.into(),
        call_id: CallId::parse(call).expect("call id"),
        participant: pid("caller"),
        path: path.display().to_string(),
        started_at,
        ended_at: Some(started_at + 1_000),
        bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

#[tokio::test]
async fn the_sweep_deletes_files_and_rows_past_the_retention_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lifecycle = Lifecycle::new();
    let recorder = record_in(dir.path(), &lifecycle).await;
    let day = 86_400_000u64;
    let now = 100 * day;
    let old = dir.path().join("recordings/call-old/caller-a.opus");
    let fresh = dir.path().join("recordings/call-new/caller-b.opus");
    tone_file(&old);
    tone_file(&fresh);
    // 31 days old and 29 days old, against a 30-day retention; and a row whose file is gone.
    recorder.send(Record::Recording(row(
        "a",
        "call-old",
        &old,
        now - 31 * day,
    )));
    recorder.send(Record::Recording(row(
        "b",
        "call-new",
        &fresh,
        now - 29 * day,
    )));
    let missing = dir.path().join("recordings/call-gone/caller-c.opus");
    recorder.send(Record::Recording(row(
        "c",
        "call-gone",
        &missing,
        now - 40 * day,
    )));
    recorder.settled().await;
    let store = recorder.store().clone();
    let deleted = recordings::sweep(store.as_ref(), now, 30)
        .await
        .expect("sweep");
    assert_eq!(deleted, 2);
    assert!(!old.exists(), "the old file is deleted");
    assert!(
        !old.parent().expect("folder").exists(),
        "with its empty folder"
    );
    assert!(fresh.exists(), "the fresh file stays");
    assert_eq!(store.recording("a").await.expect("read"), None);
    assert_eq!(store.recording("c").await.expect("read"), None);
    assert!(store.recording("b").await.expect("read").is_some());
    // Nothing more is due; 0 days keeps everything.
    assert_eq!(
        recordings::sweep(store.as_ref(), now, 30)
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(
        recordings::sweep(store.as_ref(), now * 10, 0)
            .await
            .expect("sweep"),
        0
    );
    assert!(store.recording("b").await.expect("read").is_some());
    lifecycle.root().cancel();
}

async fn get(url: &str, token: Option<&str>, range: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(range) = range {
        r = r.header("Range", range);
    }
    r.send().await.expect("request")
}

#[tokio::test]
async fn only_supervisors_list_and_play_recordings_and_every_play_is_audited() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = with_supervisor(settings_with_operator());
    settings.records = recording_settings(dir.path());
    let app = spawn_app(build_state(settings).await.expect("state")).await;
    let recorder = app.state.records.clone().expect("record");
    let mut progress = recorder.progress();
    progress.wait_for(|p| p.migrated).await.expect("migrated");
    let file = dir.path().join("recordings/call-played/caller-r1.opus");
    let size = tone_file(&file);
    // Started now: the node's own retention sweep (90 days) leaves it alone.
    let now = hotline_bridge::drivers::clock::now_ms();
    recorder.send(Record::Recording(row("r1", "call-played", &file, now)));
    recorder.settled().await;

    let list = app.url("/api/supervisor/calls/call-played/recordings");
    let audio = app.url("/api/supervisor/recordings/r1/audio");
    let operator = operator_login(&app.url("")).await;
    for (token, status) in [(None, 401), (Some(operator.as_str()), 403)] {
        for url in [&list, &audio] {
            let r = get(url, token, None).await;
            assert_eq!(r.status().as_u16(), status, "{url}");
            let body: Value = r.json().await.expect("json error");
            assert!(body["error"]["code"].is_string(), "{body}");
        }
    }

    let sup = supervisor_login(&app.url("")).await;
    let r = get(&list, Some(&sup), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let listed: Value = r.json().await.expect("json");
    let recs = listed["recordings"].as_array().expect("recordings");
    assert_eq!(recs.len(), 1, "{listed}");
    assert_eq!(recs[0]["participant"], "caller");
    assert_eq!(recs[0]["bytes"], size);
    assert_eq!(recs[0]["audio"], "/api/supervisor/recordings/r1/audio");

    let r = get(&audio, Some(&sup), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "audio/ogg");
    let body = r.bytes().await.expect("body");
    assert_eq!(body.len() as u64, size);
    assert!(body.starts_with(b"OggS"));

    let r = get(&audio, Some(&sup), Some("bytes=4-9")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], format!("bytes 4-9/{size}"));
    assert_eq!(r.bytes().await.expect("body").len(), 6);
    let r = get(&audio, Some(&sup), Some(&format!("bytes={size}-"))).await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let r = get(
        &app.url("/api/supervisor/recordings/nope/audio"),
        Some(&sup),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // One play from the start; the range from byte 4 is the same play going on.
    let r = get(
        &app.url("/api/supervisor/audit?limit=1000"),
        Some(&sup),
        None,
    )
    .await;
    let audit: Value = r.json().await.expect("json");
    let plays: Vec<&Value> = audit["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "recording_played")
        .collect();
    assert_eq!(plays.len(), 1, "{audit}");
    assert_eq!(plays[0]["call_id"], "call-played");
    let detail: Value =
        serde_json::from_str(plays[0]["detail"].as_str().expect("detail")).expect("detail json");
    assert_eq!(detail["supervisor"], common::supervisors::SUPERVISOR);
    assert_eq!(detail["recording"], "r1");
}

#[tokio::test]
async fn a_phone_leg_is_recorded_as_the_opus_its_voice_is_encoded_to_for_the_browsers() {
    use hotline_bridge::domain::Role;
    use hotline_bridge::drivers::media::PhoneLeg;
    use hotline_bridge::engine::{AudioRoutes, Controls};
    use hotline_bridge::sfu::mix::{Codec, G711};

    let dir = tempfile::tempdir().expect("temp dir");
    let lifecycle = Lifecycle::new();
    let recorder = record_in(dir.path(), &lifecycle).await;
    let sink =
        recordings::start(&recording_settings(dir.path()), Some(recorder.clone())).expect("writer");
    let (media, _media) = spawn_media().await;
    media.record_to(Some(sink)).await.expect("record");
    let call = CallId::parse("call-phone-recorded").expect("call id");
    let (phone_id, operator_id) = (pid("phone-caller"), pid("operator"));
    let routes = AudioRoutes::compute(
        &[
            (phone_id.clone(), Role::Caller),
            (operator_id.clone(), Role::Operator),
        ],
        &Controls::default(),
    );
    media
        .set_routes(call.clone(), routes)
        .await
        .expect("routes");
    let phone = common::phone_rtp::PhoneRtp::start().await;
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("leg socket");
    let leg = PhoneLeg {
        call: call.clone(),
        participant: phone_id.clone(),
        codec: Codec::G711(G711::Pcmu),
        payload_type: 0,
        srtp: None,
        telephone_event: None,
        remote: phone.addr,
        rtp_timeout: Duration::from_secs(60),
    };
    media
        .join_phone(leg, socket, tokio_util::sync::CancellationToken::new())
        .await
        .expect("phone leg");
    let config = PeerConfig::new().expect("peer config");
    let opts = TestPeerOptions {
        tone_hz: Some(660.0),
        ..TestPeerOptions::default()
    };
    let operator = TestPeer::join(&media, &config, &call, &operator_id, 1, opts)
        .await
        .expect("join");
    assert!(
        operator.wait_connected(CONNECT_TIMEOUT).await,
        "operator connects"
    );
    // The operator hears the phone's tone: its voice is being encoded as Opus.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while operator.sound_packets() < PACKETS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the operator hears the phone"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    media.end_call(call.clone()).await.expect("end");
    let store = recorder.store().clone();
    let rows = ended_recordings(store.as_ref(), &call, 2).await;
    let row = rows
        .iter()
        .find(|r| r.participant == phone_id)
        .expect("the phone leg's recording");
    let file = read_ogg(&row.path);
    assert_eq!(&file.head[..8], b"OpusHead");
    assert!(
        file.audio.len() as u64 >= PACKETS / 2,
        "{}",
        file.audio.len()
    );
    let rms = decoded_rms(&file.audio);
    assert!(
        rms > 500.0,
        "the phone's tone decodes to sound (RMS {rms:.0})"
    );
    lifecycle.root().cancel();
}
