//! What the risk manager's figures look like from outside: exposure against
//! its caps and the breakers' measures against their limits, for the API and
//! the dashboard. Pure: the same numbers the checks use, never a second rule.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::instrument::AssetClass;
use crate::num::decimal_to_f64;

use super::account::PositionSnapshot;
use super::config::{ExposureConfig, PdtConfig, RiskConfig};
use super::state::{RiskState, loss_pct, trading_date};

/// One slice of exposure: its notional, its share of equity, its cap.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExposureLine {
    pub name: String,
    pub notional: Decimal,
    /// Notional in % of equity (`null` when equity is not positive).
    pub pct: Option<f64>,
    /// The cap in % of equity, where one applies.
    pub cap_pct: Option<f64>,
}

/// How many positions are open, and how many may be.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenPositions {
    pub count: usize,
    pub max: usize,
}

/// Exposure by symbol, asset class and correlation group, and gross.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExposureReport {
    pub equity: Decimal,
    pub gross: ExposureLine,
    pub by_asset_class: Vec<ExposureLine>,
    pub by_group: Vec<ExposureLine>,
    pub by_symbol: Vec<ExposureLine>,
    pub open_positions: OpenPositions,
}

impl ExposureReport {
    /// Exposure of `positions` at their market prices against `equity`.
    pub fn new(positions: &[PositionSnapshot], equity: Decimal, caps: &ExposureConfig) -> Self {
        let line = |name: String, notional: Decimal, cap_pct: Option<f64>| ExposureLine {
            name,
            notional,
            pct: percent_of(notional, equity),
            cap_pct,
        };
        let total = |keep: &dyn Fn(&PositionSnapshot) -> bool| -> Decimal {
            positions.iter().filter(|p| keep(p)).map(PositionSnapshot::notional).sum()
        };
        let by_asset_class = [AssetClass::Equity, AssetClass::Future]
            .into_iter()
            .filter(|class| positions.iter().any(|p| p.asset_class == *class))
            .map(|class| line(asset_class_name(class).into(), total(&|p| p.asset_class == class), None))
            .collect();
        // Every capped group is listed (an empty one shows its headroom), then any held uncapped one.
        let mut groups: Vec<&str> = caps.group_caps_pct.keys().map(String::as_str).collect();
        for p in positions {
            if !groups.contains(&p.correlation_group.as_str()) {
                groups.push(&p.correlation_group);
            }
        }
        let by_group = groups
            .into_iter()
            .map(|g| line(g.to_string(), total(&|p| p.correlation_group == g), caps.group_caps_pct.get(g).copied()))
            .collect();
        let mut symbols: Vec<&str> = positions.iter().map(|p| p.symbol.as_str()).collect();
        symbols.sort_unstable();
        symbols.dedup();
        let by_symbol = symbols
            .into_iter()
            .map(|s| line(s.to_string(), total(&|p| p.symbol == s), Some(caps.max_symbol_pct)))
            .collect();
        Self {
            equity,
            gross: line("gross".into(), total(&|_| true), Some(caps.max_gross_pct)),
            by_asset_class,
            by_group,
            by_symbol,
            open_positions: OpenPositions {
                count: positions.iter().filter(|p| !p.quantity.is_zero()).count(),
                max: caps.max_open_positions,
            },
        }
    }
}

fn asset_class_name(class: AssetClass) -> &'static str {
    match class {
        AssetClass::Equity => "equity",
        AssetClass::Future => "future",
    }
}

fn percent_of(part: Decimal, whole: Decimal) -> Option<f64> {
    (whole > Decimal::ZERO).then(|| decimal_to_f64(part / whole * Decimal::ONE_HUNDRED))
}

/// The breakers' measures now, as `mark_equity` would compute them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskFigures {
    pub equity: Decimal,
    /// Loss from the day's starting equity, % (0 when up).
    pub daily_loss_pct: f64,
    pub weekly_loss_pct: f64,
    /// Down from the high-water mark, % (a mark above it counts as at it).
    pub drawdown_pct: f64,
    /// Equity round trips opened and closed on one day, in the rolling five trading days.
    pub day_trades_in_window: usize,
    pub in_cooldown: bool,
}

