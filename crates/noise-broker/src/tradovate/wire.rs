//! Tradovate's JSON as it arrives. Prices are JSON numbers (doubles);
//! quantities integers; ids int64. Business failures arrive as HTTP 200
//! with `errorText` or `failureReason`; a penalty as `p-ticket`/`p-time`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenResponse {
    #[serde(default)]
    pub error_text: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub md_access_token: Option<String>,
    #[serde(default)]
    pub expiration_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub user_status: Option<String>,
}

/// A penalty reply: wait `p-time` seconds and resend with the ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Penalty {
    pub ticket: String,
    pub wait_seconds: u64,
    pub captcha: bool,
}

impl Penalty {
    pub fn of(body: &Value) -> Option<Penalty> {
        let ticket = body.get("p-ticket")?.as_str()?.to_string();
        Some(Penalty {
            ticket,
            wait_seconds: body.get("p-time").and_then(Value::as_u64).unwrap_or(0),
            captcha: body.get("p-captcha").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub closed: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CashBalanceSnapshot {
    #[serde(default)]
    pub error_text: Option<String>,
    pub total_cash_value: Option<f64>,
    pub net_liq: Option<f64>,
    #[serde(default)]
    pub initial_margin: Option<f64>,
    #[serde(default)]
    pub open_pn_l: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub contract_id: i64,
    pub net_pos: i64,
    #[serde(default)]
    pub net_price: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub contract_maturity_id: Option<i64>,
}

/// `PlaceOrderResult`, `PlaceOsoResult` and `CommandResult` alike.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutcome {
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub failure_text: Option<String>,
    #[serde(default)]
    pub order_id: Option<i64>,
    #[serde(default)]
    pub oso1_id: Option<i64>,
    #[serde(default)]
    pub oso2_id: Option<i64>,
    #[serde(default)]
    pub command_id: Option<i64>,
}

impl CommandOutcome {
    /// `Err(reason)` unless the broker says it succeeded.
    pub fn accepted(&self) -> Result<(), String> {
        match self.failure_reason.as_deref() {
            None | Some("Success") => Ok(()),
            Some(reason) => Err(match &self.failure_text {
                Some(text) if !text.is_empty() => format!("{reason}: {text}"),
                _ => reason.to_string(),
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: i64,
    pub account_id: i64,
    #[serde(default)]
    pub contract_id: Option<i64>,
    pub timestamp: DateTime<Utc>,
    pub action: String,
    pub ord_status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderVersion {
    pub order_id: i64,
    pub order_qty: i64,
    #[serde(default)]
    pub order_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    pub order_id: i64,
    #[serde(default)]
    pub cl_ord_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fill {
    /// Absent in the schema's required list, present in every real reply: a
    /// fill without one cannot be booked and is refused.
    #[serde(default)]
    pub id: Option<i64>,
    pub order_id: i64,
    #[serde(default)]
    pub contract_id: Option<i64>,
    #[serde(default)]
    pub action: Option<String>,
    pub qty: i64,
    pub price: f64,
    /// `false`: the exchange busted it.
    pub active: bool,
    pub timestamp: DateTime<Utc>,
}

/// `ContractMaturity`: which product a contract belongs to.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractMaturity {
    pub product_id: i64,
}

/// `ProductFeeParams`: what one contract costs per side, in parts.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProductFeeParams {
    pub product_id: i64,
    pub clearing_fee: Option<f64>,
    pub exchange_fee: Option<f64>,
    pub nfa_fee: Option<f64>,
    pub brokerage_fee: Option<f64>,
    pub ip_fee: Option<f64>,
    pub commission: Option<f64>,
    pub order_routing_fee: Option<f64>,
}

impl ProductFeeParams {
    /// The fee per contract per side: every part added, in cents.
    pub fn per_contract(&self) -> Result<rust_decimal::Decimal, String> {
        let parts = [
            ("clearingFee", self.clearing_fee),
            ("exchangeFee", self.exchange_fee),
            ("nfaFee", self.nfa_fee),
            ("brokerageFee", self.brokerage_fee),
            ("ipFee", self.ip_fee),
            ("commission", self.commission),
            ("orderRoutingFee", self.order_routing_fee),
        ];
        let mut total = rust_decimal::Decimal::ZERO;
        for (name, value) in parts {
            let Some(value) = value else { continue };
            let value = crate::decimal_from_double(value)
                .filter(|v| !v.is_sign_negative())
                .ok_or_else(|| format!("product {}: {name} {value} is not a fee", self.product_id))?;
            total += value;
        }
        Ok(total.normalize())
    }
}

#[derive(Debug, Deserialize)]
pub struct ProductFeeParamsResponse {
    pub params: Vec<ProductFeeParams>,
}

/// A chart packet's bar (`md/getChart`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartBar {
    pub timestamp: DateTime<Utc>,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    #[serde(default)]
    pub up_volume: f64,
    #[serde(default)]
    pub down_volume: f64,
}

/// Tradovate's order status in ours; working states (and any new word) are
/// "submitted", or "partially filled" once something filled.
pub fn status(word: &str, filled: i64) -> noise_core::order::OrderStatus {
    use noise_core::order::OrderStatus;
    match word {
        "Filled" => OrderStatus::Filled,
        // Done: filled if anything filled, else it ended without a fill.
        "Completed" if filled > 0 => OrderStatus::Filled,
        "Completed" => OrderStatus::Cancelled,
        "Canceled" => OrderStatus::Cancelled,
        "Expired" => OrderStatus::Expired,
        "Rejected" => OrderStatus::Rejected,
        _ if filled > 0 => OrderStatus::PartiallyFilled,
        _ => OrderStatus::Submitted,
    }
}
