//! The record store contract (src/store/mod.rs), written once and run against both databases:
//! SQLite in a temporary file and a real PostgreSQL started for the test (tests/common/postgres.rs,
//! one server per test on a free port). Each case is an async fn over `Arc<dyn RecordStore>`;
//! `contract!` makes one test per database of it. Also: the PostgreSQL store reports an outage as
//! one to try again, and writes again once the server is back.

use crate::common;

use common::postgres::TestPostgres;
use hotline_bridge::domain::{
    CallDigest, CallId, CallOutcome, CallSummary, CallbackNumber, CallbackRequest, CallbackStatus,
    CaseEdit, CaseNumber, CaseRuleError, CaseStatus, FollowUp, InterpreterId, Language, Leg,
    LegMedia, OfferId, OfferOutcome, ParticipantId, Rating, Recording, Role,
};
use hotline_bridge::store::{CaseEdited, CaseQuery, NewCase, Record, RecordStore, SqlStore};
use std::sync::Arc;

type Store = Arc<dyn RecordStore>;

/// A store under test; keeps its database alive as long as the store is used.
struct Fixture {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<TestPostgres>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}",
        dir.path().join("records/hotline.db").display()
    );
    let store = SqlStore::open(&url).expect("open sqlite");
    store.migrate().await.expect("migrate");
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
        _postgres: None,
    }
}

async fn postgres() -> Fixture {
    let server = TestPostgres::start();
    let store = SqlStore::open(&server.url()).expect("open postgres");
    store.migrate().await.expect("migrate");
    Fixture {
        store: Arc::new(store),
        _dir: None,
        _postgres: Some(server),
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let f = super::sqlite().await;
                    super::$case(f.store.clone()).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let f = super::postgres().await;
                    super::$case(f.store.clone()).await;
                }
            )*
        }
    };
}

contract!(
    a_recording_keeps_its_end_and_lists_with_its_call_in_start_order,
    recordings_are_read_oldest_first_before_a_time_and_deleted_by_id,
    an_ended_call_reads_back_with_its_legs,
    a_call_written_again_replaces_its_row_and_legs,
    an_offer_ends_once_and_the_first_outcome_stays,
    an_end_without_an_offer_id_closes_what_rings_that_interpreter,
    an_end_written_before_its_offer_is_kept,
    a_batch_written_twice_changes_nothing_more,
    a_rating_is_kept_once_per_call,
    an_unknown_call_has_no_history,
    migrations_run_again_change_nothing,
    calls_created_in_a_window_come_with_first_interpreter_offers_and_rating,
    a_call_opens_one_case_and_numbers_count_per_day,
    numbers_opened_at_once_are_all_different,
    a_case_is_edited_and_its_status_only_moves_forward,
    follow_ups_and_later_calls_hang_on_the_case,
    the_interpreters_of_a_case_are_listed_most_recent_first,
    cases_are_listed_by_status_most_recently_changed_first,
    case_counts_are_the_cases_opened_since_and_those_resolved,
    a_call_leaves_one_callback_request_and_it_is_done_once,
    callback_requests_are_listed_oldest_first_by_status,
);

fn id(s: &str) -> CallId {
    CallId::parse(s).expect("call id")
}

fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).expect("interpreter id")
}

fn oid(s: &str) -> OfferId {
    OfferId::parse(s).expect("offer id")
}

fn call(call: &str) -> CallSummary {
    CallSummary {
        call_id: id(call),
        language: Some(Language::parse("pt").expect("pt")),
        language_source: "browser".into(),
        outcome: CallOutcome::Ended,
        created_at: 1_000,
        answered_at: Some(2_000),
        ended_at: 90_000,
        legs: vec![
            Leg {
                participant: ParticipantId::parse("caller").expect("id"),
                role: Role::Caller,
                interpreter: None,
                media: LegMedia::Phone,
                joined_at: 1_000,
                left_at: Some(90_000),
            },
            Leg {
                participant: ParticipantId::parse("op-wang").expect("id"),
                role: Role::Operator,
                interpreter: None,
                media: LegMedia::Browser,
                joined_at: 2_000,
                left_at: Some(90_000),
            },
            Leg {
                participant: ParticipantId::parse("int-li-na").expect("id"),
                role: Role::Interpreter,
                interpreter: Some(iid("li-na")),
                media: LegMedia::Phone,
                joined_at: 20_000,
                left_at: None,
            },
        ],
    }
}

