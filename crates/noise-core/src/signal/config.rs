//! The `[signals]` section of `noise.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::market::Timeframe;

use super::strategy::STRATEGY_NAMES;

/// Signal generation settings. Defaults follow DESIGN.md: weights momentum
/// 0.40, mean reversion 0.30, breakout 0.30; minimum strength 0.6.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalConfig {
    /// A combined signal weaker than this is rejected.
    pub min_strength: f64,
    /// Stop loss distance from entry, in ATRs of the signal timeframe.
    pub stop_atr_multiple: f64,
    /// Take profit distance from entry, in ATRs.
    pub take_profit_atr_multiple: f64,
    /// Scale the weights by regime (see `weights::regime_multiplier`).
    pub regime_adjustment: bool,
    /// The strategies in use and their base weights; must sum to 1.
    pub weights: BTreeMap<String, f64>,
    pub regime: RegimeConfig,
    pub time_filter: TimeFilterConfig,
    pub regime_filter: RegimeFilterConfig,
    pub mtf: MtfConfig,
    pub momentum: MomentumParams,
    pub mean_reversion: MeanReversionParams,
    pub breakout: BreakoutParams,
    pub sma_cross: SmaCrossParams,
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self {
            min_strength: 0.6,
            stop_atr_multiple: 2.0,
            take_profit_atr_multiple: 3.0,
            regime_adjustment: true,
            weights: [("momentum", 0.4), ("mean_reversion", 0.3), ("breakout", 0.3)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            regime: RegimeConfig::default(),
            time_filter: TimeFilterConfig::default(),
            regime_filter: RegimeFilterConfig::default(),
            mtf: MtfConfig::default(),
            momentum: MomentumParams::default(),
            mean_reversion: MeanReversionParams::default(),
            breakout: BreakoutParams::default(),
            sma_cross: SmaCrossParams::default(),
        }
    }
}

/// Regime thresholds: trend from ADX, volatility from the ATR percentile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegimeConfig {
    /// ADX at or above this: trending (direction from +DI / −DI).
    pub adx_trending: f64,
    /// ADX at or below this: ranging. Between the two: transitional.
    pub adx_ranging: f64,
    /// ATR percentile below this: low volatility.
    pub atr_low_percentile: f64,
    /// ATR percentile above this: high volatility.
    pub atr_high_percentile: f64,
}

impl Default for RegimeConfig {
    fn default() -> Self {
        Self { adx_trending: 25.0, adx_ranging: 20.0, atr_low_percentile: 25.0, atr_high_percentile: 75.0 }
    }
}

/// Time-of-day filter, applied in the instrument's exchange session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeFilterConfig {
    pub enabled: bool,
    /// No new signals in the first minutes after the session opens.
    pub skip_open_minutes: u32,
    /// No new signals in the last minutes before the session closes (early closes included).
    pub skip_close_minutes: u32,
}

impl Default for TimeFilterConfig {
    fn default() -> Self {
        Self { enabled: true, skip_open_minutes: 15, skip_close_minutes: 15 }
    }
}

/// Regime filter: refuse signals against a trending regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegimeFilterConfig {
    pub enabled: bool,
}

impl Default for RegimeFilterConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// How a higher timeframe's trend must relate to a 1-minute signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MtfMode {
    /// The higher trend must point the signal's way.
    Agree,
    /// The higher trend must not point against it (flat is fine).
    NotOpposed,
}

/// Multi-timeframe confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MtfConfig {
    pub enabled: bool,
    /// Higher timeframes whose trend must confirm (5m, 15m or 1h).
    pub timeframes: Vec<Timeframe>,
    pub mode: MtfMode,
    /// A higher timeframe trends up when its last completed close is above
    /// its EMA of this period and the EMA rose over that bar (down: both the
    /// other way); anything else is flat.
    pub trend_ema_period: usize,
}

impl Default for MtfConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeframes: vec![Timeframe::M5, Timeframe::M15],
            mode: MtfMode::Agree,
            trend_ema_period: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentumParams {
    /// A long needs RSI in [50, rsi_overbought]; a short in [100 − rsi_overbought, 50].
    pub rsi_overbought: f64,
    /// Minimum ADX for a momentum signal.
    pub adx_min: f64,
    /// MACD line worth full strength, in ATRs.
    pub macd_atr: f64,
}

