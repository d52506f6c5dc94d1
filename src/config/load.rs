//! Layering the sources: embedded defaults, then an override file, then `HOTLINE__…` variables.

use super::{invalid, ConfigError, Settings, DEFAULT_TOML, ENV_PREFIX};
use figment::providers::{Format, Toml};
use figment::Figment;
use std::path::Path;

impl Settings {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As `load`, with the environment given (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Parse(format!("{}: no such file", f.display())));
            }
            fig = fig.merge(Toml::file(f));
        }
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        for (k, v) in vars {
            let key = k[ENV_PREFIX.len()..]
                .to_ascii_lowercase()
                .replace("__", ".");
            let value = v
                .parse::<figment::value::Value>()
                .unwrap_or_else(|_| v.clone().into());
            // Strings that look like numbers stay strings where the field wants a string: figment
            // converts between the two on extraction.
            fig = fig.merge((key, value));
        }
        let settings: Settings = fig.extract().map_err(|e| {
            let key = e.path.join(".");
            let problem = e.kind.to_string();
            if key.is_empty() {
                ConfigError::Parse(problem)
            } else {
                invalid(&key, problem)
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn from_toml_str(toml: &str) -> Result<Self, ConfigError> {
        let fig = Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(toml));
        let settings: Settings = fig
            .extract()
            .map_err(|e| invalid(&e.path.join("."), e.kind.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }
}
