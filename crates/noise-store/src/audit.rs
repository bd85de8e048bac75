//! The append-only audit log. The schema's triggers refuse UPDATE and
//! DELETE, so nothing here can rewrite history, and neither can anyone else.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqliteConnection;

use crate::StoreError;
use crate::codec::{json, parse_time, time};

/// One audit event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub time: DateTime<Utc>,
    pub event_type: String,
    pub actor: String,
    pub details: serde_json::Value,
}

/// Appends an event; returns its id.
pub async fn append(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    event_type: &str,
    actor: &str,
    details: &impl Serialize,
) -> Result<i64, StoreError> {
    let id =
        sqlx::query_scalar("INSERT INTO audit_log (time, event_type, actor, details) VALUES (?, ?, ?, ?) RETURNING id")
            .bind(time(at))
            .bind(event_type)
            .bind(actor)
            .bind(json(details))
            .fetch_one(conn)
            .await?;
    Ok(id)
}

/// Appends an event whose details are already JSON text (serialized once by
/// a caller that also stores them elsewhere).
pub async fn append_json(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    event_type: &str,
    actor: &str,
    details_json: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit_log (time, event_type, actor, details) VALUES (?, ?, ?, ?)")
        .bind(time(at))
        .bind(event_type)
        .bind(actor)
        .bind(details_json)
        .execute(conn)
        .await?;
    Ok(())
}

/// The most recent events first, optionally of one type.
pub async fn recent(
    conn: &mut SqliteConnection,
    event_type: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    page(conn, event_type, None, limit).await
}

/// A page of events, newest first: those with an id below `before` (a
/// cursor: the last id of the previous page), optionally of one type.
pub async fn page(
    conn: &mut SqliteConnection,
    event_type: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, time, event_type, actor, details FROM audit_log
         WHERE (?1 IS NULL OR event_type = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
    )
    .bind(event_type)
    .bind(before)
    .bind(i64::from(limit.min(crate::records::MAX_PAGE)))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, t, event_type, actor, details)| {
            Ok(AuditEntry {
                id,
                time: parse_time("audit_log.time", &t)?,
                event_type,
                actor,
                details: crate::codec::from_json("audit_log.details", &details)?,
            })
        })
        .collect()
}
