//! The main loop of `noise run --broker ...`: real brokers, the wall clock.
//!
//! Each minute, a few seconds after it closes (brokers finish the bar), the
//! last completed 1-minute bar of every instrument whose venue traded is
//! read through its broker, then the same cycle as the simulation runs:
//! order monitor, signals, risk, orders, and the seed's scheduled jobs. A
//! broker that fails a minute costs that broker's symbols that minute, never
//! the loop: the failure is audited and the next minute tries again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use noise_broker::BrokerAdapter;
use noise_core::instrument::Instrument;
use noise_core::market::Bar;

use crate::run::{RunSummary, apply_control, next_control};
use crate::{Engine, EngineError, EngineEvent};

/// The loop's clock: the wall clock in production, a virtual one in tests.
#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep_until(&self, t: DateTime<Utc>);
}

pub struct WallClock;

#[async_trait]
impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep_until(&self, t: DateTime<Utc>) {
        if let Ok(wait) = (t - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// 1-minute bars of history read per instrument to warm the indicators.
    pub warm_up_bars: usize,
    /// How long after a minute closes its bar is read.
    pub settle: Duration,
    /// Stop after this many minutes (tests).
    pub max_minutes: Option<u64>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self { warm_up_bars: 3_000, settle: Duration::from_secs(3), max_minutes: None }
    }
}

/// Runs the engine on real brokers until `stop` (the same shape as `run`).
#[allow(clippy::too_many_arguments)]
pub async fn run_live(
    engine: &mut Engine,
    broker: Arc<dyn BrokerAdapter>,
    instruments: &[Instrument],
    clock: &dyn Clock,
    options: &LiveOptions,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut controls: Option<tokio::sync::mpsc::Receiver<crate::ControlRequest>>,
    log: &mut (dyn FnMut(DateTime<Utc>, &EngineEvent) + Send),
) -> Result<RunSummary, EngineError> {
    let start = minute_of(clock.now());
    for instrument in instruments {
        match broker.recent_bars(&instrument.symbol, options.warm_up_bars).await {
            Ok(bars) => {
                for bar in bars.iter().filter(|b| b.time + TimeDelta::minutes(1) <= start) {
                    engine.warm_up(&instrument.symbol, bar)?;
                }
            }
            Err(error) => {
                let details = serde_json::json!({"symbol": instrument.symbol, "error": error.to_string()});
                engine.audit(start, "warm_up_failed", details).await?;
            }
        }
    }
    let report = engine.reconcile(start).await?;
    let started = serde_json::json!({"mode": "live-loop", "broker": format!("{:?}", broker.broker()).to_lowercase(), "reconciliation": report});
    engine.audit(start, "engine_started", started).await?;

    let mut summary = RunSummary::default();
    let mut last = start;
    loop {
        if *stop.borrow() || options.max_minutes.is_some_and(|m| summary.minutes >= m) {
            break;
        }
        let mut close = last + TimeDelta::minutes(1);
        // Fallen behind (a slow broker, a suspended machine): minutes long past are
        // not traded on stale bars; the loop jumps to the present and says so.
        let present = minute_of(clock.now());
        if present - close > TimeDelta::minutes(2) {
            let skipped = (present - close).num_minutes();
            let details = serde_json::json!({"from": close, "to": present, "minutes": skipped});
            engine.audit(present, "minutes_skipped", details).await?;
            last = present - TimeDelta::minutes(1);
            close = present;
        }
        let due = close + TimeDelta::from_std(options.settle).unwrap_or_default();
        loop {
            tokio::select! {
                _ = clock.sleep_until(due) => break,
                _ = stop.changed() => break,
                Some(request) = next_control(&mut controls) => apply_control(engine, request, last, log).await?,
            }
        }
        if *stop.borrow() {
            break;
        }
        let cycle_started = std::time::Instant::now();
        let events = match cycle(engine, broker.as_ref(), instruments, close).await {
            Ok(events) => events,
            Err(error) => {
                // A failed minute is reported, and the next one tried.
                eprintln!("{close}: cycle failed: {error}");
                let _ = engine.audit(close, "cycle_failed", serde_json::json!({"error": error.to_string()})).await;
                Vec::new()
            }
        };
        summary.cycle_ms.push(cycle_started.elapsed().as_secs_f64() * 1000.0);
        summary.finish_minute(close, &events, log);
        last = close;
    }
    engine.audit(last, "engine_stopped", serde_json::json!({"minutes": summary.minutes})).await?;
    Ok(summary)
}

/// One minute: the bars that closed at `close`, then the engine's minute.
async fn cycle(
    engine: &mut Engine,
    broker: &dyn BrokerAdapter,
    instruments: &[Instrument],
    close: DateTime<Utc>,
) -> Result<Vec<EngineEvent>, EngineError> {
    let minute = close - TimeDelta::minutes(1);
    let mut bars: Vec<(String, Bar)> = Vec::new();
    for instrument in instruments.iter().filter(|i| i.venue.is_open(minute)) {
        match broker.recent_bars(&instrument.symbol, 3).await {
            Ok(recent) => {
                if let Some(bar) = recent.into_iter().find(|b| b.time == minute) {
                    bars.push((instrument.symbol.clone(), bar));
                }
            }
            Err(error) => {
                let details =
                    serde_json::json!({"symbol": instrument.symbol, "minute": minute, "error": error.to_string()});
                engine.audit(close, "bar_unavailable", details).await?;
            }
        }
    }
    engine.minute(close, &bars).await
}

/// The start of the minute `t` is in.
fn minute_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}
