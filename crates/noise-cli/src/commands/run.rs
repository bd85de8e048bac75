//! `noise run`: paper trading with the simulated broker and market.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use noise_broker::sim::{SimBroker, SimConfig};
use noise_engine::{Engine, MarketSource, RunOptions};
use noise_store::Store;

use crate::commands::api::EngineLink;
use crate::commands::config;
use crate::failure::Failure;

/// Flags; each overrides its `[engine]` setting.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Config file; `./noise.toml` when absent (defaults if that does not exist).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The SQLite database (also `$NOISE_DB`); default `var/noise.db`.
    #[arg(long, env = "NOISE_DB")]
    pub db: Option<PathBuf>,
    /// The simulated broker's own state file; default `var/sim-broker.json`.
    #[arg(long)]
    pub sim_state: Option<PathBuf>,
    /// Simulated minutes per real minute: 60 = one simulated minute a second; 0 = as fast as possible.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Where a new simulation starts, RFC 3339 (a saved sim state resumes where it stopped).
    #[arg(long)]
    pub start: Option<String>,
    /// Stop after this many simulated minutes.
    #[arg(long)]
    pub minutes: Option<u64>,
    /// Seed of the synthetic market.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay recorded 1-minute bars instead of the synthetic market (a `symbol`
    /// column, or one symbol taken from the file name, e.g. spy-1m.csv → SPY).
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// Where the API listens, instead of `[api] addr` (bearer token from
    /// $NOISE_API_TOKEN, or generated and printed once, loopback only).
    #[arg(long)]
    pub api_addr: Option<std::net::SocketAddr>,
    /// Do not serve the API.
    #[arg(long)]
    pub no_api: bool,
    /// The built dashboard served at `/` (`make dashboard` builds it).
    #[arg(long, default_value = "dashboard/dist")]
    pub dashboard: PathBuf,
    /// Trade through real brokers instead of the simulation: `alpaca`, `tradovate`
    /// or both (credentials from the environment; paper/demo accounts unless --live).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub broker: Vec<crate::commands::brokers::BrokerName>,
    /// Real money: the brokers' live accounts (only with --broker).
    #[arg(long, requires = "broker")]
    pub live: bool,
}

/// The settings in force: flags over the config file over the defaults.
struct Settings {
    db: PathBuf,
    sim_state: PathBuf,
    speed: f64,
    start: DateTime<Utc>,
    seed: u64,
    minutes: Option<u64>,
}

fn settings(options: &Options, engine: &noise_core::config::EngineConfig) -> Result<Settings, Failure> {
    let speed = options.speed.unwrap_or(engine.speed);
    if !(speed.is_finite() && speed >= 0.0) {
        return Err(Failure::bad_input(anyhow!("--speed {speed} must be a non-negative number")));
    }
    let start_text = options.start.as_deref().unwrap_or(&engine.start);
    let start = DateTime::parse_from_rfc3339(start_text)
        .map(|t| t.to_utc())
        .map_err(|e| Failure::bad_input(anyhow!("--start {start_text:?} is not an RFC 3339 time: {e}")))?;
    Ok(Settings {
        db: options.db.clone().unwrap_or_else(|| PathBuf::from(&engine.db)),
        sim_state: options.sim_state.clone().unwrap_or_else(|| PathBuf::from(&engine.sim_state)),
        speed,
        start,
        seed: options.seed.unwrap_or(engine.seed),
        minutes: options.minutes,
    })
}

/// What the engine trades against.
enum Target {
    /// The simulated broker and market (paper trading, the default).
    Sim(Arc<SimBroker>),
    /// Real brokers (`--broker`): their market data, their fills.
    Brokers(Arc<noise_broker::manager::BrokerManager>),
}