fn offered(offer: &str, call: &str, interpreter: &str, at: u64) -> Record {
    Record::Offered {
        offer: oid(offer),
        call: id(call),
        interpreter: iid(interpreter),
        language: Some(Language::parse("pt").expect("pt")),
        at,
    }
}

fn ended(
    offer: Option<&str>,
    call: &str,
    interpreter: &str,
    outcome: OfferOutcome,
    at: u64,
) -> Record {
    Record::OfferEnded {
        offer: offer.map(oid),
        call: id(call),
        interpreter: iid(interpreter),
        outcome,
        at,
    }
}

async fn write(store: &Store, batch: Vec<Record>) {
    store.write(&batch).await.expect("write");
}

/// The offers of `call` as (offer, interpreter, offered_at, outcome, ended_at).
async fn offers(
    store: &Store,
    call: &str,
) -> Vec<(
    String,
    String,
    Option<u64>,
    Option<OfferOutcome>,
    Option<u64>,
)> {
    let h = store.call(&id(call)).await.expect("read").expect("history");
    h.offers
        .into_iter()
        .map(|o| {
            (
                o.offer_id.to_string(),
                o.interpreter.to_string(),
                o.offered_at,
                o.outcome,
                o.ended_at,
            )
        })
        .collect()
}

async fn an_ended_call_reads_back_with_its_legs(store: Store) {
    write(&store, vec![Record::Call(call("c1"))]).await;
    let h = store.call(&id("c1")).await.expect("read").expect("history");
    assert_eq!(h.call, Some(call("c1")));
    assert!(h.offers.is_empty());
    assert_eq!(h.rating, None);
}

async fn a_call_written_again_replaces_its_row_and_legs(store: Store) {
    write(&store, vec![Record::Call(call("c1"))]).await;
    let mut again = call("c1");
    again.outcome = CallOutcome::Abandoned;
    again.answered_at = None;
    again.legs.truncate(1);
    write(&store, vec![Record::Call(again.clone())]).await;
    let h = store.call(&id("c1")).await.expect("read").expect("history");
    assert_eq!(h.call, Some(again));
}

async fn an_offer_ends_once_and_the_first_outcome_stays(store: Store) {
    write(
        &store,
        vec![
            offered("o1", "c1", "li-na", 10_000),
            ended(Some("o1"), "c1", "li-na", OfferOutcome::Accepted, 12_000),
        ],
    )
    .await;
    write(
        &store,
        vec![ended(
            Some("o1"),
            "c1",
            "li-na",
            OfferOutcome::Cancelled,
            13_000,
        )],
    )
    .await;
    assert_eq!(
        offers(&store, "c1").await,
        vec![(
            "o1".into(),
            "li-na".into(),
            Some(10_000),
            Some(OfferOutcome::Accepted),
            Some(12_000)
        )]
    );
    // Offered and not yet answered: it rings.
    write(&store, vec![offered("o2", "c1", "wang-fang", 14_000)]).await;
    let o = offers(&store, "c1").await;
    assert_eq!(
        o[1],
        ("o2".into(), "wang-fang".into(), Some(14_000), None, None)
    );
}

async fn an_end_without_an_offer_id_closes_what_rings_that_interpreter(store: Store) {
    write(
        &store,
        vec![
            offered("o1", "c1", "li-na", 10_000),
            ended(Some("o1"), "c1", "li-na", OfferOutcome::Timeout, 25_000),
            offered("o2", "c1", "li-na", 30_000),
            offered("o3", "c1", "wang-fang", 30_000),
            ended(None, "c1", "li-na", OfferOutcome::Declined, 33_000),
        ],
    )
    .await;
    let outcomes: Vec<_> = offers(&store, "c1")
        .await
        .into_iter()
        .map(|o| (o.0, o.3, o.4))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("o1".into(), Some(OfferOutcome::Timeout), Some(25_000)),
            ("o2".into(), Some(OfferOutcome::Declined), Some(33_000)),
            ("o3".into(), None, None),
        ]
    );
}

