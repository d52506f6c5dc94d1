//! Key presses sent as SIP INFO (the older way PBXs relay DTMF, next to RFC 4733 in the RTP):
//! `application/dtmf-relay` ("Signal=5\r\nDuration=160") and `application/dtmf` ("5"). Pure:
//! a content type and a body in, a key or `None` out; nothing a phone sends can make it panic.

/// The key an INFO request carries: one of `0-9 * # A-D`, or `None` if its content type is not a
/// DTMF one or its body names no key. Signal 10 and 11 are read as `*` and `#` (some phones send
/// RFC 4733's event codes).
pub fn digit_from_info(content_type: &str, body: &[u8]) -> Option<char> {
    let media_type = content_type.split(';').next()?.trim();
    let body = std::str::from_utf8(body).ok()?;
    let signal = if media_type.eq_ignore_ascii_case("application/dtmf-relay") {
        body.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })?
    } else if media_type.eq_ignore_ascii_case("application/dtmf") {
        body.trim()
    } else {
        return None;
    };
    key(signal)
}

fn key(signal: &str) -> Option<char> {
    match signal {
        "10" => return Some('*'),
        "11" => return Some('#'),
        _ => {}
    }
    let mut chars = signal.chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() {
        return None;
    }
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies_give_their_signal() {
        let body = b"Signal=5\r\nDuration=160\r\n";
        assert_eq!(digit_from_info("application/dtmf-relay", body), Some('5'));
        assert_eq!(
            digit_from_info(
                "Application/DTMF-Relay; charset=utf-8",
                b"Duration= 250\nsignal = #\n"
            ),
            Some('#')
        );
        assert_eq!(
            digit_from_info("application/dtmf-relay", b"Signal=11"),
            Some('#')
        );
        assert_eq!(
            digit_from_info("application/dtmf-relay", b"Signal=10"),
            Some('*')
        );
        assert_eq!(
            digit_from_info("application/dtmf-relay", b"Signal=d"),
            Some('D')
        );
    }

    #[test]
    fn dtmf_bodies_are_the_key_itself() {
        assert_eq!(digit_from_info("application/dtmf", b"7"), Some('7'));
        assert_eq!(digit_from_info("application/dtmf", b" *\r\n"), Some('*'));
    }

    #[test]
    fn anything_else_is_no_key() {
        assert_eq!(digit_from_info("application/sdp", b"Signal=5"), None);
        assert_eq!(digit_from_info("", b"5"), None);
        assert_eq!(
            digit_from_info("application/dtmf-relay", b"Duration=160"),
            None
        );
        assert_eq!(digit_from_info("application/dtmf-relay", b"Signal="), None);
        assert_eq!(
            digit_from_info("application/dtmf-relay", b"Signal=55"),
            None
        );
        assert_eq!(digit_from_info("application/dtmf", b"E"), None);
        assert_eq!(digit_from_info("application/dtmf", b"\xff\xfe"), None);
        assert_eq!(digit_from_info("application/dtmf", b""), None);
    }
}
