//! The seed roster (`interpreters.toml`): partner universities and their interpreters with
//! languages and weekly shifts. `Roster::parse` checks the whole file and reports every problem,
//! naming file, entry and field, before anything is written; `import` then upserts it into a pool.
//! Nothing here reads a clock or keeps state.

use crate::domain::{
    InterpreterId, InterpreterProfile, Language, ProfileDraft, ShiftDraft, UniversityId,
};
use crate::pool::{InterpreterPool, PoolError};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

pub const MAX_UNIVERSITY_NAME_CHARS: usize = 200;
/// Problems listed before the rest are summarised as "… and N more".
const MAX_PROBLEMS_SHOWN: usize = 50;

/// A partner organization as the roster names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct University {
    pub id: UniversityId,
    pub name: String,
}

/// A checked roster: universities, and interpreters that each belong to one of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roster {
    pub universities: Vec<University>,
    pub interpreters: Vec<InterpreterProfile>,
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    /// Every problem found, one line each, already prefixed with the file name.
    #[error("{}", .problems.join("\n"))]
    Invalid { problems: Vec<String> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoster {
    #[serde(default)]
    universities: Vec<RawUniversity>,
    #[serde(default)]
    interpreters: Vec<RawInterpreter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUniversity {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterpreter {
    id: String,
    university: String,
    name: String,
    timezone: String,
    languages: OrderedPairs,
    #[serde(default)]
    shifts: Vec<ShiftDraft>,
    /// E.164 number to ring them on (personal data).
    #[serde(default)]
    phone: String,
    /// `app` (default), `phone` or `app_then_phone`.
    #[serde(default)]
    ring: String,
}

/// `{ pt = "native", en = "professional" }` in the order written.
struct OrderedPairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of language = level, e.g. { pt = \"native\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedPairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(OrderedPairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Roster {
    /// Reads and checks `path`; the file name in errors is the path as given.
    pub fn load(path: &Path, served: &[Language]) -> Result<Roster, RosterError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RosterError::Read {
            file: file.clone(),
            source,
        })?;
        Roster::parse(&text, &file, served)
    }

    /// Parses and checks roster text; `served` is the configured language list.
    pub fn parse(text: &str, file: &str, served: &[Language]) -> Result<Roster, RosterError> {
        let raw: RawRoster = toml::from_str(text).map_err(|e| RosterError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut problems = Vec::new();
        let mut universities: Vec<University> = Vec::new();
        for (i, u) in raw.universities.into_iter().enumerate() {
            let entry = match UniversityId::parse(&u.id) {
                Ok(id) => format!("university \"{id}\""),
                Err(_) => format!("university #{}", i + 1),
            };
            let mut problem = |field: &str, msg: String| {
                problems.push(format!("{file}: {entry}: {field}: {msg}"));
            };
            let id = match UniversityId::parse(&u.id) {
                Ok(id) => id,
                Err(e) => {
                    problem("id", e.to_string());
                    continue;
                }
            };
            let name = u.name.trim().to_owned();
            if name.is_empty() || name.chars().count() > MAX_UNIVERSITY_NAME_CHARS {
                problem(
                    "name",
                    format!("must be 1-{MAX_UNIVERSITY_NAME_CHARS} characters"),
                );
            } else if let Err(e) = crate::domain::check_display_text(&name) {
                problem("name", e.to_string());
            }
            if universities.iter().any(|known| known.id == id) {
                problem("id", "listed twice".into());
                continue;
            }
            universities.push(University { id, name });
        }

        let mut interpreters: Vec<InterpreterProfile> = Vec::new();
        let mut seen: HashMap<InterpreterId, usize> = HashMap::new();
        for (i, raw) in raw.interpreters.into_iter().enumerate() {
            let id = InterpreterId::parse(&raw.id);
            let entry = match &id {
                Ok(id) => format!("interpreter \"{id}\""),
                Err(_) => format!("interpreter #{}", i + 1),
            };
            let mut problem = |field: &str, msg: String| {
                problems.push(format!("{file}: {entry}: {field}: {msg}"));
            };
            let id = match id {
                Ok(id) => id,
                Err(e) => {
                    problem("id", e.to_string());
                    continue;
                }
            };
            if let Some(first) = seen.insert(id.clone(), i + 1) {
                problem(
                    "id",
                    format!("listed twice (entries #{first} and #{})", i + 1),
                );
                continue;
            }
            let Some(university) = universities
                .iter()
                .find(|u| u.id.as_str() == raw.university.trim())
                .map(|u| u.id.clone())
            else {
                problem(
                    "university",
                    format!(
                        "unknown university {:?} (not in [[universities]])",
                        raw.university.chars().take(64).collect::<String>()
                    ),
                );
                continue;
            };
            if let Err(msg) = check_id_prefix(&id, &university) {
                problem("id", msg);
                continue;
            }
            let draft = ProfileDraft {
                name: raw.name,
                languages: raw.languages.0,
                timezone: raw.timezone,
                shifts: raw.shifts,
                phone: raw.phone,
                ring: raw.ring,
            };
            match draft.into_profile(id, university, served) {
                Ok(p) => interpreters.push(p),
                Err(e) => problems.push(format!("{file}: {entry}: {e}")),
            }
        }
        if problems.is_empty() {
            return Ok(Roster {
                universities,
                interpreters,
            });
        }
        let more = problems.len().saturating_sub(MAX_PROBLEMS_SHOWN);
        problems.truncate(MAX_PROBLEMS_SHOWN);
        if more > 0 {
            problems.push(format!("{file}: … and {more} more problems"));
        }
        Err(RosterError::Invalid { problems })
    }

    /// Refuses entries that ask to be rung by phone when this hotline rings no phones
    /// (`why_not`, from `SipSettings::why_no_phones`). A number alone is fine.
    pub fn check_ringing(&self, file: &str, why_not: Option<&str>) -> Result<(), RosterError> {
        let Some(why_not) = why_not else {
            return Ok(());
        };
        let problems: Vec<String> = self
            .interpreters
            .iter()
            .filter(|p| p.ring.uses_phone())
            .map(|p| {
                format!(
                    "{file}: interpreter \"{}\": ring: \"{}\" is refused: {why_not}",
                    p.id,
                    p.ring.as_str()
                )
            })
            .take(MAX_PROBLEMS_SHOWN)
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RosterError::Invalid { problems })
        }
    }

    /// University names by id.
    pub fn university_names(&self) -> BTreeMap<UniversityId, String> {
        self.universities
            .iter()
            .map(|u| (u.id.clone(), u.name.clone()))
            .collect()
    }
}

