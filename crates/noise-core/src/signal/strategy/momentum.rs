use crate::signal::Direction;
use crate::signal::config::MomentumParams;
use crate::signal::features::Features;
use crate::signal::regime::Regime;

use super::{Opinion, Reason, Strategy, ratio};

/// Trend-following: the MACD line above zero (fast EMA over slow), RSI on
/// the strong side of 50 but not overbought, price above its 20 EMA, +DI
/// above −DI with ADX at least `adx_min` (mirrored for shorts). Strength is
/// the mean of the MACD line in ATRs (full at `macd_atr`), RSI's distance
/// from 50 (full at 20 points) and ADX (full at 40).
#[derive(Debug, Clone)]
pub struct Momentum(pub MomentumParams);

impl Strategy for Momentum {
    fn name(&self) -> &'static str {
        "momentum"
    }

    fn evaluate(&self, f: &Features, _regime: &Regime) -> Option<Opinion> {
        let p = &self.0;
        let (macd, rsi, ema, di, adx, atr) = (f.ind.macd?, f.ind.rsi?, f.ind.ema?, f.ind.di?, f.ind.adx?, f.ind.atr?);
        let close = f.candle.close;
        let direction = if macd.macd > 0.0 && rsi >= 50.0 && close > ema && di.plus > di.minus {
            Direction::Long
        } else if macd.macd < 0.0 && rsi <= 50.0 && close < ema && di.minus > di.plus {
            Direction::Short
        } else {
            return None;
        };
        let oversold = 100.0 - p.rsi_overbought;
        let rsi_ok = match direction {
            Direction::Long => rsi <= p.rsi_overbought,
            Direction::Short => rsi >= oversold,
        };
        if !rsi_ok || adx < p.adx_min || atr <= 0.0 {
            return None;
        }
        let strength =
            (ratio(macd.macd.abs(), p.macd_atr * atr) + ratio((rsi - 50.0).abs(), 20.0) + ratio(adx, 40.0)) / 3.0;
        Some(Opinion::new(
            direction,
            strength,
            vec![
                Reason::MacdVersusZero { macd: macd.macd, atr_multiple: macd.macd / atr, signal: macd.signal },
                Reason::Rsi { rsi },
                Reason::CloseVersusEma { close, ema },
                Reason::Directional { plus: di.plus, minus: di.minus, adx },
            ],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::regime::TrendState;
    use crate::signal::strategy::testkit::*;

    #[test]
    fn table() {
        let strategy = Momentum(MomentumParams::default());
        let cases: [(&str, Vec<crate::market::Candle>, Option<Direction>); 3] = [
            ("a clean uptrend gives a momentum long", uptrend(150), Some(Direction::Long)),
            ("a clean downtrend gives a momentum short", downtrend(150), Some(Direction::Short)),
            ("a range gives nothing", range(150), None),
        ];
        for (name, bars, want) in cases {
            let opinion = strategy.evaluate(&features_after(&bars), &regime(TrendState::Transitional));
            assert_eq!(opinion.as_ref().map(|o| o.direction), want, "{name}: {opinion:?}");
            if let Some(o) = opinion {
                assert!(o.strength > 0.0 && o.strength <= 1.0 && o.reasons.len() == 4, "{name}: {o:?}");
            }
        }
    }
}
