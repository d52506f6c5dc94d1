//! Who may sign in: universities' and administrators' API key hashes, operators' and
//! supervisors' passwords.

use crate::domain::Language;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniversityAuth {
    /// SHA-256 hex of the university's API key.
    pub api_key_sha256: String,
}

/// An administrator's API key, as SHA-256 hex of the key (a random key, like a university's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKey {
    pub api_key_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorAccount {
    /// Argon2 PHC string of the operator's password.
    pub password_argon2: String,
    /// Languages the operator speaks besides the operators' language (for relays).
    #[serde(default)]
    pub languages: Vec<Language>,
}

/// A supervisor (the dashboard, reports, recordings, the audit; listening in on calls).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorAccount {
    /// Argon2 PHC string of the supervisor's password.
    pub password_argon2: String,
}