/// Interpreter ids live in their university's namespace: `<university>-…`, so two universities
/// can never pick the same id.
pub fn check_id_prefix(id: &InterpreterId, university: &UniversityId) -> Result<(), String> {
    let prefix = format!("{university}-");
    if id.as_str().len() > prefix.len() && id.as_str().starts_with(&prefix) {
        Ok(())
    } else {
        Err(format!(
            "must start with the university id and a dash, e.g. \"{university}-en-01\""
        ))
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Upserts every interpreter of a checked roster. Idempotent: importing the same roster again
/// changes nothing. Personal tokens already issued are kept.
pub async fn import(
    pool: &dyn InterpreterPool,
    roster: &Roster,
) -> Result<ImportSummary, PoolError> {
    let mut summary = ImportSummary::default();
    for p in &roster.interpreters {
        match pool.profile(&p.id).await? {
            None => summary.created += 1,
            Some(old) => {
                let same = InterpreterProfile {
                    token_sha256: None,
                    ..old
                } == *p;
                if same {
                    summary.unchanged += 1;
                    continue;
                }
                summary.updated += 1;
            }
        }
        pool.upsert(p).await?;
        tracing::debug!(interpreter_id = %p.id, "roster entry imported");
    }
    Ok(summary)
}

#[cfg(test)]
mod tests;