async fn an_end_written_before_its_offer_is_kept(store: Store) {
    write(
        &store,
        vec![ended(
            Some("o1"),
            "c1",
            "li-na",
            OfferOutcome::Declined,
            12_000,
        )],
    )
    .await;
    assert_eq!(
        offers(&store, "c1").await,
        vec![(
            "o1".into(),
            "li-na".into(),
            None,
            Some(OfferOutcome::Declined),
            Some(12_000)
        )]
    );
    write(&store, vec![offered("o1", "c1", "li-na", 10_000)]).await;
    assert_eq!(
        offers(&store, "c1").await,
        vec![(
            "o1".into(),
            "li-na".into(),
            Some(10_000),
            Some(OfferOutcome::Declined),
            Some(12_000)
        )]
    );
}

async fn a_batch_written_twice_changes_nothing_more(store: Store) {
    let batch = vec![
        offered("o1", "c1", "li-na", 10_000),
        ended(Some("o1"), "c1", "li-na", OfferOutcome::Accepted, 12_000),
        offered("o2", "c1", "wang-fang", 11_000),
        ended(None, "c1", "wang-fang", OfferOutcome::Cancelled, 12_000),
        Record::Call(call("c1")),
        Record::Rated {
            call: id("c1"),
            rating: Rating {
                stars: 5,
                at: 95_000,
            },
        },
    ];
    write(&store, batch.clone()).await;
    let once = store.call(&id("c1")).await.expect("read");
    write(&store, batch).await;
    let twice = store.call(&id("c1")).await.expect("read");
    assert_eq!(once, twice);
    let h = twice.expect("history");
    assert_eq!(h.offers.len(), 2);
    assert_eq!(h.call.map(|c| c.legs.len()), Some(3));
}

async fn a_rating_is_kept_once_per_call(store: Store) {
    let rated = |stars| Record::Rated {
        call: id("c1"),
        rating: Rating { stars, at: 95_000 },
    };
    write(&store, vec![rated(2)]).await;
    write(&store, vec![rated(5)]).await;
    let h = store.call(&id("c1")).await.expect("read").expect("history");
    assert_eq!(
        h.rating,
        Some(Rating {
            stars: 2,
            at: 95_000
        })
    );
    // Rated, its call not yet written (it ends on another node's clock first): kept anyway.
    assert_eq!(h.call, None);
}

async fn an_unknown_call_has_no_history(store: Store) {
    write(&store, vec![Record::Call(call("c1"))]).await;
    assert_eq!(store.call(&id("nobody")).await.expect("read"), None);
}

async fn migrations_run_again_change_nothing(store: Store) {
    write(&store, vec![Record::Call(call("c1"))]).await;
    store.migrate().await.expect("migrate again");
    let h = store.call(&id("c1")).await.expect("read").expect("history");
    assert_eq!(h.call, Some(call("c1")));
}

fn new_case(call: &str, day: &str, at: u64) -> NewCase {
    NewCase {
        call: id(call),
        day: day.into(),
        language: Some(Language::parse("pt").expect("pt")),
        operator: "wang".into(),
        at,
    }
}

fn number(s: &str) -> CaseNumber {
    CaseNumber::parse(s).expect("case number")
}

