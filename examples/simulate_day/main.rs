//! Replays a day of hotline traffic against the real dispatch engine and the real pool
//! (`MemoryPool`, or `RedisPool` on a scratch server with `--redis-url`) in simulated time: a
//! discrete-event loop over call arrivals, interpreter answers, call ends, shift changes and the
//! engine's own wake-ups, so a day takes seconds. Interpreters are present while on shift
//! (heartbeats are sent just before the pool is asked, which is when presence is checked). Prints
//! a table per language and ends with one `key=value` line over the core eight.
//!
//! cargo run --release --example simulate_day -- [--calls-per-day 1500] [--seed 1] [--help]

mod report;
mod staffing;
mod traffic;

use anyhow::{bail, Context};
use chrono::{NaiveDate, TimeZone};
use clap::Parser;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{
    CallId, InterpreterId, InterpreterProfile, Language, Millis, OfferId,
};
use hotline_bridge::drivers::dispatch::carry_out;
use hotline_bridge::engine::dispatch::{
    Action, Dispatcher, Escalation, Input, NewRequest, Policy, ProgressEvent, NEVER,
};
use hotline_bridge::pool::{Availability, InterpreterPool, MemoryPool, PoolError, RedisPool};
use hotline_bridge::roster::Roster;
use rand::rngs::StdRng;
use rand::SeedableRng;
use report::{Member, Report};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use traffic::{Answering, Lengths, Reaction, HOUR_MS};

const MINUTE_MS: Millis = 60_000;
/// Shift changes are generated this far past the day, so calls that run late still find staff.
const TAIL_HOURS: u64 = 2;
/// The acceptance target: service level within 30 s for the core eight.
const SL30_TARGET_PCT: f64 = 95.0;

#[derive(Parser)]
#[command(about = "Simulate a day of interpreter dispatch in accelerated time")]
struct Args {
    /// Expected foreign-language calls in the day (each asks for an interpreter at once).
    #[arg(long, default_value_t = 1500.0)]
    calls_per_day: f64,
    /// Relative volume per Beijing hour 00..23 (24 comma-separated weights).
    #[arg(long, default_value = traffic::DEFAULT_CURVE)]
    curve: String,
    /// Language mix, lang=weight,…
    #[arg(long, default_value = traffic::DEFAULT_MIX)]
    mix: String,
    /// The simulated day (Beijing date; the day runs 00:00-24:00 Beijing time).
    #[arg(long, default_value = "2026-12-02")]
    date: NaiveDate,
    /// Roster files, merged (repeat the flag to add proposed interpreters to the shipped ones);
    /// default: the shipped interpreters.toml.
    #[arg(long)]
    roster: Vec<PathBuf>,
    /// Settings file (dispatch settings); HOTLINE__DISPATCH__… variables apply too.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Median call length with an interpreter, seconds (log-normal).
    #[arg(long, default_value_t = 360.0)]
    duration_median_s: f64,
    #[arg(long, default_value_t = 0.6)]
    duration_sigma: f64,
    /// Median time an interpreter takes to answer a ringing offer, seconds (log-normal).
    #[arg(long, default_value_t = 4.0)]
    answer_median_s: f64,
    #[arg(long, default_value_t = 0.6)]
    answer_sigma: f64,
    /// Probability that an answering interpreter accepts (else declines).
    #[arg(long, default_value_t = 0.92)]
    accept_prob: f64,
    /// Probability that an interpreter does not answer at all (the offer times out).
    #[arg(long, default_value_t = 0.03)]
    no_answer_prob: f64,
    /// An auto-paused interpreter makes themselves available again after this many seconds.
    #[arg(long, default_value_t = 120)]
    unpause_after_s: u64,
    /// The operator gives up waiting for an interpreter after this many seconds (a failure).
    #[arg(long, default_value_t = 600)]
    patience_s: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Play the day against the Redis at this URL (a scratch one) instead of the in-memory pool.
    #[arg(long)]
    redis_url: Option<String>,
    /// Print every progress event of this language's requests to stderr (Beijing time of day).
    #[arg(long)]
    trace: Option<Language>,
}

enum Event {
    Arrive(Language),
    Answer {
        offer: OfferId,
        who: InterpreterId,
        accept: bool,
    },
    End(CallId),
    Abandon(CallId),
    ShiftStart(usize),
    ShiftEnd(usize),
    Unpause(usize),
}

struct Call {
    language: Language,
    requested_hour: usize,
    accepted: Option<(Millis, usize)>,
    done: bool,
}

