//! NOISE's store: one SQLite file in WAL mode, versioned migrations embedded
//! in the binary, repositories for the seed's tables, and an append-only
//! audit log (the database itself refuses UPDATE and DELETE on it).
//!
//! Repositories are functions over a `&mut SqliteConnection`, so a state
//! change and its audit event go through one transaction:
//!
//! ```ignore
//! let mut tx = store.begin().await?;
//! trades::insert_intent(&mut tx, &order).await?;
//! audit::append(&mut tx, now, "order_intent", "engine", &details).await?;
//! tx.commit().await?;
//! ```

pub mod audit;
pub mod backtests;
mod codec;
pub mod fills;
mod migrate;
pub mod positions;
pub mod records;
pub mod risk_state;
pub mod signals;
pub mod trades;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use migrate::{MIGRATIONS, Migration, checksum as checksum_of};
pub use sqlx::SqliteConnection;

/// A trivial query: whether the database answers.
pub async fn ping(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(conn).await?;
    Ok(())
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error(
        "{path} is at schema version {database}, newer than this binary knows ({binary}): upgrade NOISE or use another database"
    )]
    NewerThanBinary { path: String, database: i64, binary: i64 },
    #[error(
        "migration {version} ({name}) was changed after it was applied (checksum {applied} in the database, {embedded} in the binary)"
    )]
    EditedMigration { version: i64, name: &'static str, applied: String, embedded: String },
    #[error("cannot create the folder for {path}: {source}")]
    Folder { path: String, source: std::io::Error },
    #[error("row {what} does not parse: {detail}")]
    Corrupt { what: String, detail: String },
}

/// The open database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending
    /// migrations. A database newer than this binary is refused.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self::open_unmigrated(path).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens without applying migrations (for `noise migrate --status`).
    pub async fn open_unmigrated(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::Folder { path: path.display().to_string(), source })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses at most the last commits on power loss, never consistency;
            // FULL makes every commit durable, which the write-ahead order log relies on.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { pool, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A connection from the pool, for reads and single statements.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a write transaction: commit it, or its changes vanish on drop.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock at once, waiting (busy timeout)
    /// for another writer to finish. A deferred transaction that read first
    /// and then writes after another connection committed (the API's audit
    /// of a refused token, say) fails at once with "database is locked":
    /// SQLite cannot wait there without breaking the snapshot it read.
    pub async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Applies the migrations the database lacks, in order, each in its own
    /// transaction; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        migrate::apply(&self.pool, &self.path).await
    }

    /// The highest migration applied (0 for a new database).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        migrate::current_version(&self.pool).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