async fn a_call_opens_one_case_and_numbers_count_per_day(store: Store) {
    let first = store
        .open_case(&new_case("c1", "261204", 1_000))
        .await
        .expect("open");
    assert_eq!(first.case.number.as_str(), "261204-0001");
    assert_eq!(first.case.status, CaseStatus::Open);
    assert_eq!(first.case.operator, "wang");
    assert_eq!(
        first.case.language.map(|l| l.to_string()),
        Some("pt".into())
    );
    assert_eq!(first.calls.len(), 1);
    assert!(first.calls[0].opened);
    // Opening again (the answer was lost) gives the same case and takes no number.
    let again = store
        .open_case(&new_case("c1", "261204", 5_000))
        .await
        .expect("open again");
    assert_eq!(again, first);
    let second = store
        .open_case(&new_case("c2", "261204", 2_000))
        .await
        .expect("open");
    assert_eq!(second.case.number.as_str(), "261204-0002");
    let next_day = store
        .open_case(&new_case("c3", "261205", 3_000))
        .await
        .expect("open");
    assert_eq!(next_day.case.number.as_str(), "261205-0001");
    let by_call = store.case_of_call(&id("c2")).await.expect("read");
    assert_eq!(by_call, Some(second));
    assert_eq!(store.case_of_call(&id("nobody")).await.expect("read"), None);
    assert_eq!(
        store.case(&number("261204-0099")).await.expect("read"),
        None
    );
}

async fn numbers_opened_at_once_are_all_different(store: Store) {
    // Several nodes opening cases on one day at the same moment (each task has its own
    // connection from the pool).
    let opens = (0..12).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tries = 0;
            loop {
                match store
                    .open_case(&new_case(&format!("c{i}"), "261204", i))
                    .await
                {
                    Ok(f) => return f.case.number,
                    // SQLite may say busy when writers collide; a caller tries again.
                    Err(e) if e.is_transient() && tries < 20 => tries += 1,
                    Err(e) => panic!("open: {e}"),
                }
            }
        })
    });
    let mut numbers = Vec::new();
    for o in opens {
        numbers.push(o.await.expect("task").to_string());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=12).map(|n| format!("261204-{n:04}")).collect();
    assert_eq!(numbers, expected);
}

async fn a_case_is_edited_and_its_status_only_moves_forward(store: Store) {
    let n = store
        .open_case(&new_case("c1", "261204", 1_000))
        .await
        .expect("open")
        .case
        .number;
    let edit = CaseEdit {
        notes: Some("旅客在首都机场T3丢失行李，黑色箱子".into()),
        category: Some("失物".into()),
        ..CaseEdit::default()
    };
    let CaseEdited::Edited(f) = store.edit_case(&n, &edit, "li", 2_000).await.expect("edit") else {
        panic!("not edited");
    };
    assert_eq!(f.case.notes, "旅客在首都机场T3丢失行李，黑色箱子");
    assert_eq!(f.case.category, "失物");
    assert_eq!(
        (f.case.updated_at, f.case.updated_by.as_str()),
        (2_000, "li")
    );
    assert_eq!(f.case.operator, "wang", "who opened it stays");
    // Passed on without a department: refused, nothing changes.
    let pass = CaseEdit {
        status: Some(CaseStatus::PassedOn),
        notes: Some("lost".into()),
        ..CaseEdit::default()
    };
    assert_eq!(
        store.edit_case(&n, &pass, "li", 3_000).await.expect("edit"),
        CaseEdited::Refused(CaseRuleError::NoDepartment)
    );
    let pass = CaseEdit {
        department: Some("首都机场失物招领".into()),
        ..pass
    };
    let CaseEdited::Edited(f) = store.edit_case(&n, &pass, "li", 3_000).await.expect("edit") else {
        panic!("not passed on");
    };
    assert_eq!(f.case.status, CaseStatus::PassedOn);
    assert_eq!(f.case.department, "首都机场失物招领");
    let back = CaseEdit {
        status: Some(CaseStatus::Open),
        ..CaseEdit::default()
    };
    assert_eq!(
        store.edit_case(&n, &back, "li", 4_000).await.expect("edit"),
        CaseEdited::Refused(CaseRuleError::Transition {
            from: CaseStatus::PassedOn,
            to: CaseStatus::Open
        })
    );
    let resolve = CaseEdit {
        status: Some(CaseStatus::Resolved),
        ..CaseEdit::default()
    };
    let CaseEdited::Edited(f) = store
        .edit_case(&n, &resolve, "li", 5_000)
        .await
        .expect("edit")
    else {
        panic!("not resolved");
    };
    assert_eq!(f.case.status, CaseStatus::Resolved);
    assert_eq!(f.case.notes, "lost", "earlier fields stay");
    assert_eq!(
        store
            .edit_case(&number("261204-0042"), &resolve, "li", 6_000)
            .await
            .expect("edit"),
        CaseEdited::NotFound
    );
}

