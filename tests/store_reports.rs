//! The record store's reports (src/store/reports.rs), held to one contract on SQLite and on a
//! real PostgreSQL: a small hand-built history of nine calls, and every figure of every report
//! worked out here by hand from it (the comments show the arithmetic).

use crate::common;

use common::postgres::TestPostgres;
use hotline_bridge::domain::report::{
    DemandRow, Grouping, LocalClock, MinutesRow, ReportScope, StarsRow, WaitingRow,
};
use hotline_bridge::domain::{
    CallId, CallOutcome, CallSummary, InterpreterId, Language, Leg, LegMedia, Millis, OfferId,
    OfferOutcome, ParticipantId, Rating, Role, UniversityId,
};
use hotline_bridge::store::{Record, RecordStore, SqlStore};
use std::sync::Arc;

pub(crate) type Store = Arc<dyn RecordStore>;

struct Fixture {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<TestPostgres>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("hotline.db").display());
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
    waiting_per_language,
    waiting_per_interpreter_and_university,
    waiting_per_hour_of_the_week_and_month,
    satisfaction_per_language,
    interpreter_minutes_per_month,
    demand_per_language_and_hour,
    an_empty_range_has_no_rows,
);

const S: Millis = 1000;
const MIN: Millis = 60 * S;
const H: Millis = 3_600_000;
const DAY: Millis = 24 * H;
/// Monday 2026-11-02 00:00 in Beijing (UTC+8), the hotline's clock.
const MONDAY: Millis = 1_793_548_800_000;

fn lang(s: &str) -> Option<Language> {
    Some(Language::parse(s).expect("language"))
}

fn iid(s: &str) -> InterpreterId {
    InterpreterId::parse(s).expect("interpreter id")
}

fn leg(who: &str, role: Role, joined: Millis, left: Option<Millis>) -> Leg {
    Leg {
        participant: ParticipantId::parse(who).expect("participant"),
        role,
        interpreter: (role == Role::Interpreter).then(|| iid(who)),
        media: LegMedia::Browser,
        joined_at: joined,
        left_at: left,
    }
}

