//! The account's running totals for `/api/metrics/summary`: closed trades
//! and the equity curve's deepest drawdown, in exact money, kept by reading
//! only the rows added since the last request (closed trades and snapshots
//! are appended, never rewritten), so a million trades cost one pass once.

use chrono::{DateTime, Utc};
use noise_core::metrics::{PeakToTrough, TradeTally};
use noise_store::{SqliteConnection, StoreError};

/// Rows read per query while catching up (bounded memory on a large backlog).
const BATCH: u32 = 10_000;

#[derive(Debug, Default)]
pub struct Cache(tokio::sync::Mutex<Totals>);

#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub trades: TradeTally,
    pub drawdown: PeakToTrough,
    last_trade_id: i64,
    last_snapshot: Option<DateTime<Utc>>,
}

impl Cache {
    /// The totals, brought up to date with what the store holds now.
    pub async fn current(&self, conn: &mut SqliteConnection) -> Result<Totals, StoreError> {
        let mut totals = self.0.lock().await;
        loop {
            let rows = noise_store::records::trade_results_after(conn, totals.last_trade_id, BATCH).await?;
            for (id, pnl, fees) in &rows {
                totals.trades.add(*pnl, *fees);
                totals.last_trade_id = *id;
            }
            if rows.len() < BATCH as usize {
                break;
            }
        }
        loop {
            let points = noise_store::records::equity_after(conn, totals.last_snapshot, BATCH).await?;
            for (time, equity) in &points {
                totals.drawdown.push(*equity);
                totals.last_snapshot = Some(*time);
            }
            if points.len() < BATCH as usize {
                break;
            }
        }
        Ok(totals.clone())
    }
}
