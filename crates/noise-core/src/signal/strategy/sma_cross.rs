use crate::signal::Direction;
use crate::signal::features::Features;
use crate::signal::regime::Regime;

use super::{Opinion, Reason, Strategy};

/// The example to copy: the fast SMA crossing above the slow one is a long,
/// crossing below a short, at full strength (a cross is an event, not a
/// degree). Periods come from `[signals.sma_cross]` (default 10 / 30).
#[derive(Debug, Clone)]
pub struct SmaCross;

impl Strategy for SmaCross {
    fn name(&self) -> &'static str {
        "sma_cross"
    }

    fn evaluate(&self, f: &Features, _regime: &Regime) -> Option<Opinion> {
        let (fast, slow) = (f.sma_fast?, f.sma_slow?);
        let (prev_fast, prev_slow) = (f.prev_sma_fast?, f.prev_sma_slow?);
        let direction = if prev_fast <= prev_slow && fast > slow {
            Direction::Long
        } else if prev_fast >= prev_slow && fast < slow {
            Direction::Short
        } else {
            return None;
        };
        Some(Opinion::new(direction, 1.0, vec![Reason::SmaCross { fast, slow }]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::regime::TrendState;
    use crate::signal::strategy::testkit::*;

    #[test]
    fn fires_once_on_the_cross() {
        let mut bars = downtrend(60);
        bars.extend(
            uptrend(60).into_iter().map(|c| bar(c.open - 7.0, c.high - 7.0, c.low - 7.0, c.close - 7.0, c.volume)),
        );
        let mut builder =
            crate::signal::features::FeatureBuilder::new(&Default::default(), &Default::default()).unwrap();
        let fired: Vec<(usize, Direction)> = bars
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                SmaCross.evaluate(&builder.update(b), &regime(TrendState::Transitional)).map(|o| (i, o.direction))
            })
            .collect();
        assert_eq!(fired.iter().filter(|(_, d)| *d == Direction::Long).count(), 1, "{fired:?}");
        assert!(fired.iter().all(|(i, _)| *i >= 60), "{fired:?}");
    }
}
