//! `noise migrate`: apply the embedded migrations explicitly.

use std::path::Path;

use noise_store::{MIGRATIONS, Store, StoreError};

use crate::failure::Failure;

pub fn run(db: Option<std::path::PathBuf>, config_path: Option<&Path>) -> Result<(), Failure> {
    let (config, _) = crate::commands::config::load(config_path)?;
    let db = db.unwrap_or_else(|| config.engine.db.clone().into());
    let db = db.as_path();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::internal)?;
    runtime.block_on(async {
        let store = Store::open_unmigrated(db).await.map_err(classify)?;
        let applied = store.migrate().await.map_err(classify)?;
        let version = store.schema_version().await.map_err(classify)?;
        store.close().await;
        if applied.is_empty() {
            println!("{}: up to date at schema version {version}", db.display());
        } else {
            for v in &applied {
                let name = MIGRATIONS.iter().find(|m| m.version == *v).map_or("?", |m| m.name);
                println!("{}: applied migration {v} ({name})", db.display());
            }
            println!("{}: now at schema version {version}", db.display());
        }
        Ok(())
    })
}

/// A database the binary cannot use is the user's to fix (exit 2).
fn classify(error: StoreError) -> Failure {
    match error {
        StoreError::NewerThanBinary { .. } | StoreError::EditedMigration { .. } | StoreError::Folder { .. } => {
            Failure::bad_input(error)
        }
        other => Failure::internal(other),
    }
}
