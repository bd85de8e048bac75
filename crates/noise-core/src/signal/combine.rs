//! Combining strategy opinions into one weighted score.
//!
//! Base weights come from `[signals.weights]`. With `regime_adjustment` on,
//! each is multiplied by [`regime_multiplier`] and the set renormalised to
//! sum to 1. The combined score is the weighted mean of the strategies that
//! have an opinion (those without one abstain):
//! `score = Σ wᵢ·sᵢ·dᵢ / Σ wᵢ` over voters, with sᵢ the strength and dᵢ = ±1.
//! Its sign is the direction and its magnitude the strength, so agreeing
//! voters keep their strength and disagreeing ones cancel.

use serde::Serialize;

use super::Direction;
use super::regime::{Regime, TrendState, VolatilityState};
use super::strategy::Opinion;

/// One strategy's part in a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedComponent {
    pub strategy: &'static str,
    /// The configured weight.
    pub base_weight: f64,
    /// After the regime adjustment and renormalisation.
    pub weight: f64,
    pub direction: Direction,
    pub strength: f64,
    /// Signed share of the combined score: wᵢ·sᵢ·dᵢ / Σ w over voters.
    pub contribution: f64,
    pub reasons: Vec<super::reason::Reason>,
}

/// How the regime scales a strategy's weight: trends favour momentum
/// (×1.5) and breakouts (×1.25) over fading (×0.5); ranges favour mean
/// reversion (×1.5) over momentum (×0.5) and breakouts (×0.75); high
/// volatility trims mean reversion (×0.75), low volatility trims breakouts
/// (×0.75). Transitional regimes and other strategies are left alone (×1).
pub fn regime_multiplier(strategy: &str, regime: &Regime) -> f64 {
    let trend = match (regime.trend, strategy) {
        (TrendState::TrendingUp | TrendState::TrendingDown, "momentum") => 1.5,
        (TrendState::TrendingUp | TrendState::TrendingDown, "breakout") => 1.25,
        (TrendState::TrendingUp | TrendState::TrendingDown, "mean_reversion") => 0.5,
        (TrendState::Ranging, "mean_reversion") => 1.5,
        (TrendState::Ranging, "momentum") => 0.5,
        (TrendState::Ranging, "breakout") => 0.75,
        _ => 1.0,
    };
    let volatility = match (regime.volatility, strategy) {
        (VolatilityState::High, "mean_reversion") => 0.75,
        (VolatilityState::Low, "breakout") => 0.75,
        _ => 1.0,
    };
    trend * volatility
}

/// The regime-adjusted weights, renormalised to sum to 1 (order kept).
pub(crate) fn adjusted_weights(base: &[(&'static str, f64)], regime: &Regime, adjust: bool) -> Vec<f64> {
    let raw: Vec<f64> =
        base.iter().map(|&(name, w)| if adjust { w * regime_multiplier(name, regime) } else { w }).collect();
    let total: f64 = raw.iter().sum();
    if total > 0.0 { raw.iter().map(|w| w / total).collect() } else { raw }
}

/// What the combination concluded: direction (none on a perfect conflict),
/// strength, and each voter's component.
pub(crate) type Combined = (Option<Direction>, f64, Vec<WeightedComponent>);

/// Combines the opinions (one slot per strategy, `None` = abstain), taking
/// them out of `opinions` (a buffer the caller reuses). Returns `None` when
/// no strategy had an opinion.
pub(crate) fn combine(
    base: &[(&'static str, f64)],
    weights: &[f64],
    opinions: &mut Vec<Option<Opinion>>,
) -> Option<Combined> {
    let voters_weight: f64 = opinions.iter().zip(weights).filter(|(o, _)| o.is_some()).map(|(_, w)| w).sum();
    if opinions.iter().all(Option::is_none) {
        return None;
    }
    let mut score = 0.0;
    let mut components = Vec::new();
    for ((opinion, &weight), &(name, base_weight)) in opinions.drain(..).zip(weights).zip(base) {
        let Some(opinion) = opinion else { continue };
        let contribution = if voters_weight > 0.0 {
            weight * opinion.strength * opinion.direction.sign() / voters_weight
        } else {
            0.0
        };
        score += contribution;
        components.push(WeightedComponent {
            strategy: name,
            base_weight,
            weight,
            direction: opinion.direction,
            strength: opinion.strength,
            contribution,
            reasons: opinion.reasons,
        });
    }
    let direction = if score > 0.0 {
        Some(Direction::Long)
    } else if score < 0.0 {
        Some(Direction::Short)
    } else {
        None
    };
    Some((direction, score.abs().min(1.0), components))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::strategy::testkit::regime;

    fn opinion(direction: Direction, strength: f64) -> Option<Opinion> {
        Some(Opinion::new(direction, strength, vec![]))
    }

    const BASE: [(&str, f64); 3] = [("momentum", 0.4), ("mean_reversion", 0.3), ("breakout", 0.3)];

    #[test]
    fn weights_follow_the_documented_rule_and_sum_to_one() {
        let trending = adjusted_weights(&BASE, &regime(TrendState::TrendingUp), true);
        assert!((trending.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(trending[0] > 0.4 && trending[1] < 0.3, "{trending:?}");
        let ranging = adjusted_weights(&BASE, &regime(TrendState::Ranging), true);
        assert!(ranging[1] > ranging[0], "{ranging:?}");
        assert_eq!(adjusted_weights(&BASE, &regime(TrendState::Ranging), false), vec![0.4, 0.3, 0.3]);
    }

    #[test]
    fn combination_table() {
        use Direction::*;
        let w = [0.4, 0.3, 0.3];
        let cases: Vec<(Vec<Option<Opinion>>, Option<Direction>, f64)> = vec![
            (vec![opinion(Long, 0.8), None, None], Some(Long), 0.8),
            (vec![opinion(Long, 0.8), None, opinion(Long, 0.6)], Some(Long), (0.4 * 0.8 + 0.3 * 0.6) / 0.7),
            (vec![opinion(Long, 0.9), opinion(Short, 0.9), None], Some(Long), (0.4 * 0.9 - 0.3 * 0.9) / 0.7),
            (vec![None, opinion(Short, 0.5), opinion(Long, 0.5)], None, 0.0),
        ];
        for (opinions, direction, strength) in cases {
            let (d, s, components) = combine(&BASE, &w, &mut opinions.clone()).unwrap();
            assert_eq!(d, direction, "{opinions:?}");
            assert!((s - strength).abs() < 1e-12, "{s} vs {strength}");
            let total: f64 = components.iter().map(|c| c.contribution).sum();
            assert!((total.abs() - s).abs() < 1e-12);
        }
        assert!(combine(&BASE, &w, &mut vec![None, None, None]).is_none());
    }
}
