//! How long each report takes over a year of history, on SQLite and on PostgreSQL. The history is
//! generated with the day simulation's traffic model (its hourly curve, language mix and Poisson
//! arrivals, 1500 foreign calls a day) and the shipped roster's interpreters; each call's operator
//! answer, offers, interpreter, length and rating are drawn from one seeded RNG. It is
//! bulk-loaded with multi-row INSERTs, after a check that the bulk loader and the store's own
//! writer give the same reports on its first calls. Each report is asked over the whole year three
//! times; the slowest of the three counts. Ends with one `key=value` line.
//!
//! cargo run --release --example report_bench -- [--days 365] [--calls-per-day 1500] [--seed 1]
//!   [--postgres-url postgres://…]   (default: a scratch PostgreSQL started here, as the tests do)

use anyhow::{bail, Context};
use chrono::TimeZone;
use clap::Parser;
use hotline_bridge::domain::dashboard::language_known_at;
use hotline_bridge::domain::report::{Grouping, LocalClock, ReportScope};
use hotline_bridge::domain::{
    CallId, CallOutcome, CallSummary, InterpreterId, Language, Leg, LegMedia, Millis, OfferId,
    OfferOutcome, ParticipantId, Rating, Role, UniversityId,
};
use hotline_bridge::roster::Roster;
use hotline_bridge::store::{wait_ms, Record, RecordStore, SqlStore};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{LogNormal, Poisson};
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 24 * HOUR_MS;
/// The day simulation's defaults (examples/simulate_day/traffic.rs).
const CURVE: [f64; 24] = [
    1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.6, 3.0, 4.5, 5.2, 5.4, 5.0, 4.8, 5.2, 5.4, 5.2, 4.8, 4.2,
    3.8, 3.4, 2.8, 2.0, 1.4,
];
const MIX: [(&str, f64); 9] = [
    ("en", 40.0),
    ("ko", 11.0),
    ("ja", 10.0),
    ("ru", 9.0),
    ("fr", 7.0),
    ("de", 6.0),
    ("es", 6.0),
    ("ar", 6.0),
    ("pt", 5.0),
];
/// Calls per multi-row INSERT.
const CHUNK: usize = 500;
/// Calls written both ways to check the bulk loader against the store's writer.
const CHECKED: usize = 3000;
const RUNS: usize = 3;

#[derive(Parser)]
#[command(about = "Time each report over a year of generated history on SQLite and PostgreSQL")]
struct Args {
    #[arg(long, default_value_t = 365)]
    days: u64,
    #[arg(long, default_value_t = 1500.0)]
    calls_per_day: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// An empty PostgreSQL database to load (default: start a scratch server).
    #[arg(long)]
    postgres_url: Option<String>,
    /// Keep the SQLite files in this folder (default: a temporary folder, removed at the end),
    /// e.g. to look at a query plan afterwards.
    #[arg(long)]
    sqlite_dir: Option<std::path::PathBuf>,
}

/// One generated call: what the store's writer would be given.
struct Gen {
    summary: CallSummary,
    offers: Vec<(OfferId, InterpreterId, Millis, OfferOutcome, Millis)>,
    stars: Option<u8>,
}

fn lognormal(median_s: f64, sigma: f64) -> anyhow::Result<LogNormal<f64>> {
    Ok(LogNormal::new(median_s.ln(), sigma)?)
}