pub fn run(options: &Options) -> Result<(), Failure> {
    let (config, source) = config::load(options.config.as_deref())?;
    let settings = settings(options, &config.engine)?;
    let warm_up_days = i64::from(config.engine.warm_up_days);
    // Breaker transitions and retries, as they happen: audited and alerted below.
    let (notices_tx, mut notices) = tokio::sync::mpsc::unbounded_channel::<noise_broker::http::BrokerNotice>();
    let sink: noise_broker::http::NoticeSink = Arc::new(move |n| {
        let _ = notices_tx.send(n);
    });
    let brokers = if options.broker.is_empty() { None } else { Some(real_brokers(options, sink)?) };
    let live = options.live;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::internal)?;
    runtime.block_on(async move {
        let store = Store::open(&settings.db)
            .await
            .map_err(|e| Failure::bad_input(anyhow!("{}: {e}", settings.db.display())))?;
        // Every engine event, for the API's event stream (dropped when nobody listens).
        let (events_tx, _) = tokio::sync::broadcast::channel::<noise_api::StreamEvent>(1024);
        let (audit_store, broker_events) = (store.clone(), events_tx.clone());
        tokio::spawn(async move {
            while let Some(notice) = notices.recv().await {
                report_notice(&audit_store, &broker_events, &notice).await;
            }
        });
        // Reported before the first call, so a failing login is audited too.
        tokio::task::yield_now().await;
        let target = match brokers {
            None => Target::Sim(Arc::new(
                SimBroker::open(&settings.sim_state, SimConfig::from(&config.sim), &config.instruments)
                    .map_err(Failure::bad_input)?,
            )),
            Some(adapters) => {
                let manager = Arc::new(noise_broker::manager::BrokerManager::new(adapters, &config.instruments));
                noise_broker::BrokerAdapter::authenticate(manager.as_ref())
                    .await
                    .map_err(|e| Failure::internal(anyhow!("no broker accepted the login: {e}")))?;
                Target::Brokers(manager)
            }
        };
        let broker: Arc<dyn noise_broker::BrokerAdapter> = match &target {
            Target::Sim(sim) => sim.clone(),
            Target::Brokers(manager) => manager.clone(),
        };
        let mode = if live { "live" } else { "paper" };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // The API's controls (pause, resume, breaker reset, sync), applied between minutes.
        let (controls_tx, controls_rx) = tokio::sync::mpsc::channel::<noise_engine::ControlRequest>(16);
        // The engine's clock for the API: the time of its latest event (a simulation keeps its own time).
        let (clock_tx, clock_rx) = tokio::sync::watch::channel(None);
        let link = EngineLink {
            events: events_tx.clone(),
            controls: controls_tx,
            clock: clock_rx,
            stop: stop_rx.clone(),
            mode,
        };
        let api = if !options.no_api {
            let addr =
                match options.api_addr {
                    Some(addr) => addr,
                    None => config.api.addr.parse().map_err(|_| {
                        Failure::bad_input(anyhow!("[api] addr {:?} is not an address", config.api.addr))
                    })?,
                };
            serve_api(addr, &config, &options.dashboard, store.clone(), broker.clone(), link).await?
        } else {
            "not served (--no-api)".to_string()
        };
        match &target {
            Target::Sim(_) => print_banner(&settings, &config, source.as_deref(), &api),
            Target::Brokers(manager) => print_broker_banner(&settings, &config, source.as_deref(), &api, manager, live),
        }
        let instruments = config.instruments.clone();
        let mut engine = Engine::new(config, store.clone(), broker.clone()).await.map_err(Failure::internal)?;
        let source_text = source.as_ref().map(|p| p.display().to_string());
        let loaded_at = match &target {
            Target::Sim(_) => settings.start,
            Target::Brokers(_) => Utc::now(),
        };
        engine
            .audit(loaded_at, "config_loaded", serde_json::json!({"source": source_text, "mode": mode}))
            .await
            .map_err(Failure::internal)?;
        let ctrl_c_tx = stop_tx.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\nCtrl-C: finishing the current minute, then stopping.");
                let _ = ctrl_c_tx.send(true);
            }
        });
        let mut log = |at: DateTime<Utc>, event: &noise_engine::EngineEvent| {
            println!("{} {event}", at.to_rfc3339_opts(SecondsFormat::Secs, true));
            clock_tx.send_if_modified(|now| {
                let moved = *now != Some(at);
                *now = Some(at);
                moved
            });
            if events_tx.receiver_count() > 0
                && let Ok(json) = serde_json::to_string(&serde_json::json!({"time": at, "event": event}))
            {
                let _ = events_tx.send(noise_api::StreamEvent { kind: event.kind(), json });
            }
        };
        let summary = match target {
            Target::Sim(sim) => {
                let source = match &options.replay {
                    None => MarketSource::Synthetic { seed: settings.seed },
                    Some(path) => MarketSource::Replay(load_replay(path)?),
                };
                let run_options = RunOptions {
                    speed: settings.speed,
                    start: settings.start,
                    warm_up_days,
                    source,
                    max_minutes: settings.minutes,
                };
                noise_engine::run(&mut engine, sim, &instruments, &run_options, stop_rx, Some(controls_rx), &mut log)
                    .await
            }
            Target::Brokers(manager) => {
                // Only what a connected broker trades.
                let routed: Vec<_> = instruments.into_iter().filter(|i| manager.route(&i.symbol).is_ok()).collect();
                let options = noise_engine::LiveOptions { max_minutes: settings.minutes, ..Default::default() };
                let clock = noise_engine::WallClock;
                noise_engine::run_live(
                    &mut engine,
                    manager,
                    &routed,
                    &clock,
                    &options,
                    stop_rx,
                    Some(controls_rx),
                    &mut log,
                )
                .await
            }
        }
        .map_err(Failure::internal)?;
        let _ = stop_tx.send(true); // the API server shuts down too
        store.close().await;
        if let Some((p50, p99, max)) = summary.cycle_stats() {
            println!("cycle time per minute: median {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms");
        }
        println!(
            "stopped after {} minutes (to {}): {} signals, {} orders, {} fills, {} round trips closed",
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

/// The brokers `--broker` names, from the environment; the simulation's
/// own flags make no sense with them and are refused.
fn real_brokers(
    options: &Options,
    notices: noise_broker::http::NoticeSink,
) -> Result<Vec<Arc<dyn noise_broker::BrokerAdapter>>, Failure> {
    let simulation_only = [
        ("--speed", options.speed.is_some()),
        ("--start", options.start.is_some()),
        ("--seed", options.seed.is_some()),
        ("--replay", options.replay.is_some()),
        ("--sim-state", options.sim_state.is_some()),
    ];
    if let Some((flag, _)) = simulation_only.iter().find(|(_, set)| *set) {
        return Err(Failure::bad_input(anyhow!(
            "{flag} is for the simulated market; with --broker the market and its clock are the brokers'"
        )));
    }
    let device = crate::commands::brokers::device_file();
    let connected =
        crate::commands::brokers::from_env_reporting(&options.broker, options.live, &device, Some(notices))?;
    Ok(connected.iter().map(|c| c.adapter()).collect())
}

/// A broker's breaker transition or retry: an audit event, on the event
/// stream, and for a transition an ALERT line on standard error.
async fn report_notice(
    store: &Store,
    events: &tokio::sync::broadcast::Sender<noise_api::StreamEvent>,
    notice: &noise_broker::http::BrokerNotice,
) {
    use noise_broker::http::BrokerNotice;
    let (event_type, details) = match notice {
        BrokerNotice::Breaker { broker, transition } => {
            eprintln!(
                "ALERT: {broker:?} circuit breaker {:?} -> {:?} after {} failures",
                transition.from, transition.to, transition.failures
            );
            ("broker_breaker", serde_json::json!({"broker": broker, "transition": transition}))
        }
        BrokerNotice::Retrying { broker, what, attempt, wait, why } => (
            "broker_retry",
            serde_json::json!({"broker": broker, "call": what, "attempt": attempt, "wait_ms": wait.as_millis() as u64, "why": why}),
        ),
    };
    if let Ok(mut conn) = store.acquire().await
        && let Err(error) = noise_store::audit::append(&mut conn, Utc::now(), event_type, "broker", &details).await
    {
        eprintln!("cannot audit {event_type}: {error}");
    }
    let json = serde_json::json!({"time": Utc::now(), "event": {"type": event_type, "data": details}}).to_string();
    let _ = events.send(noise_api::StreamEvent { kind: "broker", json });
}

fn print_broker_banner(
    settings: &Settings,
    config: &noise_core::config::NoiseConfig,
    source: Option<&std::path::Path>,
    api: &str,
    manager: &noise_broker::manager::BrokerManager,
    live: bool,
) {
    let routed: Vec<&str> =
        config.instruments.iter().filter(|i| manager.route(&i.symbol).is_ok()).map(|i| i.symbol.as_str()).collect();
    println!("================================================================");
    if live {
        println!(" NOISE — LIVE TRADING: REAL MONEY, REAL ORDERS");
        println!("   mode        LIVE (--live): orders go to your live accounts");
    } else {
        println!(" NOISE — PAPER TRADING on the brokers' paper/demo accounts");
        println!("   mode        paper (the brokers' paper/demo hosts; --live for real money)");
    }
    for (kind, health) in manager.health() {
        let state = match health {
            noise_broker::manager::Health::Up => "connected".to_string(),
            noise_broker::manager::Health::Down(why) => format!("DOWN: {why}"),
        };
        println!("   broker      {kind:?}: {state}");
    }
    println!("   market      the brokers' 1-minute bars, read each minute");
    println!("   instruments {}", routed.join(", "));
    println!("   database    {}", settings.db.display());
    println!("   config      {}", source.map_or("defaults (no noise.toml)".to_string(), |p| p.display().to_string()));
    println!("   API         {api}");
    println!("   stop        Ctrl-C (the current minute finishes, the database stays consistent)");
    println!("================================================================");
}

/// Bars to replay, grouped by symbol (a `symbol` column, or one symbol named by the file).
fn load_replay(path: &std::path::Path) -> Result<noise_broker::sim::ReplayMarket, Failure> {
    let data = crate::files::read_input(path)?;
    let default_symbol = crate::commands::backtest::load::symbol_of(path);
    let groups = noise_core::market::parse_bars_by_symbol(&path.display().to_string(), &data, &default_symbol)
        .map_err(Failure::bad_input)?;
    let market = noise_broker::sim::ReplayMarket::new(groups);
    if market.is_empty() {
        return Err(Failure::bad_input(anyhow!("{}: no bars to replay", path.display())));
    }
    Ok(market)
}

/// Starts the API server; the banner line that says where (and, for a
/// generated token, the token: printed this once, never logged). A port
/// already taken is reported and trading goes on without the API.
async fn serve_api(
    addr: std::net::SocketAddr,
    config: &noise_core::config::NoiseConfig,
    dashboard: &std::path::Path,
    store: Store,
    broker: Arc<dyn noise_broker::BrokerAdapter>,
    link: EngineLink,
) -> Result<String, Failure> {
    use crate::commands::api::{Token, serve};
    let token = Token::resolve().map_err(|e| Failure::internal(anyhow!(e)))?;
    let generated = match &token {
        Token::Generated(t) => Some(t.clone()),
        Token::FromEnvironment(_) => None,
    };
    match serve(addr, config, dashboard, token, store, broker, link).await {
        Ok(bound) => Ok(match generated {
            Some(t) => format!(
                "http://{bound}/ (dashboard; API under /api, bearer token {t}: shown once; set NOISE_API_TOKEN to choose one)"
            ),
            None => format!("http://{bound}/ (dashboard; API under /api, bearer token from NOISE_API_TOKEN)"),
        }),
        Err(why) => {
            eprintln!("warning: the API is not served: {why}; trading continues without it");
            Ok(format!("NOT SERVED: {why}"))
        }
    }
}

fn print_banner(
    settings: &Settings,
    config: &noise_core::config::NoiseConfig,
    source: Option<&std::path::Path>,
    api: &str,
) {
    let symbols: Vec<&str> = config.instruments.iter().map(|i| i.symbol.as_str()).collect();
    let speed = if settings.speed == 0.0 {
        "as fast as possible".to_string()
    } else {
        format!("{}x real time", settings.speed)
    };
    println!("================================================================");
    println!(" NOISE — PAPER TRADING with the simulated broker (no real money)");
    println!("   mode        paper (real brokers: --broker alpaca,tradovate; real money: --live)");
    println!("   broker      sim, state in {}", settings.sim_state.display());
    println!("   market      built-in synthetic market, seed {}, {speed}, from {}", settings.seed, settings.start);
    println!("   instruments {}", symbols.join(", "));
    println!("   database    {}", settings.db.display());
    println!("   config      {}", source.map_or("defaults (no noise.toml)".to_string(), |p| p.display().to_string()));
    println!("   API         {api}");
    println!("   stop        Ctrl-C (the current minute finishes, the database stays consistent)");
    println!("================================================================");
}
