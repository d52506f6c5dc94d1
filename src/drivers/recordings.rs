//! Call recordings (`records.recording`): the media shards hand every leg's Opus packets to a
//! `RecordingSink`, a bounded queue they never wait on, one batch per turn of their loop (so the
//! writer is woken once a turn, not once a packet; a full queue drops the batch and counts its
//! packets), and one writer thread muxes each leg into its own Ogg Opus file (`sfu::record`), with a
//! row in the record when it starts and again when it ends. `sweep` deletes recordings past
//! `records.retention_days`, file first, then row; `start_sweep` runs it hourly.

use super::clock::now_ms;
use super::lifecycle::Lifecycle;
use super::records::Recorder;
use crate::config::RecordSettings;
use crate::domain::{CallId, Millis, ParticipantId, Recording};
use crate::engine::RtpTiming;
use crate::sfu::record::{OggOpus, Recorded};
use crate::store::{Record, RecordStore, StoreError};
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Batches (one per media loop turn that recorded anything) waiting for the writer at most: a
/// loaded shard's turns come every few ms, so several seconds of a stalled disk. Past it the
/// media loop drops batches rather than wait.
pub const QUEUE: usize = 4096;
/// A leg that sent nothing this long is finished (its end may have been dropped with a full
/// queue); a later packet starts a new file.
const IDLE_END: Duration = Duration::from_secs(60);
/// How often the writer looks for idle legs when nothing arrives.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// How often the retention sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Recordings the sweep deletes per batch.
const SWEEP_BATCH: u32 = 500;
const DAY_MS: Millis = 86_400_000;

/// Cheap to clone; what one media shard hands its recorded packets to. Never waits.
#[derive(Clone)]
pub struct RecordingSink {
    tx: SyncSender<(usize, Vec<Recorded>)>,
    /// Legs are numbered per media shard: the writer tells them apart by shard.
    shard: usize,
}

impl RecordingSink {
    /// The sink for media shard `shard`.
    pub fn for_shard(&self, shard: usize) -> Self {
        Self {
            tx: self.tx.clone(),
            shard,
        }
    }