struct Sim {
    pool: Box<dyn InterpreterPool>,
    d: Dispatcher,
    rng: StdRng,
    now: Millis,
    start: Millis,
    seq: u64,
    events: BTreeMap<(Millis, u64), Event>,
    wake: Millis,
    profiles: Vec<InterpreterProfile>,
    index: HashMap<InterpreterId, usize>,
    speakers: HashMap<Language, Vec<usize>>,
    on_shift: Vec<bool>,
    logged_in: Vec<Option<Millis>>,
    leaving: BTreeSet<usize>,
    calls: HashMap<CallId, Call>,
    next_call: u64,
    durations: Lengths,
    answering: Answering,
    ring_timeout_ms: u64,
    unpause_ms: u64,
    patience_ms: u64,
    report: Report,
    trace: Option<Language>,
}

impl Sim {
    fn at(&mut self, t: Millis, e: Event) {
        self.seq += 1;
        self.events.insert((t, self.seq), e);
    }

    async fn heartbeats(&self, language: Language) -> Result<(), PoolError> {
        for &i in self.speakers.get(&language).into_iter().flatten() {
            if self.logged_in[i].is_some() {
                self.pool.heartbeat(&self.profiles[i].id, self.now).await?;
            }
        }
        Ok(())
    }

    /// Drains the engine, carrying out its actions and reacting to its progress events.
    async fn pump(&mut self) -> anyhow::Result<()> {
        loop {
            let action = self.d.poll_action();
            match &action {
                Action::WakeAt(t) => {
                    self.wake = *t;
                    return Ok(());
                }
                Action::Notify(p) => {
                    if self.trace == Some(p.language) {
                        let t = (self.now - self.start) / 1000;
                        eprintln!(
                            "{:02}:{:02}:{:02} {} {:?}",
                            t / 3600,
                            t / 60 % 60,
                            t % 60,
                            p.call,
                            p.event
                        );
                    }
                    self.progress(&p.call, p.language, &p.event)
                }
                Action::Snapshot(l) => self.heartbeats(*l).await?,
                Action::Claim(c) => self.heartbeats(c.language).await?,
                _ => {}
            }
            for input in carry_out(self.pool.as_ref(), &action, self.now).await {
                self.d.handle(input, self.now)?;
            }
        }
    }

    fn progress(&mut self, call: &CallId, language: Language, event: &ProgressEvent) {
        match event {
            ProgressEvent::Ringing {
                interpreter, offer, ..
            } => {
                if let Reaction::Answer { after_ms, accept } = self.answering.react(&mut self.rng) {
                    if after_ms < self.ring_timeout_ms {
                        let e = Event::Answer {
                            offer: offer.clone(),
                            who: interpreter.clone(),
                            accept,
                        };
                        self.at(self.now + after_ms, e);
                    }
                }
            }
            ProgressEvent::Accepted {
                interpreter,
                waited_ms,
                relay,
                ..
            } => {
                let i = self.index[interpreter];
                let end = self.now + self.durations.sample_ms(&mut self.rng);
                self.at(end, Event::End(call.clone()));
                *self.report.calls.entry(interpreter.clone()).or_default() += 1;
                let hour = self.calls.get(call).map_or(0, |c| c.requested_hour);
                let s = self.report.stats(language);
                s.tti_ms.push(*waited_ms);
                s.relayed += u32::from(relay.is_some());
                if *waited_ms <= 30_000 {
                    s.by_hour[hour].1 += 1;
                }
                if let Some(c) = self.calls.get_mut(call) {
                    c.accepted = Some((self.now, i));
                }
            }
            ProgressEvent::Escalated {
                to: Escalation::OffShift,
                ..
            } => self.report.stats(language).escalated += 1,
            ProgressEvent::TimedOut {
                interpreter,
                paused: true,
            } => {
                let i = self.index[interpreter];
                self.at(self.now + self.unpause_ms, Event::Unpause(i));
            }
            ProgressEvent::Failed { .. } => {
                self.report.stats(language).failed += 1;
                if let Some(c) = self.calls.get_mut(call) {
                    c.done = true;
                }
            }
            _ => {}
        }
    }

    async fn log_in(&mut self, i: usize) -> anyhow::Result<()> {
        let id = self.profiles[i].id.clone();
        self.pool
            .set_availability(&id, Availability::Available, self.now)
            .await?;
        if self.logged_in[i].is_none() {
            self.logged_in[i] = Some(self.now);
        }
        self.d
            .handle(Input::InterpreterAvailable { interpreter: id }, self.now)?;
        Ok(())
    }

