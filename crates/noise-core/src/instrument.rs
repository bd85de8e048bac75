//! Instruments and the facts trading needs about them.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::Venue;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Equity,
    Future,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerKind {
    Alpaca,
    Tradovate,
    /// The built-in simulator (paper trading without any account).
    Sim,
}

impl BrokerKind {
    pub const ALL: [BrokerKind; 3] = [BrokerKind::Alpaca, BrokerKind::Tradovate, BrokerKind::Sim];

    /// `alpaca`, `tradovate` or `sim`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerKind::Alpaca => "alpaca",
            BrokerKind::Tradovate => "tradovate",
            BrokerKind::Sim => "sim",
        }
    }
}

impl std::str::FromStr for BrokerKind {
    type Err = crate::order::UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::order::parse_word("broker", s, &Self::ALL, Self::as_str)
    }
}

/// A tradable instrument with its facts: who routes it, how prices move,
/// what a point is worth, which exposure group it belongs to, when it trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// Our symbol: the ticker for equities, the product root for futures (MNQ).
    pub symbol: String,
    pub asset_class: AssetClass,
    pub broker: BrokerKind,
    /// Minimum price increment.
    pub tick_size: Decimal,
    /// Money per 1.0 of price per unit: the futures multiplier, 1 for shares.
    pub point_value: Decimal,
    /// Exposure group for correlation caps.
    pub correlation_group: String,
    pub venue: Venue,
    /// Initial margin per contract (futures), for buying-power checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_margin: Option<Decimal>,
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.symbol)
    }
}

/// How to round a price onto the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickRounding {
    Nearest,
    Down,
    Up,
}

impl Instrument {
    /// Rounds `price` to a multiple of the tick size.
    pub fn round_to_tick(&self, price: Decimal, rounding: TickRounding) -> Decimal {
        round_to_tick(price, self.tick_size, rounding)
    }

    /// The tick size as `f64`, for comparisons with indicator values.
    pub fn tick_f64(&self) -> f64 {
        crate::num::decimal_to_f64(self.tick_size)
    }

    fn new(
        symbol: &str,
        asset_class: AssetClass,
        tick: Decimal,
        point_value: Decimal,
        group: &str,
        margin: Option<Decimal>,
    ) -> Self {
        let (broker, venue) = match asset_class {
            AssetClass::Equity => (BrokerKind::Alpaca, Venue::UsEquities),
            AssetClass::Future => (BrokerKind::Tradovate, Venue::CmeGlobex),
        };
        Self {
            symbol: symbol.to_string(),
            asset_class,
            broker,
            tick_size: tick,
            point_value,
            correlation_group: group.to_string(),
            venue,
            initial_margin: margin,
        }
    }

    /// The correlation group of [`Self::generic_equity`].
    pub const UNGROUPED: &'static str = "ungrouped";

    /// A US equity that is not in the config (a backtest on a symbol you
    /// have not configured): one-cent ticks, point value 1, its own
    /// correlation group, NYSE sessions.
    pub fn generic_equity(symbol: &str) -> Self {
        Self::new(symbol, AssetClass::Equity, Decimal::new(1, 2), Decimal::ONE, Self::UNGROUPED, None)
    }

    /// The default instruments: the five CME micro futures through Tradovate
    /// (contract facts from `brokers/TRADOVATE.md`) and four ETFs through
    /// Alpaca. Margins are typical exchange initial margins; set yours.
    pub fn defaults() -> Vec<Instrument> {
        use AssetClass::{Equity, Future};
        let dec = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        vec![
            Self::new("MNQ", Future, dec("0.25"), dec("2"), "equity_index", Some(dec("3500"))),
            Self::new("MES", Future, dec("0.25"), dec("5"), "equity_index", Some(dec("2500"))),
            Self::new("M2K", Future, dec("0.1"), dec("5"), "equity_index", Some(dec("1000"))),
            Self::new("MCL", Future, dec("0.01"), dec("100"), "energy", Some(dec("1000"))),
            Self::new("MGC", Future, dec("0.1"), dec("10"), "metals", Some(dec("1800"))),
            Self::new("TQQQ", Equity, dec("0.01"), dec("1"), "equity_index", None),
            Self::new("SOXL", Equity, dec("0.01"), dec("1"), "equity_index", None),
            Self::new("SPY", Equity, dec("0.01"), dec("1"), "equity_index", None),
            Self::new("QQQ", Equity, dec("0.01"), dec("1"), "equity_index", None),
        ]
    }

