//! A whole `noise run` on the synthetic market for the whole-run tests:
//! the loop, a real database, the simulated broker with partial fills.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use noise_broker::sim::{SimBroker, SimConfig};
use noise_core::config::NoiseConfig;
use noise_core::ledger::{Fill, RoundTrip};
use noise_engine::{Control, Engine, MarketSource, RunOptions};
use noise_store::Store;
use rust_decimal::Decimal;

pub fn sim_config(config: &NoiseConfig) -> SimConfig {
    // 1 % of a bar's volume per order: most equity orders and some futures fill in parts.
    SimConfig { max_volume_share: Decimal::new(1, 2), ..SimConfig::from(&config.sim) }
}

/// Runs the loop for `minutes` from where the broker's state stopped (a
/// new engine each time, as a restart makes one).
pub async fn trade(dir: &Path, config: &NoiseConfig, seed: u64, minutes: u64, before: Option<Control>) -> Engine {
    let store = Store::open(&dir.join("noise.db")).await.unwrap();
    let sim = Arc::new(SimBroker::open(&dir.join("sim.json"), sim_config(config), &config.instruments).unwrap());
    let mut engine = Engine::new(config.clone(), store, sim.clone()).await.unwrap();
    let options = RunOptions {
        speed: 0.0,
        start: Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap(),
        warm_up_days: 2,
        source: MarketSource::Synthetic { seed },
        max_minutes: Some(minutes),
    };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let controls = match before {
        Some(control) => {
            // Applied before the first minute (the loop answers controls between minutes).
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let (reply, _) = tokio::sync::oneshot::channel();
            tx.send(noise_engine::ControlRequest { control, by: "test".into(), reply }).await.unwrap();
            Some(rx)
        }
        None => None,
    };
    noise_engine::run(&mut engine, sim, &config.instruments, &options, stop, controls, &mut |_, _| {}).await.unwrap();
    engine
}

/// What a broker's own app (or a liquidation) does behind the engine's
/// back: `flip`'s position turned around, `open` given a position the
/// engine never traded, their working orders cancelled.
pub async fn stored(dir: &Path) -> (Vec<Fill>, Vec<RoundTrip>, Vec<noise_store::trades::OrderRow>) {
    let store = Store::open(&dir.join("noise.db")).await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    let fills = noise_store::fills::after(&mut conn, 0, u32::MAX).await.unwrap().into_iter().map(|r| r.fill).collect();
    let trips = noise_store::records::all_round_trips(&mut conn).await.unwrap();
    let orders: Vec<(String,)> =
        sqlx::query_as("SELECT client_order_id FROM trades").fetch_all(&mut *conn).await.unwrap();
    let ids: Vec<&str> = orders.iter().map(|(id,)| id.as_str()).collect();
    let orders = noise_store::trades::by_client_order_ids(&mut conn, &ids).await.unwrap();
    (fills, trips, orders)
}
