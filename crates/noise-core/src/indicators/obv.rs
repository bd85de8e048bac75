use crate::market::Candle;

use super::Indicator;

/// On-balance volume (TA-Lib `OBV`): starts at the first bar's volume, then
/// adds the volume of up-closes and subtracts that of down-closes.
#[derive(Debug, Clone, Default)]
pub struct Obv {
    state: Option<(f64, f64)>,
}

impl Indicator<&Candle> for Obv {
    type Output = f64;

    #[inline]
    fn update(&mut self, c: &Candle) -> Option<f64> {
        let obv = match self.state {
            None => c.volume,
            // Branch-free: up and down closes are a coin flip for the predictor.
            // ±1·v and 0·v are exact, so this equals adding, subtracting or keeping.
            Some((previous_close, obv)) => {
                let direction =
                    f64::from(u8::from(c.close > previous_close)) - f64::from(u8::from(c.close < previous_close));
                obv + direction * c.volume
            }
        };
        self.state = Some((c.close, obv));
        Some(obv)
    }

    fn lookback(&self) -> usize {
        0
    }
}

impl super::Continuous for Obv {}
