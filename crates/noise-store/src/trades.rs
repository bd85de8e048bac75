//! Orders, write-ahead: the intent and its client order id are committed
//! before the broker is called; later updates follow the broker's replies.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use noise_core::order::OrderStatus;

use crate::StoreError;
use crate::codec::{decimal, parse_time, time};

/// An order about to be sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewOrder {
    pub client_order_id: String,
    pub broker: String,
    pub symbol: String,
    /// "BUY" or "SELL".
    pub side: String,
    /// "entry" or "exit".
    pub intent: String,
    pub quantity: Decimal,
    pub order_type: String,
    pub limit_price: Option<Decimal>,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub signal_id: Option<i64>,
    /// The risk decision (JSON) that approved it.
    pub risk_decision: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    pub id: i64,
    pub client_order_id: String,
    pub broker: String,
    pub broker_order_id: Option<String>,
    pub symbol: String,
    pub side: String,
    pub intent: String,
    pub quantity: Decimal,
    pub order_type: String,
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
    pub fees: Decimal,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub signal_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The intent's INSERT, with an optional conflict clause appended.
macro_rules! insert_intent_sql {
    ($tail:literal) => {
        concat!(
            "INSERT INTO trades (client_order_id, broker, symbol, side, intent, quantity, order_type, limit_price,
                                 stop_loss, take_profit, status, signal_id, risk_decision, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'intent', ?, ?, ?, ?) ",
            $tail
        )
    };
}

/// Runs one of the `insert_intent_sql!` statements with the order bound.
async fn execute_insert(
    conn: &mut SqliteConnection,
    order: &NewOrder,
    sql: &'static str,
) -> Result<sqlx::sqlite::SqliteQueryResult, StoreError> {
    let now = time(order.created_at);
    let done = sqlx::query(sql)
        .bind(&order.client_order_id)
        .bind(&order.broker)
        .bind(&order.symbol)
        .bind(&order.side)
        .bind(&order.intent)
        .bind(order.quantity.to_string())
        .bind(&order.order_type)
        .bind(order.limit_price.map(|d| d.to_string()))
        .bind(order.stop_loss.map(|d| d.to_string()))
        .bind(order.take_profit.map(|d| d.to_string()))
        .bind(order.signal_id)
        .bind(&order.risk_decision)
        .bind(&now)
        .bind(&now)
        .execute(conn)
        .await?;
    Ok(done)
}

/// Writes the intent unless an order with this client order id exists;
/// returns whether it was written (one statement: the UNIQUE constraint is
/// the duplicate check).
pub async fn insert_intent_once(conn: &mut SqliteConnection, order: &NewOrder) -> Result<bool, StoreError> {
    let done = execute_insert(conn, order, insert_intent_sql!("ON CONFLICT (client_order_id) DO NOTHING")).await?;
    Ok(done.rows_affected() == 1)
}

/// Writes the intent (status `intent`); a second intent with the same
/// client order id is refused by the UNIQUE constraint. Returns its id.
pub async fn insert_intent(conn: &mut SqliteConnection, order: &NewOrder) -> Result<i64, StoreError> {
    Ok(execute_insert(conn, order, insert_intent_sql!("")).await?.last_insert_rowid())
}

/// Records what the broker said about an order.
#[allow(clippy::too_many_arguments)]
pub async fn update_status(
    conn: &mut SqliteConnection,
    client_order_id: &str,
    status: OrderStatus,
    broker_order_id: Option<&str>,
    filled_quantity: Decimal,
    average_fill_price: Option<Decimal>,
    fees: Decimal,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE trades SET status = ?, broker_order_id = COALESCE(?, broker_order_id), filled_quantity = ?,
                average_fill_price = ?, fees = ?, error = COALESCE(?, error), updated_at = ?
         WHERE client_order_id = ?",
    )
    .bind(status.as_str())
    .bind(broker_order_id)
    .bind(filled_quantity.to_string())
    .bind(average_fill_price.map(|d| d.to_string()))
    .bind(fees.to_string())
    .bind(error)
    .bind(time(at))
    .bind(client_order_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// `SELECT <every column> FROM trades <rest>`, as one static string.
macro_rules! select_trades {
    ($rest:literal) => {
        concat!(
            "SELECT id, client_order_id, broker, broker_order_id, symbol, side, intent, quantity, order_type, status, ",
            "filled_quantity, average_fill_price, fees, stop_loss, take_profit, signal_id, error, created_at, updated_at ",
            "FROM trades ",
            $rest
        )
    };
}

fn decode(r: &SqliteRow) -> Result<OrderRow, StoreError> {
    let client_order_id: String = r.try_get("client_order_id")?;
    let what = |field: &str| format!("trades.{field} of {client_order_id}");
    let text = |field: &str| -> Result<String, StoreError> { Ok(r.try_get::<String, _>(field)?) };
    let optional = |field: &str| -> Result<Option<Decimal>, StoreError> {
        let value: Option<String> = r.try_get(field)?;
        value.as_deref().map(|s| decimal(&what(field), s)).transpose()
    };
    let status = text("status")?;
    Ok(OrderRow {
        id: r.try_get("id")?,
        broker: text("broker")?,
        broker_order_id: r.try_get("broker_order_id")?,
        symbol: text("symbol")?,
        side: text("side")?,
        intent: text("intent")?,
        quantity: decimal(&what("quantity"), &text("quantity")?)?,
        order_type: text("order_type")?,
        status: status.parse().map_err(|e| StoreError::Corrupt { what: what("status"), detail: format!("{e}") })?,
        filled_quantity: decimal(&what("filled_quantity"), &text("filled_quantity")?)?,
        average_fill_price: optional("average_fill_price")?,
        fees: decimal(&what("fees"), &text("fees")?)?,
        stop_loss: optional("stop_loss")?,
        take_profit: optional("take_profit")?,
        signal_id: r.try_get("signal_id")?,
        error: r.try_get("error")?,
        created_at: parse_time(&what("created_at"), &text("created_at")?)?,
        updated_at: parse_time(&what("updated_at"), &text("updated_at")?)?,
        client_order_id: client_order_id.clone(),
    })
}

pub async fn by_client_order_id(conn: &mut SqliteConnection, id: &str) -> Result<Option<OrderRow>, StoreError> {
    let row = sqlx::query(select_trades!("WHERE client_order_id = ?")).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(decode).transpose()
}

/// Orders that may still change: intents not yet acknowledged, and orders
/// live at a broker. Reconciliation and the order monitor work from these.
pub async fn open_orders(conn: &mut SqliteConnection) -> Result<Vec<OrderRow>, StoreError> {
    let rows = sqlx::query(select_trades!("WHERE status IN ('intent', 'submitted', 'partially_filled') ORDER BY id"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// Newest first, optionally for one symbol.
pub async fn recent(
    conn: &mut SqliteConnection,
    symbol: Option<&str>,
    limit: u32,
) -> Result<Vec<OrderRow>, StoreError> {
    let rows = sqlx::query(select_trades!("WHERE (?1 IS NULL OR symbol = ?1) ORDER BY id DESC LIMIT ?2"))
        .bind(symbol)
        .bind(i64::from(limit.min(crate::records::MAX_PAGE)))
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}
