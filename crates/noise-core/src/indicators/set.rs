use serde::{Deserialize, Serialize};

use crate::market::Candle;

use super::{
    Adx, Atr, AtrPercentile, Bands, BollingerBands, DirectionalIndex, Ema, Indicator, IndicatorError, Macd, MacdValue,
    Obv, Rsi, Sma, VolumeRatio, check_period,
};

/// Indicator parameters: the `[indicators]` section of `noise.toml`.
/// Defaults are TA-Lib's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndicatorParams {
    pub rsi_period: usize,
    pub macd_fast: usize,
    pub macd_slow: usize,
    pub macd_signal: usize,
    pub bb_period: usize,
    pub bb_deviations: f64,
    pub atr_period: usize,
    pub adx_period: usize,
    pub sma_period: usize,
    pub ema_period: usize,
    pub volume_ratio_period: usize,
    pub atr_percentile_lookback: usize,
}

impl Default for IndicatorParams {
    fn default() -> Self {
        Self {
            rsi_period: 14,
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            bb_period: 20,
            bb_deviations: 2.0,
            atr_period: 14,
            adx_period: 14,
            sma_period: 20,
            ema_period: 20,
            volume_ratio_period: 20,
            atr_percentile_lookback: 100,
        }
    }
}

impl IndicatorParams {
    /// Every parameter error at once, each with its key. The minimums are
    /// the constructors' (a test holds the two together).
    pub fn problems(&self) -> Vec<(&'static str, IndicatorError)> {
        let periods = [
            ("rsi_period", "RSI", self.rsi_period, 2),
            ("macd_fast", "MACD fast", self.macd_fast, 2),
            ("macd_slow", "MACD slow", self.macd_slow, 2),
            ("macd_signal", "MACD signal", self.macd_signal, 1),
            ("bb_period", "Bollinger", self.bb_period, 2),
            ("atr_period", "ATR", self.atr_period, 1),
            ("adx_period", "ADX", self.adx_period, 2),
            ("sma_period", "SMA", self.sma_period, 1),
            ("ema_period", "EMA", self.ema_period, 1),
            ("volume_ratio_period", "volume ratio", self.volume_ratio_period, 1),
            ("atr_percentile_lookback", "ATR percentile lookback", self.atr_percentile_lookback, 2),
        ];
        let mut problems: Vec<_> = periods
            .into_iter()
            .filter_map(|(key, name, period, min)| check_period(name, period, min).err().map(|e| (key, e)))
            .collect();
        if !(self.bb_deviations.is_finite() && self.bb_deviations > 0.0) {
            let error =
                IndicatorError::NotPositive { indicator: "BBANDS", what: "deviations", value: self.bb_deviations };
            problems.push(("bb_deviations", error));
        }
        problems
    }
}

/// Every indicator's latest value after one bar; `None` while warming up.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IndicatorSnapshot {
    pub close: f64,
    pub rsi: Option<f64>,
    pub macd: Option<MacdValue>,
    pub bands: Option<Bands>,
    pub atr: Option<f64>,
    pub adx: Option<f64>,
    pub di: Option<DirectionalIndex>,
    pub obv: Option<f64>,
    pub sma: Option<f64>,
    pub ema: Option<f64>,
    pub volume_ratio: Option<f64>,
    pub atr_percentile: Option<f64>,
}

/// All of NOISE's indicators over one bar series, updated together.
#[derive(Debug, Clone)]
pub struct IndicatorSet {
    rsi: Rsi,
    macd: Macd,
    bands: BollingerBands,
    atr: Atr,
    adx: Adx,
    obv: Obv,
    sma: Sma,
    ema: Ema,
    volume_ratio: VolumeRatio,
    atr_percentile: AtrPercentile,
}

impl IndicatorSet {
    pub fn new(p: &IndicatorParams) -> Result<Self, IndicatorError> {
        Ok(Self {
            rsi: Rsi::new(p.rsi_period)?,
            macd: Macd::new(p.macd_fast, p.macd_slow, p.macd_signal)?,
            bands: BollingerBands::new(p.bb_period, p.bb_deviations)?,
            atr: Atr::new(p.atr_period)?,
            adx: Adx::new(p.adx_period)?,
            obv: Obv::default(),
            sma: Sma::new(p.sma_period)?,
            ema: Ema::new(p.ema_period)?,
            volume_ratio: VolumeRatio::new(p.volume_ratio_period)?,
            atr_percentile: AtrPercentile::new(p.atr_period, p.atr_percentile_lookback)?,
        })
    }

    #[inline]
    pub fn update(&mut self, c: &Candle) -> IndicatorSnapshot {
        let adx = self.adx.update(c);
        IndicatorSnapshot {
            close: c.close,
            rsi: self.rsi.update(c.close),
            macd: self.macd.update(c.close),
            bands: self.bands.update(c.close),
            atr: self.atr.update(c),
            adx,
            di: self.adx.directional_index(),
            obv: self.obv.update(c),
            sma: self.sma.update(c.close),
            ema: self.ema.update(c.close),
            volume_ratio: self.volume_ratio.update(c),
            atr_percentile: self.atr_percentile.update(c),
        }
    }
}
