use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn embedded_defaults_load_and_validate() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults");
    assert_eq!(s.languages.core.len(), 8);
    assert_eq!(s.languages.operator.as_str(), "zh");
    assert!(s.redis.url.is_empty());
    assert_eq!(s.server.listen.port(), 8080);
}

#[test]
fn environment_overrides_nested_keys() {
    let s = Settings::load_with_env(
        None,
        env(&[
            ("HOTLINE__REDIS__URL", "redis://127.0.0.1:7000/"),
            ("HOTLINE__DISPATCH__RING_TIMEOUT_S", "20"),
            ("OTHER__REDIS__URL", "ignored"),
        ]),
    )
    .expect("env");
    assert_eq!(s.redis.url, "redis://127.0.0.1:7000/");
    assert_eq!(s.dispatch.ring_timeout_s, 20);
}

#[test]
fn sentinel_settings_take_the_place_of_the_url() {
    let s = Settings::load_with_env(
        None,
        env(&[
            ("HOTLINE__REDIS__SENTINEL_MASTER", "hotline"),
            (
                "HOTLINE__REDIS__SENTINELS",
                "[\"10.0.0.1:26379\", \"redis://:pw@10.0.0.2:26379/\"]",
            ),
        ]),
    )
    .expect("sentinel settings");
    assert_eq!(s.redis.sentinels.len(), 2);
    assert!(s.redis.is_set() && s.redis.url.is_empty());

    let cases = [
        ("sentinels = [\"a:1\"]", "redis.sentinel_master"),
        ("sentinel_master = \"m\"", "redis.sentinels"),
        (
            "sentinel_master = \"m\"\nsentinels = [\"a\"]",
            "redis.sentinels",
        ),
        (
            "sentinel_master = \"m\"\nsentinels = [\"a:1\"]\nurl = \"redis://b:2/\"",
            "redis.url",
        ),
    ];
    for (toml, key) in cases {
        let err = Settings::from_toml_str(&format!("[redis]\n{toml}"))
            .expect_err(toml)
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[test]
fn a_bad_value_names_its_key() {
    let err = Settings::load_with_env(None, env(&[("HOTLINE__DISPATCH__RING_TIMEOUT_S", "soon")]))
        .expect_err("must fail")
        .to_string();
    assert!(err.contains("dispatch.ring_timeout_s"), "{err}");

    let err = Settings::from_toml_str("[languages]\nextended = [\"zh\"]")
        .expect_err("must fail")
        .to_string();
    assert!(err.contains("languages.operator"), "{err}");

    let err = Settings::from_toml_str("[server]\nlisten = \"nowhere\"")
        .expect_err("must fail")
        .to_string();
    assert!(err.contains("server.listen"), "{err}");
}

#[test]
fn unknown_keys_are_rejected() {
    let err = Settings::from_toml_str("[dispatch]\nring_timout_s = 3")
        .expect_err("must fail")
        .to_string();
    assert!(err.contains("ring_timout_s"), "{err}");
}

#[test]
fn a_public_url_gives_the_nodes_websocket_url() {
    let s = Settings::from_toml_str("[server]\npublic_url = \"https://node-a.example/\"")
        .expect("https");
    assert_eq!(
        s.server.ws_url().as_deref(),
        Some("wss://node-a.example/ws")
    );
    let s =
        Settings::from_toml_str("[server]\npublic_url = \"http://127.0.0.1:9000\"").expect("http");
    assert_eq!(s.server.ws_url().as_deref(), Some("ws://127.0.0.1:9000/ws"));
    let s = Settings::from_toml_str("").expect("defaults");
    assert_eq!(s.server.ws_url(), None);
    let err = Settings::from_toml_str("[server]\npublic_url = \"node-a.example\"")
        .expect_err("must fail")
        .to_string();
    assert!(err.contains("server.public_url"), "{err}");
}

#[test]
fn a_redis_password_never_shows_in_debug_output() {
    let mut s = Settings::load_with_env(None, env(&[])).expect("defaults");
    for (url, shown) in [
        (
            "redis://:s3cret@10.0.0.5:6379/0",
            "redis://:***@10.0.0.5:6379/0",
        ),
        (
            "rediss://pool:s3cret@redis.example/1",
            "rediss://pool:***@redis.example/1",
        ),
        ("redis://s3cret@10.0.0.5", "redis://***@10.0.0.5"),
        ("redis://10.0.0.5:6379", "redis://10.0.0.5:6379"),
    ] {
        s.redis.url = url.into();
        s.redis.sentinels = vec![url.into()];
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains(shown), "{shown} in {printed}");
    }
}

#[test]
fn media_socket_buffers_default_to_4_mib_and_nonsense_is_refused() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults");
    assert_eq!(s.media.socket_buffer_bytes, 4 << 20);
    let s = Settings::load_with_env(
        None,
        env(&[("HOTLINE__MEDIA__SOCKET_BUFFER_BYTES", "16777216")]),
    )
    .expect("16 MiB");
    assert_eq!(s.media.socket_buffer_bytes, 16 << 20);
    for bad in ["0", "4096", "2147483648"] {
        let err =
            Settings::load_with_env(None, env(&[("HOTLINE__MEDIA__SOCKET_BUFFER_BYTES", bad)]))
                .expect_err(bad)
                .to_string();
        assert!(
            err.contains("media.socket_buffer_bytes") && err.contains("64 KiB"),
            "{bad}: {err}"
        );
    }
    let err = Settings::from_toml_str("[media]\nsocket_buffer_bytes = -1")
        .expect_err("negative")
        .to_string();
    assert!(err.contains("socket_buffer_bytes"), "{err}");
}

