//! Market regime: trend state from ADX and ±DI, volatility from the ATR percentile.

use serde::Serialize;

use crate::indicators::IndicatorSnapshot;

use super::config::RegimeConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendState {
    TrendingUp,
    TrendingDown,
    Ranging,
    Transitional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolatilityState {
    Low,
    Normal,
    High,
}

/// The regime with the figures that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Regime {
    pub trend: TrendState,
    pub volatility: VolatilityState,
    pub adx: f64,
    pub plus_di: f64,
    pub minus_di: f64,
    pub atr_percentile: f64,
}

impl Regime {
    /// ADX ≥ trending: trending, up when +DI > −DI, down when −DI > +DI
    /// (transitional on a tie); ADX ≤ ranging: ranging; between:
    /// transitional. ATR percentile < low: low volatility; > high: high;
    /// between: normal. `None` until ADX and the percentile are warm.
    pub fn detect(ind: &IndicatorSnapshot, cfg: &RegimeConfig) -> Option<Regime> {
        let (adx, di, atr_percentile) = (ind.adx?, ind.di?, ind.atr_percentile?);
        let trend = if adx >= cfg.adx_trending {
            if di.plus > di.minus {
                TrendState::TrendingUp
            } else if di.minus > di.plus {
                TrendState::TrendingDown
            } else {
                TrendState::Transitional
            }
        } else if adx <= cfg.adx_ranging {
            TrendState::Ranging
        } else {
            TrendState::Transitional
        };
        let volatility = if atr_percentile < cfg.atr_low_percentile {
            VolatilityState::Low
        } else if atr_percentile > cfg.atr_high_percentile {
            VolatilityState::High
        } else {
            VolatilityState::Normal
        };
        Some(Regime { trend, volatility, adx, plus_di: di.plus, minus_di: di.minus, atr_percentile })
    }

    pub fn is_trending(&self) -> bool {
        matches!(self.trend, TrendState::TrendingUp | TrendState::TrendingDown)
    }
}

impl std::fmt::Display for Regime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let trend = match self.trend {
            TrendState::TrendingUp => "trending_up",
            TrendState::TrendingDown => "trending_down",
            TrendState::Ranging => "ranging",
            TrendState::Transitional => "transitional",
        };
        let vol = match self.volatility {
            VolatilityState::Low => "low",
            VolatilityState::Normal => "normal",
            VolatilityState::High => "high",
        };
        write!(f, "{trend}/{vol} (ADX {:.1}, ATR pct {:.0})", self.adx, self.atr_percentile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::DirectionalIndex;

    fn snapshot(adx: f64, plus: f64, minus: f64, pct: f64) -> IndicatorSnapshot {
        IndicatorSnapshot {
            adx: Some(adx),
            di: Some(DirectionalIndex { plus, minus }),
            atr_percentile: Some(pct),
            ..IndicatorSnapshot::default()
        }
    }

    #[test]
    fn regime_table() {
        use TrendState::*;
        use VolatilityState::*;
        let cfg = RegimeConfig::default();
        let cases = [
            (30.0, 30.0, 10.0, 50.0, TrendingUp, Normal),
            (25.0, 10.0, 30.0, 80.0, TrendingDown, High),
            (25.0, 20.0, 20.0, 50.0, Transitional, Normal),
            (20.0, 30.0, 10.0, 10.0, Ranging, Low),
            (22.0, 30.0, 10.0, 25.0, Transitional, Normal),
            (24.9, 30.0, 10.0, 75.0, Transitional, Normal),
        ];
        for (adx, plus, minus, pct, trend, vol) in cases {
            let r = Regime::detect(&snapshot(adx, plus, minus, pct), &cfg).unwrap();
            assert_eq!((r.trend, r.volatility), (trend, vol), "ADX {adx} +DI {plus} -DI {minus} pct {pct}");
        }
        assert_eq!(Regime::detect(&IndicatorSnapshot::default(), &cfg), None);
    }
}
