use crate::signal::Direction;
use crate::signal::features::Features;
use crate::signal::regime::Regime;

use super::{Inputs, Opinion, Reason, Strategy};

/// The example to copy: the fast SMA crossing above the slow one is a long,
/// crossing below a short, at full strength (a cross is an event, not a
/// degree). Periods come from `[signals.sma_cross]` (default 10 / 30).
///
/// With d = fast − slow, a cross up is d(previous) ≤ 0 < d(now), a cross
/// down d(previous) ≥ 0 > d(now), and |d| below [`TIE`] × |slow| counts as
/// 0: the SMAs are running sums in `f64`, and their rounding noise (around
/// 1e-15 of the price per step) must not turn an exact tie into a cross. A
/// true difference is far larger: at least one tick / lcm(fast, slow), so
/// 1e-7 of the price still separates ticks of 1e-4 for periods with an lcm
/// up to 10^6 at a price of 1,000.
#[derive(Debug, Clone)]
pub struct SmaCross;

/// Differences of the two averages below this fraction of the slow one are ties.
pub const TIE: f64 = 1e-9;

fn snapped(d: f64, slow: f64) -> f64 {
    if d.abs() < TIE * slow.abs() { 0.0 } else { d }
}

impl Strategy for SmaCross {
    fn name(&self) -> &'static str {
        "sma_cross"
    }

    fn inputs(&self) -> Inputs {
        Inputs::SmaPair
    }

    fn evaluate(&self, f: &Features, _regime: &Regime) -> Option<Opinion> {
        let (fast, slow) = (f.sma_fast?, f.sma_slow?);
        let (prev_fast, prev_slow) = (f.prev_sma_fast?, f.prev_sma_slow?);
        let (before, now) = (snapped(prev_fast - prev_slow, prev_slow), snapped(fast - slow, slow));
        let direction = if before <= 0.0 && now > 0.0 {
            Direction::Long
        } else if before >= 0.0 && now < 0.0 {
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
                SmaCross.evaluate(builder.update(b), &regime(TrendState::Transitional)).map(|o| (i, o.direction))
            })
            .collect();
        assert_eq!(fired.iter().filter(|(_, d)| *d == Direction::Long).count(), 1, "{fired:?}");
        assert!(fired.iter().all(|(i, _)| *i >= 60), "{fired:?}");
    }

    fn features(prev: (f64, f64), now: (f64, f64)) -> Features {
        Features {
            sma_fast: Some(now.0),
            sma_slow: Some(now.1),
            prev_sma_fast: Some(prev.0),
            prev_sma_slow: Some(prev.1),
            ..Features::default()
        }
    }

    #[test]
    fn crosses_and_ties() {
        let r = regime(TrendState::Transitional);
        let cases = [
            ((1.0, 2.0), (2.5, 2.0), Some(Direction::Long)),
            ((2.0, 2.0), (2.5, 2.0), Some(Direction::Long)), // from a tie
            ((3.0, 2.0), (1.0, 2.0), Some(Direction::Short)),
            ((2.0, 2.0), (1.0, 2.0), Some(Direction::Short)),
            ((1.0, 2.0), (2.0 + 1e-12, 2.0), None), // float noise is a tie, not a cross
            ((2.0 + 1e-12, 2.0), (1.0, 2.0), Some(Direction::Short)), // a tie before, then down
            ((1.0, 2.0), (2.0 + 1e-7, 2.0), Some(Direction::Long)), // a true difference of a 1e-7 is one
            ((99.0, 100.0), (100.0 + 5e-8, 100.0), None), // relative: 5e-10 of the price
            ((1.0, 2.0), (1.5, 2.0), None),
            ((2.5, 2.0), (3.0, 2.0), None),
        ];
        for (prev, now, want) in cases {
            let got = SmaCross.evaluate(&features(prev, now), &r).map(|o| o.direction);
            assert_eq!(got, want, "{prev:?} -> {now:?}");
        }
    }
}
