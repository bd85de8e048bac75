//! Open positions as the engine believes them (the broker is the truth;
//! reconciliation corrects this table).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::StoreError;
use crate::codec::{decimal, parse_time, time};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionRow {
    pub symbol: String,
    pub broker: String,
    /// Signed: positive long, negative short.
    pub quantity: Decimal,
    pub average_price: Decimal,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Sets a position; a zero quantity removes it.
pub async fn upsert(conn: &mut SqliteConnection, p: &PositionRow) -> Result<(), StoreError> {
    if p.quantity.is_zero() {
        sqlx::query("DELETE FROM positions WHERE symbol = ?").bind(&p.symbol).execute(conn).await?;
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO positions (symbol, broker, quantity, average_price, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (symbol) DO UPDATE SET broker = excluded.broker, quantity = excluded.quantity,
             average_price = excluded.average_price, updated_at = excluded.updated_at",
    )
    .bind(&p.symbol)
    .bind(&p.broker)
    .bind(p.quantity.to_string())
    .bind(p.average_price.to_string())
    .bind(time(p.opened_at))
    .bind(time(p.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn all(conn: &mut SqliteConnection) -> Result<Vec<PositionRow>, StoreError> {
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT symbol, broker, quantity, average_price, opened_at, updated_at FROM positions ORDER BY symbol",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(symbol, broker, q, p, o, u)| {
            let what = |f: &str| format!("positions.{f} of {symbol}");
            Ok(PositionRow {
                quantity: decimal(&what("quantity"), &q)?,
                average_price: decimal(&what("average_price"), &p)?,
                opened_at: parse_time(&what("opened_at"), &o)?,
                updated_at: parse_time(&what("updated_at"), &u)?,
                broker,
                symbol,
            })
        })
        .collect()
}
