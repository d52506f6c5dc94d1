//! Who may be offered a request, and in which order: a pure function of the profiles, the pool's
//! snapshot and `now`. The pool re-checks eligibility atomically when it claims; this only decides
//! the preference order.

use super::types::Phase;
use crate::domain::pool_state::{InterpreterState, Status};
use crate::domain::{InterpreterId, InterpreterProfile, Language, Millis};
use chrono::DateTime;
use std::collections::{HashMap, HashSet};

/// What narrows the candidates for one request.
pub struct Filter<'a> {
    pub language: Language,
    pub phase: Phase,
    pub now: Millis,
    pub presence_ttl_ms: u64,
    /// Already offered this request in the current phase, or picked by an earlier claim.
    pub excluded: &'a HashSet<InterpreterId>,
}

/// Candidates for `filter.language`: speaks it, present, available (not in wrap-up), not
/// excluded, and on shift now unless the request is escalated. Ordered by relay skill (relay
/// phase only), level (native first), longest idle, fewest calls today, then id so that equal
/// candidates are ordered the same way on every node.
pub fn rank(
    profiles: &HashMap<InterpreterId, InterpreterProfile>,
    states: &[InterpreterState],
    filter: &Filter<'_>,
) -> Vec<InterpreterId> {
    let at = i64::try_from(filter.now)
        .ok()
        .and_then(DateTime::from_timestamp_millis);
    let relay = match filter.phase {
        Phase::Relay { language } => Some(language),
        _ => None,
    };
    let mut eligible: Vec<(bool, u8, Millis, u32, &InterpreterId)> = states
        .iter()
        .filter(|s| {
            s.status == Status::Available
                && s.idle_since <= filter.now
                && s.present(filter.now, filter.presence_ttl_ms)
                && !filter.excluded.contains(&s.id)
        })
        .filter_map(|s| {
            let p = profiles.get(&s.id)?;
            let level = p.level_in(filter.language)?;
            let on_shift = match (filter.phase, at) {
                (Phase::Direct, Some(at)) => p.schedule.on_shift(at),
                (Phase::Direct, None) => false,
                _ => true,
            };
            if !on_shift {
                return None;
            }
            let lacks_relay = relay.is_some_and(|r| p.level_in(r).is_none());
            Some((
                lacks_relay,
                level.rank(),
                s.idle_since,
                s.calls_today,
                &s.id,
            ))
        })
        .collect();
    eligible.sort_unstable();
    eligible.into_iter().map(|e| e.4.clone()).collect()
}
