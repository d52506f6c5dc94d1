//! `hotline-bridge supervisor add NAME` as a process: it reads the password on standard input and
//! prints the settings entry (TOML and the environment variable) with an argon2 hash of it, which
//! the service's own check accepts for that password only; the printed variable, given to
//! `check-config`, adds the account. A bad name or an empty password is one line and exit 2.

use hotline_bridge::auth::argon2_verify;
use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_hotline-bridge");

fn add(name: &str, stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(["supervisor", "add", name])
        .env_remove("HOTLINE_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hotline-bridge");
    // A refused name exits before reading its input: the pipe may be closed already.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write password: {e}"),
        _ => {}
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn add_prints_an_entry_whose_hash_holds_that_password_and_the_service_takes_it() {
    let (code, out, err) = add("zhao_li", "big screen 7\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("[supervisors.zhao_li]"), "{out}");
    let phc = out
        .lines()
        .find_map(|l| l.strip_prefix("password_argon2 = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("a password_argon2 line");
    assert!(phc.starts_with("$argon2"), "{phc}");
    assert!(argon2_verify("big screen 7", phc));
    assert!(
        !argon2_verify("big screen 7\n", phc),
        "the newline is not the password's"
    );
    assert!(!argon2_verify("big screen", phc));
    let env_line = out
        .lines()
        .find(|l| l.starts_with("HOTLINE__SUPERVISORS__ZHAO_LI__PASSWORD_ARGON2="))
        .expect("an environment line");
    let value = env_line
        .split_once('=')
        .map(|(_, v)| v.trim_matches('\''))
        .expect("value");
    assert_eq!(value, phc);
    // The service reads the account from that variable.
    let check = Command::new(BIN)
        .arg("check-config")
        .env_remove("HOTLINE_CONFIG")
        .env("HOTLINE__SUPERVISORS__ZHAO_LI__PASSWORD_ARGON2", value)
        .output()
        .expect("check-config");
    let shown = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{shown}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(shown.contains("[supervisors.zhao_li]"), "{shown}");
}

#[test]
fn a_bad_name_or_an_empty_password_is_one_line_and_exit_2() {
    for (name, stdin, says) in [
        ("Zhao Li", "pw\n", "lowercase letters"),
        ("", "pw\n", "lowercase letters"),
        ("zhao", "\n", "empty password"),
    ] {
        let (code, out, err) = add(name, stdin);
        assert_eq!(code, 2, "{name:?}: {out}{err}");
        assert!(out.is_empty(), "nothing printed: {out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err:?} should say {says:?}");
    }
}
