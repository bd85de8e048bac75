//! The API's controls on a real engine: a real SQLite file, the sim broker,
//! the synthetic market.

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use noise_broker::BrokerAdapter;
use noise_broker::sim::{SimBroker, SimConfig, SyntheticMarket};
use noise_core::config::NoiseConfig;
use noise_core::risk::TradingState;
use noise_engine::{Control, Engine};
use noise_store::Store;

#[tokio::test]
async fn flatten_cancels_closes_every_position_and_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let config = NoiseConfig::default();
    let start = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let sim =
        Arc::new(SimBroker::open(&dir.path().join("sim.json"), SimConfig::default(), &config.instruments).unwrap());
    let mut market = SyntheticMarket::new(7, &config.instruments, start - TimeDelta::days(4));
    let mut engine = Engine::new(config.clone(), store.clone(), sim.clone()).await.unwrap();
    while market.next_minute() < start {
        let (_, bars) = market.advance();
        for (symbol, bar) in &bars {
            engine.warm_up(symbol, bar).unwrap();
        }
    }
    engine.reconcile(start).await.unwrap();
    // Trade until positions are open.
    let mut close = start;
    for _ in 0..240 {
        let (at, bars) = market.advance();
        close = at;
        sim.on_bars(&bars).await.unwrap();
        engine.minute(close, &bars).await.unwrap();
        if sim.positions().await.unwrap().len() >= 2 {
            break;
        }
    }
    let held = sim.positions().await.unwrap();
    assert!(held.len() >= 2, "the synthetic market opened positions: {held:?}");

    engine.control(Control::Flatten, close, "test").await.unwrap().unwrap();
    assert_eq!(engine.risk_state().trading_state, TradingState::Halted);
    // The closing orders fill at the next bar's open; nothing else trades while paused.
    let (at, bars) = market.advance();
    sim.on_bars(&bars).await.unwrap();
    let events = engine.minute(at, &bars).await.unwrap();
    assert!(sim.positions().await.unwrap().is_empty(), "every position closed");
    assert!(engine.core().ledger().open_positions().next().is_none(), "and the ledger agrees, from the fills");
    assert!(
        !events.iter().any(|e| matches!(e, noise_engine::EngineEvent::OrderPlaced { .. })),
        "paused: no new orders"
    );
    // A second flatten finds nothing to do; pausing again is refused, resuming works.
    assert!(engine.control(Control::Pause, at, "test").await.unwrap().is_err());
    assert!(engine.control(Control::Resume, at, "test").await.unwrap().is_ok());
    let mut conn = store.pool().acquire().await.unwrap();
    let audit = noise_store::audit::recent(&mut conn, Some("flatten"), 5).await.unwrap();
    assert_eq!(audit[0].details["closing_orders"].as_array().unwrap().len(), held.len());
}
