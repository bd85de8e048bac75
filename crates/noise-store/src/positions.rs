//! Open positions and their lots, as the ledger holds them (written in the
//! transaction of the fills that change them; reconciliation keeps them in
//! line with the broker by booking fills, never by overwriting these rows).

use compact_str::CompactString;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use noise_core::instrument::BrokerKind;
use noise_core::ledger::{Book, Lot};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::StoreError;
use crate::codec::{decimal, parse_time, time, word};
use crate::records::{direction_of, direction_word};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionRow {
    pub symbol: String,
    pub broker: BrokerKind,
    /// Signed: positive long, negative short.
    pub quantity: Decimal,
    /// The quantity-weighted entry price of its open lots.
    pub average_price: Decimal,
    /// When its oldest open lot opened.
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A symbol's lots as last written: (broker, fill id) → (quantity, fees).
pub type WrittenLots = HashMap<(BrokerKind, CompactString), (Decimal, Decimal)>;

/// Brings `symbol`'s stored position and lots to what `book` holds (a flat
/// or absent book removes them), writing only the lots that changed since
/// `written` (what was last written for this symbol). Returns what is
/// written now: the caller keeps it once its transaction commits.
pub async fn write_book(
    conn: &mut SqliteConnection,
    symbol: &str,
    broker: BrokerKind,
    book: Option<&Book>,
    written: &WrittenLots,
    updated_at: DateTime<Utc>,
) -> Result<WrittenLots, StoreError> {
    let mut now = WrittenLots::new();
    for lot in book.into_iter().flat_map(Book::lots) {
        let key = (lot.broker, lot.fill_id.clone());
        let figures = (lot.quantity, lot.fees);
        match written.get(&key) {
            Some(before) if *before == figures => {}
            Some(_) => {
                sqlx::query("UPDATE lots SET quantity = ?, fees = ? WHERE broker = ? AND fill_id = ?")
                    .bind(lot.quantity.normalize().to_string())
                    .bind(lot.fees.normalize().to_string())
                    .bind(lot.broker.as_str())
                    .bind(lot.fill_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            None => insert_lot(conn, symbol, lot).await?,
        }
        now.insert(key, figures);
    }
    for (broker_of_lot, fill_id) in written.keys().filter(|k| !now.contains_key(*k)) {
        sqlx::query("DELETE FROM lots WHERE broker = ? AND fill_id = ?")
            .bind(broker_of_lot.as_str())
            .bind(fill_id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    let (Some(book), Some(average), Some(opened_at)) =
        (book.filter(|b| !b.is_flat()), book.and_then(Book::average_price), book.and_then(Book::opened_at))
    else {
        sqlx::query("DELETE FROM positions WHERE symbol = ?").bind(symbol).execute(conn).await?;
        return Ok(now);
    };
    sqlx::query(
        "INSERT INTO positions (symbol, broker, quantity, average_price, opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (symbol) DO UPDATE SET broker = excluded.broker, quantity = excluded.quantity,
             average_price = excluded.average_price, opened_at = excluded.opened_at, updated_at = excluded.updated_at",
    )
    .bind(symbol)
    .bind(broker.as_str())
    .bind(book.quantity().normalize().to_string())
    .bind(average.to_string())
    .bind(time(opened_at))
    .bind(time(updated_at))
    .execute(conn)
    .await?;
    Ok(now)
}

async fn insert_lot(conn: &mut SqliteConnection, symbol: &str, lot: &Lot) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO lots (symbol, direction, broker, fill_id, client_order_id, quantity, price, time, fees, reconciled)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(symbol)
    .bind(direction_word(lot.direction))
    .bind(lot.broker.as_str())
    .bind(lot.fill_id.as_str())
    .bind(lot.client_order_id.as_deref())
    .bind(lot.quantity.normalize().to_string())
    .bind(lot.price.normalize().to_string())
    .bind(time(lot.time))
    .bind(lot.fees.normalize().to_string())
    .bind(i64::from(lot.reconciled))
    .execute(conn)
    .await?;
    Ok(())
}

/// What [`write_book`] wrote for each symbol, read back (at start).
pub async fn written_lots(conn: &mut SqliteConnection) -> Result<HashMap<String, WrittenLots>, StoreError> {
    let mut all: HashMap<String, WrittenLots> = HashMap::new();
    for (symbol, lot) in lots(conn).await? {
        all.entry(symbol).or_default().insert((lot.broker, lot.fill_id), (lot.quantity, lot.fees));
    }
    Ok(all)
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
                broker: word(&what("broker"), &broker)?,
                quantity: decimal(&what("quantity"), &q)?,
                average_price: decimal(&what("average_price"), &p)?,
                opened_at: parse_time(&what("opened_at"), &o)?,
                updated_at: parse_time(&what("updated_at"), &u)?,
                symbol,
            })
        })
        .collect()
}

/// Every open lot with its symbol, by symbol, oldest first.
pub async fn lots(conn: &mut SqliteConnection) -> Result<Vec<(String, Lot)>, StoreError> {
    type Raw = (String, i64, String, String, String, Option<String>, String, String, String, String, i64);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT symbol, id, direction, broker, fill_id, client_order_id, quantity, price, time, fees, reconciled
         FROM lots ORDER BY symbol, id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(symbol, seq, direction, broker, fill_id, client_order_id, q, p, t, fees, reconciled)| {
            let what = |f: &str| format!("lots.{f} of {symbol} lot {seq}");
            let lot = Lot {
                direction: direction_of(&what("direction"), &direction)?,
                broker: word(&what("broker"), &broker)?,
                fill_id: fill_id.into(),
                client_order_id: client_order_id.map(Into::into),
                quantity: decimal(&what("quantity"), &q)?,
                price: decimal(&what("price"), &p)?,
                time: parse_time(&what("time"), &t)?,
                fees: decimal(&what("fees"), &fees)?,
                reconciled: reconciled != 0,
            };
            Ok((symbol, lot))
        })
        .collect()
}
