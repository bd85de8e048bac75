//! The main loop of `noise run` with the simulated broker and market: a
//! virtual clock that advances `speed` minutes per real minute, the seed's
//! scheduled jobs, and a clean stop between minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use noise_broker::sim::{ReplayMarket, SimBroker, SyntheticMarket};

use crate::{Engine, EngineError, EngineEvent};

/// Where the bars come from.
#[derive(Debug, Clone)]
pub enum MarketSource {
    /// The built-in synthetic market, from its seed.
    Synthetic { seed: u64 },
    /// Recorded bars, replayed once.
    Replay(ReplayMarket),
}

enum Market {
    Synthetic(SyntheticMarket),
    Replay(ReplayMarket),
}

impl Market {
    fn next_minute(&self) -> DateTime<Utc> {
        match self {
            Market::Synthetic(m) => m.next_minute(),
            Market::Replay(m) => m.next_minute(),
        }
    }
    fn advance(&mut self) -> (DateTime<Utc>, Vec<(String, noise_core::market::Bar)>) {
        match self {
            Market::Synthetic(m) => m.advance(),
            Market::Replay(m) => m.advance(),
        }
    }
    /// Whether to pace this minute in real time (the synthetic market skips closed hours at once).
    fn trading(&self, minute: DateTime<Utc>) -> bool {
        match self {
            Market::Synthetic(m) => m.any_open(minute),
            Market::Replay(_) => true,
        }
    }
    fn finished(&self) -> bool {
        matches!(self, Market::Replay(m) if m.finished())
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Simulated minutes per real minute (60: one simulated minute per
    /// second); 0 runs as fast as possible.
    pub speed: f64,
    /// Where a new simulation starts (an existing sim state resumes where it stopped).
    pub start: DateTime<Utc>,
    /// Days of history fed to the indicators before trading starts.
    pub warm_up_days: i64,
    pub source: MarketSource,
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
    /// Wall time of each minute's cycle (broker fills, monitor, signals, jobs), milliseconds.
    pub cycle_ms: Vec<f64>,
}

impl RunSummary {
    /// Records the minute that closed at `close`: counts and logs its events.
    pub fn finish_minute(
        &mut self,
        close: DateTime<Utc>,
        events: &[EngineEvent],
        log: &mut (dyn FnMut(DateTime<Utc>, &EngineEvent) + Send),
    ) {
        for event in events {
            self.count(event);
            log(close, event);
        }
        self.minutes += 1;
        self.last_time = Some(close);
    }

    /// Counts an event the loop produced.
    fn count(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::Signal(_) => self.signals += 1,
            EngineEvent::OrderPlaced { .. } => self.orders += 1,
            EngineEvent::Fill(_) => self.fills += 1,
            EngineEvent::Closed(_) => self.closed += 1,
            _ => {}
        }
    }

    /// (median, 99th percentile, max) of the cycle times, milliseconds.
    pub fn cycle_stats(&self) -> Option<(f64, f64, f64)> {
        let mut sorted = self.cycle_ms.clone();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Some((at(0.5), at(0.99), sorted[sorted.len() - 1]))
    }
}

/// The next control request, or never when there is no channel.
pub(crate) async fn next_control(
    controls: &mut Option<tokio::sync::mpsc::Receiver<crate::ControlRequest>>,
) -> Option<crate::ControlRequest> {
    match controls {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Applies one control between minutes and answers its requester with the
/// trading state and risk state after it.
pub(crate) async fn apply_control(
    engine: &mut Engine,
    request: crate::ControlRequest,
    now: DateTime<Utc>,
    log: &mut (dyn FnMut(DateTime<Utc>, &EngineEvent) + Send),
) -> Result<(), EngineError> {
    use crate::ControlOutcomeError;
    let outcome = match engine.control(request.control, now, &request.by).await {
        Ok(Ok(events)) => {
            for event in &events {
                log(now, event);
            }
            let state = engine.risk_state();
            Ok(serde_json::json!({
                "control": request.control,
                "trading_state": state.trading_state,
                "breakers": state.breakers,
                "events": events.len(),
            }))
        }
        Ok(Err(refused)) => Err(ControlOutcomeError::Refused(refused.0)),
        Err(error) => Err(ControlOutcomeError::Failed(error.to_string())),
    };
    let _ = request.reply.send(outcome); // a requester that gave up is no error
    Ok(())
}

/// Runs until `stop` resolves or `max_minutes` pass; `log` receives each
/// event line as it happens; `controls` brings the API's requests, applied
/// between minutes.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    engine: &mut Engine,
    sim: Arc<SimBroker>,
    instruments: &[noise_core::instrument::Instrument],
    options: &RunOptions,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut controls: Option<tokio::sync::mpsc::Receiver<crate::ControlRequest>>,
    log: &mut (dyn FnMut(DateTime<Utc>, &EngineEvent) + Send),
) -> Result<RunSummary, EngineError> {
    // The synthetic market is rebuilt from its seed, and history before the
    // start warms the indicators; a replay warms up on its own first bars.
    let resume_at = sim.snapshot().await.last_bar_close;
    let (mut market, live_from, resume) = match &options.source {
        MarketSource::Synthetic { seed } => {
            let history_start = options.start - TimeDelta::days(options.warm_up_days);
            let resume = resume_at.filter(|t| *t > options.start);
            (
                Market::Synthetic(SyntheticMarket::new(*seed, instruments, history_start)),
                resume.unwrap_or(options.start),
                resume,
            )
        }
        MarketSource::Replay(replay) => {
            let first = replay.first_minute().unwrap_or(options.start);
            let resume = resume_at.filter(|t| *t > first);
            (Market::Replay(replay.clone()), resume.unwrap_or(first), resume)
        }
    };
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
        if *stop.borrow() || options.max_minutes.is_some_and(|m| summary.minutes >= m) || market.finished() {
            break;
        }
        let minute = market.next_minute();
        let trading = market.trading(minute);
        let (close, bars) = market.advance();
        // Pace only the minutes something trades; closed hours pass at once.
        if trading && !pace.is_zero() {
            next_tick += pace;
            // Controls are applied while waiting for the minute, at once.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(next_tick.into()) => break,
                    _ = stop.changed() => break,
                    Some(request) = next_control(&mut controls) => {
                        apply_control(engine, request, last, log).await?;
                    }
                }
            }
        } else {
            next_tick = Instant::now();
        }
        while let Some(request) = controls.as_mut().and_then(|c| c.try_recv().ok()) {
            apply_control(engine, request, last, log).await?;
        }
        let cycle_started = Instant::now();
        sim.on_bars(&bars).await?;
        let events = engine.minute(close, &bars).await?;
        if !bars.is_empty() {
            summary.cycle_ms.push(cycle_started.elapsed().as_secs_f64() * 1000.0);
        }
        summary.finish_minute(close, &events, log);
        last = close;
    }
    let timing = summary
        .cycle_stats()
        .map(|(p50, p99, max)| serde_json::json!({"median_ms": p50, "p99_ms": p99, "max_ms": max}));
    engine
        .audit(last, "engine_stopped", serde_json::json!({"minutes": summary.minutes, "cycle_timing": timing}))
        .await?;
    Ok(summary)
}
