use crate::market::Candle;

use super::{Indicator, IndicatorError, Wilder, check_period};

/// True range (TA-Lib `TRANGE`): the largest of high − low and the distances
/// from the previous close to the high and to the low. First value at index 1.
#[derive(Debug, Clone, Default)]
pub struct TrueRange {
    previous_close: Option<f64>,
}

impl TrueRange {
    #[inline]
    pub(crate) fn of(high: f64, low: f64, previous_close: f64) -> f64 {
        let mut range = high - low;
        let up = (high - previous_close).abs();
        if up > range {
            range = up;
        }
        let down = (low - previous_close).abs();
        if down > range {
            range = down;
        }
        range
    }
}

impl Indicator<&Candle> for TrueRange {
    type Output = f64;

    #[inline]
    fn update(&mut self, c: &Candle) -> Option<f64> {
        let range = self.previous_close.map(|pc| Self::of(c.high, c.low, pc));
        self.previous_close = Some(c.close);
        range
    }

    fn lookback(&self) -> usize {
        1
    }
}

/// Average true range with Wilder smoothing (TA-Lib `ATR`): the first value,
/// at index `period`, is the mean of the first `period` true ranges; then
/// `atr = (atr * (period - 1) + tr) / period`.
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    wilder: Wilder,
    true_range: TrueRange,
    ranges: usize,
    value: f64,
}

impl Atr {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("ATR", period, 1)?;
        Ok(Self { period, wilder: Wilder::new(period), true_range: TrueRange::default(), ranges: 0, value: 0.0 })
    }
}

impl Indicator<&Candle> for Atr {
    type Output = f64;

    #[inline]
    fn update(&mut self, c: &Candle) -> Option<f64> {
        let tr = self.true_range.update(c)?;
        if self.ranges >= self.period {
            self.value = self.wilder.average(self.value, tr);
            return Some(self.value);
        }
        self.ranges += 1;
        self.value += tr;
        if self.ranges < self.period {
            return None;
        }
        self.value /= self.period as f64;
        Some(self.value)
    }

    fn lookback(&self) -> usize {
        self.period
    }
}

impl super::Continuous for TrueRange {}
impl super::Continuous for Atr {}
