//! What the risk manager is told about the account and its positions.

use compact_str::CompactString;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::instrument::{AssetClass, Instrument};

/// The account's figures, aggregated across brokers by the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// Net liquidation value.
    pub equity: Decimal,
    pub cash: Decimal,
    /// What equities may still be bought for (the broker's figure).
    pub buying_power: Decimal,
    /// Margin still available for new futures positions.
    pub available_margin: Decimal,
    /// A margin (not cash) equity account: the PDT rule applies to these.
    pub margin_account: bool,
    /// The broker's own day-trade count for the rolling five days, if it
    /// still reports one (Alpaca's `daytrade_count`); preferred over ours.
    pub broker_day_trades: Option<u32>,
}

/// One open position, with the instrument facts exposure needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionSnapshot {
    pub symbol: CompactString,
    /// Signed: positive long, negative short.
    pub quantity: Decimal,
    pub average_price: Decimal,
    pub market_price: Decimal,
    pub point_value: Decimal,
    pub correlation_group: CompactString,
    pub asset_class: AssetClass,
    /// The entries it was built from (the position policy counts them): a
    /// held position's entry orders, or one for a pending entry.
    #[serde(default = "one_entry")]
    pub entries: u32,
}

fn one_entry() -> u32 {
    1
}

impl PositionSnapshot {
    /// A position in `instrument`.
    pub fn new(instrument: &Instrument, quantity: Decimal, average_price: Decimal, market_price: Decimal) -> Self {
        Self {
            symbol: instrument.symbol.as_str().into(),
            quantity,
            average_price,
            market_price,
            point_value: instrument.point_value,
            correlation_group: instrument.correlation_group.as_str().into(),
            asset_class: instrument.asset_class,
            entries: 1,
        }
    }

    /// The same position, built from `entries` entries.
    pub fn with_entries(self, entries: u32) -> Self {
        Self { entries: entries.max(1), ..self }
    }

    /// |quantity| × price × point value.
    pub fn notional(&self) -> Decimal {
        self.quantity.abs() * self.market_price * self.point_value
    }

    /// What closing at the market price would realize, before fees.
    pub fn unrealized_pnl(&self) -> Decimal {
        (self.market_price - self.average_price) * self.quantity * self.point_value
    }
}
