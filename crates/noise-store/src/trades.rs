//! Orders, write-ahead: the intent and its client order id are committed
//! before the broker is called; later updates follow the broker's replies.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use noise_core::instrument::BrokerKind;
use noise_core::order::{OrderStatus, OrderType};
use noise_core::risk::{Intent, Side};

use crate::StoreError;
use crate::codec::{decimal, parse_time, time, word};

/// An order about to be sent (or a bracket leg the broker created).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewOrder {
    pub client_order_id: String,
    pub broker: BrokerKind,
    pub symbol: String,
    pub side: Side,
    pub intent: Intent,
    pub quantity: Decimal,
    pub order_type: OrderType,
    pub limit_price: Option<Decimal>,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    /// A bracket leg's entry order.
    pub parent: Option<String>,
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
    pub broker: BrokerKind,
    pub broker_order_id: Option<String>,
    pub symbol: String,
    pub side: Side,
    pub intent: Intent,
    pub quantity: Decimal,
    pub order_type: OrderType,
    pub status: OrderStatus,
    /// As the broker reports it (cumulative).
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
    pub fees: Decimal,
    /// The units whose fills the ledger has booked.
    pub booked_quantity: Decimal,
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub parent: Option<String>,
    pub signal_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderRow {
    /// Final, and every unit the broker says filled is booked in the ledger.
    pub fn is_settled(&self) -> bool {
        self.status.is_final() && self.booked_quantity >= self.filled_quantity
    }
}

/// The intent's INSERT, with an optional conflict clause appended.
macro_rules! insert_intent_sql {
    ($tail:literal) => {
        concat!(
            "INSERT INTO trades (client_order_id, broker, symbol, side, intent, quantity, order_type, limit_price,
                                 stop_loss, take_profit, parent, status, signal_id, risk_decision, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'intent', ?, ?, ?, ?) ",
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
        .bind(order.broker.as_str())
        .bind(&order.symbol)
        .bind(order.side.as_str())
        .bind(order.intent.as_str())
        .bind(order.quantity.normalize().to_string())
        .bind(order.order_type.as_str())
        .bind(order.limit_price.map(|d| d.to_string()))
        .bind(order.stop_loss.map(|d| d.to_string()))
        .bind(order.take_profit.map(|d| d.to_string()))
        .bind(&order.parent)
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
    quantity: Decimal,
    filled_quantity: Decimal,
    average_fill_price: Option<Decimal>,
    fees: Decimal,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE trades SET status = ?, broker_order_id = COALESCE(?, broker_order_id), quantity = ?, filled_quantity = ?,
                average_fill_price = ?, fees = ?, error = COALESCE(?, error), updated_at = ?
         WHERE client_order_id = ?",
    )
    .bind(status.as_str())
    .bind(broker_order_id)
    .bind(quantity.normalize().to_string())
    .bind(filled_quantity.normalize().to_string())
    .bind(average_fill_price.map(|d| d.to_string()))
    .bind(fees.to_string())
    .bind(error)
    .bind(time(at))
    .bind(client_order_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the units of an order whose fills the ledger has booked.
pub async fn set_booked(conn: &mut SqliteConnection, client_order_id: &str, booked: Decimal) -> Result<(), StoreError> {
    sqlx::query("UPDATE trades SET booked_quantity = ? WHERE client_order_id = ?")
        .bind(booked.normalize().to_string())
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
            "filled_quantity, average_fill_price, fees, booked_quantity, stop_loss, take_profit, parent, signal_id, ",
            "error, created_at, updated_at ",
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
    Ok(OrderRow {
        id: r.try_get("id")?,
        broker: word(&what("broker"), &text("broker")?)?,
        broker_order_id: r.try_get("broker_order_id")?,
        symbol: text("symbol")?,
        side: word(&what("side"), &text("side")?)?,
        intent: word(&what("intent"), &text("intent")?)?,
        quantity: decimal(&what("quantity"), &text("quantity")?)?,
        order_type: word(&what("order_type"), &text("order_type")?)?,
        status: word(&what("status"), &text("status")?)?,
        filled_quantity: decimal(&what("filled_quantity"), &text("filled_quantity")?)?,
        average_fill_price: optional("average_fill_price")?,
        fees: decimal(&what("fees"), &text("fees")?)?,
        booked_quantity: decimal(&what("booked_quantity"), &text("booked_quantity")?)?,
        stop_loss: optional("stop_loss")?,
        take_profit: optional("take_profit")?,
        parent: r.try_get("parent")?,
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

/// Orders not settled: open ones, and final ones with filled units whose
/// fills the ledger has not booked yet (the engine still reads their fills).
pub async fn unsettled(conn: &mut SqliteConnection) -> Result<Vec<OrderRow>, StoreError> {
    let rows = sqlx::query(select_trades!(
        "WHERE status IN ('intent', 'submitted', 'partially_filled') OR booked_quantity <> filled_quantity ORDER BY id"
    ))
    .fetch_all(conn)
    .await?;
    let rows: Vec<OrderRow> = rows.iter().map(decode).collect::<Result<_, _>>()?;
    // The text comparison only preselects ("5" and "5.0" differ as text): decide in decimals.
    Ok(rows.into_iter().filter(|r| !r.is_settled()).collect())
}

/// Orders made at or after `since` (client order ids the engine must not
/// issue again).
pub async fn created_since(conn: &mut SqliteConnection, since: DateTime<Utc>) -> Result<Vec<OrderRow>, StoreError> {
    let rows =
        sqlx::query(select_trades!("WHERE created_at >= ? ORDER BY id")).bind(time(since)).fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

/// Orders by their client order ids.
pub async fn by_client_order_ids(conn: &mut SqliteConnection, ids: &[&str]) -> Result<Vec<OrderRow>, StoreError> {
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        rows.extend(by_client_order_id(conn, id).await?);
    }
    Ok(rows)
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
