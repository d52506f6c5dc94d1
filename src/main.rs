//! The `hotline-bridge` command: parses the CLI, loads settings and hands over to the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hotline_bridge::{app, auth, config::Settings};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

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
}

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
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.server.listen;
    let state = app::build_state(settings).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    app::serve(listener, state, shutdown).await
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HOTLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,hotline_bridge=info"));
    let json = std::env::var("HOTLINE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
