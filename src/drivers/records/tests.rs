use super::*;
use crate::domain::{CallId, InterpreterId, Language, OfferId, Role};
use crate::store::CallHistory;
use async_trait::async_trait;
use std::sync::Mutex;

fn event(kind: EventKind, detail: &str) -> PoolEvent {
    PoolEvent {
        kind,
        at: 5_000,
        call_id: Some(CallId::parse("c1").expect("id")),
        interpreter: Some(InterpreterId::parse("li-na").expect("id")),
        language: Some(Language::parse("pt").expect("pt")),
        offer_id: Some(OfferId::parse("o1").expect("id")),
        detail: detail.into(),
    }
}

#[test]
fn offers_their_ends_and_ratings_become_records_and_other_events_none() {
    let Some(Record::Offered { offer, at, .. }) = record_of(&event(EventKind::Offer, "")) else {
        panic!("an offer");
    };
    assert_eq!((offer.as_str(), at), ("o1", 5_000));
    for (kind, outcome) in [
        (EventKind::Accept, OfferOutcome::Accepted),
        (EventKind::Decline, OfferOutcome::Declined),
        (EventKind::Expire, OfferOutcome::Timeout),
        (EventKind::Cancel, OfferOutcome::Cancelled),
    ] {
        let Some(Record::OfferEnded { outcome: got, .. }) = record_of(&event(kind, "")) else {
            panic!("{kind} ends an offer");
        };
        assert_eq!(got, outcome);
    }
    let Some(Record::Rated { rating, .. }) = record_of(&event(EventKind::Rating, "4")) else {
        panic!("a rating");
    };
    assert_eq!(rating.stars, 4);
    assert_eq!(record_of(&event(EventKind::Rating, "lots")), None);
    assert_eq!(record_of(&event(EventKind::Escalate, "relay")), None);
    let mut no_call = event(EventKind::Offer, "");
    no_call.call_id = None;
    assert_eq!(record_of(&no_call), None);
}

#[test]
fn a_call_ended_event_becomes_the_call_with_its_legs() {
    let detail = r#"{"state":"ended","created_at":1000,"answered_at":2000,"ended_at":9000,
        "language":{"code":"pt","source":"browser","confidence":0.9},"timeline":[],
        "legs":[{"participant":"caller","role":"caller","media":"phone","joined_at":1000,"left_at":9000},
                {"participant":"int-li-na","role":"interpreter","interpreter":"li-na","media":"browser","joined_at":3000,"left_at":8000}]}"#;
    let Some(Record::Call(c)) = record_of(&event(EventKind::CallEnded, detail)) else {
        panic!("a call");
    };
    assert_eq!(c.call_id.as_str(), "c1");
    assert_eq!(c.language.map(|l| l.to_string()), Some("pt".into()));
    assert_eq!(c.language_source, "browser");
    assert_eq!(c.outcome, CallOutcome::Ended);
    assert_eq!(
        (c.created_at, c.answered_at, c.ended_at),
        (1000, Some(2000), 9000)
    );
    assert_eq!(c.legs.len(), 2);
    assert_eq!(c.legs[0].media, crate::domain::LegMedia::Phone);
    assert_eq!(c.legs[1].role, Role::Interpreter);
    assert_eq!(
        c.legs[1].interpreter.as_ref().map(|i| i.as_str()),
        Some("li-na")
    );
    assert_eq!(record_of(&event(EventKind::CallEnded, "{not json")), None);
}

/// A store that fails while `down` and keeps what it was given.
#[derive(Default)]
struct FlakyStore {
    down: Mutex<bool>,
    refuse_ratings: bool,
    written: Mutex<Vec<Record>>,
    tries: Mutex<usize>,
    /// Told after every try.
    tried: tokio::sync::Notify,
    /// Told after every write that succeeded.
    wrote: tokio::sync::Notify,
}

impl FlakyStore {
    /// Until the writer has tried `n` times.
    async fn tries(&self, n: usize) {
        loop {
            let tried = self.tried.notified();
            if *self.tries.lock().expect("lock") >= n {
                return;
            }
            tried.await;
        }
    }
}

