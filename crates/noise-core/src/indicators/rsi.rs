use super::{Indicator, IndicatorError, Wilder, check_period, ta_is_zero};

/// Relative strength index with Wilder smoothing (TA-Lib `RSI`): the first
/// value, at index `period`, averages the first `period` changes; later
/// averages are Wilder-smoothed, `(avg * (period - 1) + change) / period`.
/// A window with no movement at all gives 0, as TA-Lib does.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    wilder: Wilder,
    seen: usize,
    previous: f64,
    gain: f64,
    loss: f64,
}

impl Rsi {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("RSI", period, 2)?;
        Ok(Self { period, wilder: Wilder::new(period), seen: 0, previous: 0.0, gain: 0.0, loss: 0.0 })
    }

    #[inline]
    fn value(&self) -> f64 {
        let total = self.gain + self.loss;
        if ta_is_zero(total) { 0.0 } else { 100.0 * (self.gain / total) }
    }
}

impl Indicator<f64> for Rsi {
    type Output = f64;

    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen == 0 {
            self.seen = 1;
            self.previous = x;
            return None;
        }
        let change = x - self.previous;
        self.previous = x;
        let (up, down) = (change.max(0.0), (-change).max(0.0));
        if self.seen > self.period {
            self.gain = self.wilder.average(self.gain, up);
            self.loss = self.wilder.average(self.loss, down);
            return Some(self.value());
        }
        // `seen` counts inputs up to `period + 1`: the first `period` changes are summed.
        self.seen += 1;
        self.gain += up;
        self.loss += down;
        if self.seen <= self.period {
            return None;
        }
        let n = self.period as f64;
        self.gain /= n;
        self.loss /= n;
        Some(self.value())
    }

    fn lookback(&self) -> usize {
        self.period
    }
}

impl super::Continuous for Rsi {}
