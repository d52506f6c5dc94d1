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