fn generate(
    args: &Args,
    start: Millis,
    staff: &[(Language, Vec<InterpreterId>)],
) -> anyhow::Result<Vec<Gen>> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let total: f64 = CURVE.iter().sum();
    let mix: Vec<Language> = MIX
        .iter()
        .map(|(l, _)| Language::parse(l))
        .collect::<Result<_, _>>()?;
    let pick = WeightedIndex::new(MIX.iter().map(|m| m.1))?;
    let answer = lognormal(6.0, 0.6)?;
    let give_up = lognormal(25.0, 0.5)?;
    let ring = lognormal(7.0, 0.6)?;
    let length = lognormal(300.0, 0.7)?;
    let stars = WeightedIndex::new([2, 3, 5, 25, 65])?;
    let s = |d: &LogNormal<f64>, rng: &mut StdRng| (d.sample(rng) * 1000.0) as Millis;
    let mut out = Vec::new();
    for day in 0..args.days {
        for (h, w) in CURVE.iter().enumerate() {
            let n = Poisson::new(args.calls_per_day * w / total)?.sample(&mut rng) as u64;
            let mut ats: Vec<Millis> = (0..n)
                .map(|_| start + day * DAY_MS + h as u64 * HOUR_MS + rng.gen_range(0..HOUR_MS))
                .collect();
            ats.sort_unstable();
            for created in ats {
                let language = mix[pick.sample(&mut rng)];
                let id = format!("c{}", out.len());
                let source = match rng.gen_range(0..10) {
                    0..=6 => "browser",
                    7..=8 => "chosen",
                    _ => "operator",
                };
                let caller = |end| Leg {
                    participant: ParticipantId::parse("caller").expect("id"),
                    role: Role::Caller,
                    interpreter: None,
                    media: LegMedia::Browser,
                    joined_at: created,
                    left_at: Some(end),
                };
                let mut call = CallSummary {
                    call_id: CallId::parse(&id)?,
                    language: Some(language),
                    language_source: source.into(),
                    outcome: CallOutcome::Ended,
                    created_at: created,
                    answered_at: None,
                    ended_at: created,
                    legs: Vec::new(),
                };
                // 3 % hang up before an operator answers.
                if rng.gen_bool(0.03) {
                    call.outcome = CallOutcome::Abandoned;
                    call.ended_at = created + s(&give_up, &mut rng);
                    call.legs.push(caller(call.ended_at));
                    out.push(Gen {
                        summary: call,
                        offers: Vec::new(),
                        stars: None,
                    });
                    continue;
                }
                let answered = created + s(&answer, &mut rng);
                call.answered_at = Some(answered);
                let known = language_known_at(source, created, Some(answered));
                // Offers until one is accepted (80 % are, after a few seconds; the rest ring
                // 20 s out), or 2 % of callers give up waiting.
                let pool = staff
                    .iter()
                    .find(|(l, _)| *l == language)
                    .map(|(_, v)| v.as_slice())
                    .unwrap_or_default();
                let gives_up_at = rng
                    .gen_bool(0.02)
                    .then(|| known + s(&give_up, &mut rng) + 10_000);
                let mut offers = Vec::new();
                let mut t = known + 1000;
                let mut joined = None;
                for k in 0..4 {
                    let Some(who) =
                        (!pool.is_empty()).then(|| pool[rng.gen_range(0..pool.len())].clone())
                    else {
                        break;
                    };
                    let oid = OfferId::parse(&format!("{id}-o{k}"))?;
                    if gives_up_at.is_some_and(|g| g <= t + 20_000) {
                        let end = gives_up_at.unwrap_or(t).max(t);
                        offers.push((oid, who, t, OfferOutcome::Cancelled, end));
                        break;
                    }
                    if rng.gen_bool(0.8) {
                        let at = t + s(&ring, &mut rng).min(19_000);
                        offers.push((oid, who.clone(), t, OfferOutcome::Accepted, at));
                        joined = Some((who, at + 2000));
                        break;
                    }
                    offers.push((oid, who, t, OfferOutcome::Timeout, t + 20_000));
                    t += 21_000;
                }
                let end = match &joined {
                    Some((who, at)) => {
                        let end = at + s(&length, &mut rng);
                        call.legs.push(Leg {
                            participant: ParticipantId::parse(&format!("int-{who}"))?,
                            role: Role::Interpreter,
                            interpreter: Some(who.clone()),
                            media: LegMedia::Browser,
                            joined_at: *at,
                            left_at: Some(end),
                        });
                        end
                    }
                    None => gives_up_at.unwrap_or(t).max(answered + 1000),
                };
                call.ended_at = end;
                call.legs.push(caller(end));
                call.legs.push(Leg {
                    participant: ParticipantId::parse("op-1")?,
                    role: Role::Operator,
                    interpreter: None,
                    media: LegMedia::Browser,
                    joined_at: answered,
                    left_at: Some(end),
                });
                let stars = rng.gen_bool(0.55).then(|| stars.sample(&mut rng) as u8 + 1);
                out.push(Gen {
                    summary: call,
                    offers,
                    stars,
                });
            }
        }
    }
    Ok(out)
}

