//! Alpaca's JSON as it arrives, and its translation into our types.
//!
//! Trading API money and quantities are decimal strings; market data uses
//! JSON numbers. Unknown fields are ignored (real replies carry more than the
//! spec); everything we act on is required and parsed strictly.

use chrono::{DateTime, Utc};
use noise_core::market::Bar;
use noise_core::order::OrderStatus;
use noise_core::risk::Side;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{BrokerPosition, OrderState};

#[derive(Debug, Deserialize)]
pub struct Account {
    pub status: String,
    pub currency: Option<String>,
    pub cash: Decimal,
    pub equity: Decimal,
    pub buying_power: Decimal,
    #[serde(default)]
    pub non_marginable_buying_power: Option<Decimal>,
    #[serde(default)]
    pub multiplier: Option<Decimal>,
    #[serde(default)]
    pub trading_blocked: Option<bool>,
    #[serde(default)]
    pub account_blocked: Option<bool>,
    /// Deprecated since FINRA retired the PDT rule (2026-06-04); may be absent.
    #[serde(default)]
    pub pattern_day_trader: Option<bool>,
    #[serde(default)]
    pub daytrade_count: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct Position {
    pub symbol: String,
    pub qty: Decimal,
    pub side: String,
    pub avg_entry_price: Decimal,
    #[serde(default)]
    pub current_price: Option<Decimal>,
}

impl Position {
    pub fn unified(&self) -> Result<BrokerPosition, String> {
        // `qty` is negative for shorts already; `side` says so as well.
        let quantity = match self.side.as_str() {
            "long" => self.qty.abs(),
            "short" => -self.qty.abs(),
            other => return Err(format!("position {}: side {other:?} is neither long nor short", self.symbol)),
        };
        Ok(BrokerPosition {
            symbol: self.symbol.clone(),
            quantity,
            average_price: self.avg_entry_price,
            market_price: self.current_price.unwrap_or(self.avg_entry_price),
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: String,
    pub client_order_id: String,
    pub status: String,
    pub symbol: Option<String>,
    pub side: Option<String>,
    pub qty: Option<Decimal>,
    #[serde(default)]
    pub filled_qty: Option<Decimal>,
    #[serde(default)]
    pub filled_avg_price: Option<Decimal>,
    pub updated_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub legs: Option<Vec<Order>>,
}

impl Order {
    pub fn unified(&self) -> Result<OrderState, String> {
        let what = |field: &str| format!("order {}: no {field}", self.client_order_id);
        let side = match self.side.as_deref() {
            Some("buy") => Side::Buy,
            Some("sell") => Side::Sell,
            other => return Err(format!("order {}: side {other:?}", self.client_order_id)),
        };
        let filled = self.filled_qty.unwrap_or_default();
        Ok(OrderState {
            client_order_id: self.client_order_id.clone(),
            broker_order_id: self.id.clone(),
            symbol: self.symbol.clone().ok_or_else(|| what("symbol"))?,
            side,
            quantity: self.qty.ok_or_else(|| what("qty (notional orders are not ours)"))?,
            status: status(&self.status, filled),
            filled_quantity: filled,
            average_fill_price: self.filled_avg_price,
            // Alpaca charges no commission on equities; regulatory fees arrive as account activities.
            fees: Decimal::ZERO,
            updated_at: self.updated_at.or(self.created_at).ok_or_else(|| what("updated_at"))?,
            legs: self.legs.iter().flatten().map(Order::unified).collect::<Result<_, _>>()?,
        })
    }
}

/// Alpaca's order status in ours. Working states (and any status Alpaca adds
/// later) are "submitted", or "partially filled" once something filled: an
/// unknown word must never read as final.
pub fn status(word: &str, filled: Decimal) -> OrderStatus {
    match word {
        "filled" => OrderStatus::Filled,
        "canceled" | "replaced" => OrderStatus::Cancelled,
        "expired" => OrderStatus::Expired,
        "rejected" => OrderStatus::Rejected,
        _ if filled > Decimal::ZERO => OrderStatus::PartiallyFilled,
        _ => OrderStatus::Submitted,
    }
}

/// `{"code": 40010001, "message": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub code: Option<i64>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Clock {
    pub timestamp: DateTime<Utc>,
    pub is_open: bool,
    pub next_open: DateTime<Utc>,
    pub next_close: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct CalendarDay {
    pub date: chrono::NaiveDate,
    pub open: String,
    pub close: String,
}

/// A market-data bar: `t` its start, prices and volume as JSON numbers.
#[derive(Debug, Deserialize)]
pub struct DataBar {
    pub t: DateTime<Utc>,
    pub o: f64,
    pub h: f64,
    pub l: f64,
    pub c: f64,
    pub v: f64,
}

impl DataBar {
    pub fn unified(&self) -> Result<Bar, String> {
        crate::bar_from_doubles(self.t, [self.o, self.h, self.l, self.c], self.v)
    }
}

/// `GET /v2/stocks/{symbol}/bars`.
#[derive(Debug, Deserialize)]
pub struct BarsPage {
    #[serde(default)]
    pub bars: Option<Vec<DataBar>>,
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn statuses_never_read_an_unknown_word_as_final() {
        for (word, filled, want) in [
            ("new", dec!(0), OrderStatus::Submitted),
            ("accepted", dec!(0), OrderStatus::Submitted),
            ("held", dec!(0), OrderStatus::Submitted),
            ("partially_filled", dec!(3), OrderStatus::PartiallyFilled),
            ("pending_cancel", dec!(3), OrderStatus::PartiallyFilled),
            ("filled", dec!(10), OrderStatus::Filled),
            ("canceled", dec!(0), OrderStatus::Cancelled),
            ("expired", dec!(0), OrderStatus::Expired),
            ("rejected", dec!(0), OrderStatus::Rejected),
            ("some_future_status", dec!(0), OrderStatus::Submitted),
        ] {
            assert_eq!(status(word, filled), want, "{word}");
        }
    }

    #[test]
    fn a_bracket_order_with_its_legs_translates() {
        let json = r#"{"id":"61e69015-8549-4bfd-b9c3-01e75843f47d","client_order_id":"noise-202603091401-SPY",
            "status":"filled","symbol":"SPY","side":"buy","qty":"10","filled_qty":"10","filled_avg_price":"597.12",
            "updated_at":"2026-03-09T14:02:00.123456Z","order_class":"bracket","extra_field":1,
            "legs":[{"id":"a","client_order_id":"leg-tp","status":"new","symbol":"SPY","side":"sell","qty":"10",
                     "filled_qty":"0","filled_avg_price":null,"updated_at":"2026-03-09T14:02:00Z"},
                    {"id":"b","client_order_id":"leg-sl","status":"held","symbol":"SPY","side":"sell","qty":"10",
                     "filled_qty":"0","filled_avg_price":null,"updated_at":"2026-03-09T14:02:00Z"}]}"#;
        let order: Order = serde_json::from_str(json).unwrap();
        let state = order.unified().unwrap();
        assert_eq!(state.status, OrderStatus::Filled);
        assert_eq!(state.average_fill_price, Some(dec!(597.12)));
        assert_eq!(state.legs.len(), 2);
        assert_eq!(state.legs[1].status, OrderStatus::Submitted);
    }

    #[test]
    fn garbage_in_a_money_field_is_an_error_not_a_default() {
        let json = r#"{"status":"ACTIVE","cash":"consequat ea","equity":"1","buying_power":"1"}"#;
        assert!(serde_json::from_str::<Account>(json).is_err());
        let short = Position {
            symbol: "SPY".into(),
            qty: dec!(-5),
            side: "short".into(),
            avg_entry_price: dec!(500),
            current_price: None,
        };
        assert_eq!(short.unified().unwrap().quantity, dec!(-5));
    }
}
