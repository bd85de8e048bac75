use super::ring::Ring;
use super::{Indicator, IndicatorError, check_period};

/// Simple moving average (TA-Lib `SMA`): first value at index `period - 1`.
///
/// The running total takes `x − evicted` in one addition, so the loop-carried
/// chain is one add per bar (TA-Lib adds the new value and subtracts the old
/// one in turn, two), and the mean is the total times 1/period. The result
/// equals TA-Lib's to a few ulps; the golden tests hold it to 1e-9.
#[derive(Debug, Clone)]
pub struct Sma {
    inverse_period: f64,
    window: Ring,
    /// Σ of the inputs in the window.
    total: f64,
}

impl Sma {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("SMA", period, 1)?;
        Ok(Self { inverse_period: 1.0 / period as f64, window: Ring::new(period), total: 0.0 })
    }
}

impl Indicator<f64> for Sma {
    type Output = f64;

    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        let evicted = self.window.push_evicting(x).unwrap_or(0.0);
        self.total += x - evicted;
        self.window.is_full().then_some(self.total * self.inverse_period)
    }

    fn lookback(&self) -> usize {
        self.window.capacity() - 1
    }
}

impl super::Continuous for Sma {}
