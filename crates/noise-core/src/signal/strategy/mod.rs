//! Strategies: each looks at one bar's features and the regime and gives an
//! opinion (direction, strength in [0, 1], reasons) or none.
//!
//! Adding a strategy means adding one type here and one line in
//! [`build_strategy`]; its name becomes usable in `[signals.weights]`.

mod breakout;
mod mean_reversion;
mod momentum;
mod sma_cross;

use serde::Serialize;

pub use breakout::Breakout;
pub use mean_reversion::MeanReversion;
pub use momentum::Momentum;
pub use sma_cross::SmaCross;

pub(crate) use super::reason::Reason;

use super::Direction;
use super::config::SignalConfig;
use super::features::Features;
use super::regime::Regime;

/// A strategy's view of one bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opinion {
    pub direction: Direction,
    /// In [0, 1].
    pub strength: f64,
    /// Why: the figures that decided it (text when displayed).
    pub reasons: Vec<Reason>,
}

impl Opinion {
    pub(crate) fn new(direction: Direction, strength: f64, reasons: Vec<Reason>) -> Self {
        let strength = if strength.is_finite() { strength.clamp(0.0, 1.0) } else { 0.0 };
        Self { direction, strength, reasons }
    }
}

/// What a strategy reads from [`Features`]: a run of one strategy computes
/// only that (the weighted pipeline always computes everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// Every indicator, the breakout extremes and the regime.
    All,
    /// Only the fast and slow SMAs of the closes (and their previous values).
    SmaPair,
}

pub trait Strategy: Send + Sync + std::fmt::Debug {
    /// The registered name, as used in `[signals.weights]`.
    fn name(&self) -> &'static str;

    /// The features this strategy reads.
    fn inputs(&self) -> Inputs {
        Inputs::All
    }

    /// The opinion on the bar just closed, or `None`.
    fn evaluate(&self, features: &Features, regime: &Regime) -> Option<Opinion>;
}

/// Every registered strategy name.
pub const STRATEGY_NAMES: &[&str] = &["breakout", "mean_reversion", "momentum", "sma_cross"];

/// Builds the named strategy with its parameters from the config. A name
/// may be written with hyphens (`sma-cross` is `sma_cross`).
pub fn build_strategy(name: &str, config: &SignalConfig) -> Option<Box<dyn Strategy>> {
    Some(match name.replace('-', "_").as_str() {
        "momentum" => Box::new(Momentum(config.momentum.clone())),
        "mean_reversion" => Box::new(MeanReversion(config.mean_reversion.clone())),
        "breakout" => Box::new(Breakout(config.breakout.clone())),
        "sma_cross" => Box::new(SmaCross),
        _ => return None,
    })
}

/// `x` scaled so that `full` maps to 1, clamped to [0, 1].
pub(crate) fn ratio(x: f64, full: f64) -> f64 {
    if full <= 0.0 || !x.is_finite() { 0.0 } else { (x / full).clamp(0.0, 1.0) }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Hand-built bar sequences for the strategy tables.
    use crate::indicators::IndicatorParams;
    use crate::market::Candle;
    use crate::signal::config::SignalConfig;
    use crate::signal::features::{FeatureBuilder, Features};
    use crate::signal::regime::{Regime, TrendState, VolatilityState};

    pub fn bar(open: f64, high: f64, low: f64, close: f64, volume: f64) -> Candle {
        Candle { open, high, low, close, volume }
    }

    /// Runs `bars` through a fresh feature builder; the last bar's features.
    pub fn features_after(bars: &[Candle]) -> Features {
        let mut builder = FeatureBuilder::new(&IndicatorParams::default(), &SignalConfig::default()).unwrap();
        bars.iter().map(|b| *builder.update(b)).last().unwrap()
    }

    /// A steady climb: two bars up 0.10, one back 0.08 (RSI near 70).
    pub fn uptrend(n: usize) -> Vec<Candle> {
        let mut price = 100.0;
        (0..n)
            .map(|i| {
                let step = if i % 3 == 2 { -0.08 } else { 0.10 };
                let open = price;
                price += step;
                bar(open, open.max(price) + 0.02, open.min(price) - 0.02, price, 1000.0)
            })
            .collect()
    }

    /// The mirror image of [`uptrend`].
    pub fn downtrend(n: usize) -> Vec<Candle> {
        uptrend(n)
            .into_iter()
            .map(|c| bar(200.0 - c.open, 200.0 - c.low, 200.0 - c.high, 200.0 - c.close, c.volume))
            .collect()
    }

    /// Oscillation around 100 (a range), amplitude 0.3.
    pub fn range(n: usize) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let close = 100.0 + 0.3 * ((i as f64) * 0.7).sin();
                let open = 100.0 + 0.3 * (((i as f64) - 1.0) * 0.7).sin();
                bar(open, open.max(close) + 0.05, open.min(close) - 0.05, close, 1000.0)
            })
            .collect()
    }

    pub fn regime(trend: TrendState) -> Regime {
        Regime {
            trend,
            volatility: VolatilityState::Normal,
            adx: 30.0,
            plus_di: 25.0,
            minus_di: 15.0,
            atr_percentile: 50.0,
        }
    }
}