impl RiskFigures {
    pub fn new(state: &RiskState, equity: Decimal, now: DateTime<Utc>) -> Self {
        Self {
            equity,
            daily_loss_pct: loss_pct(state.day_start_equity, equity),
            weekly_loss_pct: loss_pct(state.week_start_equity, equity),
            drawdown_pct: loss_pct(state.high_water_mark.max(equity), equity),
            day_trades_in_window: state.day_trades_in_window(trading_date(now)),
            in_cooldown: state.in_cooldown(now),
        }
    }
}

/// The limits the figures are held against (a view of [`RiskConfig`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskLimits {
    pub daily_loss_pct: f64,
    pub weekly_loss_pct: f64,
    pub max_drawdown_pct: f64,
    pub max_consecutive_losses: u32,
    pub cooldown_minutes: u32,
    pub pdt: PdtConfig,
}

impl From<&RiskConfig> for RiskLimits {
    fn from(c: &RiskConfig) -> Self {
        Self {
            daily_loss_pct: c.daily_loss_pct,
            weekly_loss_pct: c.weekly_loss_pct,
            max_drawdown_pct: c.max_drawdown_pct,
            max_consecutive_losses: c.max_consecutive_losses,
            cooldown_minutes: c.cooldown_minutes,
            pdt: c.pdt.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::Instrument;
    use rust_decimal_macros::dec;

    fn held(symbol: &str, quantity: Decimal, price: Decimal) -> PositionSnapshot {
        let instruments = Instrument::defaults();
        let i = instruments.iter().find(|i| i.symbol == symbol).unwrap();
        PositionSnapshot::new(i, quantity, price, price)
    }

    #[test]
    fn exposure_sums_by_class_group_and_symbol_against_caps() {
        // MES: 2 × 5000 × $5 = 50,000; SPY short 100 × 500 = 50,000 (equity_index both);
        // MGC: 1 × 2000 × $10 = 20,000 (metals).
        let positions =
            [held("MES", dec!(2), dec!(5000)), held("SPY", dec!(-100), dec!(500)), held("MGC", dec!(1), dec!(2000))];
        let report = ExposureReport::new(&positions, dec!(100000), &ExposureConfig::default());
        assert_eq!(report.gross.notional, dec!(120000));
        assert_eq!(report.gross.pct, Some(120.0));
        assert_eq!(report.gross.cap_pct, Some(200.0));
        let class = |n: &str| report.by_asset_class.iter().find(|l| l.name == n).unwrap().notional;
        assert_eq!((class("equity"), class("future")), (dec!(50000), dec!(70000)));
        let group = |n: &str| report.by_group.iter().find(|l| l.name == n).unwrap().clone();
        assert_eq!(group("equity_index").notional, dec!(100000));
        assert_eq!(group("equity_index").cap_pct, Some(150.0));
        assert_eq!(group("energy").notional, Decimal::ZERO, "a capped group with nothing held shows its headroom");
        let names: Vec<_> = report.by_symbol.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["MES", "MGC", "SPY"]);
        assert_eq!(report.open_positions, OpenPositions { count: 3, max: 5 });
    }

    #[test]
    fn no_equity_gives_no_percentages() {
        let report = ExposureReport::new(&[held("SPY", dec!(1), dec!(500))], Decimal::ZERO, &ExposureConfig::default());
        assert_eq!(report.gross.pct, None);
    }

    #[test]
    fn figures_measure_like_the_breakers() {
        let mut state = RiskState::new(dec!(100000));
        state.day_start_equity = dec!(100000);
        state.week_start_equity = dec!(105000);
        state.high_water_mark = dec!(110000);
        let now = "2026-03-10T15:00:00Z".parse().unwrap();
        let f = RiskFigures::new(&state, dec!(99000), now);
        assert!((f.daily_loss_pct - 1.0).abs() < 1e-12);
        assert!((f.weekly_loss_pct - 6000.0 / 1050.0).abs() < 1e-12);
        assert!((f.drawdown_pct - 10.0).abs() < 1e-12);
        let up = RiskFigures::new(&state, dec!(120000), now);
        assert_eq!((up.daily_loss_pct, up.drawdown_pct), (0.0, 0.0));
    }
}
