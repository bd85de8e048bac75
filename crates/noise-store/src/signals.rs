//! Signals and rejected candidates, with their provenance.

use sqlx::SqliteConnection;

use noise_core::signal::Evaluation;

use crate::StoreError;
use crate::codec::{json, time};

/// Stores an evaluation (a signal or a rejected candidate); returns its id.
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
    .bind(&c.symbol)
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