    /// Problems with this instrument's facts, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.symbol.trim().is_empty() {
            problems.push(("symbol", "must not be empty".to_string()));
        }
        if self.tick_size <= Decimal::ZERO {
            problems.push(("tick_size", format!("must be positive, got {}", self.tick_size)));
        }
        if self.point_value <= Decimal::ZERO {
            problems.push(("point_value", format!("must be positive, got {}", self.point_value)));
        }
        if self.correlation_group.trim().is_empty() {
            problems.push(("correlation_group", "must not be empty".to_string()));
        }
        if let Some(margin) = self.initial_margin
            && margin <= Decimal::ZERO
        {
            problems.push(("initial_margin", format!("must be positive, got {margin}")));
        }
        let expected = match self.asset_class {
            AssetClass::Equity => [BrokerKind::Alpaca, BrokerKind::Sim],
            AssetClass::Future => [BrokerKind::Tradovate, BrokerKind::Sim],
        };
        if !expected.contains(&self.broker) {
            problems.push(("broker", format!("{:?} does not route {:?} instruments", self.broker, self.asset_class)));
        }
        problems
    }
}

/// Rounds `price` to a multiple of `tick` (a positive tick).
pub fn round_to_tick(price: Decimal, tick: Decimal, rounding: TickRounding) -> Decimal {
    if tick <= Decimal::ZERO {
        return price;
    }
    // A tick of 10^-k: a price with at most k decimals is on the grid already
    // (and a decimal division is the dearest thing a fill does).
    if tick.mantissa() == 1 && price.scale() <= tick.scale() {
        let mut on_grid = price;
        on_grid.rescale(tick.scale());
        return on_grid;
    }
    let ticks = price / tick;
    let whole = match rounding {
        TickRounding::Nearest => ticks.round(),
        TickRounding::Down => ticks.floor(),
        TickRounding::Up => ticks.ceil(),
    };
    // Keeps the tick's scale, so prices print as the venue quotes them (611.50).
    whole * tick
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_to_tick_table() {
        let cases = [
            (dec!(20000.13), dec!(0.25), TickRounding::Nearest, dec!(20000.25)),
            (dec!(20000.12), dec!(0.25), TickRounding::Nearest, dec!(20000)),
            (dec!(20000.13), dec!(0.25), TickRounding::Down, dec!(20000)),
            (dec!(20000.01), dec!(0.25), TickRounding::Up, dec!(20000.25)),
            (dec!(71.234), dec!(0.01), TickRounding::Nearest, dec!(71.23)),
            (dec!(2400.05), dec!(0.1), TickRounding::Up, dec!(2400.1)),
            (dec!(2400.1), dec!(0.1), TickRounding::Up, dec!(2400.1)),
        ];
        for (price, tick, mode, want) in cases {
            assert_eq!(round_to_tick(price, tick, mode), want, "{price} {tick} {mode:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_on_grid_shortcut_equals_the_division(cents in 1i64..10_000_000, scale in 0u32..4, k in 0u32..4) {
            let price = Decimal::new(cents, scale);
            let tick = Decimal::new(1, k);
            for mode in [TickRounding::Nearest, TickRounding::Down, TickRounding::Up] {
                let slow = match mode {
                    TickRounding::Nearest => (price / tick).round(),
                    TickRounding::Down => (price / tick).floor(),
                    TickRounding::Up => (price / tick).ceil(),
                } * tick;
                let fast = round_to_tick(price, tick, mode);
                // Equal in value and written alike (611.50 stays 611.50).
                proptest::prop_assert_eq!(fast.to_string(), slow.to_string());
            }
        }
    }

    #[test]
    fn defaults_are_valid_and_match_contract_facts() {
        let all = Instrument::defaults();
        assert!(all.iter().all(|i| i.problems().is_empty()));
        let mnq = all.iter().find(|i| i.symbol == "MNQ").unwrap();
        assert_eq!((mnq.tick_size, mnq.point_value), (dec!(0.25), dec!(2)));
        let mcl = all.iter().find(|i| i.symbol == "MCL").unwrap();
        assert_eq!((mcl.tick_size * mcl.point_value), dec!(1)); // $1.00 tick value
        let mgc = all.iter().find(|i| i.symbol == "MGC").unwrap();
        assert_eq!((mgc.tick_size * mgc.point_value), dec!(1));
    }
}
