use crate::signal::Direction;
use crate::signal::config::BreakoutParams;
use crate::signal::features::Features;
use crate::signal::regime::Regime;

use super::{Opinion, Reason, Strategy, ratio};

/// A close beyond the extreme of the previous `lookback` bars, confirmed by
/// volume (ratio to its 20-bar average at least `volume_ratio_min`) and by
/// expanding ATR (at least `atr_expansion` × its value `lookback` bars ago).
/// Without both confirmations there is no opinion. Strength is the mean of
/// the distance past the extreme (full at one ATR), the volume ratio (full
/// at 3×) and the ATR expansion (full at +50 %).
#[derive(Debug, Clone)]
pub struct Breakout(pub BreakoutParams);

impl Strategy for Breakout {
    fn name(&self) -> &'static str {
        "breakout"
    }

    fn evaluate(&self, f: &Features, _regime: &Regime) -> Option<Opinion> {
        let p = &self.0;
        let (high, low, atr, atr_before) = (f.prior_high?, f.prior_low?, f.ind.atr?, f.atr_before?);
        let volume_ratio = f.ind.volume_ratio?;
        let close = f.candle.close;
        let (direction, level, beyond) = if close > high {
            (Direction::Long, high, close - high)
        } else if close < low {
            (Direction::Short, low, low - close)
        } else {
            return None;
        };
        if volume_ratio < p.volume_ratio_min || atr_before <= 0.0 || atr < p.atr_expansion * atr_before {
            return None;
        }
        let expansion = atr / atr_before;
        let strength = (ratio(beyond, atr) + ratio(volume_ratio - 1.0, 2.0) + ratio(expansion - 1.0, 0.5)) / 3.0;
        Some(Opinion::new(
            direction,
            strength,
            vec![
                Reason::ClearedExtreme { close, level, lookback: p.lookback },
                Reason::VolumeRatio { ratio: volume_ratio },
                Reason::AtrExpansion { atr, expansion, lookback: p.lookback },
            ],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::regime::TrendState;
    use crate::signal::strategy::testkit::*;

    /// A tight range, then one wide bar up through the top with `volume`.
    fn range_then_pop(volume: f64) -> Vec<crate::market::Candle> {
        let mut bars: Vec<_> = (0..120)
            .map(|i| {
                let c: f64 = 100.0 + if i % 2 == 0 { 0.05 } else { -0.05 };
                bar(100.0, c.max(100.0) + 0.03, c.min(100.0) - 0.03, c, 1000.0)
            })
            .collect();
        bars.push(bar(100.0, 101.6, 99.95, 101.5, volume));
        bars
    }

    #[test]
    fn table() {
        let strategy = Breakout(BreakoutParams::default());
        let down: Vec<_> = range_then_pop(4000.0)
            .iter()
            .map(|c| bar(200.0 - c.open, 200.0 - c.low, 200.0 - c.high, 200.0 - c.close, c.volume))
            .collect();
        let cases = [
            ("a breakout with volume and expanding ATR gives a long", range_then_pop(4000.0), Some(Direction::Long)),
            ("a breakdown gives a short", down, Some(Direction::Short)),
            ("a breakout without volume gives nothing", range_then_pop(1000.0), None),
            ("a range gives nothing", range(150), None),
        ];
        for (name, bars, want) in cases {
            let opinion = strategy.evaluate(&features_after(&bars), &regime(TrendState::Transitional));
            assert_eq!(opinion.as_ref().map(|o| o.direction), want, "{name}: {opinion:?}");
        }
    }
}