    /// Queues one turn's `batch` for the writer; a full queue drops it (its packets counted).
    pub fn send(&self, batch: Vec<Recorded>) {
        if batch.is_empty() {
            return;
        }
        match self.tx.try_send((self.shard, batch)) {
            Ok(()) => {}
            Err(TrySendError::Full((_, batch))) => {
                let packets = batch
                    .iter()
                    .filter(|r| matches!(r, Recorded::Packet { .. }))
                    .count();
                crate::metrics::recording_dropped("full", packets as u64);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Starts the writer thread for recordings under `settings.recording_dir`, their rows going to
/// `records`. It ends once every sink is dropped (the shards have stopped), finishing every file.
pub fn start(
    settings: &RecordSettings,
    records: Option<Recorder>,
) -> std::io::Result<RecordingSink> {
    start_with_queue(settings, records, QUEUE)
}

/// `start` with a queue of `capacity` batches (tests, benchmarks).
pub fn start_with_queue(
    settings: &RecordSettings,
    records: Option<Recorder>,
    capacity: usize,
) -> std::io::Result<RecordingSink> {
    let dir = PathBuf::from(&settings.recording_dir);
    std::fs::create_dir_all(&dir)?;
    let (tx, rx) = mpsc::sync_channel(capacity.max(1));
    let writer = Writer {
        dir,
        records,
        names: HashMap::new(),
        legs: HashMap::new(),
    };
    std::thread::Builder::new()
        .name("recordings".into())
        .spawn(move || writer.run(rx))?;
    Ok(RecordingSink { tx, shard: 0 })
}

/// (media shard, leg in it).
type LegKey = (usize, u64);

/// One leg being written.
struct Leg {
    row: Recording,
    /// `None` once writing failed: the rest of the leg is dropped (counted).
    ogg: Option<OggOpus<BufWriter<File>>>,
    last_packet: Instant,
}

struct Writer {
    dir: PathBuf,
    records: Option<Recorder>,
    /// Whose each leg is, from its `Began` to its `Ended`.
    names: HashMap<LegKey, (CallId, ParticipantId)>,
    /// The legs with a file open.
    legs: HashMap<LegKey, Leg>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<(usize, Vec<Recorded>)>) {
        loop {
            match rx.recv_timeout(IDLE_CHECK) {
                Ok((shard, batch)) => {
                    for r in batch {
                        self.handle(shard, r);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.end_idle(Instant::now());
        }
        let keys: Vec<LegKey> = self.legs.keys().copied().collect();
        for k in keys {
            self.end(&k);
        }
    }

    fn handle(&mut self, shard: usize, r: Recorded) {
        match r {
            Recorded::Began {
                call,
                participant,
                leg,
            } => {
                self.names.insert((shard, leg), (call, participant));
            }
            Recorded::Packet {
                leg,
                timing,
                payload,
            } => self.packet((shard, leg), timing, &payload),
            Recorded::Ended { leg } => {
                self.end(&(shard, leg));
                self.names.remove(&(shard, leg));
            }
        }
    }

    fn packet(&mut self, key: LegKey, timing: RtpTiming, payload: &[u8]) {
        if !self.legs.contains_key(&key) {
            // A leg whose `Began` was dropped with a full queue is not recorded.
            let Some((call, participant)) = self.names.get(&key) else {
                crate::metrics::recording_dropped("full", 1);
                return;
            };
            let leg = self.open(call, participant);
            self.legs.insert(key, leg);
        }
        let Some(leg) = self.legs.get_mut(&key) else {
            return;
        };
        leg.last_packet = Instant::now();
        let Some(ogg) = leg.ogg.as_mut() else {
            crate::metrics::recording_dropped("write", 1);
            return;
        };
        let filled = ogg.filled;
        match ogg.push(timing, payload) {
            Ok(()) => crate::metrics::recording_packets(1 + ogg.filled - filled),
            Err(e) => {
                tracing::warn!(call_id = %leg.row.call_id, participant = %leg.row.participant,
                    error = %e, "recording cannot be written: the rest of this leg is not recorded");
                leg.ogg = None;
            }
        }
    }

    /// Makes a leg's file and writes its headers, and its row (not ended yet).
    fn open(&self, call: &CallId, participant: &ParticipantId) -> Leg {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let path = self
            .dir
            .join(call.as_str())
            .join(format!("{}-{id}.opus", participant.as_str()));
        let row = Recording {
            id,
            call_id: call.clone(),
            participant: participant.clone(),
            path: path.display().to_string(),
            started_at: now_ms(),
            ended_at: None,
            bytes: 0,
        };
        let ogg = create(&path, &row)
            .inspect_err(|e| {
                tracing::warn!(call_id = %call, participant = %participant, path = %row.path,
                    error = %e, "recording file cannot be made: this leg is not recorded");
            })
            .ok();
        if ogg.is_some() {
            tracing::info!(call_id = %call, participant = %participant, recording = %row.id,
                "recording started");
            self.write_row(&row);
        }
        Leg {
            row,
            ogg,
            last_packet: Instant::now(),
        }
    }

    /// Finishes a leg's file (end of stream) and writes its end and size.
    fn end(&mut self, key: &LegKey) {
        let Some(mut leg) = self.legs.remove(key) else {
            return;
        };
        let Some(ogg) = leg.ogg.take() else {
            return;
        };
        let (dropped, filled) = (ogg.dropped, ogg.filled);
        let (call, participant) = (&leg.row.call_id, &leg.row.participant);
        if let Err(e) = ogg.finish() {
            tracing::warn!(call_id = %call, participant = %participant, error = %e,
                "recording could not be finished");
        }
        leg.row.ended_at = Some(now_ms());
        leg.row.bytes = std::fs::metadata(&leg.row.path).map_or(0, |m| m.len());
        tracing::info!(call_id = %leg.row.call_id, participant = %leg.row.participant,
            recording = %leg.row.id, bytes = leg.row.bytes, dropped, filled, "recording ended");
        self.write_row(&leg.row);
    }

    fn end_idle(&mut self, now: Instant) {
        let idle: Vec<LegKey> = self
            .legs
            .iter()
            .filter(|(_, l)| now - l.last_packet >= IDLE_END)
            .map(|(k, _)| *k)
            .collect();
        for k in idle {
            self.end(&k);
        }
    }

    fn write_row(&self, row: &Recording) {
        if let Some(r) = &self.records {
            r.send(Record::Recording(row.clone()));
        }
    }
}

fn create(path: &Path, row: &Recording) -> std::io::Result<OggOpus<BufWriter<File>>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = BufWriter::new(File::create(path)?);
    let started = row.started_at.to_string();
    OggOpus::new(
        file,
        rand::random(),
        &[
            ("CALL_ID", row.call_id.as_str()),
            ("PARTICIPANT", row.participant.as_str()),
            ("STARTED_UNIX_MS", &started),
        ],
    )
}

/// Deletes every recording that started more than `retention_days` before `now`: its file (one
/// already gone is fine; one that cannot be deleted keeps its row, for the next sweep), then
/// its row; also its call's folder once empty. 0 days keeps everything. How many were deleted.
pub async fn sweep(
    store: &dyn RecordStore,
    now: Millis,
    retention_days: u32,
) -> Result<usize, StoreError> {
    if retention_days == 0 {
        return Ok(0);
    }
    let cutoff = now.saturating_sub(Millis::from(retention_days) * DAY_MS);
    let mut deleted = 0;
    loop {
        let batch = store.recordings_started_before(cutoff, SWEEP_BATCH).await?;
        let mut gone = Vec::with_capacity(batch.len());
        for r in &batch {
            let path = Path::new(&r.path);
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(call_id = %r.call_id, path = %r.path, error = %e,
                        "recording past retention cannot be deleted; tried again next sweep");
                    continue;
                }
            }
            if let Some(dir) = path.parent() {
                // Only an empty folder goes; one with other legs' files stays.
                let _ = std::fs::remove_dir(dir);
            }
            gone.push(r.id.clone());
        }
        store.delete_recordings(&gone).await?;
        deleted += gone.len();
        // A short batch was the last; a batch with nothing deletable would come back the same.
        if batch.len() < SWEEP_BATCH as usize || gone.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        crate::metrics::recordings_swept(deleted);
        tracing::info!(deleted, retention_days, "recordings past retention deleted");
    }
    Ok(deleted)
}

/// Runs `sweep` once the record's tables are made, then every `SWEEP_EVERY` until the node stops.
pub fn start_sweep(records: &Recorder, retention_days: u32, lifecycle: &Lifecycle) {
    if retention_days == 0 {
        return;
    }
    let stop = lifecycle.child();
    let store: Arc<dyn RecordStore> = records.store().clone();
    let mut progress = records.progress();
    lifecycle.spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = progress.wait_for(|p| p.migrated) => {}
        }
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {
                    if let Err(e) = sweep(store.as_ref(), now_ms(), retention_days).await {
                        tracing::warn!(error = %e, "recordings sweep failed; tried again later");
                    }
                }
            }
        }
    });
}
