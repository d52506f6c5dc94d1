//! `hotline-bridge import` against a real redis-server: the first import creates every roster
//! entry, a second one changes nothing (idempotent), and an invalid roster writes nothing.
use crate::common;

use common::redis::TestRedis;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hotline-bridge");

fn import(redis: &TestRedis, prefix: &str, file: &Path) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("import")
        .arg(file)
        .env_remove("HOTLINE_CONFIG")
        .env("HOTLINE__REDIS__URL", redis.url())
        .env("HOTLINE__REDIS__KEY_PREFIX", prefix)
        .output()
        .expect("run hotline-bridge");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn importing_the_roster_into_redis_is_idempotent() {
    let redis = TestRedis::start();
    let roster = Path::new(env!("CARGO_MANIFEST_DIR")).join("interpreters.toml");
    let n = common::shipped_roster_size();
    let (code, out, err) = import(&redis, "import-test", &roster);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "imported into the redis pool: {n} created, 0 updated, 0 unchanged"
        )),
        "{out}"
    );
    let (code, out, err) = import(&redis, "import-test", &roster);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("0 created, 0 updated, {n} unchanged")),
        "{out}"
    );
}

#[test]
fn an_invalid_roster_writes_nothing_to_redis() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("interpreters.toml"))
            .expect("read roster");
    // The last entry is broken: nothing before it may be written either.
    let at = text.rfind("timezone = \"").expect("an interpreter");
    let end = at + text[at..].find('\n').expect("line end");
    let broken = format!("{}timezone = \"Nowhere/Land\"{}", &text[..at], &text[end..]);
    let file = dir.path().join("interpreters.toml");
    std::fs::write(&file, broken).expect("write");
    let (code, out, err) = import(&redis, "import-bad", &file);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("timezone: unknown IANA time zone \"Nowhere/Land\""),
        "{err}"
    );
    // Importing the good roster now creates every entry: nothing was left behind by the bad one.
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("interpreters.toml");
    let (code, out, _) = import(&redis, "import-bad", &good);
    assert_eq!(code, 0);
    let n = common::shipped_roster_size();
    assert!(out.contains(&format!("{n} created")), "{out}");
}