async fn follow_ups_and_later_calls_hang_on_the_case(store: Store) {
    let n = store
        .open_case(&new_case("c1", "261204", 1_000))
        .await
        .expect("open")
        .case
        .number;
    let entry = |text: &str, at| FollowUp {
        author: "li".into(),
        text: text.into(),
        at,
    };
    store
        .add_follow_up(&n, &entry("机场回电：行李已找到", 50_000))
        .await
        .expect("follow up")
        .expect("case");
    let f = store
        .add_follow_up(&n, &entry("已通知旅客", 60_000))
        .await
        .expect("follow up")
        .expect("case");
    let texts: Vec<_> = f.follow_ups.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["机场回电：行李已找到", "已通知旅客"]);
    assert_eq!(f.case.updated_at, 60_000);
    assert_eq!(
        store
            .add_follow_up(&number("261204-0042"), &entry("x", 1))
            .await
            .expect("follow up"),
        None
    );
    // The caller calls again the next day with the number.
    let linked = store
        .link_call(&n, &id("c9"), 90_000)
        .await
        .expect("link")
        .expect("case");
    assert_eq!(linked.case.number, n);
    let calls: Vec<_> = linked
        .calls
        .iter()
        .map(|c| (c.call_id.to_string(), c.opened))
        .collect();
    assert_eq!(calls, [("c1".into(), true), ("c9".into(), false)]);
    // Linked again: nothing more; to an unknown case: none, and the call stays unlinked.
    let again = store.link_call(&n, &id("c9"), 95_000).await.expect("link");
    assert_eq!(again, Some(linked.clone()));
    let unknown = store
        .link_call(&number("261204-0042"), &id("c10"), 95_000)
        .await
        .expect("link");
    assert_eq!(unknown, None);
    assert_eq!(
        store.case_of_call(&id("c9")).await.expect("read"),
        Some(linked)
    );
}

async fn the_interpreters_of_a_case_are_listed_most_recent_first(store: Store) {
    let n = store
        .open_case(&new_case("c1", "261204", 1_000))
        .await
        .expect("open")
        .case
        .number;
    // c1 ended (li-na's leg is in its record); c2, linked later, goes on with wang-fang.
    write(&store, vec![Record::Call(call("c1"))]).await;
    store.link_call(&n, &id("c2"), 100_000).await.expect("link");
    write(
        &store,
        vec![
            offered("o1", "c2", "zhao-lei", 101_000),
            ended(
                Some("o1"),
                "c2",
                "zhao-lei",
                OfferOutcome::Declined,
                102_000,
            ),
            offered("o2", "c2", "wang-fang", 103_000),
            ended(
                Some("o2"),
                "c2",
                "wang-fang",
                OfferOutcome::Accepted,
                104_000,
            ),
            // Another case's call is none of this one's.
            offered("o3", "c3", "zhou-min", 105_000),
            ended(
                Some("o3"),
                "c3",
                "zhou-min",
                OfferOutcome::Accepted,
                106_000,
            ),
        ],
    )
    .await;
    let f = store.case(&n).await.expect("read").expect("case");
    let who: Vec<_> = f.interpreters.iter().map(|i| i.to_string()).collect();
    assert_eq!(who, ["wang-fang", "li-na"]);
}

