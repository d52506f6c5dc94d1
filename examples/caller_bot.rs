//! Caller bot: a headless caller that talks to an operator bot through the media plane and prints
//! what each heard. Until signalling exists it drives the media API directly (an in-process media
//! loop on loopback); then it will create its call over HTTP and join a running server.
//!
//!     cargo run --example caller_bot -- --seconds 5

use anyhow::{bail, Context};
use clap::Parser;
use hotline_bridge::config::Settings;
use hotline_bridge::domain::{CallId, ParticipantId};
use hotline_bridge::drivers::media;
use hotline_bridge::engine::Call;
use hotline_bridge::sfu::peer::PeerConfig;
use hotline_bridge::testkit::{TestPeer, TestPeerOptions};
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// How long the bots talk, in seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut settings = Settings::load_with_env(None, Vec::new())?.media;
    settings.udp_port = 0;
    let media = media::spawn(&settings, Default::default()).await?;
    println!("media loop on udp {}", media.local_addr());

    let (caller, operator) = (
        ParticipantId::parse("caller")?,
        ParticipantId::parse("operator")?,
    );
    let mut call = Call::new(CallId::random(), caller.clone(), 0);
    call.answer(operator.clone(), 1)?;
    media.set_routes(call.id().clone(), call.routes()).await?;

    let config = PeerConfig::new()?;
    let opts = TestPeerOptions::default();
    let c = TestPeer::join(&media, &config, call.id(), &caller, 1, opts.clone()).await?;
    let o = TestPeer::join(&media, &config, call.id(), &operator, 2, opts).await?;
    for (name, p) in [("caller", &c), ("operator", &o)] {
        if !p.wait_connected(Duration::from_secs(10)).await {
            bail!("{name} did not connect");
        }
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    for (name, p, other) in [("caller", &c, 2), ("operator", &o, 1)] {
        let r = p.take();
        let s = r.by_source.get(&other).context("heard nothing")?;
        println!(
            "{name}: sent {} packets, heard {} from the other side, longest gap {:?}",
            p.sent(),
            s.packets,
            s.max_gap
        );
    }
    media.end_call(call.id().clone()).await?;
    Ok(())
}
