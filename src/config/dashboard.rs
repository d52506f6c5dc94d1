//! `[dashboard]`: the supervisors' big screen. Which day "today" is (the hotline's own time zone)
//! and how long a supervisor's login lasts.

use super::{invalid, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSettings {
    /// IANA time zone whose midnight starts "today" (and labels the 24-hour chart's hours).
    pub time_zone: String,
    /// How long a supervisor's login lasts, in hours.
    pub session_hours: u64,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            time_zone: "Asia/Shanghai".into(),
            session_hours: 12,
        }
    }
}

impl DashboardSettings {
    /// The time zone, parsed (validated at load, so a fallback to UTC is never used in practice).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "dashboard.time_zone",
                "not an IANA time zone name, e.g. Asia/Shanghai",
            ));
        }
        if self.session_hours == 0 {
            return Err(invalid("dashboard.session_hours", "must be above 0"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let env: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_with_env(None, env).map_err(|e| e.to_string())
    }

    #[test]
    fn the_dashboard_defaults_to_beijing_and_a_12_hour_login() {
        let s = load(&[]).expect("defaults");
        assert_eq!(s.dashboard.time_zone, "Asia/Shanghai");
        assert_eq!(s.dashboard.tz(), chrono_tz::Asia::Shanghai);
        assert_eq!(s.dashboard.session_hours, 12);
        assert!(s.supervisors.is_empty());
    }

    #[test]
    fn a_supervisor_comes_from_the_environment_and_bad_values_name_their_key() {
        let phc = crate::auth::argon2_hash("pw").expect("hash");
        let s = load(&[("HOTLINE__SUPERVISORS__ZHAO__PASSWORD_ARGON2", &phc)]).expect("env");
        assert_eq!(s.supervisors["zhao"].password_argon2, phc);
        for (key, value, named) in [
            (
                "HOTLINE__SUPERVISORS__ZHAO__PASSWORD_ARGON2",
                "plain text",
                "supervisors.zhao.password_argon2",
            ),
            (
                "HOTLINE__DASHBOARD__TIME_ZONE",
                "Mars/Olympus",
                "dashboard.time_zone",
            ),
            (
                "HOTLINE__DASHBOARD__SESSION_HOURS",
                "0",
                "dashboard.session_hours",
            ),
        ] {
            let err = load(&[(key, value)]).expect_err("refused");
            assert!(err.contains(named), "{err} should name {named}");
        }
    }
}