#[test]
fn media_real_time_priority_is_off_by_default_and_a_fifo_priority_when_set() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults");
    assert_eq!(s.media.realtime_priority, 0);
    let s = Settings::load_with_env(None, env(&[("HOTLINE__MEDIA__REALTIME_PRIORITY", "10")]))
        .expect("10");
    assert_eq!(s.media.realtime_priority, 10);
    let err = Settings::from_toml_str("[media]\nrealtime_priority = 100")
        .expect_err("above 99")
        .to_string();
    assert!(
        err.contains("media.realtime_priority") && err.contains("1 to 99"),
        "{err}"
    );
    let err = Settings::from_toml_str("[media]\nrealtime_priority = -1")
        .expect_err("negative")
        .to_string();
    assert!(err.contains("realtime_priority"), "{err}");
}

#[test]
fn tls_files_go_together_and_must_be_readable() {
    let err = Settings::from_toml_str("[server]\ntls_cert = \"cert.pem\"")
        .expect_err("key missing")
        .to_string();
    assert!(err.contains("server.tls_key"), "{err}");
    let err = Settings::from_toml_str(
        "[server]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"",
    )
    .expect_err("unreadable")
    .to_string();
    assert!(err.contains("server.tls_cert"), "{err}");
    assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    let s = Settings::from_toml_str("").expect("defaults");
    assert!(!s.server.tls());
}

#[test]
fn relay_only_needs_a_turn_url() {
    let err = Settings::from_toml_str("[media]\nturn_relay_only = true")
        .expect_err("no TURN URL")
        .to_string();
    assert!(err.contains("media.turn_relay_only"), "{err}");
    let err = Settings::from_toml_str(
        "[media]\nturn_relay_only = true\nturn_urls = [\"stun:stun.example.org\"]",
    )
    .expect_err("STUN only")
    .to_string();
    assert!(err.contains("turn:"), "{err}");
    let s = Settings::from_toml_str(
        "[media]\nturn_relay_only = true\nturn_urls = [\"turn:turn.example.org:3479\"]",
    )
    .expect("a TURN URL");
    assert!(s.media.turn_relay_only);
}
