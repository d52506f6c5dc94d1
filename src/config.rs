//! Settings: `config/default.toml` (embedded), then an optional override file, then `HOTLINE__…`
//! environment variables. `Settings::load` returns one readable error naming the key at fault.

mod accounts;
mod dashboard;
mod load;
mod records;
mod redis;
mod sections;
pub mod sip;
mod validate;

pub use accounts::{AdminKey, OperatorAccount, SupervisorAccount, UniversityAuth};
pub use dashboard::DashboardSettings;
pub use records::RecordSettings;
pub use redis::RedisSettings;
pub use sections::{
    CallSettings, CoverageSettings, DetectSettings, DispatchSettings, LanguageSettings,
    LimitSettings, MediaSettings, NodeSettings, RosterSettings, ServerSettings,
};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The shipped defaults, embedded so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");
pub const ENV_PREFIX: &str = "HOTLINE__";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Parse(String),
    #[error("config: {key}: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub languages: LanguageSettings,
    pub redis: RedisSettings,
    pub roster: RosterSettings,
    pub coverage: CoverageSettings,
    pub dispatch: DispatchSettings,
    pub detect: DetectSettings,
    pub media: MediaSettings,
    pub calls: CallSettings,
    pub node: NodeSettings,
    pub limits: LimitSettings,
    pub sip: sip::SipSettings,
    pub records: RecordSettings,
    #[serde(default)]
    pub universities: BTreeMap<String, UniversityAuth>,
    #[serde(default)]
    pub operators: BTreeMap<String, OperatorAccount>,
    /// Supervisors (the dashboard), by name.
    #[serde(default)]
    pub supervisors: BTreeMap<String, SupervisorAccount>,
    #[serde(default)]
    pub dashboard: DashboardSettings,
    /// Administrators (recovery: `/api/admin/…`), by name.
    #[serde(default)]
    pub admins: BTreeMap<String, AdminKey>,
}

impl Settings {
    pub fn roster_path(&self) -> Option<PathBuf> {
        (!self.roster.file.is_empty()).then(|| PathBuf::from(&self.roster.file))
    }
}

#[cfg(test)]
mod tests;
