//! Fills: every execution, once. The ledger is rebuilt from them, in the
//! order they were recorded.

use chrono::{DateTime, Utc};
use noise_core::ledger::Fill;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::StoreError;
use crate::codec::{decimal, parse_time, time, word};
use crate::records::{Filter, MAX_PAGE};

/// A stored fill with its row id (the order the ledger applied it in).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillRow {
    pub id: i64,
    #[serde(flatten)]
    pub fill: Fill,
    pub recorded_at: DateTime<Utc>,
}

/// Records a fill; `false` when this broker's fill id is already there
/// (nothing is written: a fill is recorded once).
pub async fn insert(conn: &mut SqliteConnection, fill: &Fill, recorded_at: DateTime<Utc>) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO fills (broker, fill_id, client_order_id, protects, symbol, side, quantity, price, fee, time,
                            reconciled, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (broker, fill_id) DO NOTHING",
    )
    .bind(fill.broker.as_str())
    .bind(fill.fill_id.as_str())
    .bind(fill.client_order_id.as_deref())
    .bind(fill.protects.as_deref())
    .bind(fill.symbol.as_str())
    .bind(fill.side.as_str())
    .bind(fill.quantity.normalize().to_string())
    .bind(fill.price.normalize().to_string())
    .bind(fill.fee.normalize().to_string())
    .bind(time(fill.time))
    .bind(i64::from(fill.reconciled))
    .bind(time(recorded_at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

const COLUMNS: &str = "SELECT id, broker, fill_id, client_order_id, protects, symbol, side, quantity, price, fee, time, \
                       reconciled, recorded_at FROM fills";

fn decode(r: &SqliteRow) -> Result<FillRow, StoreError> {
    let id: i64 = r.try_get("id")?;
    let what = |field: &str| format!("fills.{field} of fill row {id}");
    let text = |field: &str| -> Result<String, StoreError> { Ok(r.try_get::<String, _>(field)?) };
    Ok(FillRow {
        id,
        fill: Fill {
            broker: word(&what("broker"), &text("broker")?)?,
            fill_id: text("fill_id")?.into(),
            client_order_id: r.try_get::<Option<String>, _>("client_order_id")?.map(Into::into),
            protects: r.try_get::<Option<String>, _>("protects")?.map(Into::into),
            symbol: text("symbol")?.into(),
            side: word(&what("side"), &text("side")?)?,
            quantity: decimal(&what("quantity"), &text("quantity")?)?,
            price: decimal(&what("price"), &text("price")?)?,
            fee: decimal(&what("fee"), &text("fee")?)?,
            time: parse_time(&what("time"), &text("time")?)?,
            reconciled: r.try_get::<i64, _>("reconciled")? != 0,
        },
        recorded_at: parse_time(&what("recorded_at"), &text("recorded_at")?)?,
    })
}

/// Fills with a row id above `after`, in the order they were recorded, at
/// most `limit` (the ledger's rebuild reads them in batches).
pub async fn after(conn: &mut SqliteConnection, after: i64, limit: u32) -> Result<Vec<FillRow>, StoreError> {
    let sql = format!("{COLUMNS} WHERE id > ? ORDER BY id LIMIT ?");
    // Audited: fixed fragments only; every value is bound.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after).bind(i64::from(limit)).fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

/// The fills of these orders (by client order id), in recorded order.
pub async fn of_orders(conn: &mut SqliteConnection, orders: &[&str]) -> Result<Vec<FillRow>, StoreError> {
    let mut all = Vec::new();
    for order in orders {
        let sql = format!("{COLUMNS} WHERE client_order_id = ? ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(*order).fetch_all(&mut *conn).await?;
        for row in &rows {
            all.push(decode(row)?);
        }
    }
    all.sort_by_key(|f| f.id);
    Ok(all)
}

/// One broker's fill by its id there.
pub async fn by_fill_id(
    conn: &mut SqliteConnection,
    broker: noise_core::instrument::BrokerKind,
    fill_id: &str,
) -> Result<Option<FillRow>, StoreError> {
    let sql = format!("{COLUMNS} WHERE broker = ? AND fill_id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(broker.as_str()).bind(fill_id).fetch_optional(conn).await?;
    row.as_ref().map(decode).transpose()
}

/// A page of fills, newest first (symbol, time range on the fill's time, cursor).
pub async fn page(conn: &mut SqliteConnection, filter: &Filter, limit: u32) -> Result<Vec<FillRow>, StoreError> {
    let sql = format!("{COLUMNS}{} ORDER BY id DESC LIMIT ?", filter.where_clause("time"));
    // Audited: fixed fragments only; every value is bound.
    let query = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql)));
    let rows = query.bind(i64::from(limit.min(MAX_PAGE))).fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

/// How many fills are stored.
pub async fn count(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM fills").fetch_one(conn).await?)
}
