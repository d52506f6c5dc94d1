//! `hotline-bridge admin …` as a process against a real redis-server: `stuck` lists an
//! interpreter held by a node that is gone, `release` frees them and `end-call` ends a call, both
//! audited with who did it; doing it again says there is nothing to do (exit 3); bad input is
//! one readable line and exit 2.
use crate::common;

use common::fixtures::{interpreter, rung};
use common::redis::TestRedis;
use hotline_bridge::domain::EventKind;
use hotline_bridge::domain::{CallId, InterpreterId, Level, NodeId};
use hotline_bridge::drivers::clock::now_ms;
use hotline_bridge::pool::{InterpreterPool, RedisPool, Status, ADMIN_END_CALL};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hotline-bridge");
/// A node that never held a lease here: whatever it holds is stuck.
const GONE: NodeId = NodeId::new(0xdead);

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn admin(redis_url: &str, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .arg("admin")
        .args(args)
        .env_remove("HOTLINE_CONFIG")
        .env("HOTLINE__REDIS__URL", redis_url)
        .output()
        .expect("run hotline-bridge");
    Run {
        code: out.status.code().expect("exit code"),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit 2 with exactly one line on stderr naming the problem.
fn bad_input(r: &Run, says: &str) {
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert_eq!(r.err.lines().count(), 1, "one line: {:?}", r.err);
    assert!(r.err.starts_with("hotline-bridge: "), "{:?}", r.err);
    assert!(r.err.contains(says), "{:?} should say {says:?}", r.err);
}

fn pool(redis: &TestRedis) -> RedisPool {
    let mut s = common::test_settings().redis;
    s.url = redis.url();
    RedisPool::open(&s).expect("pool")
}

/// `id`, busy on `call` through an offer accepted for node `GONE`.
async fn held(pool: &RedisPool, id: &str, offer: &str, call: &str) {
    let iid = InterpreterId::parse(id).expect("id");
    let profile = interpreter(id).name("Ana").speaks("pt", Level::Native);
    pool.upsert(&profile.always_on_shift().build())
        .await
        .expect("upsert");
    let now = now_ms();
    let offer = rung(pool, GONE, offer, call, "pt", &iid, now).await;
    pool.respond(&offer.id, &iid, true, now + 1)
        .await
        .expect("accept");
    pool.call_opened(&offer.call_id, GONE, "hash", now)
        .await
        .expect("record");
}

async fn status(pool: &RedisPool, id: &str) -> Status {
    let iid = InterpreterId::parse(id).expect("id");
    pool.state(&iid, now_ms())
        .await
        .expect("state")
        .expect("known")
        .status
}

#[tokio::test]
async fn stuck_release_and_end_call_from_the_command_line() {
    let redis = TestRedis::start();
    let url = redis.url();
    let pool = pool(&redis);

    let r = admin(&url, &["stuck"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("interpreters held:\n  (none)"), "{}", r.out);

    held(&pool, "ana", "o1", "c1").await;
    held(&pool, "bea", "o2", "c2").await;
    let r = admin(&url, &["stuck"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let line = r
        .out
        .lines()
        .find(|l| l.trim_start().starts_with("ana "))
        .expect("a line for ana");
    for part in [
        "busy",
        "call c1",
        "offer o1",
        &GONE.to_string(),
        "lost",
        "STUCK",
    ] {
        assert!(line.contains(part), "{line:?} lacks {part:?}");
    }
    let r = admin(&url, &["stuck", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&r.out).expect("json");
    assert_eq!(json["interpreters"][0]["interpreter"], "ana");
    assert_eq!(json["interpreters"][0]["stuck"], true);

    // Release: available at once, audited with who.
    let r = admin(&url, &["release", "ana", "--by", "wang.li"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("released ana"), "{}", r.out);
    assert_eq!(status(&pool, "ana").await, Status::Available);
    let events = pool.recent_events(50).await.expect("events");
    let e = events
        .iter()
        .find(|e| e.kind == EventKind::AdminRelease)
        .expect("audited");
    assert!(e.detail.contains("cli:wang.li"), "{}", e.detail);
    let again = admin(&url, &["release", "ana", "--by", "wang.li"]);
    assert_eq!(again.code, 3, "{}", again.err);
    assert!(again.err.contains("nothing to release"), "{}", again.err);

    // End a call: its interpreter is freed, the record ended, audited.
    let r = admin(&url, &["end-call", "c2", "--by", "wang.li"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("interpreters freed: bea"), "{}", r.out);
    assert_eq!(status(&pool, "bea").await, Status::Available);
    let rec = pool
        .call_record(&CallId::parse("c2").expect("id"))
        .await
        .expect("record")
        .expect("known");
    assert_eq!(rec.why, ADMIN_END_CALL);
    let events = pool.recent_events(50).await.expect("events");
    assert!(events
        .iter()
        .any(|e| e.kind == EventKind::AdminEndCall && e.detail.contains("cli:wang.li")));
    let again = admin(&url, &["end-call", "c2", "--by", "wang.li"]);
    assert_eq!(again.code, 3, "{}", again.err);
    assert_eq!(admin(&url, &["stuck"]).out.matches("STUCK").count(), 0);
}

#[test]
fn bad_input_is_one_line_and_exit_two() {
    let redis = TestRedis::start();
    let url = redis.url();
    bad_input(&admin(&url, &["release", "Not An Id"]), "interpreter id");
    bad_input(
        &admin(&url, &["release", "nobody"]),
        "no interpreter nobody",
    );
    bad_input(&admin(&url, &["end-call", "nope"]), "no call nope");
    bad_input(&admin(&url, &["end-call", "x y"]), "call id");
    bad_input(
        &admin(&url, &["release", "ana", "--by", "two words"]),
        "--by",
    );
    bad_input(&admin("", &["stuck"]), "redis.url is not set");
}
