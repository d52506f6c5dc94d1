//! RFC 4733 telephone-events on a phone leg: which key a packet names, and `Keys`, which reports
//! each key press once. A press is sent as several packets sharing one RTP timestamp (updates
//! while the key is held, then the end packet three times), so the timestamp tells a new press
//! from the same one. Bytes in, keys out; malformed payloads are ignored, never a panic.

/// The key of the first event of a telephone-event payload (RFC 4733 §2.3: event, end bit and
/// volume, duration); `None` if it is too short or names no key (events 16 and up are tones
/// such as fax or dial tone, not key presses). The end bit is not needed: the timestamp says
/// which packets belong to one press.
pub fn parse(payload: &[u8]) -> Option<char> {
    let [event, _, _, _, ..] = *payload else {
        return None;
    };
    digit_of(event)
}

/// The key of an RFC 4733 DTMF event code: 0-9, then * # A B C D.
pub fn digit_of(event: u8) -> Option<char> {
    match event {
        0..=9 => char::from_digit(u32::from(event), 10),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + (event - 12))),
        _ => None,
    }
}

/// Key presses of one leg, deduplicated by RTP timestamp.
#[derive(Debug, Default)]
pub struct Keys {
    last: Option<u32>,
}

impl Keys {
    /// A telephone-event packet with RTP `timestamp` and `payload`: `Some(key)` at the first
    /// packet of a new press (whichever packet of it arrives first), `None` for the rest.
    pub fn packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let digit = parse(payload)?;
        if self.last == Some(timestamp) {
            return None;
        }
        self.last = Some(timestamp);
        Some(digit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_name_the_sixteen_keys_and_nothing_else() {
        let keys: String = (0..16).filter_map(digit_of).collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(digit_of(16), None, "flash");
        assert_eq!(digit_of(255), None);
    }

    #[test]
    fn one_press_is_reported_once_however_many_packets_carry_it() {
        let mut keys = Keys::default();
        // Key 5 held for three packets, then the end packet sent three times.
        let held = [5, 0x0a, 0x01, 0x40];
        let end = [5, 0x8a, 0x03, 0x20];
        assert_eq!(keys.packet(1000, &held), Some('5'));
        assert_eq!(keys.packet(1000, &held), None);
        assert_eq!(keys.packet(1000, &held), None);
        for _ in 0..3 {
            assert_eq!(keys.packet(1000, &end), None, "end retransmissions");
        }
        // The same key again is a new press: a new timestamp.
        assert_eq!(keys.packet(2600, &held), Some('5'));
        assert_eq!(keys.packet(4200, &[11, 0x8a, 0, 160]), Some('#'));
    }

    #[test]
    fn a_press_whose_first_packets_were_lost_is_reported_at_its_end() {
        let mut keys = Keys::default();
        assert_eq!(keys.packet(7, &[0, 0x8a, 0x03, 0x20]), Some('0'));
        assert_eq!(keys.packet(7, &[0, 0x8a, 0x03, 0x20]), None);
    }

    #[test]
    fn malformed_or_non_key_events_are_ignored() {
        let mut keys = Keys::default();
        assert_eq!(keys.packet(1, &[]), None);
        assert_eq!(keys.packet(1, &[5, 0x0a, 0]), None, "short");
        assert_eq!(keys.packet(1, &[36, 0x0a, 0, 160]), None, "a fax tone");
        assert_eq!(keys.packet(1, &[1, 0x0a, 0, 160]), Some('1'));
        assert_eq!(
            parse(&[3, 0x8a, 0, 160, 9, 9, 9, 9]),
            Some('3'),
            "the first of two"
        );
    }
}
