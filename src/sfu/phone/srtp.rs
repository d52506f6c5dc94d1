//! SRTP (RFC 3711) on a phone leg keyed by SDES: one context for what the phone sends (its key)
//! and one for what we send (ours). A packet that fails authentication is not the phone's.

use rtc_srtp::context::Context;
use rtc_srtp::option::srtp_replay_protection;
use rtc_srtp::protection_profile::ProtectionProfile;

/// Master key (16 bytes) then master salt (14 bytes), as SDES carries them.
pub const KEY_SALT_LEN: usize = 30;
const KEY_LEN: usize = 16;
/// Packets behind the newest one still accepted once (reordering), per RFC 3711's window.
const REPLAY_WINDOW: usize = 64;

/// The AES-CM suites SDES offers from phones and trunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpSuite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

/// The keys of one leg.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: SrtpSuite,
    /// The phone's key: what it sends is decrypted with it.
    pub remote: [u8; KEY_SALT_LEN],
    /// Ours, given in the answer: what we send is encrypted with it.
    pub local: [u8; KEY_SALT_LEN],
}

impl std::fmt::Debug for SrtpKeys {
    // Keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpKeys")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SRTP: {0}")]
pub struct SrtpError(String);

pub struct Srtp {
    inbound: Context,
    outbound: Context,
}

impl Srtp {
    pub fn new(keys: &SrtpKeys) -> Result<Srtp, SrtpError> {
        let profile = match keys.suite {
            SrtpSuite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        };
        let context = |k: &[u8; KEY_SALT_LEN], replay| {
            let (key, salt) = k.split_at(KEY_LEN);
            Context::new(key, salt, profile, replay, None).map_err(|e| SrtpError(e.to_string()))
        };
        Ok(Srtp {
            inbound: context(&keys.remote, Some(srtp_replay_protection(REPLAY_WINDOW)))?,
            outbound: context(&keys.local, None)?,
        })
    }

    /// The plain RTP of a packet from the phone; `None` if it fails authentication or replays.
    pub fn decrypt(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        self.inbound.decrypt_rtp(packet).ok().map(|b| b.to_vec())
    }

    /// `packet` (plain RTP) encrypted in place for the phone; false if it could not be.
    pub fn encrypt(&mut self, packet: &mut Vec<u8>) -> bool {
        match self.outbound.encrypt_rtp(packet) {
            Ok(b) => {
                packet.clear();
                packet.extend_from_slice(&b);
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::phone::RtpStream;

    fn keys(a: u8, b: u8) -> SrtpKeys {
        SrtpKeys {
            suite: SrtpSuite::AesCm128HmacSha1_80,
            remote: [a; KEY_SALT_LEN],
            local: [b; KEY_SALT_LEN],
        }
    }

    fn rtp(seq: u16) -> Vec<u8> {
        let mut out = Vec::new();
        RtpStream::new(7, seq, 0).write(0, &[0x55; 160], 160, &mut out);
        out
    }

    #[test]
    fn what_one_side_encrypts_the_other_decrypts_and_nothing_else_passes() {
        let mut phone = Srtp::new(&keys(2, 1)).unwrap();
        let mut bridge = Srtp::new(&keys(1, 2)).unwrap();
        let plain = rtp(10);
        let mut wire = plain.clone();
        assert!(phone.encrypt(&mut wire));
        assert_ne!(wire[12..172], plain[12..172], "the payload is encrypted");
        assert_eq!(wire.len(), plain.len() + 10, "an 80-bit tag");
        assert_eq!(bridge.decrypt(&wire), Some(plain.clone()));
        assert_eq!(bridge.decrypt(&wire), None, "a replay is refused");
        let mut forged = rtp(11);
        assert!(phone.encrypt(&mut forged));
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(bridge.decrypt(&forged), None, "a bad tag is refused");
        assert_eq!(bridge.decrypt(&rtp(12)), None, "plain RTP is refused");
        assert_eq!(bridge.decrypt(&[0x80, 0]), None, "garbage is refused");
    }

    #[test]
    fn keys_are_never_in_debug_output() {
        let shown = format!("{:?}", keys(0xab, 0xcd));
        assert!(!shown.contains("171") && !shown.contains("205"), "{shown}");
    }
}
