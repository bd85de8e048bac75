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

/// How an order executes, as stored and shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// At the next price available.
    #[default]
    Market,
    /// At a price or better (a take-profit leg).
    Limit,
    /// Market once the price trades through a level (a stop-loss leg).
    Stop,
}

impl OrderType {
    pub const ALL: [OrderType; 3] = [Self::Market, Self::Limit, Self::Stop];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit => "limit",
            Self::Stop => "stop",
        }
    }
}

/// A stored word that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {word:?}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
}

/// Parses one of `values` by its `as_str` word.
pub fn parse_word<T: Copy>(
    what: &'static str,
    word: &str,
    values: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, UnknownWord> {
    values.iter().copied().find(|v| name(*v) == word).ok_or_else(|| UnknownWord { what, word: word.to_string() })
}

impl FromStr for OrderType {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word("order type", s, &Self::ALL, Self::as_str)
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

impl FromStr for OrderStatus {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_word("order status", s, &Self::ALL, Self::as_str)
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
    fn stored_words_round_trip_and_unknown_ones_are_named() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>().unwrap(), status);
        }
        for kind in OrderType::ALL {
            assert_eq!(kind.as_str().parse::<OrderType>().unwrap(), kind);
        }
        for side in crate::risk::Side::ALL {
            assert_eq!(side.as_str().parse::<crate::risk::Side>().unwrap(), side);
        }
        for intent in crate::risk::Intent::ALL {
            assert_eq!(intent.as_str().parse::<crate::risk::Intent>().unwrap(), intent);
        }
        for broker in crate::instrument::BrokerKind::ALL {
            assert_eq!(broker.as_str().parse::<crate::instrument::BrokerKind>().unwrap(), broker);
        }
        assert_eq!("done".parse::<OrderStatus>().unwrap_err().to_string(), "unknown order status \"done\"");
        assert_eq!("buy".parse::<crate::risk::Side>().unwrap_err().to_string(), "unknown side \"buy\"");
    }
}