    /// Logs out everyone whose shift is over and who is no longer offered or on a call.
    async fn log_out_leavers(&mut self) -> anyhow::Result<()> {
        for i in std::mem::take(&mut self.leaving) {
            let id = self.profiles[i].id.clone();
            match self
                .pool
                .set_availability(&id, Availability::Offline, self.now)
                .await
            {
                Ok(_) => {
                    if let Some(since) = self.logged_in[i].take() {
                        *self.report.logged_in_ms.entry(id).or_default() += self.now - since;
                    }
                }
                Err(PoolError::Engaged(_)) => {
                    self.leaving.insert(i);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn event(&mut self, e: Event) -> anyhow::Result<()> {
        let now = self.now;
        match e {
            Event::Arrive(language) => {
                self.next_call += 1;
                let call = CallId::parse(&format!("call-{}", self.next_call))?;
                let hour = usize::try_from((now - self.start) / HOUR_MS)
                    .unwrap_or(0)
                    .min(23);
                self.calls.insert(
                    call.clone(),
                    Call {
                        language,
                        requested_hour: hour,
                        accepted: None,
                        done: false,
                    },
                );
                let s = self.report.stats(language);
                s.requests += 1;
                s.by_hour[hour].0 += 1;
                self.at(now + self.patience_ms, Event::Abandon(call.clone()));
                let req = NewRequest {
                    call,
                    language,
                    priority: 0,
                    preferred: None,
                };
                self.d.handle(Input::Request(req), now)?;
            }
            Event::Answer { offer, who, accept } => {
                match self.pool.respond(&offer, &who, accept, now).await {
                    Ok(state) => self.d.handle(
                        Input::OfferEnded {
                            offer,
                            state,
                            paused: false,
                        },
                        now,
                    )?,
                    // Withdrawn or expired first: the engine hears of it from cancel or sweep.
                    Err(PoolError::TooLate(_) | PoolError::AlreadyEnded { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Event::End(call) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.done = true;
                    if let Some((since, i)) = c.accepted {
                        self.report.stats(c.language).busy_ms += now - since;
                        if !self.on_shift[i] {
                            self.leaving.insert(i);
                        }
                    }
                }
                self.d.handle(Input::CallEnded { call }, now)?;
            }
            Event::Abandon(call) => {
                let waiting = self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.accepted.is_none() && !c.done);
                if waiting {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.done = true;
                        let language = c.language;
                        self.report.stats(language).abandoned += 1;
                    }
                    self.d.handle(Input::Cancel { call }, now)?;
                }
            }
            Event::ShiftStart(i) => {
                self.on_shift[i] = true;
                self.leaving.remove(&i);
                self.log_in(i).await?;
            }
            Event::ShiftEnd(i) => {
                self.on_shift[i] = false;
                self.leaving.insert(i);
            }
            Event::Unpause(i) => {
                if self.on_shift[i] && self.logged_in[i].is_some() {
                    self.log_in(i).await?;
                }
            }
        }
        Ok(())
    }

    async fn run(&mut self) -> anyhow::Result<()> {
        let mut steps: u64 = 0;
        loop {
            steps += 1;
            if steps > 50_000_000 {
                bail!("simulation did not settle (engine woke without progress?)");
            }
            let next = self.events.first_key_value().map(|(k, _)| k.0);
            match next {
                Some(t) if t <= self.wake => {
                    let Some(((t, _), e)) = self.events.pop_first() else {
                        break;
                    };
                    self.now = self.now.max(t);
                    self.event(e).await?;
                }
                _ if self.wake != NEVER => {
                    self.now = self.now.max(self.wake);
                    self.d.handle(Input::Timer, self.now)?;
                }
                _ => break,
            }
            self.pump().await?;
            if !self.leaving.is_empty() {
                self.log_out_leavers().await?;
            }
        }
        for (i, since) in self.logged_in.iter().enumerate() {
            if let Some(since) = since {
                *self
                    .report
                    .logged_in_ms
                    .entry(self.profiles[i].id.clone())
                    .or_default() += self.now - since;
            }
        }
        Ok(())
    }
}

/// On-shift intervals of each interpreter from `start` for `hours`, at minute resolution.
fn shift_intervals(p: &InterpreterProfile, start: Millis, hours: u64) -> Vec<(Millis, Millis)> {
    let mut out = Vec::new();
    let mut open: Option<Millis> = None;
    for m in 0..=hours * 60 {
        let t = start + m * MINUTE_MS;
        let on = m < hours * 60
            && i64::try_from(t)
                .ok()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .is_some_and(|at| p.schedule.on_shift(at));
        match (on, open) {
            (true, None) => open = Some(t),
            (false, Some(s)) => {
                out.push((s, t));
                open = None;
            }
            _ => {}
        }
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut settings = Settings::load(args.config.as_deref())?;
    let pool: Box<dyn InterpreterPool> = match &args.redis_url {
        // The day is played against a real Redis (its scripts, its round trips); the roster is
        // written under redis.key_prefix: use a scratch server or prefix.
        Some(url) => {
            settings.redis.url = url.clone();
            Box::new(RedisPool::open(&settings.redis)?)
        }
        None => Box::new(MemoryPool::new()),
    };
    let served = settings.languages.served();
    let mut roster_paths = args.roster.clone();
    if roster_paths.is_empty() {
        roster_paths.push(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/interpreters.toml"
        )));
    }
    let mut profiles = Vec::new();
    for path in &roster_paths {
        profiles.extend(Roster::load(path, &served)?.interpreters);
    }
    for p in &profiles {
        pool.upsert(p).await?;
    }
    let policy = Policy::from_settings(&settings.dispatch);
    let mut d = Dispatcher::new(policy.clone(), args.seed);
    d.set_profiles(profiles.clone());

    let beijing = chrono_tz::Asia::Shanghai;
    let start = beijing
        .from_local_datetime(&args.date.and_hms_opt(0, 0, 0).context("midnight")?)
        .single()
        .context("Beijing midnight is unambiguous")?
        .timestamp_millis();
    let start = Millis::try_from(start).context("date before 1970")?;

    let mut rng = StdRng::seed_from_u64(args.seed);
    let curve = traffic::parse_curve(&args.curve)?;
    let mix = traffic::parse_mix(&args.mix)?;
    let arrivals = traffic::arrivals(&mut rng, start, args.calls_per_day, &curve, &mix)?;
    if !(0.0..=1.0).contains(&args.accept_prob) || !(0.0..=1.0).contains(&args.no_answer_prob) {
        bail!("--accept-prob and --no-answer-prob are probabilities (0..1)");
    }

    let mut speakers: HashMap<Language, Vec<usize>> = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        for s in &p.languages {
            speakers.entry(s.language).or_default().push(i);
        }
    }
    let mut sim = Sim {
        pool,
        d,
        rng,
        now: start,
        start,
        seq: 0,
        events: BTreeMap::new(),
        wake: NEVER,
        index: profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect(),
        speakers,
        on_shift: vec![false; profiles.len()],
        logged_in: vec![None; profiles.len()],
        leaving: BTreeSet::new(),
        calls: HashMap::new(),
        next_call: 0,
        durations: Lengths::new(args.duration_median_s, args.duration_sigma)?,
        answering: Answering {
            delay: Lengths::new(args.answer_median_s, args.answer_sigma)?,
            accept_prob: args.accept_prob,
            no_answer_prob: args.no_answer_prob,
        },
        ring_timeout_ms: policy.ring_timeout_ms,
        unpause_ms: args.unpause_after_s * 1000,
        patience_ms: args.patience_s * 1000,
        report: Report::default(),
        trace: args.trace,
        profiles,
    };
    let mut members = Vec::new();
    for (i, p) in sim.profiles.clone().iter().enumerate() {
        let shifts = shift_intervals(p, start, 24 + TAIL_HOURS);
        for (on, off) in &shifts {
            sim.at(*on, Event::ShiftStart(i));
            sim.at(*off, Event::ShiftEnd(i));
        }
        members.push(Member {
            id: p.id.clone(),
            skills: p.languages.iter().map(|s| (s.language, s.level)).collect(),
            shifts: shifts
                .into_iter()
                .filter(|s| s.0 < start + 24 * HOUR_MS)
                .collect(),
        });
    }
    let n_arrivals = arrivals.len();
    for a in arrivals {
        sim.at(a.at, Event::Arrive(a.language));
    }

    let wall = std::time::Instant::now();
    sim.run().await?;
    let core = &settings.languages.core;
    println!(
        "simulated {} (Beijing) · {} interpreters from {} · {} calls · dispatch: ring {} s, parallel {}, escalate {} s, wrap-up {} s · seed {} · {:.1} s wall",
        args.date,
        sim.profiles.len(),
        roster_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        n_arrivals,
        policy.ring_timeout_ms / 1000,
        policy.parallel_offers,
        policy.escalate_after_ms / 1000,
        policy.wrap_up_ms / 1000,
        args.seed,
        wall.elapsed().as_secs_f64()
    );
    println!(
        "tti = request to accept (answered requests); sl = answered within 20/30 s over all requests; \
         util = busy time on the language's calls / logged-in time of its speakers; \
         fairness = worst max/min calls among equally eligible interpreters (same skills, same shifts, ≥ {} calls each on average); * = extended language",
        report::FAIRNESS_MIN_MEAN_CALLS
    );
    let sigma2 = args.duration_sigma * args.duration_sigma;
    staffing::print(
        &staffing::Load {
            per_day: args.calls_per_day,
            curve: &curve,
            mix: &mix,
            aht_s: args.duration_median_s * (sigma2 / 2.0).exp()
                + (policy.wrap_up_ms / 1000) as f64,
            wait_s: 30.0 - args.answer_median_s,
            target: SL30_TARGET_PCT / 100.0,
        },
        &sim.profiles,
        start,
    );
    sim.report.print_short_hours(SL30_TARGET_PCT);
    sim.report.print(&members, core);
    Ok(())
}
