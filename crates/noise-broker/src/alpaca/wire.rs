//! Alpaca's JSON as it arrives, and its translation into our types.
//!
//! Trading API money and quantities are decimal strings; market data uses
//! JSON numbers. Unknown fields are ignored (real replies carry more than the
//! spec); everything we act on is required and parsed strictly.

use chrono::{DateTime, Utc};
use noise_core::market::Bar;
use noise_core::order::{OrderStatus, OrderType};
use noise_core::risk::Side;
use rust_decimal::Decimal;
use serde::Deserialize;

use noise_core::instrument::BrokerKind;

use crate::{BrokerPosition, FillReport, OrderState};

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
    #[serde(default, rename = "type")]
    pub order_type: Option<String>,
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
            client_order_id: self.client_order_id.as_str().into(),
            broker_order_id: self.id.as_str().into(),
            symbol: self.symbol.as_deref().ok_or_else(|| what("symbol"))?.into(),
            side,
            order_type: match self.order_type.as_deref() {
                Some("limit") => OrderType::Limit,
                // A stop-limit or trailing stop is a stop for our purposes (a protective exit).
                Some("stop" | "stop_limit" | "trailing_stop") => OrderType::Stop,
                _ => OrderType::Market,
            },
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

/// One execution from `GET /v2/account/activities/FILL` (a trading activity).
#[derive(Debug, Deserialize)]
pub struct FillActivity {
    /// `<yyyymmddHHMMSSmmm>::<uuid>`: unique, and the page token of the next page.
    pub id: String,
    pub order_id: String,
    pub symbol: String,
    pub side: String,
    pub qty: Decimal,
    pub price: Decimal,
    pub transaction_time: DateTime<Utc>,
}

impl FillActivity {
    pub fn unified(&self) -> Result<FillReport, String> {
        let side = match self.side.as_str() {
            "buy" => Side::Buy,
            // A short sale is reported as its own side; for the ledger it is a sale.
            "sell" | "sell_short" => Side::Sell,
            other => return Err(format!("fill {}: side {other:?}", self.id)),
        };
        if self.qty <= Decimal::ZERO {
            return Err(format!("fill {}: qty {} is not positive", self.id, self.qty));
        }
        Ok(FillReport {
            broker: BrokerKind::Alpaca,
            fill_id: self.id.as_str().into(),
            broker_order_id: self.order_id.as_str().into(),
            client_order_id: None,
            symbol: self.symbol.as_str().into(),
            side,
            quantity: self.qty,
            price: self.price,
            // Commission-free: regulatory fees (SEC, TAF) are separate FEE
            // activities the next day, not charged per fill.
            fee: Decimal::ZERO,
            time: self.transaction_time,
        })
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
    fn fill_activities_translate_and_refuse_what_they_cannot_be() {
        let json = r#"[{"activity_type":"FILL","cum_qty":"2","id":"20220202135509981::2d7be4ff-d1f3-43e9-856a-0f5cf5c5088e",
            "leaves_qty":"0","order_id":"b5abe576-6a8a-49f3-a353-46b72c1ccae9","order_status":"filled","price":"174.78",
            "qty":"2","side":"sell_short","symbol":"AAPL","transaction_time":"2022-02-02T18:55:09.981482Z","type":"fill"}]"#;
        let fills: Vec<FillActivity> = serde_json::from_str(json).unwrap();
        let fill = fills[0].unified().unwrap();
        assert_eq!((fill.side, fill.quantity, fill.price, fill.fee), (Side::Sell, dec!(2), dec!(174.78), dec!(0)));
        assert_eq!(fill.broker_order_id, "b5abe576-6a8a-49f3-a353-46b72c1ccae9");
        let odd =
            FillActivity { side: "hold".into(), ..serde_json::from_str::<Vec<FillActivity>>(json).unwrap().remove(0) };
        assert!(odd.unified().unwrap_err().contains("side \"hold\""));
        assert!(serde_json::from_str::<Vec<FillActivity>>(&json.replace("\"174.78\"", "\"n/a\"")).is_err());
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
