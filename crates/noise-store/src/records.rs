//! Closed round trips (the ledger's), equity snapshots and daily metrics.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::SqliteConnection;

use noise_core::instrument::AssetClass;
use noise_core::ledger::RoundTrip;
use noise_core::signal::Direction;

use crate::StoreError;
use crate::codec::{decimal, parse_time, time, word};

/// The most rows any list returns at once.
pub const MAX_PAGE: u32 = 1000;

/// Records a closed round trip; returns its id.
pub async fn insert_round_trip(conn: &mut SqliteConnection, t: &RoundTrip) -> Result<i64, StoreError> {
    let duration = (t.exit_time - t.entry_time).num_seconds();
    let id = sqlx::query_scalar(
        "INSERT INTO trade_history (symbol, asset_class, side, quantity, entry_price, exit_price, entry_time,
                                    exit_time, gross_pnl, fees, realized_pnl, duration_seconds, broker,
                                    entry_fill_id, exit_fill_id, entry_order, exit_order, reconciled)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(t.symbol.as_str())
    .bind(asset_class_word(t.asset_class))
    .bind(direction_word(t.side))
    .bind(t.quantity.normalize().to_string())
    .bind(t.entry_price.normalize().to_string())
    .bind(t.exit_price.normalize().to_string())
    .bind(time(t.entry_time))
    .bind(time(t.exit_time))
    .bind(t.gross_pnl.normalize().to_string())
    .bind(t.fees.normalize().to_string())
    .bind(t.net_pnl.normalize().to_string())
    .bind(duration)
    .bind(t.broker.as_str())
    .bind(t.entry_fill_id.as_str())
    .bind(t.exit_fill_id.as_str())
    .bind(t.entry_order.as_deref())
    .bind(t.exit_order.as_deref())
    .bind(i64::from(t.reconciled))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

pub(crate) fn direction_word(d: Direction) -> &'static str {
    match d {
        Direction::Long => "LONG",
        Direction::Short => "SHORT",
    }
}

pub(crate) fn direction_of(what: &str, text: &str) -> Result<Direction, StoreError> {
    match text {
        "LONG" => Ok(Direction::Long),
        "SHORT" => Ok(Direction::Short),
        other => Err(StoreError::Corrupt { what: what.to_string(), detail: format!("direction {other:?}") }),
    }
}

fn asset_class_word(a: AssetClass) -> &'static str {
    match a {
        AssetClass::Equity => "equity",
        AssetClass::Future => "future",
    }
}

fn asset_class_of(what: &str, text: &str) -> Result<AssetClass, StoreError> {
    match text {
        "equity" => Ok(AssetClass::Equity),
        "future" => Ok(AssetClass::Future),
        other => Err(StoreError::Corrupt { what: what.to_string(), detail: format!("asset class {other:?}") }),
    }
}

/// The newest closed round trips, newest first.
pub async fn round_trips(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<RoundTrip>, StoreError> {
    Ok(round_trips_page(conn, &Filter::default(), limit).await?.into_iter().map(|(_, t)| t).collect())
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
    pub(crate) fn bind<Q: Binds>(&self, mut query: Q) -> Q {
        if let Some(symbol) = &self.symbol {
            query = query.bind_text(symbol.clone());
        }
        if let Some(from) = self.from {
            query = query.bind_text(time(from));
        }
        if let Some(to) = self.to {
            query = query.bind_text(time(to));
        }
        if let Some(before) = self.before {
            query = query.bind_int(before);
        }
        query
    }
}

/// A query that takes bound values (rows or typed rows alike).
pub(crate) trait Binds: Sized {
    fn bind_text(self, value: String) -> Self;
    fn bind_int(self, value: i64) -> Self;
}

impl<'q> Binds for sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    fn bind_text(self, value: String) -> Self {
        self.bind(value)
    }
    fn bind_int(self, value: i64) -> Self {
        self.bind(value)
    }
}

