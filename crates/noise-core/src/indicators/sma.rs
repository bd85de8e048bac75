use super::ring::Ring;
use super::{Indicator, IndicatorError, check_period};

/// Simple moving average (TA-Lib `SMA`): first value at index `period - 1`.
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Ring,
    /// Running total of the last `period - 1` inputs, as TA-Lib keeps it.
    total: f64,
}

impl Sma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("SMA", period, 1)?;
        Ok(Self { period, window: Ring::new(period), total: 0.0 })
    }
}

impl Indicator<f64> for Sma {
    type Output = f64;

    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        self.total += x;
        self.window.push(x);
        if !self.window.is_full() {
            return None;
        }
        let mean = self.total / self.period as f64;
        self.total -= self.window.oldest();
        Some(mean)
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

impl super::Continuous for Sma {}
