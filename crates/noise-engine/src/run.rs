//! The main loop of `noise run` with the simulated broker and market: a
//! virtual clock that advances `speed` minutes per real minute, the seed's
//! scheduled jobs, and a clean stop between minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use noise_broker::sim::{SimBroker, SyntheticMarket};
use noise_core::schedule::{Job, Schedule};

use crate::{Engine, EngineError, EngineEvent};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Simulated minutes per real minute (60: one simulated minute per
    /// second); 0 runs as fast as possible.
    pub speed: f64,
    /// Where a new simulation starts (an existing sim state resumes where it stopped).
    pub start: DateTime<Utc>,
    /// Days of history fed to the indicators before trading starts.
    pub warm_up_days: i64,
    pub seed: u64,
    /// Stop after this many simulated minutes (tests and benchmarks).
    pub max_minutes: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub minutes: u64,
    pub signals: u64,
    pub orders: u64,
    pub fills: u64,
    pub closed: u64,
    pub last_time: Option<DateTime<Utc>>,
}

/// Runs until `stop` resolves or `max_minutes` pass; `log` receives each
/// event line as it happens.
pub async fn run(
    engine: &mut Engine,
    sim: Arc<SimBroker>,
    instruments: &[noise_core::instrument::Instrument],
    options: &RunOptions,
    mut stop: tokio::sync::watch::Receiver<bool>,
    log: &mut (dyn FnMut(DateTime<Utc>, &EngineEvent) + Send),
) -> Result<RunSummary, EngineError> {
    let schedule =
        Schedule::new(&engine.config.schedule).map_err(|e| EngineError::Broker(noise_broker::BrokerError::State(e)))?;
    // The market is rebuilt from its seed; history before the start warms the indicators.
    let history_start = options.start - TimeDelta::days(options.warm_up_days);
    let mut market = SyntheticMarket::new(options.seed, instruments, history_start);
    let resume = sim.snapshot().await.last_bar_close.filter(|t| *t > options.start);
    let live_from = resume.unwrap_or(options.start);
    while market.next_minute() < live_from {
        let (_, bars) = market.advance();
        for (symbol, bar) in &bars {
            engine.warm_up(symbol, bar)?;
        }
    }
    let now = market.next_minute();
    let report = engine.reconcile(now).await?;
    engine
        .audit(
            now,
            "engine_started",
            serde_json::json!({"mode": "paper", "broker": "sim", "resumed_from": resume, "reconciliation": report}),
        )
        .await?;

    let mut summary = RunSummary::default();
    let mut last = now;
    let pace = if options.speed > 0.0 { Duration::from_secs_f64(60.0 / options.speed) } else { Duration::ZERO };
    let mut next_tick = Instant::now();
    loop {
        if *stop.borrow() || options.max_minutes.is_some_and(|m| summary.minutes >= m) {
            break;
        }
        let minute = market.next_minute();
        let trading = market.any_open(minute);
        let (close, bars) = market.advance();
        // Pace only the minutes something trades; closed hours pass at once.
        if trading && !pace.is_zero() {
            next_tick += pace;
            tokio::select! {
                _ = tokio::time::sleep_until(next_tick.into()) => {}
                _ = stop.changed() => {}
            }
        } else {
            next_tick = Instant::now();
        }
        sim.on_bars(&bars).await?;
        let mut events = engine.monitor(close).await?;
        events.extend(engine.on_bars(close, &bars).await?);
        for firing in schedule.firings(last, 16, None) {
            if firing.at > close {
                break;
            }
            events.extend(match firing.job {
                Job::SignalCycle => Vec::new(), // this loop is the signal cycle
                Job::EquitySnapshot => engine.equity_snapshot(firing.at).await?,
                Job::EndOfDay => engine.end_of_day(firing.at).await?,
                Job::DailyReset => engine.daily_reset(firing.at).await?,
                Job::WeeklyReset => engine.weekly_reset(firing.at).await?,
            });
        }
        for event in &events {
            match event {
                EngineEvent::Signal(_) => summary.signals += 1,
                EngineEvent::OrderPlaced { .. } => summary.orders += 1,
                EngineEvent::Fill { .. } => summary.fills += 1,
                EngineEvent::Closed(_) => summary.closed += 1,
                _ => {}
            }
            log(close, event);
        }
        last = close;
        summary.minutes += 1;
        summary.last_time = Some(close);
    }
    engine.audit(last, "engine_stopped", serde_json::json!({"minutes": summary.minutes})).await?;
    Ok(summary)
}
