//! Reading `RedisPool`'s stored shapes (see `keys.rs`) back into pool types, and writing events.
//! Pure functions over strings; anything unreadable is `PoolError::Corrupt`, never a panic.

use super::{
    Expired, InterpreterId, InterpreterProfile, InterpreterState, Offer, OfferId, OfferState,
    PoolError, PoolEvent, Status, DAY_MS,
};
use crate::domain::Millis;
use std::collections::HashMap;
use std::str::FromStr;

/// One Redis hash, field → value.
pub(super) type Hash = HashMap<String, String>;

pub(super) fn corrupt(what: &str, detail: impl std::fmt::Display) -> PoolError {
    PoolError::Corrupt(format!("{what}: {detail}"))
}

/// An answer no script gives.
pub(super) fn unexpected(what: &str, reply: &[String]) -> PoolError {
    corrupt(what, format!("unexpected answer {reply:?}"))
}

pub(super) fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, PoolError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| corrupt(what, format!("{s:?}: {e}")))
}

/// A numeric field; absent = 0.
pub(super) fn millis(h: &Hash, field: &str) -> Result<u64, PoolError> {
    h.get(field).map_or(Ok(0), |v| parse(field, v))
}

pub(super) fn required<'a>(h: &'a Hash, field: &str) -> Result<&'a str, PoolError> {
    h.get(field)
        .map(String::as_str)
        .ok_or_else(|| corrupt(field, "missing"))
}

fn optional<T: FromStr>(h: &Hash, field: &str) -> Result<Option<T>, PoolError>
where
    T::Err: std::fmt::Display,
{
    h.get(field).map(|v| parse(field, v)).transpose()
}

pub(super) fn interpreter_id(s: &str) -> Result<InterpreterId, PoolError> {
    parse("interpreter id", s)
}

/// `[f1, v1, f2, v2, …]` → hash.
pub(super) fn pairs(flat: &[String]) -> Hash {
    flat.chunks_exact(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect()
}

pub(super) fn state(
    id: &InterpreterId,
    h: &Hash,
    now: Millis,
) -> Result<InterpreterState, PoolError> {
    let idle_since = millis(h, "idle_since")?;
    let status = match required(h, "status")? {
        "offline" => Status::Offline,
        "available" if idle_since > now => Status::WrapUp,
        "available" => Status::Available,
        "offered" => Status::Offered,
        "busy" => Status::Busy,
        "paused" => Status::Paused,
        other => return Err(corrupt("status", format!("{other:?}"))),
    };
    let calls_today = if millis(h, "calls_day")? == now / DAY_MS {
        millis(h, "calls_today")?
    } else {
        0
    };
    Ok(InterpreterState {
        id: id.clone(),
        status,
        last_seen: millis(h, "last_seen")?,
        idle_since,
        offer: optional(h, "offer")?,
        call: optional(h, "call")?,
        missed: u32::try_from(millis(h, "missed")?).map_err(|e| corrupt("missed", e))?,
        calls_today: u32::try_from(calls_today).map_err(|e| corrupt("calls_today", e))?,
    })
}

pub(super) fn profile(id: &InterpreterId, h: &Hash) -> Result<InterpreterProfile, PoolError> {
    let json = required(h, "profile")?;
    let mut p: InterpreterProfile =
        serde_json::from_str(json).map_err(|e| corrupt(&format!("profile {id}"), e))?;
    p.token_sha256 = h.get("token").cloned();
    Ok(p)
}

pub(super) fn offer_state(s: &str) -> Result<OfferState, PoolError> {
    Ok(match s {
        "pending" => OfferState::Pending,
        "accepted" => OfferState::Accepted,
        "declined" => OfferState::Declined,
        "expired" => OfferState::Expired,
        "cancelled" => OfferState::Cancelled,
        "released" => OfferState::Released,
        other => return Err(corrupt("offer state", format!("{other:?}"))),
    })
}

/// `claim`'s answer: interp, call, lang, created, deadline.
pub(super) fn claimed(id: &OfferId, f: &[String]) -> Result<Offer, PoolError> {
    match f {
        [interp, call, lang, created, deadline] => Ok(Offer {
            id: id.clone(),
            call_id: parse("call", call)?,
            interpreter: parse("interp", interp)?,
            language: parse("lang", lang)?,
            created: parse("created", created)?,
            deadline: parse("deadline", deadline)?,
        }),
        _ => Err(unexpected("claim", f)),
    }
}

pub(super) fn offer(id: &OfferId, h: &Hash) -> Result<(Offer, OfferState), PoolError> {
    let fields: Vec<String> = ["interp", "call", "lang", "created", "deadline"]
        .iter()
        .map(|f| required(h, f).map(str::to_owned))
        .collect::<Result<_, _>>()?;
    Ok((claimed(id, &fields)?, offer_state(required(h, "state")?)?))
}

/// `sweep`'s flat answer: offer id, interp, call, lang, created, deadline, paused; repeated.
pub(super) fn expired(flat: &[String]) -> Result<Vec<Expired>, PoolError> {
    if flat.len() % 7 != 0 {
        return Err(unexpected("sweep", flat));
    }
    flat.chunks_exact(7)
        .map(|c| {
            Ok(Expired {
                offer: claimed(&parse("offer id", &c[0])?, &c[1..6])?,
                paused: c[6] == "1",
            })
        })
        .collect()
}

/// Stream fields of an event; absent optional fields are left out.
pub(super) fn event_fields(e: &PoolEvent) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("kind", e.kind.as_str().to_owned()),
        ("at", e.at.to_string()),
        ("detail", e.detail.clone()),
    ];
    if let Some(c) = &e.call_id {
        f.push(("call_id", c.to_string()));
    }
    if let Some(i) = &e.interpreter {
        f.push(("interpreter_id", i.to_string()));
    }
    if let Some(l) = &e.language {
        f.push(("language", l.to_string()));
    }
    if let Some(o) = &e.offer_id {
        f.push(("offer_id", o.to_string()));
    }
    f
}