impl Default for MomentumParams {
    fn default() -> Self {
        Self { rsi_overbought: 75.0, adx_min: 20.0, macd_atr: 1.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeanReversionParams {
    /// A long needs RSI below this and a touch of the lower band.
    pub rsi_oversold: f64,
    /// A short needs RSI above this and a touch of the upper band.
    pub rsi_overbought: f64,
}

impl Default for MeanReversionParams {
    fn default() -> Self {
        Self { rsi_oversold: 30.0, rsi_overbought: 70.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BreakoutParams {
    /// The close must clear the high (low) of this many previous bars.
    pub lookback: usize,
    /// Volume confirmation: volume / its 20-bar average at least this.
    pub volume_ratio_min: f64,
    /// ATR expansion: ATR now at least this multiple of ATR `lookback` bars ago.
    pub atr_expansion: f64,
}

impl Default for BreakoutParams {
    fn default() -> Self {
        Self { lookback: 20, volume_ratio_min: 1.5, atr_expansion: 1.1 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmaCrossParams {
    pub fast: usize,
    pub slow: usize,
}

impl Default for SmaCrossParams {
    fn default() -> Self {
        Self { fast: 10, slow: 30 }
    }
}

fn positive(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

fn percent(value: f64) -> bool {
    value.is_finite() && (0.0..=100.0).contains(&value)
}

impl SignalConfig {
    /// Every problem, as (dotted key under `signals`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut bad = |key: &str, message: String| out.push((key.to_string(), message));
        if !(self.min_strength.is_finite() && self.min_strength > 0.0 && self.min_strength <= 1.0) {
            bad("min_strength", format!("must be in (0, 1], got {}", self.min_strength));
        }
        for (key, value) in
            [("stop_atr_multiple", self.stop_atr_multiple), ("take_profit_atr_multiple", self.take_profit_atr_multiple)]
        {
            if !positive(value) {
                bad(key, format!("must be a positive number, got {value}"));
            }
        }
        if self.weights.is_empty() {
            bad("weights", "names no strategy: list at least one with its weight".into());
        }
        for (name, weight) in &self.weights {
            if !STRATEGY_NAMES.contains(&name.as_str()) {
                bad(&format!("weights.{name}"), format!("unknown strategy (known: {})", STRATEGY_NAMES.join(", ")));
            }
            if !(weight.is_finite() && *weight >= 0.0) {
                bad(&format!("weights.{name}"), format!("must be a non-negative number, got {weight}"));
            }
        }
        let total: f64 = self.weights.values().sum();
        if !self.weights.is_empty() && (total - 1.0).abs() > 1e-6 {
            bad("weights", format!("weights sum to {total}, they must sum to 1"));
        }
        let r = &self.regime;
        for (key, value) in [
            ("regime.adx_trending", r.adx_trending),
            ("regime.adx_ranging", r.adx_ranging),
            ("regime.atr_low_percentile", r.atr_low_percentile),
            ("regime.atr_high_percentile", r.atr_high_percentile),
        ] {
            if !percent(value) {
                bad(key, format!("must be between 0 and 100, got {value}"));
            }
        }
        if r.adx_ranging > r.adx_trending {
            bad("regime.adx_ranging", format!("{} is above adx_trending {}", r.adx_ranging, r.adx_trending));
        }
        if r.atr_low_percentile > r.atr_high_percentile {
            bad(
                "regime.atr_low_percentile",
                format!("{} is above atr_high_percentile {}", r.atr_low_percentile, r.atr_high_percentile),
            );
        }
        for (i, tf) in self.mtf.timeframes.iter().enumerate() {
            if !matches!(tf, Timeframe::M5 | Timeframe::M15 | Timeframe::H1) {
                bad(&format!("mtf.timeframes[{i}]"), format!("{tf} cannot confirm a 1m signal (use 5m, 15m or 1h)"));
            }
        }
        if self.mtf.trend_ema_period == 0 {
            bad("mtf.trend_ema_period", "must be positive".into());
        }
        let m = &self.momentum;
        if !(m.rsi_overbought.is_finite() && m.rsi_overbought > 50.0 && m.rsi_overbought <= 100.0) {
            bad("momentum.rsi_overbought", format!("must be in (50, 100], got {}", m.rsi_overbought));
        }
        if !percent(m.adx_min) {
            bad("momentum.adx_min", format!("must be between 0 and 100, got {}", m.adx_min));
        }
        if !positive(m.macd_atr) {
            bad("momentum.macd_atr", format!("must be a positive number, got {}", m.macd_atr));
        }
        let mr = &self.mean_reversion;
        if !(mr.rsi_oversold.is_finite() && mr.rsi_oversold > 0.0 && mr.rsi_oversold < 50.0) {
            bad("mean_reversion.rsi_oversold", format!("must be in (0, 50), got {}", mr.rsi_oversold));
        }
        if !(mr.rsi_overbought.is_finite() && mr.rsi_overbought > 50.0 && mr.rsi_overbought < 100.0) {
            bad("mean_reversion.rsi_overbought", format!("must be in (50, 100), got {}", mr.rsi_overbought));
        }
        let b = &self.breakout;
        if b.lookback == 0 {
            bad("breakout.lookback", "must be positive".into());
        }
        if !positive(b.volume_ratio_min) {
            bad("breakout.volume_ratio_min", format!("must be a positive number, got {}", b.volume_ratio_min));
        }
        if !positive(b.atr_expansion) {
            bad("breakout.atr_expansion", format!("must be a positive number, got {}", b.atr_expansion));
        }
        let s = &self.sma_cross;
        if s.fast == 0 {
            bad("sma_cross.fast", "must be positive".into());
        }
        if s.slow == 0 {
            bad("sma_cross.slow", "must be positive".into());
        }
        if s.fast >= s.slow && s.fast > 0 {
            bad("sma_cross.fast", format!("{} must be below slow {}", s.fast, s.slow));
        }
        out
    }
}
