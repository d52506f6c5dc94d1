//! baresip (Debian `baresip`), a real softphone, as a phone in the tests: it calls the bridge as
//! a caller's mobile phone would (through the trunk's address), or answers when the bridge rings
//! an interpreter's number. Each `Phone` is its own baresip process with its own configuration in a
//! temporary directory: G.711 only, its microphone a WAV file played in a loop, and everything it
//! hears recorded to a WAV file (the `sndfile` module), so a test can tell what reached the
//! phone's ear and when. It is driven over its `ctrl_tcp` socket (JSON in netstrings): commands
//! get responses, and call events (`CALL_ESTABLISHED`, `CALL_CLOSED` …) are awaited, not polled.
//! Missing baresip fails the test, naming the fix. The process is killed when dropped.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const BINARY: &str = "/usr/bin/baresip";
const MODULES: &str = "/usr/lib/baresip/modules";
/// How long baresip may take to open its control socket.
const READY_DEADLINE: Duration = Duration::from_secs(15);
const WAV_HEADER: u64 = 44;

pub struct Phone {
    /// Where the phone receives SIP (UDP, loopback).
    pub sip: SocketAddr,
    /// The user part the phone answers to (`sip:<user>@<sip>`).
    pub user: String,
    child: Child,
    writer: OwnedWriteHalf,
    events: mpsc::UnboundedReceiver<Value>,
    responses: mpsc::UnboundedReceiver<Value>,
    dir: tempfile::TempDir,
    log: PathBuf,
}

/// How a phone's calls are set up.
#[derive(Clone, Copy)]
pub struct PhoneOptions {
    /// Its audio codecs, in baresip's `audio_codecs` syntax (e.g. "PCMU,PCMA", "opus/48000/2").
    pub codecs: &'static str,
    /// SDES-SRTP required (`mediaenc=srtp-mand`): its offer is RTP/SAVP with keys.
    pub srtp: bool,
}

impl Default for PhoneOptions {
    fn default() -> Self {
        PhoneOptions {
            codecs: "PCMU,PCMA",
            srtp: false,
        }
    }
}

/// What a phone says into its microphone.
pub enum Mouth<'a> {
    /// Speech (any WAV): converted to 8 kHz mono and looped for two minutes.
    Speech(&'a Path),
    /// A steady sine tone at this frequency.
    Tone(f64),
}

/// Writes baresip's `config` and `accounts` into `dir`.
fn write_config(
    dir: &Path,
    sip: SocketAddr,
    ctrl_port: u16,
    mic: &Path,
    rec: &Path,
    user: &str,
    options: PhoneOptions,
) {
    let config = format!(
        "poll_method epoll\n\
         net_interface 127.0.0.1\n\
         sip_listen {sip}\n\
         audio_source aufile,{mic}\n\
         audio_player aubridge,ear\n\
         audio_alert aubridge,ear\n\
         ausrc_srate 8000\n\
         ausrc_channels 1\n\
         auplay_channels 1\n\
         auplay_srate 8000\n\
         snd_path {rec}\n\
         module_path {MODULES}\n\
         module g711.so\n\
         module opus.so\n\
         module srtp.so\n\
         module aufile.so\n\
         module aubridge.so\n\
         module sndfile.so\n\
         module_tmp account.so\n\
         module_app menu.so\n\
         module ctrl_tcp.so\n\
         ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
        mic = mic.display(),
        rec = rec.display(),
    );
    std::fs::write(dir.join("config"), config).expect("baresip config");
    let srtp = if options.srtp {
        ";mediaenc=srtp-mand"
    } else {
        ""
    };
    let account = format!(
        "<sip:{user}@{sip};transport=udp>;regint=0;answermode=auto;audio_codecs={}{srtp}\n",
        options.codecs
    );
    std::fs::write(dir.join("accounts"), account).expect("baresip accounts");
}

