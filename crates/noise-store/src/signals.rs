//! Signals and rejected candidates, with their provenance.

use sqlx::SqliteConnection;

use noise_core::signal::Evaluation;

use crate::StoreError;
use crate::codec::{json, time};

/// Stores an evaluation (a signal or a rejected candidate); returns its id.
/// Records the risk manager's first verdict on signal `id` (see [`SignalRow`]);
/// a reversal's entry, decided after the exit, leaves the exit's.
pub async fn set_risk(
    conn: &mut SqliteConnection,
    id: i64,
    verdict: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE signals SET risk_verdict = ?, risk_reason = ? WHERE id = ? AND risk_verdict IS NULL")
        .bind(verdict)
        .bind(reason)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert(conn: &mut SqliteConnection, evaluation: &Evaluation) -> Result<i64, StoreError> {
    let c = evaluation.candidate();
    let (status, reason) = match evaluation {
        Evaluation::Signal(_) => ("signal", None),
        Evaluation::Rejected(r) => ("rejected", Some(r.reason())),
    };
    let id = sqlx::query_scalar(
        "INSERT INTO signals (time, symbol, timeframe, direction, strength, entry, stop_loss, take_profit,
                              status, reason, regime, components, filters)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(time(c.time))
    .bind(c.symbol.as_str())
    .bind(c.timeframe.as_str())
    .bind(c.direction.to_string())
    .bind(c.strength)
    .bind(c.entry.to_string())
    .bind(c.stop_loss.to_string())
    .bind(c.take_profit.to_string())
    .bind(status)
    .bind(reason)
    .bind(json(&c.regime))
    .bind(json(&c.components))
    .bind(json(&c.filters))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// How many signals and rejected candidates are stored, by status.
pub async fn counts(conn: &mut SqliteConnection) -> Result<(i64, i64), StoreError> {
    let (signals, rejected): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(status = 'signal'), 0), COALESCE(SUM(status = 'rejected'), 0) FROM signals",
    )
    .fetch_one(conn)
    .await?;
    Ok((signals, rejected))
}

/// When the latest signal (not a rejection) was made, if any.
pub async fn last_signal_time(
    conn: &mut SqliteConnection,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let time: Option<String> =
        sqlx::query_scalar("SELECT time FROM signals WHERE status = 'signal' ORDER BY id DESC LIMIT 1")
            .fetch_optional(conn)
            .await?;
    time.map(|t| crate::codec::parse_time("signals.time", &t)).transpose()
}

/// A stored signal or rejected candidate, with its provenance as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SignalRow {
    pub id: i64,
    pub time: chrono::DateTime<chrono::Utc>,
    pub symbol: String,
    pub timeframe: String,
    pub direction: String,
    pub strength: f64,
    pub entry: rust_decimal::Decimal,
    pub stop_loss: rust_decimal::Decimal,
    pub take_profit: rust_decimal::Decimal,
    /// `signal` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
    /// For a signal: the risk manager's verdict (`allow`, `reduce`, `block`),
    /// absent until it decided.
    pub risk_verdict: Option<String>,
    /// For a blocked signal: why, as `code: sentence` (`already_held: already long MES (1 entry of 1)`).
    pub risk_reason: Option<String>,
    pub regime: serde_json::Value,
    pub components: serde_json::Value,
    pub filters: serde_json::Value,
}

/// Signals newest first: `filter`'s symbol, time range and cursor, and one
/// status (`signal` or `rejected`) when given.
pub async fn page(
    conn: &mut SqliteConnection,
    filter: &crate::records::Filter,
    status: Option<&str>,
    limit: u32,
) -> Result<Vec<SignalRow>, StoreError> {
    type Raw = (
        i64,
        String,
        String,
        String,
        String,
        f64,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let mut sql = format!(
        "SELECT id, time, symbol, timeframe, direction, strength, entry, stop_loss, take_profit, status, reason,
                risk_verdict, risk_reason, regime, components, filters
         FROM signals{}",
        filter.where_clause("time")
    );
    if status.is_some() {
        sql.push_str(if sql.contains(" WHERE ") { " AND status = ?" } else { " WHERE status = ?" });
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    // Audited: the SQL is built from fixed fragments only; every value is bound.
    let mut query = filter.bind(sqlx::query_as::<_, Raw>(sqlx::AssertSqlSafe(sql)));
    if let Some(status) = status {
        query = query.bind(status.to_string());
    }
    let rows: Vec<Raw> = query.bind(i64::from(limit.min(crate::records::MAX_PAGE))).fetch_all(conn).await?;
    use crate::codec::{decimal, from_json, parse_time};
    rows.into_iter()
        .map(
            |(
                id,
                t,
                symbol,
                timeframe,
                direction,
                strength,
                e,
                sl,
                tp,
                status,
                reason,
                risk_verdict,
                risk_reason,
                regime,
                components,
                filters,
            )| {
                Ok(SignalRow {
                    id,
                    time: parse_time("signals.time", &t)?,
                    timeframe,
                    direction,
                    strength,
                    entry: decimal("signals.entry", &e)?,
                    stop_loss: decimal("signals.stop_loss", &sl)?,
                    take_profit: decimal("signals.take_profit", &tp)?,
                    status,
                    reason,
                    risk_verdict,
                    risk_reason,
                    regime: from_json("signals.regime", &regime)?,
                    components: from_json("signals.components", &components)?,
                    filters: from_json("signals.filters", &filters)?,
                    symbol,
                })
            },
        )
        .collect()
}
