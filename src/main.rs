//! The `hotline-bridge` command: parses the CLI, loads settings and hands over to the library.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use hotline_bridge::coverage::Coverage;
use hotline_bridge::roster::{self, Roster};
use hotline_bridge::{app, auth, config::Settings};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The allocator the media shards' per-packet work is measured with (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Conference an interpreter into a citizen-hotline call"
)]
struct Cli {
    /// Settings file overriding config/default.toml (environment HOTLINE__… overrides both).
    #[arg(long, global = true, env = "HOTLINE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Load and validate the settings, print them without secrets, and exit.
    CheckConfig,
    /// Print a fresh random secret and the hash to put in the settings.
    NewSecret {
        /// Hash a password read from standard input with argon2 (operator accounts) instead.
        #[arg(long)]
        argon2: bool,
    },
    /// Show how a roster file covers the week (heat map per language, gaps). Exit status: 0 when
    /// every core language has the minimum in every hour, 1 when there are gaps, 2 on bad input.
    Coverage {
        /// Roster file to read (default: roster.file from the settings).
        #[arg(long)]
        roster: Option<PathBuf>,
        /// Print JSON (168 counts per language, Monday 00:00 UTC first, and the gaps).
        #[arg(long)]
        json: bool,
        /// Interpreters needed in every core-language hour (default: coverage.min_interpreters).
        #[arg(long)]
        min: Option<u32>,
        /// Any instant of the week to check, RFC 3339 (default: now), e.g. 2026-07-01T00:00:00Z.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    /// Validate a roster file and upsert its interpreters into the configured pool (Redis).
    Import {
        /// The roster file, e.g. interpreters.toml.
        file: PathBuf,
    },
    /// Recovery by hand on the configured Redis pool: what is stuck, release an interpreter, end
    /// a call (audited). Exit status: 0 done, 1 failed (e.g. Redis unreachable), 2 bad input
    /// (malformed or unknown id, no redis.url), 3 nothing to do (not held, already ended).
    Admin {
        #[command(subcommand)]
        command: hotline_bridge::admin::AdminCommand,
    },
    /// Supervisor accounts (the /dashboard big screen).
    Supervisor {
        #[command(subcommand)]
        command: SupervisorCommand,
    },
}

#[derive(Subcommand)]
enum SupervisorCommand {
    /// Read the supervisor's password from standard input and print the settings entry that adds
    /// the account (argon2 hash), as TOML and as an environment variable. Exit status 2 on a bad
    /// name or an empty password.
    Add {
        /// The account name: 1-32 lowercase letters, digits or '_' (so it also works as an
        /// environment variable's part).
        name: String,
    },
}

/// Exit status of `coverage` when the roster cannot be read or is invalid (1 means gaps).
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hotline-bridge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let load = || Settings::load(cli.config.as_deref());
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let settings = load()?;
            init_tracing();
            let rt = tokio::runtime::Runtime::new().context("tokio runtime")?;
            rt.block_on(serve(settings))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            let mut settings = load()?;
            if !settings.media.turn_secret.is_empty() {
                settings.media.turn_secret = "<set>".into();
            }
            print!(
                "{}",
                toml::to_string(&settings).context("printing settings")?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::NewSecret { argon2 } => {
            if argon2 {
                let mut password = String::new();
                std::io::stdin()
                    .read_line(&mut password)
                    .context("reading the password from standard input")?;
                let password = password.trim_end_matches(['\r', '\n']);
                anyhow::ensure!(!password.is_empty(), "empty password on standard input");
                let phc = auth::argon2_hash(password).map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("password_argon2 = \"{phc}\"");
            } else {
                let secret = auth::new_secret();
                println!("secret          = {secret}");
                println!("api_key_sha256  = \"{}\"", auth::sha256_hex(&secret));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Coverage {
            roster,
            json,
            min,
            at,
        } => {
            let settings = load()?;
            match coverage(&settings, roster.as_deref(), json, min, at) {
                Ok(code) => Ok(code),
                Err(e) => {
                    eprintln!("hotline-bridge: {e:#}");
                    Ok(ExitCode::from(EXIT_BAD_INPUT))
                }
            }
        }
        Command::Import { file } => {
            let mut settings = load()?;
            // The import is the only write: do not also seed from roster.file on the way.
            settings.roster.file = String::new();
            let rt = tokio::runtime::Runtime::new().context("tokio runtime")?;
            rt.block_on(import(settings, &file))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Supervisor {
            command: SupervisorCommand::Add { name },
        } => match add_supervisor(&name) {
            Ok(entry) => {
                print!("{entry}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("hotline-bridge: {e:#}");
                Ok(ExitCode::from(EXIT_BAD_INPUT))
            }
        },
        Command::Admin { command } => {
            let settings = load()?;
            let rt = tokio::runtime::Runtime::new().context("tokio runtime")?;
            match rt.block_on(hotline_bridge::admin::run(&settings, command)) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(e) => {
                    eprintln!("hotline-bridge: {e}");
                    Ok(ExitCode::from(e.code))
                }
            }
        }
    }
}

/// The settings entry for supervisor `name` with the password on standard input.
fn add_supervisor(name: &str) -> anyhow::Result<String> {
    let name_ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    anyhow::ensure!(
        name_ok,
        "supervisor name {:?}: use 1-32 lowercase letters, digits or '_'",
        name.chars().take(40).collect::<String>()
    );
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "empty password on standard input");
    let phc = auth::argon2_hash(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(format!(
        "# in the settings file:\n[supervisors.{name}]\npassword_argon2 = \"{phc}\"\n\
         # or in the environment:\nHOTLINE__SUPERVISORS__{}__PASSWORD_ARGON2='{phc}'\n",
        name.to_ascii_uppercase()
    ))
}

fn coverage(
    settings: &Settings,
    roster: Option<&Path>,
    json: bool,
    min: Option<u32>,
    at: Option<DateTime<Utc>>,
) -> anyhow::Result<ExitCode> {
    let path = match roster {
        Some(p) => p.to_path_buf(),
        None => settings
            .roster_path()
            .context("no roster file: pass --roster FILE or set roster.file")?,
    };
    let langs = &settings.languages;
    let roster = Roster::load(&path, &langs.served())?;
    let min = min.unwrap_or(settings.coverage.min_interpreters);
    let report = Coverage::compute(
        &roster.interpreters,
        &langs.core,
        &langs.extended,
        min,
        at.unwrap_or_else(Utc::now),
    )
    .report();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("printing JSON")?
        );
    } else {
        print!("{}", report.coverage.render_text());
        println!();
        if report.covered {
            println!(
                "Covered: every core language ({}) has at least {min} interpreter(s) in every hour.",
                langs.core.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(" ")
            );
        } else {
            println!("Gaps ({}):", report.gaps.len());
            for g in &report.gaps {
                println!("  {}", g.text);
            }
        }
    }
    Ok(if report.covered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn import(settings: Settings, file: &Path) -> anyhow::Result<()> {
    let roster = Roster::load(file, &settings.languages.served())?;
    roster.check_ringing(&file.display().to_string(), settings.sip.why_no_phones())?;
    println!(
        "{}: valid: {} universities, {} interpreters",
        file.display(),
        roster.universities.len(),
        roster.interpreters.len()
    );
    let (pool, kind) = app::build_pool(&settings)?;
    if kind == hotline_bridge::pool::PoolKind::Memory {
        println!(
            "redis.url is not set, so the pool is this process's memory: only validated, nothing \
             stored. Set HOTLINE__REDIS__URL to import into Redis."
        );
        return Ok(());
    }
    let s = roster::import(pool.as_ref(), &roster).await?;
    println!(
        "imported into the {kind} pool: {} created, {} updated, {} unchanged",
        s.created, s.updated, s.unchanged
    );
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.server.listen;
    let state = app::build_state(settings).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    app::run(listener, state).await
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    // The SIP stack logs every message whole at info, callers' numbers included: warnings only.
    let filter = EnvFilter::try_from_env("HOTLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,hotline_bridge=info,rsipstack=warn"));
    let json = std::env::var("HOTLINE_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only for a person at a terminal: a log file or the journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
