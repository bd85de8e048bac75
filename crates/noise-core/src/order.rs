//! Order vocabulary shared by the store, the brokers and the engine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where an order stands. Every broker's statuses map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Written to the database, not yet acknowledged by a broker (write-ahead).
    Intent,
    /// The broker accepted it; nothing filled yet.
    Submitted,
    PartiallyFilled,
    Filled,
    Cancelled,
    Rejected,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        Self::Intent,
        Self::Submitted,
        Self::PartiallyFilled,
        Self::Filled,
        Self::Cancelled,
        Self::Rejected,
        Self::Expired,
    ];

    /// No further fills can come.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Filled | Self::Cancelled | Self::Rejected | Self::Expired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intent => "intent",
            Self::Submitted => "submitted",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The realized P&L of closing `quantity` units of a position opened at
/// `entry` by trading at `exit`, net of `fees`, to the cent: what the
/// engine's trade history and the backtester's trade list both record.
pub fn round_trip_pnl(
    entry: rust_decimal::Decimal,
    exit: rust_decimal::Decimal,
    quantity: rust_decimal::Decimal,
    long: bool,
    point_value: rust_decimal::Decimal,
    fees: rust_decimal::Decimal,
) -> rust_decimal::Decimal {
    let gross = (exit - entry) * quantity * point_value;
    let gross = if long { gross } else { -gross };
    (gross - fees).round_dp(2).normalize()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order status {0:?}")]
pub struct UnknownOrderStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownOrderStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownOrderStatus(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_pnl_by_hand() {
        use rust_decimal_macros::dec;
        // (entry, exit, qty, long, point value, fees) -> pnl
        let cases = [
            (dec!(100.00), dec!(101.50), dec!(100), true, dec!(1), dec!(0), dec!(150)),
            (dec!(100.00), dec!(101.50), dec!(100), false, dec!(1), dec!(0), dec!(-150)),
            (dec!(20000.25), dec!(20010.00), dec!(2), true, dec!(2), dec!(2.48), dec!(36.52)),
            (dec!(10.005), dec!(10.000), dec!(3), true, dec!(1), dec!(0), dec!(-0.02)),
        ];
        for (entry, exit, qty, long, pv, fees, want) in cases {
            assert_eq!(round_trip_pnl(entry, exit, qty, long, pv, fees), want, "{entry} -> {exit}");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>().unwrap(), status);
        }
        assert!("done".parse::<OrderStatus>().is_err());
    }
}