async fn cases_are_listed_by_status_most_recently_changed_first(store: Store) {
    for (i, call) in ["c1", "c2", "c3"].iter().enumerate() {
        store
            .open_case(&new_case(call, "261204", 1_000 + i as u64))
            .await
            .expect("open");
    }
    let resolve = CaseEdit {
        status: Some(CaseStatus::Resolved),
        ..CaseEdit::default()
    };
    store
        .edit_case(&number("261204-0001"), &resolve, "li", 9_000)
        .await
        .expect("edit");
    let list = |status, since, limit| {
        let store = store.clone();
        async move {
            store
                .cases(&CaseQuery {
                    status,
                    since,
                    limit,
                })
                .await
                .expect("list")
                .into_iter()
                .map(|c| c.number.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(None, None, 10).await,
        ["261204-0001", "261204-0003", "261204-0002"]
    );
    assert_eq!(
        list(Some(CaseStatus::Open), None, 10).await,
        ["261204-0003", "261204-0002"]
    );
    assert_eq!(list(None, Some(1_002), 10).await, ["261204-0003"]);
    assert_eq!(list(None, None, 1).await, ["261204-0001"]);
}

#[tokio::test]
async fn a_postgres_outage_is_reported_as_transient_and_writing_resumes_after_it() {
    let mut server = TestPostgres::start();
    let store = SqlStore::open(&server.url()).expect("open");
    store.migrate().await.expect("migrate");
    store
        .write(&[Record::Call(call("before"))])
        .await
        .expect("write");
    server.stop();
    let err = store
        .write(&[Record::Call(call("during"))])
        .await
        .expect_err("the server is down");
    assert!(err.is_transient(), "{err}");
    server.restart();
    // The pool may hand out a connection the restart cut once before it notices; a few tries.
    let during = [Record::Call(call("during"))];
    let mut tries = 0;
    while let Err(e) = store.write(&during).await {
        tries += 1;
        assert!(
            e.is_transient() && tries < 5,
            "not written after the restart: {e}"
        );
    }
    for c in ["before", "during"] {
        let h = store.call(&id(c)).await.expect("read").expect("history");
        assert_eq!(h.call.map(|c| c.legs.len()), Some(3), "{c}");
    }
}

#[tokio::test]
async fn a_sqlite_store_makes_its_folder_and_file_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("deep/er/hotline.db");
    let store = SqlStore::open(&format!("sqlite://{}", file.display())).expect("open");
    store.migrate().await.expect("migrate");
    assert!(file.is_file(), "{} made", file.display());
    // In write-ahead-log mode: the log file lies beside it while the store is open.
    store
        .write(&[Record::Call(call("c1"))])
        .await
        .expect("write");
    assert!(
        file.with_extension("db-wal").is_file(),
        "the SQLite file is in WAL mode"
    );
}

/// `call(name)` created at `at` (its legs and times moved with it).
fn call_at(name: &str, at: u64) -> CallSummary {
    let mut c = call(name);
    let shift = at - c.created_at;
    c.created_at += shift;
    c.answered_at = c.answered_at.map(|t| t + shift);
    c.ended_at += shift;
    for l in &mut c.legs {
        l.joined_at += shift;
        l.left_at = l.left_at.map(|t| t + shift);
    }
    c
}

async fn calls_created_in_a_window_come_with_first_interpreter_offers_and_rating(store: Store) {
    // c1: the fixture's call (interpreter joined 19 s in), two offers, rated 4.
    let mut c1 = call_at("c1", 100_000);
    // A second interpreter's leg later: the first one's join is the one reported.
    let mut second = c1.legs[2].clone();
    second.participant = ParticipantId::parse("int-ana").expect("id");
    second.interpreter = Some(iid("ana"));
    second.joined_at = 150_000;
    c1.legs.push(second);
    // c2: abandoned, no interpreter, no offer, no rating.
    let mut c2 = call_at("c2", 200_000);
    c2.outcome = CallOutcome::Abandoned;
    c2.answered_at = None;
    c2.language = None;
    c2.language_source = "unknown".into();
    c2.legs.truncate(1);
    // Outside the window on either side.
    let before = call_at("c0", 99_999);
    let after = call_at("c3", 300_000);
    write(
        &store,
        vec![
            Record::Call(c1),
            Record::Call(c2),
            Record::Call(before),
            Record::Call(after),
            offered("o1", "c1", "li-na", 105_000),
            offered("o2", "c1", "ana", 110_000),
            // An offer and a rating of a call not ended yet: not in the window's calls.
            offered("o3", "c9", "li-na", 150_000),
            Record::Rated {
                call: id("c1"),
                rating: Rating {
                    stars: 4,
                    at: 200_000,
                },
            },
        ],
    )
    .await;
    let got = store
        .calls_created(100_000, 300_000)
        .await
        .expect("calls created");
    let pt = Some(Language::parse("pt").expect("pt"));
    assert_eq!(
        got,
        vec![
            CallDigest {
                language: pt,
                language_source: "browser".into(),
                outcome: CallOutcome::Ended,
                created_at: 100_000,
                answered_at: Some(101_000),
                ended_at: 189_000,
                interpreter_joined_at: Some(119_000),
                offers: 2,
                stars: Some(4),
            },
            CallDigest {
                language: None,
                language_source: "unknown".into(),
                outcome: CallOutcome::Abandoned,
                created_at: 200_000,
                answered_at: None,
                ended_at: 289_000,
                interpreter_joined_at: None,
                offers: 0,
                stars: None,
            },
        ]
    );
    assert!(store
        .calls_created(400_000, 500_000)
        .await
        .expect("empty window")
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_sharing_one_postgres_never_hand_out_the_same_case_number() {
    let server = TestPostgres::start();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store = SqlStore::open(&server.url()).expect("open");
        store.migrate().await.expect("migrate");
        nodes.push(Arc::new(store) as Store);
    }
    // Each node opens cases for its own calls, all on one day, at the same time.
    let opens = (0..20).map(|i| {
        let store = nodes[i % 2].clone();
        tokio::spawn(async move {
            store
                .open_case(&new_case(&format!("n{}-c{i}", i % 2), "261204", i as u64))
                .await
                .expect("open")
                .case
                .number
                .to_string()
        })
    });
    let mut numbers = Vec::new();
    for o in opens {
        numbers.push(o.await.expect("task"));
    }
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("261204-{n:04}")).collect();
    assert_eq!(numbers, expected);
}

async fn case_counts_are_the_cases_opened_since_and_those_resolved(store: Store) {
    for (i, call) in ["c1", "c2", "c3"].iter().enumerate() {
        store
            .open_case(&new_case(call, "261204", 1_000 + i as u64))
            .await
            .expect("open");
    }
    let resolve = CaseEdit {
        status: Some(CaseStatus::Resolved),
        ..CaseEdit::default()
    };
    for n in ["261204-0001", "261204-0003"] {
        store
            .edit_case(&number(n), &resolve, "li", 9_000)
            .await
            .expect("edit");
    }
    let counts = |since| {
        let store = store.clone();
        async move {
            let c = store.case_counts(since).await.expect("counts");
            (c.opened, c.resolved)
        }
    };
    assert_eq!(counts(0).await, (3, 2));
    assert_eq!(counts(1_001).await, (2, 1));
    assert_eq!(counts(5_000).await, (0, 0));
}

fn recording(id: &str, call: &str, participant: &str, started_at: u64) -> Recording {
    Recording {
        id: id.into(),
        call_id: CallId::parse(call).expect("call id"),
        participant: ParticipantId::parse(participant).expect("participant"),
        path: format!("/rec/{call}/{participant}-{id}.opus"),
        started_at,
        ended_at: None,
        bytes: 0,
    }
}

async fn a_recording_keeps_its_end_and_lists_with_its_call_in_start_order(store: Store) {
    let caller = recording("r1", "call-rec-1", "caller", 1_000);
    let operator = recording("r2", "call-rec-1", "operator", 900);
    let other = recording("r3", "call-rec-2", "caller", 950);
    let mut ended = caller.clone();
    ended.ended_at = Some(5_000);
    ended.bytes = 12_345;
    // The end arrives before its start (written again after a lost commit): the end stays.
    write(
        &store,
        vec![
            Record::Recording(ended.clone()),
            Record::Recording(caller.clone()),
            Record::Recording(operator.clone()),
            Record::Recording(other.clone()),
        ],
    )
    .await;
    let call = CallId::parse("call-rec-1").expect("id");
    let listed = store.recordings_of_call(&call).await.expect("list");
    assert_eq!(listed, vec![operator.clone(), ended.clone()]);
    assert_eq!(store.recording("r1").await.expect("read"), Some(ended));
    assert_eq!(store.recording("nope").await.expect("read"), None);
    let none = CallId::parse("call-rec-9").expect("id");
    assert!(store
        .recordings_of_call(&none)
        .await
        .expect("list")
        .is_empty());
}

async fn recordings_are_read_oldest_first_before_a_time_and_deleted_by_id(store: Store) {
    let batch = (0..5u64)
        .map(|i| {
            Record::Recording(recording(
                &format!("r{i}"),
                "call-old",
                "caller",
                100 * (5 - i),
            ))
        })
        .collect();
    write(&store, batch).await;
    // Started before 400: r4 (100), r3 (200), r2 (300), oldest first, two at most.
    let old = store.recordings_started_before(400, 2).await.expect("old");
    let ids: Vec<&str> = old.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r4", "r3"]);
    store
        .delete_recordings(&["r4".into(), "r3".into(), "gone".into()])
        .await
        .expect("delete");
    let old = store.recordings_started_before(400, 10).await.expect("old");
    let ids: Vec<&str> = old.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r2"]);
    let call = CallId::parse("call-old").expect("id");
    assert_eq!(
        store.recordings_of_call(&call).await.expect("list").len(),
        3
    );
}

fn callback(call: &str, number: &str, at: u64) -> CallbackRequest {
    CallbackRequest {
        call_id: id(call),
        number: CallbackNumber::parse(number).expect("number"),
        language: Some(Language::parse("pt").expect("pt")),
        description: "aluguel".into(),
        status: CallbackStatus::Open,
        requested_at: at,
        done_at: None,
        done_by: None,
    }
}

async fn a_call_leaves_one_callback_request_and_it_is_done_once(store: Store) {
    let first = callback("cb1", "+55 11 98765 4321", 1_000);
    let kept = store.request_callback(&first).await.expect("request");
    assert_eq!(kept, first);
    // Left again (a page sending twice): the first stays as it was.
    let again = store
        .request_callback(&callback("cb1", "123456", 2_000))
        .await
        .expect("again");
    assert_eq!(again, first);

    let done = store
        .callback_done(&id("cb1"), "li", 5_000)
        .await
        .expect("done")
        .expect("found");
    assert_eq!(done.status, CallbackStatus::Done);
    assert_eq!(
        (done.done_at, done.done_by.as_deref()),
        (Some(5_000), Some("li"))
    );
    // Marked done again by someone else: who and when first stay.
    let twice = store
        .callback_done(&id("cb1"), "wang", 6_000)
        .await
        .expect("twice")
        .expect("found");
    assert_eq!(twice, done);
    assert_eq!(
        store
            .callback_done(&id("nobody"), "li", 5_000)
            .await
            .expect("unknown"),
        None
    );
}

async fn callback_requests_are_listed_oldest_first_by_status(store: Store) {
    for (call, at) in [("late", 3_000), ("early", 1_000), ("middle", 2_000)] {
        store
            .request_callback(&callback(call, "+86 139 1234 5678", at))
            .await
            .expect("request");
    }
    store
        .callback_done(&id("middle"), "li", 4_000)
        .await
        .expect("done");
    let calls = |list: Vec<CallbackRequest>| {
        list.into_iter()
            .map(|r| r.call_id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    let open = store
        .callbacks(Some(CallbackStatus::Open), 100)
        .await
        .expect("open");
    assert_eq!(calls(open), ["early", "late"]);
    let done = store
        .callbacks(Some(CallbackStatus::Done), 100)
        .await
        .expect("done");
    assert_eq!(calls(done), ["middle"]);
    let all = store.callbacks(None, 2).await.expect("all");
    assert_eq!(calls(all), ["early", "middle"]);
}