struct Call {
    id: &'static str,
    language: Option<Language>,
    source: &'static str,
    created: Millis,
    /// Seconds after `created`.
    answered: Option<Millis>,
    ended: Millis,
    /// (interpreter, joined, left) in seconds after `created`.
    interpreters: Vec<(&'static str, Millis, Option<Millis>)>,
}

impl Call {
    fn summary(&self) -> CallSummary {
        let at = |s: Millis| self.created + s * S;
        let mut legs = vec![leg(
            "caller",
            Role::Caller,
            self.created,
            Some(at(self.ended)),
        )];
        if let Some(a) = self.answered {
            legs.push(leg("op-wang", Role::Operator, at(a), Some(at(self.ended))));
        }
        for (who, joined, left) in &self.interpreters {
            legs.push(leg(who, Role::Interpreter, at(*joined), left.map(at)));
        }
        CallSummary {
            call_id: CallId::parse(self.id).expect("call id"),
            language: self.language,
            language_source: self.source.into(),
            outcome: if self.answered.is_some() {
                CallOutcome::Ended
            } else {
                CallOutcome::Abandoned
            },
            created_at: self.created,
            answered_at: self.answered.map(at),
            ended_at: at(self.ended),
            legs,
        }
    }
}

fn offered(offer: &str, call: &str, who: &str, at: Millis) -> Record {
    Record::Offered {
        offer: OfferId::parse(offer).expect("offer id"),
        call: CallId::parse(call).expect("call id"),
        interpreter: iid(who),
        language: None,
        at,
    }
}

fn offer_ended(offer: &str, call: &str, who: &str, outcome: OfferOutcome, at: Millis) -> Record {
    Record::OfferEnded {
        offer: Some(OfferId::parse(offer).expect("offer id")),
        call: CallId::parse(call).expect("call id"),
        interpreter: iid(who),
        outcome,
        at,
    }
}

fn rated(call: &str, stars: u8) -> Record {
    Record::Rated {
        call: CallId::parse(call).expect("call id"),
        rating: Rating { stars, at: 0 },
    }
}

/// The history. Times in Beijing; "waits" are from the language known to the first interpreter
/// joining.
pub(crate) async fn history(store: &Store) {
    let mon10 = MONDAY + 10 * H;
    let calls = [
        // Mon 10:00, pt chosen on the page: li joins after 12 s, for 600 s. 5 stars.
        Call {
            id: "c1",
            language: lang("pt"),
            source: "browser",
            created: mon10,
            answered: Some(5),
            ended: 620,
            interpreters: vec![("bfsu-li", 12, Some(612))],
        },
        // Mon 10:01, pt: wang after 25 s, for 300 s. 4 stars.
        Call {
            id: "c2",
            language: lang("pt"),
            source: "browser",
            created: mon10 + MIN,
            answered: Some(4),
            ended: 330,
            interpreters: vec![("sisu-wang", 25, Some(325))],
        },
        // Mon 10:02, pt set by the operator on answering at 30 s: li at 70 s waits 40 s, for
        // 120 s. 2 stars.
        Call {
            id: "c3",
            language: lang("pt"),
            source: "operator",
            created: mon10 + 2 * MIN,
            answered: Some(30),
            ended: 200,
            interpreters: vec![("bfsu-li", 70, Some(190))],
        },
        // Mon 11:00, pt: hung up after 20 s before an operator answered.
        Call {
            id: "c4",
            language: lang("pt"),
            source: "browser",
            created: MONDAY + 11 * H,
            answered: None,
            ended: 20,
            interpreters: vec![],
        },
        // Tue 03:00, ar: wang rung (the offer written after the call), nobody joined, ended at
        // 90 s: abandoned waiting for an interpreter, waited 90 s. 1 star.
        Call {
            id: "c5",
            language: lang("ar"),
            source: "browser",
            created: MONDAY + 27 * H,
            answered: Some(3),
            ended: 90,
            interpreters: vec![],
        },
        // Tue 03:30, ar: wang after 8 s, still in the call as recorded (to the end, 120 s);
        // x-ghost (no longer on the roster) from 50 s to 100 s.
        Call {
            id: "c6",
            language: lang("ar"),
            source: "chosen",
            created: MONDAY + 27 * H + 30 * MIN,
            answered: Some(2),
            ended: 128,
            interpreters: vec![("sisu-wang", 8, None), ("x-ghost", 50, Some(100))],
        },
        // Tue 2026-12-01 00:30 Beijing (still November in UTC), pt: li after 15 s, for 60 s.
        // 5 stars.
        Call {
            id: "c7",
            language: lang("pt"),
            source: "browser",
            created: MONDAY + 29 * DAY + 30 * MIN,
            answered: Some(5),
            ended: 80,
            interpreters: vec![("bfsu-li", 15, Some(75))],
        },
        // Mon 10:30, language never known, no interpreter asked.
        Call {
            id: "c8",
            language: None,
            source: "unknown",
            created: MONDAY + 10 * H + 30 * MIN,
            answered: Some(10),
            ended: 60,
            interpreters: vec![],
        },
        // The Sunday before the range: counted nowhere. 3 stars.
        Call {
            id: "c9",
            language: lang("pt"),
            source: "browser",
            created: MONDAY - DAY,
            answered: Some(2),
            ended: 700,
            interpreters: vec![("bfsu-li", 5, Some(600))],
        },
    ];
    let mut batch = vec![
        offered("o1", "c1", "bfsu-li", mon10 + 6 * S),
        offer_ended("o1", "c1", "bfsu-li", OfferOutcome::Accepted, mon10 + 9 * S),
        // A rating may be written before its call's row: the row must still carry it.
        rated("c7", 5),
    ];
    batch.extend(calls.iter().map(|c| Record::Call(c.summary())));
    for (call, stars) in [("c1", 5), ("c2", 4), ("c3", 2), ("c5", 1), ("c9", 3)] {
        batch.push(rated(call, stars));
    }
    store.write(&batch).await.expect("write history");
    let c5 = MONDAY + 27 * H;
    store
        .write(&[
            offered("o5", "c5", "sisu-wang", c5 + 4 * S),
            offer_ended("o5", "c5", "sisu-wang", OfferOutcome::Timeout, c5 + 19 * S),
        ])
        .await
        .expect("write late offer");
}

fn scope() -> ReportScope {
    let (from, to) = (MONDAY, MONDAY + 60 * DAY);
    ReportScope {
        from,
        to,
        clock: LocalClock::new(&chrono_tz::Asia::Shanghai, from, to),
        universities: vec![
            (iid("bfsu-li"), UniversityId::parse("bfsu").expect("id")),
            (iid("sisu-wang"), UniversityId::parse("sisu").expect("id")),
        ],
    }
}

/// A waiting row: (key, calls, abandoned waiting for an operator, asked, joined, within 20 s,
/// within 30 s, abandoned waiting for an interpreter, median s, p90 s).
type Figures = (
    &'static str,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    Option<u64>,
    Option<u64>,
);

/// A waiting row as compared: key, the seven counts, median and p90 in ms.
type Got = (String, [u64; 7], Option<u64>, Option<u64>);

fn figures(rows: Vec<WaitingRow>) -> Vec<Got> {
    rows.into_iter()
        .map(|r| {
            (
                r.key,
                [
                    r.calls,
                    r.abandoned_waiting_for_operator,
                    r.asked_for_interpreter,
                    r.interpreter_joined,
                    r.within_20s,
                    r.within_30s,
                    r.abandoned_waiting_for_interpreter,
                ],
                r.time_to_interpreter_median_ms,
                r.time_to_interpreter_p90_ms,
            )
        })
        .collect()
}

fn expected(rows: &[Figures]) -> Vec<Got> {
    rows.iter()
        .map(|&(k, a, b, c, d, e, f, g, m, p)| {
            (
                k.to_owned(),
                [a, b, c, d, e, f, g],
                m.map(|s| s * S),
                p.map(|s| s * S),
            )
        })
        .collect()
}

async fn waiting(store: &Store, by: Grouping) -> Vec<Got> {
    figures(store.waiting(&scope(), by).await.expect("report"))
}

async fn waiting_per_language(store: Store) {
    history(&store).await;
    assert_eq!(
        waiting(&store, Grouping::Language).await,
        expected(&[
            // c8: no language, never asked.
            ("", 1, 0, 0, 0, 0, 0, 0, None, None),
            // c5 (no one joined), c6 (8 s).
            ("ar", 2, 0, 2, 1, 1, 1, 1, Some(8), Some(8)),
            // c4 abandoned; waits 12, 15, 25, 40 s: 2 within 20 s, 3 within 30 s; median the
            // 2nd of 4 (ceil 4 x 0.5), p90 the 4th (ceil 4 x 0.9).
            ("pt", 5, 1, 4, 4, 2, 3, 0, Some(15), Some(40)),
        ])
    );
}

async fn waiting_per_interpreter_and_university(store: Store) {
    history(&store).await;
    // A call belongs to its first interpreter; none joined c4, c5, c8.
    let none = ("", 3, 1, 1, 0, 0, 0, 1, None, None);
    // li: 12, 15, 40 s (c1, c7, c3): median the 2nd of 3, p90 the 3rd.
    let li = (3, 0, 3, 3, 2, 2, 0, Some(15), Some(40));
    // wang: 8, 25 s (c6, c2): median the 1st of 2, p90 the 2nd. x-ghost joined c6 second.
    let wang = (2, 0, 2, 2, 1, 2, 0, Some(8), Some(25));
    let with = |k, f: (u64, u64, u64, u64, u64, u64, u64, Option<u64>, Option<u64>)| {
        (k, f.0, f.1, f.2, f.3, f.4, f.5, f.6, f.7, f.8)
    };
    assert_eq!(
        waiting(&store, Grouping::Interpreter).await,
        expected(&[none, with("bfsu-li", li), with("sisu-wang", wang)])
    );
    assert_eq!(
        waiting(&store, Grouping::University).await,
        expected(&[none, with("bfsu", li), with("sisu", wang)])
    );
}

async fn waiting_per_hour_of_the_week_and_month(store: Store) {
    history(&store).await;
    assert_eq!(
        waiting(&store, Grouping::HourOfWeek).await,
        expected(&[
            // Mon 10: c1, c2, c3, c8; waits 12, 25, 40 s.
            ("10", 4, 0, 3, 3, 1, 2, 0, Some(25), Some(40)),
            // Mon 11: c4.
            ("11", 1, 1, 0, 0, 0, 0, 0, None, None),
            // Tue 00 (Beijing): c7, 15 s.
            ("24", 1, 0, 1, 1, 1, 1, 0, Some(15), Some(15)),
            // Tue 03: c5, c6.
            ("27", 2, 0, 2, 1, 1, 1, 1, Some(8), Some(8)),
        ])
    );
    assert_eq!(
        waiting(&store, Grouping::Month).await,
        expected(&[
            // c1-c6, c8; waits 8, 12, 25, 40 s: median the 2nd, p90 the 4th.
            ("2026-11", 7, 1, 5, 4, 2, 3, 1, Some(12), Some(40)),
            // c7 is December on the hotline's clock.
            ("2026-12", 1, 0, 1, 1, 1, 1, 0, Some(15), Some(15)),
        ])
    );
}

async fn satisfaction_per_language(store: Store) {
    history(&store).await;
    let got = store.stars(&scope()).await.expect("report");
    assert_eq!(
        got,
        vec![
            StarsRow {
                language: "ar".into(),
                stars: [1, 0, 0, 0, 0],
            },
            // c1 5, c2 4, c3 2, c7 5 (c9's 3 is before the range).
            StarsRow {
                language: "pt".into(),
                stars: [0, 1, 0, 1, 2],
            },
        ]
    );
}

async fn interpreter_minutes_per_month(store: Store) {
    history(&store).await;
    let row = |month: &str, university: &str, interpreter: &str, calls, ms| MinutesRow {
        month: month.into(),
        interpreter: interpreter.into(),
        university: university.into(),
        calls,
        ms,
    };
    assert_eq!(
        store.interpreter_minutes(&scope()).await.expect("report"),
        vec![
            // c6, 50 s; not on the roster.
            row("2026-11", "", "x-ghost", 1, 50 * S),
            // c1 600 s + c3 120 s.
            row("2026-11", "bfsu", "bfsu-li", 2, 720 * S),
            // c2 300 s + c6 to its end, 128 - 8 = 120 s.
            row("2026-11", "sisu", "sisu-wang", 2, 420 * S),
            // c7, 60 s.
            row("2026-12", "bfsu", "bfsu-li", 1, 60 * S),
        ]
    );
}

async fn demand_per_language_and_hour(store: Store) {
    history(&store).await;
    let row = |language: &str, hour_of_week, calls, asked, waited_s: Millis| DemandRow {
        language: language.into(),
        hour_of_week,
        calls,
        asked_for_interpreter: asked,
        waited_ms: waited_s * S,
    };
    assert_eq!(
        store.demand(&scope()).await.expect("report"),
        vec![
            row("", 10, 1, 0, 0),
            // c5 waited to its end (90 s), c6 8 s.
            row("ar", 27, 2, 2, 98),
            // 12 + 25 + 40 s.
            row("pt", 10, 3, 3, 77),
            row("pt", 11, 1, 0, 0),
            row("pt", 24, 1, 1, 15),
        ]
    );
}

async fn an_empty_range_has_no_rows(store: Store) {
    history(&store).await;
    let mut empty = scope();
    empty.from = MONDAY + 100 * DAY;
    empty.to = MONDAY + 101 * DAY;
    empty.clock = LocalClock::new(&chrono_tz::Asia::Shanghai, empty.from, empty.to);
    empty.universities.clear();
    for by in Grouping::ALL {
        assert_eq!(store.waiting(&empty, by).await.expect("report"), vec![]);
    }
    assert_eq!(store.stars(&empty).await.expect("report"), vec![]);
    assert_eq!(
        store.interpreter_minutes(&empty).await.expect("report"),
        vec![]
    );
    assert_eq!(store.demand(&empty).await.expect("report"), vec![]);
}

/// A record written before the calls kept their wait and stars (migrations up to the fifth) is
/// upgraded in place: the reports read the same figures from it as from one written now.
async fn an_upgraded_record_reports_the_same(url: &str) {
    let upto5 = tempfile::tempdir().expect("temp dir");
    let mut names: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations folder")
        .map(|e| e.expect("migration").path())
        .collect();
    names.sort();
    for path in names.iter().take(5) {
        let name = path.file_name().expect("file name");
        std::fs::copy(path, upto5.path().join(name)).expect("copy migration");
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    sqlx::migrate::Migrator::new(upto5.path())
        .await
        .expect("first five migrations")
        .run(&pool)
        .await
        .expect("migrate to the fifth");
    // Two calls as the writer of that time left them: the report columns of the third
    // migration, and the rating in its own table.
    let mon10 = MONDAY + 10 * H;
    for (id, joined, stars) in [("u1", Some(mon10 + 12 * S), Some(5)), ("u2", None, None)] {
        sqlx::query(
            "INSERT INTO calls (id, language, language_source, outcome, created_at, \
             answered_at, ended_at, language_known_at, interpreter_joined_at, interpreter_id, \
             asked) VALUES ($1, 'pt', 'browser', 'ended', $2, $3, $4, $2, $5, $6, 1)",
        )
        .bind(id)
        .bind(mon10 as i64)
        .bind((mon10 + 5 * S) as i64)
        .bind((mon10 + 600 * S) as i64)
        .bind(joined.map(|j| j as i64))
        .bind(joined.map(|_| "bfsu-li"))
        .execute(&pool)
        .await
        .expect("old call row");
        if let Some(stars) = stars {
            sqlx::query("INSERT INTO ratings (call_id, stars, rated_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(stars as i64)
                .bind((mon10 + 601 * S) as i64)
                .execute(&pool)
                .await
                .expect("old rating");
        }
    }
    pool.close().await;
    let store = SqlStore::open(url).expect("open");
    store.migrate().await.expect("upgrade");
    let got = store
        .waiting(&scope(), Grouping::Language)
        .await
        .expect("waiting");
    assert_eq!(got.len(), 1, "{got:?}");
    // u1 waited 12 s; u2 asked and ended without one.
    assert_eq!(
        (
            got[0].calls,
            got[0].asked_for_interpreter,
            got[0].interpreter_joined,
            got[0].within_20s,
            got[0].abandoned_waiting_for_interpreter,
            got[0].time_to_interpreter_median_ms,
            got[0].time_to_interpreter_p90_ms,
        ),
        (2, 2, 1, 1, 1, Some(12 * S), Some(12 * S))
    );
    let stars = store.stars(&scope()).await.expect("stars");
    assert_eq!(
        stars,
        vec![StarsRow {
            language: "pt".into(),
            stars: [0, 0, 0, 0, 1],
        }]
    );
}

#[tokio::test]
async fn an_upgraded_sqlite_record_reports_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    an_upgraded_record_reports_the_same(&url).await;
}

#[tokio::test]
async fn an_upgraded_postgres_record_reports_the_same() {
    let server = TestPostgres::start();
    an_upgraded_record_reports_the_same(&server.url()).await;
}
