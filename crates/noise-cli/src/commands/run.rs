//! `noise run`: paper trading with the simulated broker and market.

use std::path::Path;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use noise_broker::sim::{SimBroker, SimConfig};
use noise_engine::{Engine, RunOptions};
use noise_store::Store;

use crate::commands::config;
use crate::failure::Failure;

pub struct Options<'a> {
    pub config: Option<&'a Path>,
    pub db: &'a Path,
    pub sim_state: &'a Path,
    pub speed: f64,
    pub start: &'a str,
    pub minutes: Option<u64>,
    pub seed: u64,
}

pub fn run(options: &Options<'_>) -> Result<(), Failure> {
    let (config, source) = config::load(options.config)?;
    if !(options.speed.is_finite() && options.speed >= 0.0) {
        return Err(Failure::bad_input(anyhow!("--speed {} must be a non-negative number", options.speed)));
    }
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(options.start)
        .map(|t| t.to_utc())
        .map_err(|e| Failure::bad_input(anyhow!("--start {:?} is not an RFC 3339 time: {e}", options.start)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::internal)?;
    runtime.block_on(async move {
        let store =
            Store::open(options.db).await.map_err(|e| Failure::bad_input(anyhow!("{}: {e}", options.db.display())))?;
        let sim = Arc::new(
            SimBroker::open(options.sim_state, SimConfig::default(), &config.instruments)
                .map_err(Failure::bad_input)?,
        );
        let symbols: Vec<&str> = config.instruments.iter().map(|i| i.symbol.as_str()).collect();
        let speed = if options.speed == 0.0 {
            "as fast as possible".to_string()
        } else {
            format!("{}× real time", options.speed)
        };
        println!("================================================================");
        println!(" NOISE — PAPER TRADING with the simulated broker (no real money)");
        println!("   mode        paper (live trading needs --live and broker credentials: not built yet)");
        println!("   broker      sim, state in {}", options.sim_state.display());
        println!("   market      built-in synthetic market, seed {}, {speed}", options.seed);
        println!("   instruments {}", symbols.join(", "));
        println!("   database    {}", options.db.display());
        println!(
            "   config      {}",
            source.map_or("defaults (no noise.toml)".to_string(), |p| p.display().to_string())
        );
        println!("   API         not served yet (the API and dashboard are a later step)");
        println!("   stop        Ctrl-C (the current minute finishes, the database stays consistent)");
        println!("================================================================");

        let instruments = config.instruments.clone();
        let mut engine = Engine::new(config, store.clone(), sim.clone()).await.map_err(Failure::internal)?;
        engine
            .audit(
                start,
                "config_loaded",
                serde_json::json!({"source": options.config.map(|p| p.display().to_string()), "mode": "paper"}),
            )
            .await
            .map_err(Failure::internal)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nCtrl-C: finishing the current minute, then stopping.");
                let _ = stop_tx.send(true);
            }
        });
        let run_options = RunOptions {
            speed: options.speed,
            start,
            warm_up_days: 4,
            seed: options.seed,
            max_minutes: options.minutes,
        };
        let mut log = |at: DateTime<Utc>, event: &noise_engine::EngineEvent| {
            println!("{} {event}", at.to_rfc3339_opts(SecondsFormat::Secs, true));
        };
        let summary = noise_engine::run(&mut engine, sim, &instruments, &run_options, stop_rx, &mut log)
            .await
            .map_err(Failure::internal)?;
        store.close().await;
        println!(
            "stopped after {} simulated minutes (to {}): {} signals, {} orders, {} fills, {} round trips closed",
            summary.minutes,
            summary.last_time.map_or("-".into(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            summary.signals,
            summary.orders,
            summary.fills,
            summary.closed
        );
        Ok(())
    })
}