/// The records the node's writer would write for `g`.
fn records(g: &Gen) -> Vec<Record> {
    let call = &g.summary.call_id;
    let mut out = Vec::new();
    for (oid, who, at, outcome, end) in &g.offers {
        out.push(Record::Offered {
            offer: oid.clone(),
            call: call.clone(),
            interpreter: who.clone(),
            language: g.summary.language,
            at: *at,
        });
        out.push(Record::OfferEnded {
            offer: Some(oid.clone()),
            call: call.clone(),
            interpreter: who.clone(),
            outcome: *outcome,
            at: *end,
        });
    }
    out.push(Record::Call(g.summary.clone()));
    if let Some(stars) = g.stars {
        out.push(Record::Rated {
            call: call.clone(),
            rating: Rating {
                stars,
                at: g.summary.ended_at,
            },
        });
    }
    out
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn n(v: Option<Millis>) -> String {
    v.map_or("NULL".into(), |v| v.to_string())
}

/// Loads `calls` with multi-row INSERTs, `CHUNK` calls a transaction, filling the report columns
/// by the store's rules (the check in `main` compares the two).
async fn bulk_load(url: &str, calls: &[Gen]) -> anyhow::Result<()> {
    let pool = sqlx::AnyPool::connect(url).await?;
    for chunk in calls.chunks(CHUNK) {
        let mut c = String::from(
            "INSERT INTO calls (id, language, language_source, outcome, created_at, answered_at, \
             ended_at, language_known_at, interpreter_joined_at, interpreter_id, asked, wait_ms, \
             stars) VALUES ",
        );
        let mut l = String::from(
            "INSERT INTO legs (call_id, participant, role, interpreter_id, media, joined_at, \
             left_at) VALUES ",
        );
        let mut o = String::from(
            "INSERT INTO offers (id, call_id, interpreter_id, language, offered_at, outcome, \
             ended_at) VALUES ",
        );
        let mut r = String::from("INSERT INTO ratings (call_id, stars, rated_at) VALUES ");
        let (mut legs, mut offers, mut ratings) = (0, 0, 0);
        for (i, g) in chunk.iter().enumerate() {
            let s = &g.summary;
            let id = q(s.call_id.as_str());
            let first = s
                .legs
                .iter()
                .filter(|l| l.role == Role::Interpreter)
                .min_by_key(|l| (l.joined_at, l.participant.as_str().to_owned()));
            let asked = first.is_some() || !g.offers.is_empty();
            let known = language_known_at(&s.language_source, s.created_at, s.answered_at);
            let _ = write!(
                c,
                "{}({id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                if i > 0 { "," } else { "" },
                s.language.map_or("NULL".into(), |l| q(l.as_str())),
                q(&s.language_source),
                q(s.outcome.as_str()),
                s.created_at,
                n(s.answered_at),
                s.ended_at,
                known,
                n(first.map(|l| l.joined_at)),
                first
                    .and_then(|l| l.interpreter.as_ref())
                    .map_or("NULL".into(), |i| q(i.as_str())),
                i64::from(asked),
                n(first.map(|l| wait_ms(known, l.joined_at))),
                g.stars.map_or("NULL".into(), |s| s.to_string()),
            );
            for leg in &s.legs {
                let _ = write!(
                    l,
                    "{}({id}, {}, {}, {}, {}, {}, {})",
                    if legs > 0 { "," } else { "" },
                    q(leg.participant.as_str()),
                    q(leg.role.as_str()),
                    leg.interpreter
                        .as_ref()
                        .map_or("NULL".into(), |i| q(i.as_str())),
                    q(leg.media.as_str()),
                    leg.joined_at,
                    n(leg.left_at),
                );
                legs += 1;
            }
            for (oid, who, at, outcome, end) in &g.offers {
                let _ = write!(
                    o,
                    "{}({}, {id}, {}, {}, {at}, {}, {end})",
                    if offers > 0 { "," } else { "" },
                    q(oid.as_str()),
                    q(who.as_str()),
                    s.language.map_or("NULL".into(), |l| q(l.as_str())),
                    q(outcome.as_str()),
                );
                offers += 1;
            }
            if let Some(stars) = g.stars {
                let _ = write!(
                    r,
                    "{}({id}, {stars}, {})",
                    if ratings > 0 { "," } else { "" },
                    s.ended_at
                );
                ratings += 1;
            }
        }
        let mut tx = pool.begin().await?;
        for (sql, rows) in [(c, 1), (l, legs), (o, offers), (r, ratings)] {
            if rows > 0 {
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Every report over `scope`, as text to compare, and the time each took.
async fn reports(
    store: &SqlStore,
    scope: &ReportScope,
) -> anyhow::Result<Vec<(String, String, f64)>> {
    let mut out = Vec::new();
    macro_rules! timed {
        ($name:expr, $e:expr) => {{
            let t = Instant::now();
            let v = $e.await?;
            out.push(($name, format!("{v:?}"), t.elapsed().as_secs_f64() * 1000.0));
        }};
    }
    for by in Grouping::ALL {
        timed!(format!("waiting_{}", by.as_str()), store.waiting(scope, by));
    }
    timed!("satisfaction".to_owned(), store.stars(scope));
    timed!("minutes".to_owned(), store.interpreter_minutes(scope));
    timed!("demand".to_owned(), store.demand(scope));
    Ok(out)
}

/// The slowest of `RUNS` runs of each report.
async fn timings(store: &SqlStore, scope: &ReportScope) -> anyhow::Result<Vec<(String, f64)>> {
    let mut worst: Vec<(String, f64)> = Vec::new();
    for _ in 0..RUNS {
        for (name, _, ms) in reports(store, scope).await? {
            match worst.iter_mut().find(|w| w.0 == name) {
                Some(w) => w.1 = w.1.max(ms),
                None => worst.push((name, ms)),
            }
        }
    }
    Ok(worst)
}

/// A migrated SQLite store in `dir`, and its URL.
async fn sqlite(dir: &Path, name: &str) -> anyhow::Result<(SqlStore, String)> {
    let url = format!("sqlite://{}", dir.join(name).display());
    let store = SqlStore::open(&url)?;
    store.migrate().await?;
    Ok((store, url))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let beijing = chrono_tz::Asia::Shanghai;
    let start = beijing
        .with_ymd_and_hms(2025, 12, 1, 0, 0, 0)
        .single()
        .context("start")?
        .timestamp_millis() as Millis;
    let served: Vec<Language> = MIX
        .iter()
        .map(|(l, _)| Language::parse(l))
        .collect::<Result<_, _>>()?;
    let settings = hotline_bridge::config::Settings::load_with_env(None, Vec::new())?;
    let roster = Roster::load(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/interpreters.toml")),
        &settings.languages.served(),
    )?;
    let staff: Vec<(Language, Vec<InterpreterId>)> = served
        .iter()
        .map(|l| {
            let ids = roster
                .interpreters
                .iter()
                .filter(|p| p.level_in(*l).is_some())
                .map(|p| p.id.clone())
                .collect();
            (*l, ids)
        })
        .collect();
    let universities: Vec<(InterpreterId, UniversityId)> = roster
        .interpreters
        .iter()
        .map(|p| (p.id.clone(), p.university.clone()))
        .collect();

    let t = Instant::now();
    let calls = generate(&args, start, &staff)?;
    let legs: usize = calls.iter().map(|g| g.summary.legs.len()).sum();
    let offers: usize = calls.iter().map(|g| g.offers.len()).sum();
    let ratings = calls.iter().filter(|g| g.stars.is_some()).count();
    eprintln!(
        "generated {} calls, {legs} legs, {offers} offers, {ratings} ratings over {} days \
         with {} interpreters in {:.1} s",
        calls.len(),
        args.days,
        universities.len(),
        t.elapsed().as_secs_f64()
    );
    let to = start + args.days * DAY_MS;
    let scope = ReportScope {
        from: start,
        to,
        clock: LocalClock::new(&beijing, start, to),
        universities,
    };

    // The bulk loader against the store's own writer, on the first calls.
    let temp = tempfile::tempdir()?;
    let dir = match &args.sqlite_dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("--sqlite-dir {}", d.display()))?;
            d.clone()
        }
        None => temp.path().to_owned(),
    };
    let few = &calls[..CHECKED.min(calls.len())];
    let (written, _) = sqlite(&dir, "written.db").await?;
    for g in few {
        written.write(&records(g)).await?;
    }
    let (bulk, bulk_url) = sqlite(&dir, "bulk.db").await?;
    bulk_load(&bulk_url, few).await?;
    let a = reports(&written, &scope).await?;
    let b = reports(&bulk, &scope).await?;
    for ((name, x, _), (_, y, _)) in a.iter().zip(&b) {
        if x != y {
            bail!("the bulk loader's {name} differs from the writer's:\n{x}\n{y}");
        }
    }
    eprintln!(
        "bulk loader checked against the store's writer on {} calls",
        few.len()
    );

    let mut line = format!(
        "calls={} legs={legs} offers={offers} ratings={ratings} days={}",
        calls.len(),
        args.days
    );
    let mut worst: f64 = 0.0;

    let (store, year_url) = sqlite(&dir, "year.db").await?;
    let t = Instant::now();
    bulk_load(&year_url, &calls).await?;
    let load = t.elapsed().as_secs_f64();
    eprintln!("sqlite: loaded in {load:.1} s");
    let _ = write!(line, " sqlite_load_s={load:.1}");
    for (name, ms) in timings(&store, &scope).await? {
        eprintln!("sqlite {name:<26} {ms:8.1} ms");
        let _ = write!(line, " sqlite_{name}_ms={ms:.0}");
        worst = worst.max(ms);
    }
    drop(store);

    let server = match &args.postgres_url {
        Some(_) => None,
        None => Some(scratch::Postgres::start()?),
    };
    let url = match (&args.postgres_url, &server) {
        (Some(u), _) => u.clone(),
        (None, Some(s)) => s.url(),
        (None, None) => bail!("no PostgreSQL"),
    };
    let store = SqlStore::open(&url)?;
    store.migrate().await?;
    let t = Instant::now();
    bulk_load(&url, &calls).await?;
    let pool = sqlx::AnyPool::connect(&url).await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    let load = t.elapsed().as_secs_f64();
    eprintln!("postgres: loaded in {load:.1} s");
    let _ = write!(line, " pg_load_s={load:.1}");
    for (name, ms) in timings(&store, &scope).await? {
        eprintln!("postgres {name:<24} {ms:8.1} ms");
        let _ = write!(line, " pg_{name}_ms={ms:.0}");
        worst = worst.max(ms);
    }
    drop(store);
    drop(server);
    let _ = write!(line, " worst_ms={worst:.0}");
    println!("{line}");
    Ok(())
}

/// A scratch PostgreSQL (Debian's postgresql package) on a free loopback port, as
/// tests/common/postgres.rs starts one: initdb in a temporary folder, no fsync, stopped on drop.
mod scratch {
    use anyhow::{bail, Context};
    use std::os::unix::process::CommandExt;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub struct Postgres {
        port: u16,
        child: Child,
        _dir: tempfile::TempDir,
    }

    impl Postgres {
        pub fn start() -> anyhow::Result<Self> {
            let dir = tempfile::tempdir()?;
            let ids = run_as()?;
            if let Some((u, g)) = ids {
                std::os::unix::fs::chown(dir.path(), Some(u), Some(g))?;
            }
            let data = dir.path().join("data");
            let mut initdb = Command::new(bin("initdb"));
            initdb
                .arg("-D")
                .arg(&data)
                .args(["-U", "hotline", "-A", "trust", "-E", "UTF8", "--no-sync"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            as_user(&mut initdb, ids);
            if !initdb
                .status()
                .context("initdb (postgresql installed?)")?
                .success()
            {
                bail!("initdb failed");
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut cmd = Command::new(bin("postgres"));
            cmd.arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
                .arg("-c")
                .arg(format!("unix_socket_directories={}", dir.path().display()))
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            as_user(&mut cmd, ids);
            let child = cmd.spawn().context("postgres")?;
            let pid_file = data.join("postmaster.pid");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let ready = std::fs::read_to_string(&pid_file)
                    .map(|t| t.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
                    .unwrap_or(false);
                if ready {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("postgres not ready in 30 s");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(Self {
                port,
                child,
                _dir: dir,
            })
        }

        pub fn url(&self) -> String {
            format!("postgres://hotline@127.0.0.1:{}/postgres", self.port)
        }
    }

    impl Drop for Postgres {
        fn drop(&mut self) {
            // SIGINT: PostgreSQL's fast shutdown.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
            let _ = self.child.wait();
        }
    }

    fn run_as() -> anyhow::Result<Option<(u32, u32)>> {
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        let id = |flag: &str| -> anyhow::Result<u32> {
            let out = Command::new("id").args([flag, "postgres"]).output()?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
        };
        Ok(Some((id("-u")?, id("-g")?)))
    }

    fn as_user(cmd: &mut Command, ids: Option<(u32, u32)>) {
        if let Some((u, g)) = ids {
            cmd.uid(u).gid(g);
        }
    }

    fn bin(name: &str) -> PathBuf {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse().ok()?;
                Some((v, e.path().join("bin").join(name)))
            })
            .filter(|(_, p)| p.exists())
            .collect();
        found.sort();
        found.pop().map_or_else(|| PathBuf::from(name), |(_, p)| p)
    }
}
