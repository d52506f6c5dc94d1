//! A headless interpreter for demos and load: signs in with a personal token, goes available,
//! answers rings after a delay (accept with a probability), joins the call's audio and sends
//! marked audio. Prints what it sees, one line per server message.
//!
//! `cargo run --example interpreter_bot -- --addr 127.0.0.1:8080 --token bfsu-pt-01.secret`

use clap::Parser;
use hotline_bridge::testkit::interpreter_bot::{Answer, BotOptions, InterpreterBot};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// The service's address (host:port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Personal token `<interpreter id>.<secret>`.
    #[arg(long, env = "INTERPRETER_TOKEN")]
    token: String,
    /// Probability of accepting a ring (1 = always, 0 = always decline).
    #[arg(long, default_value_t = 1.0)]
    accept_probability: f64,
    /// Let every ring run out instead of answering.
    #[arg(long)]
    ignore: bool,
    /// Delay before answering a ring, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    delay_ms: u64,
    /// Presence ping interval, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    heartbeat_ms: u64,
    /// Do not join the audio.
    #[arg(long)]
    no_media: bool,
    /// Tag marking the bot's audio packets.
    #[arg(long, default_value_t = 7)]
    tag: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let answer = if a.ignore {
        Answer::Ignore
    } else {
        Answer::Random(a.accept_probability.clamp(0.0, 1.0))
    };
    let mut bot = InterpreterBot::start(BotOptions {
        addr: a.addr,
        token: a.token,
        answer,
        delay: Duration::from_millis(a.delay_ms),
        heartbeat: Duration::from_millis(a.heartbeat_ms.max(100)),
        join_media: !a.no_media,
        tag: a.tag,
    })
    .await?;
    println!(
        "signed in on {}; waiting for calls (Ctrl-C to stop)",
        a.addr
    );
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            ev = bot.events.recv() => match ev {
                Some(e) if e.kind() == "pong" => {}
                Some(e) => println!("{}", e.msg),
                None => break,
            }
        }
    }
    Ok(())
}
