//! Backtest runs and their trades, stored for the dashboard.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::StoreError;
use crate::codec::{decimal, parse_time, time};
use crate::records::MAX_PAGE;

/// A finished run; the JSON fields are stored as given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestRun {
    pub created_at: DateTime<Utc>,
    pub data_source: String,
    pub symbols: String,
    pub strategy: String,
    pub options: String,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub bars: i64,
    pub elapsed_ms: f64,
    pub starting_equity: Decimal,
    pub final_equity: Decimal,
    pub metrics: String,
    pub equity_curve: String,
    pub open_positions: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestTrade {
    pub symbol: String,
    pub side: String,
    pub quantity: Decimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: Decimal,
    pub exit_time: DateTime<Utc>,
    pub exit_price: Decimal,
    pub pnl: Decimal,
    pub fees: Decimal,
}

/// Inserts a run and its trades (the caller's transaction makes it all or
/// nothing); returns the run's id.
pub async fn insert(
    conn: &mut SqliteConnection,
    run: &BacktestRun,
    trades: &[BacktestTrade],
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO backtest_runs (created_at, data_source, symbols, strategy, options, period_start, period_end,
                                    bars, elapsed_ms, starting_equity, final_equity, metrics, equity_curve, open_positions)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(time(run.created_at))
    .bind(&run.data_source)
    .bind(&run.symbols)
    .bind(&run.strategy)
    .bind(&run.options)
    .bind(time(run.period_start))
    .bind(time(run.period_end))
    .bind(run.bars)
    .bind(run.elapsed_ms)
    .bind(run.starting_equity.to_string())
    .bind(run.final_equity.to_string())
    .bind(&run.metrics)
    .bind(&run.equity_curve)
    .bind(&run.open_positions)
    .fetch_one(&mut *conn)
    .await?;
    for (seq, t) in trades.iter().enumerate() {
        sqlx::query(
            "INSERT INTO backtest_trades (run_id, seq, symbol, side, quantity, entry_time, entry_price, exit_time,
                                          exit_price, pnl, fees) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(seq as i64)
        .bind(&t.symbol)
        .bind(&t.side)
        .bind(t.quantity.to_string())
        .bind(time(t.entry_time))
        .bind(t.entry_price.to_string())
        .bind(time(t.exit_time))
        .bind(t.exit_price.to_string())
        .bind(t.pnl.to_string())
        .bind(t.fees.to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// The latest runs, newest first, with their ids.
pub async fn recent(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<(i64, BacktestRun)>, StoreError> {
    page(conn, None, limit).await
}

/// A run's row as stored: id, then `BacktestRun`'s fields in order.
type RunRow =
    (i64, String, String, String, String, String, String, String, i64, f64, String, String, String, String, String);

const RUN_COLUMNS: &str = "id, created_at, data_source, symbols, strategy, options, period_start, period_end, bars,
                           elapsed_ms, starting_equity, final_equity, metrics, equity_curve, open_positions";

fn run_from_row(row: RunRow) -> Result<(i64, BacktestRun), StoreError> {
    let (
        id,
        created,
        data_source,
        symbols,
        strategy,
        options,
        start,
        end,
        bars,
        elapsed_ms,
        se,
        fe,
        metrics,
        curve,
        open,
    ) = row;
    let run = BacktestRun {
        created_at: parse_time("backtest_runs.created_at", &created)?,
        data_source,
        symbols,
        strategy,
        options,
        period_start: parse_time("backtest_runs.period_start", &start)?,
        period_end: parse_time("backtest_runs.period_end", &end)?,
        bars,
        elapsed_ms,
        starting_equity: decimal("backtest_runs.starting_equity", &se)?,
        final_equity: decimal("backtest_runs.final_equity", &fe)?,
        metrics,
        equity_curve: curve,
        open_positions: open,
    };
    Ok((id, run))
}

/// A page of runs, newest first: those with an id below `before` (a cursor).
pub async fn page(
    conn: &mut SqliteConnection,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<(i64, BacktestRun)>, StoreError> {
    let sql =
        format!("SELECT {RUN_COLUMNS} FROM backtest_runs WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2");
    // Audited: fixed fragments only; the values are bound.
    let rows: Vec<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(before)
        .bind(i64::from(limit.min(MAX_PAGE)))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(run_from_row).collect()
}

/// One run by its id.
pub async fn one(conn: &mut SqliteConnection, run_id: i64) -> Result<Option<(i64, BacktestRun)>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM backtest_runs WHERE id = ?");
    // Audited: fixed fragments only; the value is bound.
    let row: Option<RunRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(run_id).fetch_optional(conn).await?;
    row.map(run_from_row).transpose()
}

/// Whether a run with this id exists.
pub async fn exists(conn: &mut SqliteConnection, run_id: i64) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM backtest_runs WHERE id = ?").bind(run_id).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// A page of a run's trades, in order.
pub async fn trades(
    conn: &mut SqliteConnection,
    run_id: i64,
    limit: u32,
    offset: u32,
) -> Result<Vec<BacktestTrade>, StoreError> {
    type Raw = (String, String, String, String, String, String, String, String, String);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT symbol, side, quantity, entry_time, entry_price, exit_time, exit_price, pnl, fees
         FROM backtest_trades WHERE run_id = ? ORDER BY seq LIMIT ? OFFSET ?",
    )
    .bind(run_id)
    .bind(i64::from(limit.min(MAX_PAGE)))
    .bind(i64::from(offset))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(symbol, side, q, et, ep, xt, xp, pnl, fees)| {
            Ok(BacktestTrade {
                symbol,
                side,
                quantity: decimal("backtest_trades.quantity", &q)?,
                entry_time: parse_time("backtest_trades.entry_time", &et)?,
                entry_price: decimal("backtest_trades.entry_price", &ep)?,
                exit_time: parse_time("backtest_trades.exit_time", &xt)?,
                exit_price: decimal("backtest_trades.exit_price", &xp)?,
                pnl: decimal("backtest_trades.pnl", &pnl)?,
                fees: decimal("backtest_trades.fees", &fees)?,
            })
        })
        .collect()
}
