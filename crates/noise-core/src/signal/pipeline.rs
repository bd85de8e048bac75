//! The per-symbol signal pipeline and its pure-function form.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::calendar::Session;
use crate::indicators::{Ema, Indicator, IndicatorError, IndicatorParams};
use crate::instrument::{Instrument, TickRounding};
use crate::market::resample::OutOfOrderBar;
use crate::market::{Bar, Resampler, Timeframe};

use super::combine::WeightedComponent;
use super::combine::{adjusted_weights, combine};
use super::config::SignalConfig;
use super::features::FeatureBuilder;
use super::filters::{self, FilterVerdict, HigherTrend};
use super::reason::FilterDetail;
use super::regime::Regime;
use super::regime::{TrendState, VolatilityState};
use super::strategy::{Inputs, Strategy, build_strategy};
use super::{Candidate, Direction, Evaluation, Rejected, Signal};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignalError {
    #[error("the bar opened at {bar} closes after {now}: a bar is acted on only once it has closed")]
    NotClosed { bar: DateTime<Utc>, now: DateTime<Utc> },
    #[error(transparent)]
    OutOfOrder(#[from] OutOfOrderBar),
    #[error("indicator settings: {0}")]
    Indicator(#[from] IndicatorError),
    #[error("strategy `{0}` is not registered")]
    UnknownStrategy(String),
}

/// A higher timeframe's completed bars and the trend they show.
#[derive(Debug, Clone)]
struct HigherTimeframe {
    timeframe: Timeframe,
    resampler: Resampler,
    ema: Ema,
    last_ema: Option<f64>,
    trend: Option<HigherTrend>,
    /// Open time of the last completed bar the trend was computed from.
    last_completed: Option<DateTime<Utc>>,
}

impl HigherTimeframe {
    fn new(timeframe: Timeframe, ema_period: usize) -> Result<Self, IndicatorError> {
        Ok(Self {
            timeframe,
            resampler: Resampler::clock(timeframe),
            ema: Ema::new(ema_period)?,
            last_ema: None,
            trend: None,
            last_completed: None,
        })
    }

    /// Up: close above the EMA and the EMA rising; down: both the other way.
    fn on_completed(&mut self, bar: &Bar) {
        let close = bar.candle().close;
        self.last_completed = Some(bar.time);
        let previous = self.last_ema;
        self.last_ema = self.ema.update(close);
        self.trend = match (self.last_ema, previous) {
            (Some(ema), Some(previous)) if close > ema && ema > previous => Some(HigherTrend::Up),
            (Some(ema), Some(previous)) if close < ema && ema < previous => Some(HigherTrend::Down),
            (Some(_), Some(_)) => Some(HigherTrend::Flat),
            _ => None,
        };
    }
}

/// Turns one symbol's 1-minute bars into evaluations, one bar at a time,
/// each at its close. The engine keeps one per symbol; the backtester too.
#[derive(Debug)]
pub struct SymbolPipeline {
    instrument: Instrument,
    config: SignalConfig,
    strategies: Vec<Box<dyn Strategy>>,
    base_weights: Vec<(&'static str, f64)>,
    features: FeatureBuilder,
    higher: Vec<HigherTimeframe>,
    last_bar: Option<DateTime<Utc>>,
    /// The last session looked up; calendar lookups convert time zones, so
    /// one lookup serves every bar of a session.
    session: Option<Session>,
    /// Outside any session: from when until when (the next open) the market
    /// is known to be closed, so nights and weekends cost one lookup too.
    closed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Reused each bar: the strategies' opinions.
    opinions: Vec<Option<super::strategy::Opinion>>,
    /// `Some` for a run of one strategy (see [`SymbolPipeline::single`]).
    single: Option<Inputs>,
}

impl SymbolPipeline {
    pub fn new(
        instrument: Instrument,
        config: &SignalConfig,
        indicators: &IndicatorParams,
    ) -> Result<Self, SignalError> {
        let mut strategies = Vec::new();
        let mut base_weights = Vec::new();
        for (name, &weight) in &config.weights {
            let strategy = build_strategy(name, config).ok_or_else(|| SignalError::UnknownStrategy(name.clone()))?;
            base_weights.push((strategy.name(), weight));
            strategies.push(strategy);
        }
        let higher = config
            .mtf
            .timeframes
            .iter()
            .map(|&tf| HigherTimeframe::new(tf, config.mtf.trend_ema_period))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            instrument,
            config: config.clone(),
            strategies,
            base_weights,
            features: FeatureBuilder::new(indicators, config)?,
            higher,
            last_bar: None,
            session: None,
            closed: None,
            opinions: Vec::new(),
            single: None,
        })
    }

    /// One registered strategy on its own, as `noise backtest --strategy`
    /// runs it: its opinion is the signal (full weight, no filters), with
    /// ATR stop and target as in the weighted pipeline. With `lean`, only
    /// what the strategy reads is computed ([`Strategy::inputs`]), for runs
    /// where nothing else looks at the rest (no risk sizing): the regime is
    /// then not computed (a neutral placeholder, figures 0 / 50th
    /// percentile) and stop and target equal the entry.
    pub fn single(
        instrument: Instrument,
        strategy: &str,
        config: &SignalConfig,
        indicators: &IndicatorParams,
        lean: bool,
    ) -> Result<Self, SignalError> {
        let built = build_strategy(strategy, config).ok_or_else(|| SignalError::UnknownStrategy(strategy.into()))?;
        let inputs = if lean { built.inputs() } else { Inputs::All };
        Ok(Self {
            instrument,
            config: config.clone(),
            base_weights: vec![(built.name(), 1.0)],
            strategies: vec![built],
            features: FeatureBuilder::with_inputs(indicators, config, inputs)?,
            higher: Vec::new(),
            last_bar: None,
            session: None,
            closed: None,
            opinions: Vec::new(),
            single: Some(inputs),
        })
    }

    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// Each confirming timeframe: its trend and the open time of the last
    /// completed bar it was computed from (the in-progress bar is never used).
    pub fn higher_trends(&self) -> Vec<(Timeframe, Option<HigherTrend>, Option<DateTime<Utc>>)> {
        self.higher.iter().map(|h| (h.timeframe, h.trend, h.last_completed)).collect()
    }

    /// Consumes the 1-minute bar `bar` at `now` (at or after its close).
    /// `None`: the indicators are warming up or no strategy had an opinion.
    #[inline]
    pub fn on_bar(&mut self, bar: &Bar, now: DateTime<Utc>) -> Result<Option<Evaluation>, SignalError> {
        if crate::market::one_minute_after(bar.time) > now {
            return Err(SignalError::NotClosed { bar: bar.time, now });
        }
        if let Some(previous) = self.last_bar
            && bar.time <= previous
        {
            return Err(SignalError::OutOfOrder(OutOfOrderBar { previous, got: bar.time }));
        }
        self.last_bar = Some(bar.time);
        match self.single {
            Some(inputs) => Ok(self.single_on_bar(bar, now, inputs)),
            None => self.weighted_on_bar(bar, now),
        }
    }

    /// [`Self::on_bar`] for the weighted pipeline, once the bar is checked.
    fn weighted_on_bar(&mut self, bar: &Bar, now: DateTime<Utc>) -> Result<Option<Evaluation>, SignalError> {
        for higher in &mut self.higher {
            for completed in higher.resampler.push(bar)? {
                higher.on_completed(&completed);
            }
        }
        let features = self.features.update(&bar.candle());
        let (Some(regime), Some(atr)) = (Regime::detect(&features.ind, &self.config.regime), features.ind.atr) else {
            return Ok(None);
        };
        // One buffer for every bar's opinions; most bars have none, and then
        // nothing is weighed or allocated.
        let mut opinions = std::mem::take(&mut self.opinions);
        opinions.clear();
        opinions.extend(self.strategies.iter().map(|s| s.evaluate(features, &regime)));
        if opinions.iter().all(Option::is_none) {
            self.opinions = opinions;
            return Ok(None);
        }
        let weights = adjusted_weights(&self.base_weights, &regime, self.config.regime_adjustment);
        let combined = combine(&self.base_weights, &weights, &mut opinions);
        self.opinions = opinions;
        let Some((Some(direction), strength, components)) = combined else {
            return Ok(None);
        };

        let entry = self.instrument.round_to_tick(bar.close, TickRounding::Nearest);
        let levels = self.levels(direction, entry, atr);
        let (stop_loss, take_profit) = levels.as_ref().map_or((entry, entry), |&l| l);
        let session = self.session_at(now);
        let mut verdicts = vec![
            filters::strength(strength, &self.config),
            filters::time_of_day(session, now, &self.config.time_filter),
            filters::regime(direction, &regime, self.config.regime_filter.enabled),
            filters::multi_timeframe(direction, self.higher.iter().map(|h| (h.timeframe, h.trend)), &self.config.mtf),
        ];
        if let Err(problem) = levels {
            verdicts.push(FilterVerdict { name: "levels", passed: false, detail: FilterDetail::Levels { problem } });
        }
        let candidate = Candidate {
            time: now,
            symbol: self.instrument.symbol.as_str().into(),
            timeframe: Timeframe::M1,
            direction,
            strength,
            entry,
            stop_loss,
            take_profit,
            atr,
            regime,
            components,
            filters: verdicts,
        };
        Ok(Some(if candidate.filters.iter().all(|v| v.passed) {
            Evaluation::Signal(Signal::approved(candidate))
        } else {
            Evaluation::Rejected(Rejected { candidate })
        }))
    }

    /// [`Self::on_bar`] for one strategy: its opinion, unfiltered.
    #[inline]
    fn single_on_bar(&mut self, bar: &Bar, now: DateTime<Utc>, inputs: Inputs) -> Option<Evaluation> {
        let candle = match inputs {
            // The lean path reads closes only: one conversion, not five.
            Inputs::SmaPair => crate::market::Candle { close: bar.candle_close(), ..Default::default() },
            Inputs::All => bar.candle(),
        };
        let features = self.features.update(&candle);
        let (regime, atr) = match inputs {
            Inputs::SmaPair => (NEUTRAL_REGIME, None),
            Inputs::All => (Regime::detect(&features.ind, &self.config.regime)?, Some(features.ind.atr?)),
        };
        let opinion = self.strategies[0].evaluate(features, &regime)?;
        Some(self.single_signal(bar, now, opinion, regime, atr))
    }

    /// The signal of a single-strategy run's opinion (rare: kept out of line).
    #[inline(never)]
    fn single_signal(
        &self,
        bar: &Bar,
        now: DateTime<Utc>,
        opinion: super::strategy::Opinion,
        regime: Regime,
        atr: Option<f64>,
    ) -> Evaluation {
        let strategy = &self.strategies[0];
        let entry = self.instrument.round_to_tick(bar.close, TickRounding::Nearest);
        let (stop_loss, take_profit) = match atr {
            Some(atr) => self.levels(opinion.direction, entry, atr).unwrap_or((entry, entry)),
            None => (entry, entry),
        };
        let component = WeightedComponent {
            strategy: strategy.name(),
            base_weight: 1.0,
            weight: 1.0,
            direction: opinion.direction,
            strength: opinion.strength,
            contribution: opinion.direction.sign() * opinion.strength,
            reasons: opinion.reasons,
        };
        Evaluation::Signal(Signal::approved(Candidate {
            time: now,
            symbol: self.instrument.symbol.as_str().into(),
            timeframe: Timeframe::M1,
            direction: opinion.direction,
            strength: opinion.strength,
            entry,
            stop_loss,
            take_profit,
            atr: atr.unwrap_or(0.0),
            regime,
            components: vec![component],
            filters: Vec::new(),
        }))
    }

    /// The session trading just before `now` (a bar closing at the session
    /// close belongs to it), from the cache when `now` falls inside it.
    fn session_at(&mut self, now: DateTime<Utc>) -> Option<Session> {
        let t = now - chrono::TimeDelta::seconds(1);
        if let Some(s) = self.session.filter(|s| s.contains(t)) {
            return Some(s);
        }
        if self.closed.is_some_and(|(from, until)| from <= t && t < until) {
            return None;
        }
        self.session = self.instrument.venue.session_at(t);
        self.closed = match self.session {
            Some(_) => None,
            // No session holds t, so none starts before the next one opens.
            None => self.instrument.venue.next_session(t).map(|next| (t, next.open)),
        };
        self.session
    }

    /// Stop loss and take profit from ATR, on the tick grid: the stop rounded
    /// away from the entry (never tighter than computed), the target toward
    /// it (never more optimistic), each at least one tick from the entry.
    /// The distances are whole ticks counted in `f64` (ATR is an estimate;
    /// a 1e-9-tick tolerance keeps exact multiples exact), then exact decimals.
    fn levels(&self, direction: Direction, entry: Decimal, atr: f64) -> Result<(Decimal, Decimal), String> {
        let tick = self.instrument.tick_f64();
        let ticks = |distance: f64| -> Result<i64, String> {
            let n = distance / tick;
            if !(n.is_finite() && (0.0..1e15).contains(&n)) {
                return Err(format!("a distance of {distance} is not a usable price distance"));
            }
            Ok(n as i64)
        };
        // Stop: round the distance up (wider); target: round it down (nearer).
        let stop_ticks = ticks((atr * self.config.stop_atr_multiple / tick - 1e-9).ceil() * tick)?.max(1);
        let target_ticks = ticks((atr * self.config.take_profit_atr_multiple / tick + 1e-9).floor() * tick)?.max(1);
        let tick = self.instrument.tick_size;
        let (stop, target) = match direction {
            Direction::Long => (entry - tick * Decimal::from(stop_ticks), entry + tick * Decimal::from(target_ticks)),
            Direction::Short => (entry + tick * Decimal::from(stop_ticks), entry - tick * Decimal::from(target_ticks)),
        };
        if stop <= Decimal::ZERO || target <= Decimal::ZERO {
            return Err(format!("stop {stop} or target {target} is not a positive price"));
        }
        Ok((stop, target))
    }
}

/// The regime of a lean single-strategy run, which does not compute it.
const NEUTRAL_REGIME: Regime = Regime {
    trend: TrendState::Transitional,
    volatility: VolatilityState::Normal,
    adx: 0.0,
    plus_di: 0.0,
    minus_di: 0.0,
    atr_percentile: 50.0,
};

/// The signal pipeline as a pure function of data.
pub struct SignalManager;

impl SignalManager {
    /// Replays 1-minute `history` (oldest first) exactly as the engine sees
    /// it: each bar at its close time, only bars closed by `now`. Returns
    /// every evaluation, in order.
    pub fn replay(
        history: &[Bar],
        instrument: &Instrument,
        now: DateTime<Utc>,
        config: &SignalConfig,
        indicators: &IndicatorParams,
    ) -> Result<Vec<Evaluation>, SignalError> {
        let mut pipeline = SymbolPipeline::new(instrument.clone(), config, indicators)?;
        let mut out = Vec::new();
        for bar in history {
            let close = bar.time + Timeframe::M1.duration();
            if close > now {
                break;
            }
            out.extend(pipeline.on_bar(bar, close)?);
        }
        Ok(out)
    }

    /// The evaluation of the latest bar closed by `now`, if it produced one.
    pub fn evaluate(
        history: &[Bar],
        instrument: &Instrument,
        now: DateTime<Utc>,
        config: &SignalConfig,
        indicators: &IndicatorParams,
    ) -> Result<Option<Evaluation>, SignalError> {
        let Some(last) = history.iter().rev().find(|b| b.time + Timeframe::M1.duration() <= now) else {
            return Ok(None);
        };
        let last_close = last.time + Timeframe::M1.duration();
        let evaluations = Self::replay(history, instrument, now, config, indicators)?;
        Ok(evaluations.into_iter().last().filter(|e| e.candidate().time == last_close))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cache_answers_as_the_calendar_does() {
        // Every minute across a DST change, a weekend, and Good Friday 2026 (NYSE closed, Globex early).
        for symbol in ["SPY", "MNQ"] {
            let instrument = Instrument::defaults().into_iter().find(|i| i.symbol == symbol).unwrap();
            let venue = instrument.venue;
            let mut pipeline =
                SymbolPipeline::new(instrument, &SignalConfig::default(), &IndicatorParams::default()).unwrap();
            let mut now: DateTime<Utc> = "2026-03-05T00:00:00Z".parse().unwrap();
            let end: DateTime<Utc> = "2026-04-07T00:00:00Z".parse().unwrap();
            while now < end {
                let t = now - chrono::TimeDelta::seconds(1);
                assert_eq!(pipeline.session_at(now), venue.session_at(t), "{symbol} {now}");
                now += chrono::TimeDelta::minutes(1);
            }
        }
    }
}
