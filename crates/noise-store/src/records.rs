//! Closed round trips, equity snapshots and daily metrics.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::StoreError;
use crate::codec::{decimal, parse_time, time};

/// The most rows any list returns at once.
pub const MAX_PAGE: u32 = 1000;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosedTradeRow {
    pub symbol: String,
    /// "LONG" or "SHORT".
    pub side: String,
    pub quantity: Decimal,
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    pub entry_time: DateTime<Utc>,
    pub exit_time: DateTime<Utc>,
    pub realized_pnl: Decimal,
    pub fees: Decimal,
}

pub async fn insert_closed_trade(conn: &mut SqliteConnection, t: &ClosedTradeRow) -> Result<i64, StoreError> {
    let duration = (t.exit_time - t.entry_time).num_seconds();
    let id = sqlx::query_scalar(
        "INSERT INTO trade_history (symbol, side, quantity, entry_price, exit_price, entry_time, exit_time,
                                    realized_pnl, fees, duration_seconds)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&t.symbol)
    .bind(&t.side)
    .bind(t.quantity.to_string())
    .bind(t.entry_price.to_string())
    .bind(t.exit_price.to_string())
    .bind(time(t.entry_time))
    .bind(time(t.exit_time))
    .bind(t.realized_pnl.to_string())
    .bind(t.fees.to_string())
    .bind(duration)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub async fn closed_trades(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<ClosedTradeRow>, StoreError> {
    Ok(closed_trades_page(conn, &Filter::default(), limit).await?.into_iter().map(|(_, t)| t).collect())
}

/// Which rows of a list: a symbol, a time range (`from` inclusive, `to`
/// exclusive) and a cursor (rows with an id below `before`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub symbol: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<i64>,
}

impl Filter {
    /// ` WHERE ...` with only the conditions that are set (so SQLite can use
    /// the symbol and time indexes: `? IS NULL OR ...` would make it scan),
    /// the time range on `time_column`.
    pub(crate) fn where_clause(&self, time_column: &str) -> String {
        let mut conditions = Vec::new();
        if self.symbol.is_some() {
            conditions.push("symbol = ?".to_string());
        }
        if self.from.is_some() {
            conditions.push(format!("{time_column} >= ?"));
        }
        if self.to.is_some() {
            conditions.push(format!("{time_column} < ?"));
        }
        if self.before.is_some() {
            conditions.push("id < ?".to_string());
        }
        if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) }
    }

    /// Binds the set conditions' values, in [`Self::where_clause`]'s order.
    pub(crate) fn bind<'q, O>(
        &self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
        if let Some(symbol) = &self.symbol {
            query = query.bind(symbol.clone());
        }
        if let Some(from) = self.from {
            query = query.bind(time(from));
        }
        if let Some(to) = self.to {
            query = query.bind(time(to));
        }
        if let Some(before) = self.before {
            query = query.bind(before);
        }
        query
    }
}

/// The id of the newest closed trade (0 when there is none). Closed trades
/// are never rewritten, so a page of them read while this was the newest
/// stays right until it changes.
pub async fn newest_trade_id(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM trade_history").fetch_one(conn).await?)
}

