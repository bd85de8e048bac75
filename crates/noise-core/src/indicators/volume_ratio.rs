use crate::market::Candle;

use super::sma::Sma;
use super::{Indicator, IndicatorError};

/// Volume relative to its recent average: `volume / SMA(period)(volume)`,
/// the average including the current bar. `None` while warming up and when
/// the average is zero (no trading in the whole window: no ratio exists).
#[derive(Debug, Clone)]
pub struct VolumeRatio {
    average: Sma,
}

impl VolumeRatio {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self { average: Sma::new(period)? })
    }
}

impl Indicator<&Candle> for VolumeRatio {
    type Output = f64;

    #[inline]
    fn update(&mut self, c: &Candle) -> Option<f64> {
        let average = self.average.update(c.volume)?;
        (average > 0.0).then(|| c.volume / average)
    }

    fn lookback(&self) -> usize {
        self.average.lookback()
    }
}