/// Starts baresip on the configuration in `dir`, logging to `log`, and connects to its control
/// socket; if it exits first, returns what it logged.
async fn launch(dir: &Path, log: &Path, ctrl_port: u16) -> Result<(Child, TcpStream), String> {
    let out = std::fs::File::create(log).expect("log file");
    let mut child = Command::new(BINARY)
        .arg("-f")
        .arg(dir)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("start baresip");
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "baresip exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        match TcpStream::connect(("127.0.0.1", ctrl_port)).await {
            Ok(s) => return Ok((child, s)),
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "baresip's control socket did not open within {READY_DEADLINE:?}: {e}\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
                // A process starting up: there is no event to await before its socket.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Phone {
    /// Starts a G.711 phone answering to `user` on a free loopback port; it answers at once.
    pub async fn start(user: &str, mouth: Mouth<'_>) -> Phone {
        Phone::start_with(user, mouth, PhoneOptions::default()).await
    }

    /// Starts a phone with `options`.
    pub async fn start_with(user: &str, mouth: Mouth<'_>, options: PhoneOptions) -> Phone {
        assert!(
            Path::new(BINARY).is_file(),
            "baresip is not installed: the phone tests need a real softphone. Install Debian's \
             baresip (apt-get install baresip), or run scripts/test.sh, which does."
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let rec = dir.path().join("rec");
        std::fs::create_dir_all(&rec).expect("recordings dir");
        let mic = dir.path().join("mic.wav");
        let mut sox = Command::new("sox");
        match mouth {
            Mouth::Speech(wav) => sox
                .arg(wav)
                .args(["-r", "8000", "-c", "1", "-b", "16"])
                .arg(&mic)
                .args(["norm", "-3", "pad", "0", "0.5", "repeat", "40"]),
            Mouth::Tone(hz) => sox
                .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
                .arg(&mic)
                .args(["synth", "120", "sine", &hz.to_string(), "vol", "0.5"]),
        };
        let ok = sox
            .status()
            .expect("sox (installed by scripts/test.sh)")
            .success();
        assert!(ok, "sox could not make the phone's microphone");
        // Another process may take a port between our check and baresip's bind (its TLS
        // listener on the SIP port + 1 too): then it exits at once, and starts again on others.
        let mut attempt = 0;
        let (sip, child, stream, log) = loop {
            attempt += 1;
            let sip_port = super::ports::free_sip_ports();
            let ctrl_port = super::ports::free_port();
            let sip: SocketAddr = format!("127.0.0.1:{sip_port}").parse().expect("addr");
            write_config(dir.path(), sip, ctrl_port, &mic, &rec, user, options);
            let log = dir.path().join(format!("baresip-{attempt}.log"));
            match launch(dir.path(), &log, ctrl_port).await {
                Ok((child, stream)) => break (sip, child, stream, log),
                Err(output) if output.contains("Address already in use") && attempt < 5 => continue,
                Err(output) => panic!("baresip did not start:\n{output}"),
            }
        };
        let (mut reader, writer) = stream.into_split();
        let (ev_tx, events) = mpsc::unbounded_channel();
        let (resp_tx, responses) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                match reader.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                while let Some((msg, used)) = netstring(&buf) {
                    buf.drain(..used);
                    let to = if msg["response"] == true {
                        &resp_tx
                    } else {
                        &ev_tx
                    };
                    let _ = to.send(msg);
                }
            }
        });
        Phone {
            sip,
            user: user.to_owned(),
            child,
            writer,
            events,
            responses,
            dir,
            log,
        }
    }

    /// What baresip logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn command(&mut self, command: &str, params: &str) -> Value {
        let body = json!({"command": command, "params": params, "token": command}).to_string();
        let framed = format!("{}:{},", body.len(), body);
        self.writer
            .write_all(framed.as_bytes())
            .await
            .expect("write to baresip's control socket");
        tokio::time::timeout(Duration::from_secs(10), self.responses.recv())
            .await
            .unwrap_or_else(|_| panic!("baresip did not answer {command}:\n{}", self.log()))
            .expect("baresip's control socket closed")
    }

    /// Dials `uri` (e.g. `sip:12345001@127.0.0.1:5060`).
    pub async fn dial(&mut self, uri: &str) {
        let r = self.command("dial", uri).await;
        assert_eq!(r["ok"], true, "baresip refused to dial {uri}: {r}");
    }

    /// Hangs up the current call.
    pub async fn hang_up(&mut self) {
        self.command("hangup", "").await;
    }

    /// Presses key `digit` (sent as RFC 4733 telephone-event when the call negotiated it).
    pub async fn press(&mut self, digit: char) {
        let r = self.command("sndcode", &digit.to_string()).await;
        assert_eq!(r["ok"], true, "baresip could not send {digit}: {r}");
    }

    /// Waits for the call event `kind` (e.g. `CALL_ESTABLISHED`), skipping others, within
    /// `timeout`; returns it.
    pub async fn wait_event(&mut self, kind: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(ev)) if ev["type"] == kind => return ev,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("baresip exited while waiting for {kind}:\n{}", self.log()),
                Err(_) => panic!("baresip: no {kind} within {timeout:?}:\n{}", self.log()),
            }
        }
    }

    /// The recording of what the phone hears in its current (or last) call.
    fn ear_file(&self) -> Option<PathBuf> {
        let mut dec: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect();
        dec.sort();
        dec.pop()
    }

    /// A mark in what the phone has heard so far: `heard_since` measures from here.
    pub fn ear_mark(&self) -> u64 {
        self.ear_file()
            .and_then(|f| std::fs::metadata(f).ok())
            .map_or(WAV_HEADER, |m| m.len().max(WAV_HEADER))
    }

    /// What the phone heard since `mark`: its loudness and how much of it was `tone_hz`.
    pub fn heard_since(&self, mark: u64, tone_hz: Option<f64>) -> Heard {
        let Some(bytes) = self.ear_file().and_then(|f| std::fs::read(f).ok()) else {
            return Heard::default();
        };
        let Some(format) = EarFormat::of(&bytes) else {
            return Heard::default();
        };
        let from = (mark as usize).min(bytes.len());
        // The first channel of each frame.
        let frame = 2 * usize::from(format.channels);
        let samples: Vec<f64> = bytes[from..]
            .chunks_exact(frame)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect();
        Heard::of(&samples, format.rate, tone_hz)
    }

    /// Seconds of audio the phone has heard since `mark`.
    pub fn seconds_since(&self, mark: u64) -> f64 {
        let Some(format) = self.ear_file().and_then(|f| ear_format(&f)) else {
            return 0.0;
        };
        self.ear_mark().saturating_sub(mark) as f64 / format.bytes_per_s() as f64
    }
}

