//! Versioned migrations, embedded in the binary and recorded in `migrations`.

use std::path::Path;

use sqlx::SqlitePool;

use crate::StoreError;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Never edit one that has shipped: add another.
pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("../migrations/0001_initial.sql") },
    Migration { version: 2, name: "audit_triggers", sql: include_str!("../migrations/0002_audit_triggers.sql") },
    Migration { version: 3, name: "backtests", sql: include_str!("../migrations/0003_backtests.sql") },
    Migration { version: 4, name: "list_indexes", sql: include_str!("../migrations/0004_list_indexes.sql") },
    Migration { version: 5, name: "symbol_indexes", sql: include_str!("../migrations/0005_symbol_indexes.sql") },
    Migration { version: 6, name: "ledger", sql: include_str!("../migrations/0006_ledger.sql") },
    Migration { version: 7, name: "signal_risk", sql: include_str!("../migrations/0007_signal_risk.sql") },
];

/// FNV-1a of the text: enough to notice an edited migration.
pub fn checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

async fn ensure_table(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) async fn current_version(pool: &SqlitePool) -> Result<i64, StoreError> {
    ensure_table(pool).await?;
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM migrations").fetch_one(pool).await?;
    Ok(version.unwrap_or(0))
}

pub(crate) async fn apply(pool: &SqlitePool, path: &Path) -> Result<Vec<i64>, StoreError> {
    ensure_table(pool).await?;
    let binary = MIGRATIONS.last().map_or(0, |m| m.version);
    let database = current_version(pool).await?;
    if database > binary {
        return Err(StoreError::NewerThanBinary { path: path.display().to_string(), database, binary });
    }
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM migrations").fetch_all(pool).await?;
    let mut done = Vec::new();
    for migration in MIGRATIONS {
        let embedded = checksum(migration.sql);
        if let Some((_, recorded)) = applied.iter().find(|(v, _)| *v == migration.version) {
            if *recorded != embedded {
                return Err(StoreError::EditedMigration {
                    version: migration.version,
                    name: migration.name,
                    applied: recorded.clone(),
                    embedded,
                });
            }
            continue;
        }
        let mut tx = pool.begin().await?;
        sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(&embedded)
            .bind(crate::codec::time(chrono::Utc::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done.push(migration.version);
    }
    Ok(done)
}
