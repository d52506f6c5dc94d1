//! Arbitrary bytes as a SIP request from a trunk's address or a stranger's: everything the SIP edge
//! reads before it changes any state (`sip::request::probe`: SIP parsing, the source stamp, trunk
//! admission with digest credentials, numbers, DID language, masking, SDP offer and answer) must
//! return without a panic, in bounded memory, for any input.
#![no_main]

use hotline_bridge::config::Settings;
use hotline_bridge::sip::request::probe;
use hotline_bridge::sip::trunk::Trunks;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;

const SETTINGS: &str = r#"
[sip]
realm = "hotline"
[sip.dids]
"12345001" = "pt"
"+8612345002" = "en"
[sip.trunks.pbx]
sources = ["192.0.2.0/24"]
[sip.trunks.carrier]
sources = ["198.51.100.7"]
username = "carrier"
password = "s3cret"
"#;

struct World {
    trunks: Trunks,
    dids: BTreeMap<String, hotline_bridge::domain::Language>,
    sources: [IpAddr; 3],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let s = Settings::from_toml_str(SETTINGS).expect("fuzz settings");
        World {
            trunks: Trunks::new(&s.sip),
            dids: s.sip.dids.clone(),
            sources: [
                "192.0.2.10".parse().expect("ip"),
                "198.51.100.7".parse().expect("ip"),
                "203.0.113.1".parse().expect("ip"),
            ],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let w = world();
    probe(bytes, w.sources[usize::from(pick) % 3], &w.trunks, &w.dids);
});
