use super::ema::Ema;
use super::{Indicator, IndicatorError, check_period, per_to_k};

/// MACD line, signal line and histogram.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MacdValue {
    pub macd: f64,
    pub signal: f64,
    pub histogram: f64,
}

/// MACD (TA-Lib `MACD`, default 12/26/9), including TA-Lib's alignment: both
/// EMAs are seeded at index `slow - 1`, the fast one with the SMA of the
/// `fast` inputs ending there (not of the first `fast` inputs). The signal
/// line is an EMA of the MACD line seeded the same way, so the first value
/// appears at index `slow + signal - 2` (33 for the defaults).
#[derive(Debug, Clone)]
pub struct Macd {
    fast: usize,
    slow: usize,
    k_fast: f64,
    k_slow: f64,
    seen: usize,
    fast_ema: f64,
    slow_ema: f64,
    signal: Ema,
}

impl Macd {
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        check_period("MACD fast", fast, 2)?;
        check_period("MACD slow", slow, 2)?;
        // TA-Lib swaps the periods when given in the wrong order.
        let (fast, slow) = if slow < fast { (slow, fast) } else { (fast, slow) };
        Ok(Self {
            fast,
            slow,
            k_fast: per_to_k(fast),
            k_slow: per_to_k(slow),
            seen: 0,
            fast_ema: 0.0,
            slow_ema: 0.0,
            signal: Ema::new(check_period("MACD signal", signal, 1)?)?,
        })
    }
}

impl Indicator<f64> for Macd {
    type Output = MacdValue;

    #[inline]
    fn update(&mut self, x: f64) -> Option<MacdValue> {
        if self.seen < self.slow {
            self.seen += 1;
            self.slow_ema += x;
            if self.seen > self.slow - self.fast {
                self.fast_ema += x;
            }
            if self.seen < self.slow {
                return None;
            }
            self.slow_ema /= self.slow as f64;
            self.fast_ema /= self.fast as f64;
        } else {
            self.slow_ema = Ema::step(self.slow_ema, x, self.k_slow);
            self.fast_ema = Ema::step(self.fast_ema, x, self.k_fast);
        }
        let macd = self.fast_ema - self.slow_ema;
        let signal = self.signal.update(macd)?;
        Some(MacdValue { macd, signal, histogram: macd - signal })
    }

    fn lookback(&self) -> usize {
        self.slow - 1 + self.signal.lookback()
    }
}

impl super::Continuous for Macd {}
