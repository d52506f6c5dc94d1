//! Partner universities for tests: settings with API keys configured, and the keys to use.

use hotline_bridge::auth;
use hotline_bridge::config::{Settings, UniversityAuth};
use std::collections::BTreeMap;

/// Adds a fresh API key for each university id; returns the keys by id.
pub fn with_keys(settings: &mut Settings, ids: &[&str]) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    for id in ids {
        let key = auth::new_secret();
        settings.universities.insert(
            (*id).to_owned(),
            UniversityAuth {
                api_key_sha256: auth::sha256_hex(&key),
            },
        );
        keys.insert((*id).to_owned(), key);
    }
    keys
}