/// Closed round trips, newest first, with their ids; the time range is on
/// the exit time.
pub async fn closed_trades_page(
    conn: &mut SqliteConnection,
    filter: &Filter,
    limit: u32,
) -> Result<Vec<(i64, ClosedTradeRow)>, StoreError> {
    type Raw = (i64, String, String, String, String, String, String, String, String, String);
    let sql = format!(
        "SELECT id, symbol, side, quantity, entry_price, exit_price, entry_time, exit_time, realized_pnl, fees
         FROM trade_history{} ORDER BY id DESC LIMIT ?",
        filter.where_clause("exit_time")
    );
    // Audited: the SQL is built from fixed fragments only; every value is bound.
    let query = filter.bind(sqlx::query_as::<_, Raw>(sqlx::AssertSqlSafe(sql)));
    let rows: Vec<Raw> = query.bind(i64::from(limit.min(MAX_PAGE))).fetch_all(conn).await?;
    rows.into_iter()
        .map(|(id, symbol, side, q, ep, xp, et, xt, pnl, fees)| {
            let what = |f: &str| format!("trade_history.{f} of {symbol}");
            let row = ClosedTradeRow {
                quantity: decimal(&what("quantity"), &q)?,
                entry_price: decimal(&what("entry_price"), &ep)?,
                exit_price: decimal(&what("exit_price"), &xp)?,
                entry_time: parse_time(&what("entry_time"), &et)?,
                exit_time: parse_time(&what("exit_time"), &xt)?,
                realized_pnl: decimal(&what("realized_pnl"), &pnl)?,
                fees: decimal(&what("fees"), &fees)?,
                symbol,
                side,
            };
            Ok((id, row))
        })
        .collect()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EquitySnapshot {
    pub time: DateTime<Utc>,
    pub equity: Decimal,
    pub cash: Decimal,
    pub unrealized_pnl: Decimal,
}

/// Records a snapshot (a second one at the same instant replaces it).
pub async fn insert_equity(conn: &mut SqliteConnection, s: &EquitySnapshot) -> Result<(), StoreError> {
    sqlx::query("INSERT OR REPLACE INTO equity_curve (time, equity, cash, unrealized_pnl) VALUES (?, ?, ?, ?)")
        .bind(time(s.time))
        .bind(s.equity.to_string())
        .bind(s.cash.to_string())
        .bind(s.unrealized_pnl.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn equity_curve(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<EquitySnapshot>, StoreError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT time, equity, cash, unrealized_pnl FROM equity_curve ORDER BY time DESC LIMIT ?")
            .bind(i64::from(limit.min(MAX_PAGE)))
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .rev()
        .map(|(t, e, c, u)| {
            Ok(EquitySnapshot {
                time: parse_time("equity_curve.time", &t)?,
                equity: decimal("equity_curve.equity", &e)?,
                cash: decimal("equity_curve.cash", &c)?,
                unrealized_pnl: decimal("equity_curve.unrealized_pnl", &u)?,
            })
        })
        .collect()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyMetrics {
    pub date: NaiveDate,
    pub starting_equity: Decimal,
    pub ending_equity: Decimal,
    pub realized_pnl: Decimal,
    pub trades: i64,
    pub wins: i64,
    pub losses: i64,
    pub fees: Decimal,
}

pub async fn upsert_daily(conn: &mut SqliteConnection, m: &DailyMetrics) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO daily_metrics (date, starting_equity, ending_equity, realized_pnl, trades, wins, losses, fees)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (date) DO UPDATE SET ending_equity = excluded.ending_equity, realized_pnl = excluded.realized_pnl,
             trades = excluded.trades, wins = excluded.wins, losses = excluded.losses, fees = excluded.fees",
    )
    .bind(m.date.to_string())
    .bind(m.starting_equity.to_string())
    .bind(m.ending_equity.to_string())
    .bind(m.realized_pnl.to_string())
    .bind(m.trades)
    .bind(m.wins)
    .bind(m.losses)
    .bind(m.fees.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Daily metrics, the latest day first.
pub async fn daily(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<DailyMetrics>, StoreError> {
    type Raw = (String, String, String, String, i64, i64, i64, String);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT date, starting_equity, ending_equity, realized_pnl, trades, wins, losses, fees
         FROM daily_metrics ORDER BY date DESC LIMIT ?",
    )
    .bind(i64::from(limit.min(MAX_PAGE)))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(date, se, ee, pnl, trades, wins, losses, fees)| {
            Ok(DailyMetrics {
                date: date.parse().map_err(|_| StoreError::Corrupt {
                    what: "daily_metrics.date".into(),
                    detail: format!("{date:?} is not a date"),
                })?,
                starting_equity: decimal("daily_metrics.starting_equity", &se)?,
                ending_equity: decimal("daily_metrics.ending_equity", &ee)?,
                realized_pnl: decimal("daily_metrics.realized_pnl", &pnl)?,
                trades,
                wins,
                losses,
                fees: decimal("daily_metrics.fees", &fees)?,
            })
        })
        .collect()
}

/// The realized P&L and fees of closed trades with an id above `after`, in
/// id order, at most `limit` of them: totals are kept by reading only what
/// is new (closed trades are never rewritten).
pub async fn trade_results_after(
    conn: &mut SqliteConnection,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, Decimal, Decimal)>, StoreError> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, realized_pnl, fees FROM trade_history WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, pnl, fees)| {
            Ok((
                id,
                decimal(&format!("trade_history.realized_pnl of trade {id}"), &pnl)?,
                decimal(&format!("trade_history.fees of trade {id}"), &fees)?,
            ))
        })
        .collect()
}

/// Equity snapshots after `after` (all when `None`), oldest first, at most `limit`.
pub async fn equity_after(
    conn: &mut SqliteConnection,
    after: Option<DateTime<Utc>>,
    limit: u32,
) -> Result<Vec<(DateTime<Utc>, Decimal)>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT time, equity FROM equity_curve WHERE time > ? ORDER BY time LIMIT ?")
            .bind(after.map(time).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(t, e)| Ok((parse_time("equity_curve.time", &t)?, decimal("equity_curve.equity", &e)?)))
        .collect()
}
