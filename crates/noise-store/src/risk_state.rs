//! The single `risk_state` row: the serialized `RiskState`.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use noise_core::risk::RiskState;

use crate::StoreError;
use crate::codec::{from_json, json, time};

pub async fn load(conn: &mut SqliteConnection) -> Result<Option<RiskState>, StoreError> {
    let text: Option<String> =
        sqlx::query_scalar("SELECT state FROM risk_state WHERE id = 1").fetch_optional(conn).await?;
    text.map(|t| from_json("risk_state.state", &t)).transpose()
}

pub async fn save(conn: &mut SqliteConnection, state: &RiskState, at: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO risk_state (id, state, updated_at) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(json(state))
    .bind(time(at))
    .execute(conn)
    .await?;
    Ok(())
}