impl<'q, O> Binds for sqlx::query::QueryAs<'q, sqlx::Sqlite, O, sqlx::sqlite::SqliteArguments> {
    fn bind_text(self, value: String) -> Self {
        self.bind(value)
    }
    fn bind_int(self, value: i64) -> Self {
        self.bind(value)
    }
}

/// The id of the newest closed trade (0 when there is none). Closed trades
/// are never rewritten, so a page of them read while this was the newest
/// stays right until it changes.
pub async fn newest_trade_id(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM trade_history").fetch_one(conn).await?)
}

const ROUND_TRIP_COLUMNS: &str = "SELECT id, symbol, asset_class, side, quantity, entry_price, exit_price, entry_time, \
     exit_time, gross_pnl, fees, realized_pnl, broker, entry_fill_id, exit_fill_id, entry_order, exit_order, \
     reconciled FROM trade_history";

fn decode_round_trip(r: &sqlx::sqlite::SqliteRow) -> Result<(i64, RoundTrip), StoreError> {
    use sqlx::Row;
    let id: i64 = r.try_get("id")?;
    let what = |f: &str| format!("trade_history.{f} of round trip {id}");
    let text = |f: &str| -> Result<String, StoreError> { Ok(r.try_get::<String, _>(f)?) };
    let number = |f: &str| -> Result<Decimal, StoreError> { decimal(&what(f), &text(f)?) };
    let trip = RoundTrip {
        symbol: text("symbol")?.into(),
        asset_class: asset_class_of(&what("asset_class"), &text("asset_class")?)?,
        side: direction_of(&what("side"), &text("side")?)?,
        quantity: number("quantity")?,
        entry_time: parse_time(&what("entry_time"), &text("entry_time")?)?,
        entry_price: number("entry_price")?,
        exit_time: parse_time(&what("exit_time"), &text("exit_time")?)?,
        exit_price: number("exit_price")?,
        gross_pnl: number("gross_pnl")?,
        fees: number("fees")?,
        net_pnl: number("realized_pnl")?,
        broker: word(&what("broker"), &text("broker")?)?,
        entry_fill_id: text("entry_fill_id")?.into(),
        exit_fill_id: text("exit_fill_id")?.into(),
        entry_order: r.try_get::<Option<String>, _>("entry_order")?.map(Into::into),
        exit_order: r.try_get::<Option<String>, _>("exit_order")?.map(Into::into),
        reconciled: r.try_get::<i64, _>("reconciled")? != 0,
    };
    Ok((id, trip))
}

/// Closed round trips, newest first, with their ids; the time range is on
/// the exit time.
pub async fn round_trips_page(
    conn: &mut SqliteConnection,
    filter: &Filter,
    limit: u32,
) -> Result<Vec<(i64, RoundTrip)>, StoreError> {
    let sql = format!("{ROUND_TRIP_COLUMNS}{} ORDER BY id DESC LIMIT ?", filter.where_clause("exit_time"));
    // Audited: the SQL is built from fixed fragments only; every value is bound.
    let query = filter.bind(sqlx::query(sqlx::AssertSqlSafe(sql)));
    let rows = query.bind(i64::from(limit.min(MAX_PAGE))).fetch_all(conn).await?;
    rows.iter().map(decode_round_trip).collect()
}

/// How many round trips are recorded.
pub async fn round_trip_count(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM trade_history").fetch_one(conn).await?)
}

/// One round trip by its id.
pub async fn round_trip(conn: &mut SqliteConnection, id: i64) -> Result<Option<RoundTrip>, StoreError> {
    let sql = format!("{ROUND_TRIP_COLUMNS} WHERE id = ?");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?;
    Ok(row.as_ref().map(decode_round_trip).transpose()?.map(|(_, t)| t))
}

/// Every round trip in the order they were recorded (tests and checks).
pub async fn all_round_trips(conn: &mut SqliteConnection) -> Result<Vec<RoundTrip>, StoreError> {
    let sql = format!("{ROUND_TRIP_COLUMNS} ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(conn).await?;
    rows.iter().map(|r| decode_round_trip(r).map(|(_, t)| t)).collect()
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