pub(super) fn event(h: &Hash) -> Result<PoolEvent, PoolError> {
    Ok(PoolEvent {
        kind: parse("event kind", required(h, "kind")?)?,
        at: millis(h, "at")?,
        call_id: optional(h, "call_id")?,
        interpreter: optional(h, "interpreter_id")?,
        language: optional(h, "language")?,
        offer_id: optional(h, "offer_id")?,
        detail: h.get("detail").cloned().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallId, EventKind, Language};

    fn hash(pairs: &[(&str, &str)]) -> Hash {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn available_with_a_future_idle_time_reads_as_wrap_up() {
        let id = InterpreterId::parse("a").expect("id");
        let h = hash(&[("status", "available"), ("idle_since", "2000")]);
        assert_eq!(state(&id, &h, 1000).expect("state").status, Status::WrapUp);
        assert_eq!(
            state(&id, &h, 2000).expect("state").status,
            Status::Available
        );
    }

    #[test]
    fn calls_today_count_only_on_their_day() {
        let id = InterpreterId::parse("a").expect("id");
        let h = hash(&[("status", "busy"), ("calls_today", "3"), ("calls_day", "1")]);
        assert_eq!(state(&id, &h, DAY_MS + 5).expect("state").calls_today, 3);
        assert_eq!(state(&id, &h, 2 * DAY_MS).expect("state").calls_today, 0);
    }

    #[test]
    fn unreadable_fields_are_corrupt_not_a_panic() {
        let id = InterpreterId::parse("a").expect("id");
        for h in [
            hash(&[("status", "dancing")]),
            hash(&[("status", "busy"), ("last_seen", "soon")]),
            hash(&[("status", "busy"), ("offer", "NOT AN ID")]),
            hash(&[]),
        ] {
            assert!(
                matches!(state(&id, &h, 0), Err(PoolError::Corrupt(_))),
                "{h:?}"
            );
        }
        assert!(matches!(expired(&["x".into()]), Err(PoolError::Corrupt(_))));
    }

    #[test]
    fn a_profile_stored_before_phone_numbers_reads_as_rung_in_the_app() {
        let id = InterpreterId::parse("bfsu-pt-01").expect("id");
        let old = r#"{"id":"bfsu-pt-01","university":"bfsu","name":"Ana",
            "languages":[{"language":"pt","level":"native"}],
            "schedule":{"timezone":"America/Sao_Paulo","shifts":[]}}"#;
        let h = hash(&[("profile", old), ("token", "ab")]);
        let p = profile(&id, &h).expect("an old profile is readable");
        assert_eq!(p.phone, None);
        assert_eq!(p.ring, crate::domain::RingPreference::App);
        let bad = old.replace("\"name\"", "\"phone\":\"12\",\"name\"");
        assert!(matches!(
            profile(&id, &hash(&[("profile", &bad)])),
            Err(PoolError::Corrupt(_))
        ));
    }

    #[test]
    fn an_event_round_trips_through_its_fields() {
        let e = PoolEvent {
            kind: EventKind::Offer,
            at: 1_750_000_000_000,
            call_id: Some(CallId::parse("c1").expect("id")),
            interpreter: None,
            language: Some(Language::parse("pt").expect("lang")),
            offer_id: Some(OfferId::parse("o1").expect("id")),
            detail: "first".into(),
        };
        let h: Hash = event_fields(&e)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(event(&h).expect("event"), e);
    }
}