/// The recording's sample format (16-bit PCM), from its WAV header.
#[derive(Debug, Clone, Copy)]
struct EarFormat {
    channels: u16,
    rate: u32,
}

impl EarFormat {
    fn of(header: &[u8]) -> Option<EarFormat> {
        let channels = u16::from_le_bytes(header.get(22..24)?.try_into().ok()?);
        let rate = u32::from_le_bytes(header.get(24..28)?.try_into().ok()?);
        (channels > 0 && rate > 0).then_some(EarFormat { channels, rate })
    }

    fn bytes_per_s(self) -> u64 {
        u64::from(self.rate) * 2 * u64::from(self.channels)
    }
}

fn ear_format(file: &Path) -> Option<EarFormat> {
    use std::io::Read;
    let mut header = [0u8; WAV_HEADER as usize];
    std::fs::File::open(file)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    EarFormat::of(&header)
}

/// What a stretch of a phone's ear recording holds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Heard {
    pub seconds: f64,
    /// Root mean square, 0..1 of full scale.
    pub rms: f64,
    /// The share of the energy at the tone asked about (Goertzel, per 100 ms), 0..1.
    pub tone_share: f64,
}

impl Heard {
    /// The loudness of what was not the tone asked about (all of it when none was).
    pub fn other_rms(&self) -> f64 {
        self.rms * (1.0 - self.tone_share).max(0.0).sqrt()
    }

    fn of(samples: &[f64], rate: u32, tone_hz: Option<f64>) -> Heard {
        if samples.is_empty() {
            return Heard::default();
        }
        let energy: f64 = samples.iter().map(|s| s * s).sum();
        let rms = (energy / samples.len() as f64).sqrt();
        let tone_share = tone_hz.map_or(0.0, |hz| {
            if energy <= 0.0 {
                return 0.0;
            }
            // Goertzel block by block: the tone's energy in each, against the total. Blocks,
            // not the whole stretch, so a tone that comes and goes (a beep) counts as fully as
            // a steady one.
            let block = (rate / TONE_BLOCKS_PER_S) as usize;
            let tone: f64 = samples.chunks(block).map(|b| goertzel(b, hz, rate)).sum();
            (tone / energy).min(1.0)
        });
        Heard {
            seconds: samples.len() as f64 / f64::from(rate),
            rms,
            tone_share,
        }
    }
}

/// Blocks per second the tone is measured in: 100 ms, a whole number of cycles for any pitch in
/// tens of Hz.
const TONE_BLOCKS_PER_S: u32 = 10;

/// The energy (sum of squares) of `samples` at `hz` (Goertzel).
fn goertzel(samples: &[f64], hz: f64, rate: u32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / samples.len() as f64
}

/// One netstring (`<len>:<bytes>,`) at the start of `buf` as JSON, and the bytes it used.
fn netstring(buf: &[u8]) -> Option<(Value, usize)> {
    let colon = buf.iter().position(|b| *b == b':')?;
    let len: usize = std::str::from_utf8(&buf[..colon]).ok()?.parse().ok()?;
    let end = colon + 1 + len;
    if buf.len() <= end {
        return None;
    }
    let msg = serde_json::from_slice(&buf[colon + 1..end]).unwrap_or(Value::Null);
    Some((msg, end + 1))
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
