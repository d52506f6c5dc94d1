//! Checks across keys, each refusal naming the key at fault and what it must be.

use super::{invalid, ConfigError, Settings};

/// More media loops than this is a typo, not a machine.
const MAX_MEDIA_SHARDS: usize = 256;
/// Socket buffers outside this range are a typo: under 64 KiB drops the bursts the buffer is for;
/// the kernel takes at most `i32::MAX / 2` (it doubles what is asked for).
const MEDIA_SOCKET_BUFFER: std::ops::RangeInclusive<usize> = (64 << 10)..=(1 << 30);

impl Settings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.languages;
        if l.core.is_empty() {
            return Err(invalid("languages.core", "at least one language is needed"));
        }
        let served = l.served();
        for (i, lang) in served.iter().enumerate() {
            if served[..i].contains(lang) {
                return Err(invalid("languages", format!("{lang} is listed twice")));
            }
            if *lang == l.operator {
                return Err(invalid(
                    "languages.operator",
                    format!(
                        "{lang} is the operators' language and cannot also need an interpreter"
                    ),
                ));
            }
        }
        self.redis.validate()?;
        self.records.validate()?;
        if self.redis.key_prefix.is_empty()
            || !self
                .redis
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':')
        {
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty letters, digits, '-', '_' or ':'",
            ));
        }
        let m = &self.media;
        if m.shards > MAX_MEDIA_SHARDS {
            return Err(invalid(
                "media.shards",
                format!("at most {MAX_MEDIA_SHARDS} (0 = one per core)"),
            ));
        }
        if !MEDIA_SOCKET_BUFFER.contains(&m.socket_buffer_bytes) {
            return Err(invalid(
                "media.socket_buffer_bytes",
                format!(
                    "must be between {} (64 KiB) and {} (1 GiB) bytes, e.g. 4194304 (4 MiB)",
                    MEDIA_SOCKET_BUFFER.start(),
                    MEDIA_SOCKET_BUFFER.end()
                ),
            ));
        }
        if m.realtime_priority > 99 {
            return Err(invalid(
                "media.realtime_priority",
                "a SCHED_FIFO priority is 1 to 99 (0 = the normal scheduler)",
            ));
        }
        if m.udp_port != 0 && m.udp_port as usize + m.shards.max(1) > 65536 {
            return Err(invalid(
                "media.udp_port",
                "udp_port + shards - 1 must be a port (at most 65535)",
            ));
        }
        if self.redis.response_timeout_ms == 0 {
            return Err(invalid("redis.response_timeout_ms", "must be above 0"));
        }
        let turn = m
            .turn_urls
            .iter()
            .any(|u| u.starts_with("turn:") || u.starts_with("turns:"));
        if m.turn_relay_only && !turn {
            return Err(invalid(
                "media.turn_relay_only",
                "needs a turn: or turns: URL in media.turn_urls (callers' media would have no way in)",
            ));
        }
        let p = &self.server.public_url;
        let http = p.starts_with("http://") || p.starts_with("https://");
        if !p.is_empty() && !http {
            return Err(invalid(
                "server.public_url",
                "must be empty or start with http:// or https://",
            ));
        }
        let sv = &self.server;
        if sv.tls_cert.is_empty() != sv.tls_key.is_empty() {
            let missing = if sv.tls_cert.is_empty() {
                "server.tls_cert"
            } else {
                "server.tls_key"
            };
            return Err(invalid(
                missing,
                "server.tls_cert and server.tls_key go together: set both (PEM files) or neither",
            ));
        }
        for (key, path) in [
            ("server.tls_cert", &sv.tls_cert),
            ("server.tls_key", &sv.tls_key),
        ] {
            if !path.is_empty() {
                if let Err(e) = std::fs::File::open(path) {
                    return Err(invalid(key, format!("cannot read {path}: {e}")));
                }
            }
        }
        let d = &self.dispatch;
        if d.ring_timeout_s == 0 {
            return Err(invalid("dispatch.ring_timeout_s", "must be above 0"));
        }
        if d.parallel_offers == 0 {
            return Err(invalid("dispatch.parallel_offers", "must be at least 1"));
        }
        if d.heartbeat_s == 0 || d.presence_ttl_s <= d.heartbeat_s {
            return Err(invalid(
                "dispatch.presence_ttl_s",
                "must be longer than dispatch.heartbeat_s (which must be above 0)",
            ));
        }
        for (from, to) in &d.relay {
            if !served.contains(from) {
                return Err(invalid(
                    &format!("dispatch.relay.{from}"),
                    "not a served language",
                ));
            }
            if !l.all().contains(to) || from == to {
                return Err(invalid(
                    &format!("dispatch.relay.{from}"),
                    format!("relay language {to} must be another configured language"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.detect.threshold) {
            return Err(invalid("detect.threshold", "must be between 0 and 1"));
        }
        if self.detect.max_text_bytes == 0 {
            return Err(invalid("detect.max_text_bytes", "must be above 0"));
        }
        let c = &self.calls;
        if c.create_per_minute == 0 || c.create_burst == 0 {
            return Err(invalid(
                "calls.create_per_minute",
                "create_per_minute and create_burst must be at least 1",
            ));
        }
        if c.operator_session_hours == 0 {
            return Err(invalid("calls.operator_session_hours", "must be above 0"));
        }
        if c.max_queue_wait_s > 0 && c.queue_wait_reply_s == 0 {
            return Err(invalid(
                "calls.queue_wait_reply_s",
                "must be above 0 when max_queue_wait_s is set",
            ));
        }
        let m = &self.limits;
        for (key, v) in [
            ("limits.header_read_timeout_s", m.header_read_timeout_s),
            ("limits.hello_timeout_s", m.hello_timeout_s),
            ("limits.ws_messages_per_s", m.ws_messages_per_s.into()),
            ("limits.ws_messages_burst", m.ws_messages_burst.into()),
            ("limits.offers_per_minute", m.offers_per_minute.into()),
            ("limits.public_per_minute", m.public_per_minute.into()),
            ("limits.public_burst", m.public_burst.into()),
            ("limits.login_per_minute", m.login_per_minute.into()),
            ("limits.login_burst", m.login_burst.into()),
            ("limits.password_checks", m.password_checks.into()),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be above 0"));
            }
        }
        let n = &self.node;
        if n.lease_renew_ms == 0 || n.lease_ttl_ms < 2 * n.lease_renew_ms {
            return Err(invalid(
                "node.lease_ttl_ms",
                "must be at least twice node.lease_renew_ms (which must be above 0), so one late \
                 renewal does not lose the lease",
            ));
        }
        if n.sweep_every_ms == 0 {
            return Err(invalid("node.sweep_every_ms", "must be above 0"));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        for (id, u) in &self.universities {
            if crate::domain::UniversityId::parse(id).is_err() {
                return Err(invalid(
                    &format!("universities.{id}"),
                    "not a valid university id",
                ));
            }
            let h = &u.api_key_sha256;
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    &format!("universities.{id}.api_key_sha256"),
                    "must be 64 hex digits (SHA-256 of the key; see `hotline-bridge new-secret`)",
                ));
            }
        }
        for (name, a) in &self.admins {
            let named = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
            if !named {
                return Err(invalid(
                    &format!("admins.{name}"),
                    "an administrator's name is 1-64 letters, digits, '-', '_' or '.'",
                ));
            }
            let h = &a.api_key_sha256;
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(
                    &format!("admins.{name}.api_key_sha256"),
                    "must be 64 hex digits (SHA-256 of the key; see `hotline-bridge new-secret`)",
                ));
            }
        }
        self.sip.validate(&self.languages)?;
        for (name, op) in &self.operators {
            if argon2::PasswordHash::new(&op.password_argon2).is_err() {
                return Err(invalid(
                    &format!("operators.{name}.password_argon2"),
                    "not an argon2 PHC string (see `hotline-bridge new-secret --argon2`)",
                ));
            }
        }
        for (name, s) in &self.supervisors {
            if argon2::PasswordHash::new(&s.password_argon2).is_err() {
                return Err(invalid(
                    &format!("supervisors.{name}.password_argon2"),
                    "not an argon2 PHC string (see `hotline-bridge supervisor add`)",
                ));
            }
        }
        self.dashboard.validate()?;
        Ok(())
    }
}