#[async_trait]
impl RecordStore for FlakyStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn write(&self, batch: &[Record]) -> Result<(), StoreError> {
        let r = if *self.down.lock().expect("lock") {
            Err(StoreError::Unavailable("down".into()))
        } else if self.refuse_ratings && batch.iter().any(|r| matches!(r, Record::Rated { .. })) {
            Err(StoreError::Rejected("no ratings here".into()))
        } else {
            self.written.lock().expect("lock").extend_from_slice(batch);
            self.wrote.notify_waiters();
            Ok(())
        };
        *self.tries.lock().expect("lock") += 1;
        self.tried.notify_waiters();
        r
    }
    async fn call(&self, _: &CallId) -> Result<Option<CallHistory>, StoreError> {
        Ok(None)
    }
    async fn calls_created(
        &self,
        _: crate::domain::Millis,
        _: crate::domain::Millis,
    ) -> Result<Vec<crate::domain::CallDigest>, StoreError> {
        Ok(Vec::new())
    }
}

fn rating(call: &str, stars: u8) -> Record {
    Record::Rated {
        call: CallId::parse(call).expect("id"),
        rating: Rating { stars, at: 1 },
    }
}

fn offered(n: usize) -> Record {
    Record::Offered {
        offer: OfferId::parse(&format!("o{n}")).expect("id"),
        call: CallId::parse("c1").expect("id"),
        interpreter: InterpreterId::parse("li-na").expect("id"),
        language: None,
        at: n as Millis,
    }
}

/// Until the store holds `n` records.
async fn written(store: &FlakyStore, n: usize) -> Vec<Record> {
    loop {
        let wrote = store.wrote.notified();
        {
            let w = store.written.lock().expect("lock");
            if w.len() >= n {
                return w.clone();
            }
        }
        wrote.await;
    }
}

#[tokio::test]
async fn while_the_store_is_down_records_wait_in_order_and_all_arrive_when_it_is_back() {
    let store = Arc::new(FlakyStore::default());
    *store.down.lock().expect("lock") = true;
    let lifecycle = Lifecycle::new();
    let recorder = Recorder::start(store.clone(), 100, &lifecycle);
    for n in 0..40 {
        recorder.send(offered(n));
    }
    // Several tries fail, with the pause between them growing.
    store.tries(3).await;
    assert!(store.written.lock().expect("lock").is_empty());
    *store.down.lock().expect("lock") = false;
    let got = written(&store, 40).await;
    assert_eq!(
        got,
        (0..40).map(offered).collect::<Vec<_>>(),
        "all, in order"
    );
    lifecycle.root().cancel();
}

#[tokio::test]
async fn a_full_queue_drops_what_does_not_fit_and_keeps_the_rest() {
    let store = Arc::new(FlakyStore::default());
    *store.down.lock().expect("lock") = true;
    let lifecycle = Lifecycle::new();
    let recorder = Recorder::start(store.clone(), 10, &lifecycle);
    // The writer holds its first batch; the queue behind it takes 10 more.
    recorder.send(offered(0));
    store.tries(1).await;
    for n in 1..=15 {
        recorder.send(offered(n));
    }
    assert_eq!(recorder.queued(), 10);
    *store.down.lock().expect("lock") = false;
    let got = written(&store, 11).await;
    assert_eq!(got, (0..=10).map(offered).collect::<Vec<_>>());
    lifecycle.root().cancel();
}

#[tokio::test]
async fn a_refused_record_is_dropped_and_the_rest_of_its_batch_written() {
    let store = Arc::new(FlakyStore {
        refuse_ratings: true,
        ..FlakyStore::default()
    });
    *store.down.lock().expect("lock") = true;
    let lifecycle = Lifecycle::new();
    let recorder = Recorder::start(store.clone(), 10, &lifecycle);
    recorder.send(offered(0));
    store.tries(1).await;
    recorder.send(offered(1));
    recorder.send(rating("c1", 5));
    recorder.send(offered(2));
    *store.down.lock().expect("lock") = false;
    let got = written(&store, 3).await;
    assert_eq!(got, vec![offered(0), offered(1), offered(2)]);
    lifecycle.root().cancel();
}
