//! The whole run against the identities a ledger must keep. `noise run`'s
//! loop trades the synthetic market for simulated days on a real database,
//! with partial fills (a volume cap), bracket exits, a restart, positions
//! changed at the broker behind the engine's back (booked by
//! reconciliation, one of them a flip) and a final flatten. Then, for every
//! symbol (all flat):
//!
//! - round trips' net P&L = the cash the ledger's fills moved, to the cent
//!   and beyond (exactly); their fees = the fills' fees; their quantity =
//!   the quantity bought = the quantity sold;
//! - every execution the broker made for our orders is in the database
//!   once, with the broker's figures;
//! - the round trips rebuilt from the stored fills are the stored ones.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use noise_broker::sim::SimState;
use noise_core::config::NoiseConfig;
use noise_core::ledger::{Applied, Fill, Ledger, RoundTrip};
use noise_core::order::OrderStatus;
use noise_engine::Control;
use noise_store::Store;
use rust_decimal::Decimal;
use support::{stored, trade};

fn change_at_the_broker(path: &Path, flip: &str, open: &str, price: Decimal) {
    let mut state: SimState = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let held = state.positions.get_mut(flip).expect("a position to flip");
    held.quantity = -held.quantity * Decimal::TWO;
    let mut new = held.clone();
    new.quantity = Decimal::from(3);
    new.average_price = price;
    new.last_price = price;
    state.positions.insert(open.into(), new);
    for order in state.orders.values_mut() {
        if (order.state.symbol == flip || order.state.symbol == open) && !order.state.status.is_final() {
            order.state.status = OrderStatus::Cancelled;
        }
    }
    std::fs::write(path, serde_json::to_vec(&state).unwrap()).unwrap();
}

/// The latest price the engine saw for `symbol` (a signal's entry is its bar's close).
async fn last_signal_price(dir: &Path, symbol: &str) -> Decimal {
    let store = Store::open(&dir.join("noise.db")).await.unwrap();
    let (entry,): (String,) = sqlx::query_as("SELECT entry FROM signals WHERE symbol = ? ORDER BY id DESC LIMIT 1")
        .bind(symbol)
        .fetch_one(store.pool())
        .await
        .unwrap();
    entry.parse().unwrap()
}

async fn run_and_check(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let config = NoiseConfig::default();
    // Two days (Monday 14:00 to Wednesday 14:20 UTC), then a restart after the broker's book changed.
    drop(trade(dir.path(), &config, seed, 2_900, None).await);
    let sim: SimState = serde_json::from_slice(&std::fs::read(dir.path().join("sim.json")).unwrap()).unwrap();
    let held = sim.positions.keys().next().cloned().expect("positions open after 2,900 minutes");
    let fresh =
        config.instruments.iter().map(|i| i.symbol.clone()).find(|s| !sim.positions.contains_key(s.as_str())).unwrap();
    change_at_the_broker(&dir.path().join("sim.json"), &held, &fresh, last_signal_price(dir.path(), &fresh).await);
    // Trading on into the US afternoon, then the kill switch while both markets are open.
    drop(trade(dir.path(), &config, seed, 200, None).await);
    // The kill switch, then a few minutes for the closing orders to fill.
    let engine = trade(dir.path(), &config, seed, 15, Some(Control::Flatten)).await;
    let broker: SimState = serde_json::from_slice(&std::fs::read(dir.path().join("sim.json")).unwrap()).unwrap();
    let (fills, trips, orders) = stored(dir.path()).await;

    // The run exercised what it must.
    let partial = orders
        .iter()
        .filter(|o| {
            fills.iter().filter(|f| f.client_order_id.as_deref() == Some(o.client_order_id.as_str())).count() > 1
        })
        .count();
    let legs = fills.iter().filter(|f| f.protects.is_some()).count();
    let reconciled = fills.iter().filter(|f| f.reconciled).count();
    assert!(partial >= 5, "seed {seed}: orders filled in parts: {partial}");
    assert!(legs >= 5, "seed {seed}: bracket exits: {legs}");
    assert!(reconciled >= 2, "seed {seed}: reconciliation fills: {reconciled}");
    assert!(trips.iter().any(|t| t.reconciled), "seed {seed}: a round trip through a reconciled fill");
    assert!(trips.len() > 100, "seed {seed}: {} round trips", trips.len());

    // Everything is flat, at the broker and in the ledger.
    assert!(broker.positions.is_empty(), "seed {seed}: the broker still holds {:?}", broker.positions.keys());
    assert!(engine.core().ledger().open_positions().next().is_none(), "seed {seed}: the ledger holds positions");

    // Per symbol: the round trips account for the fills, exactly.
    let point_value: BTreeMap<&str, Decimal> =
        config.instruments.iter().map(|i| (i.symbol.as_str(), i.point_value)).collect();
    for (symbol, pv) in &point_value {
        let mine: Vec<&Fill> = fills.iter().filter(|f| f.symbol == *symbol).collect();
        let closed: Vec<&RoundTrip> = trips.iter().filter(|t| t.symbol == *symbol).collect();
        let cash: Decimal = mine.iter().map(|f| f.cash_moved(*pv)).sum();
        let net: Decimal = closed.iter().map(|t| t.net_pnl).sum();
        assert_eq!(net, cash, "seed {seed} {symbol}: round trips' net P&L vs the cash the fills moved");
        let fees: Decimal = mine.iter().map(|f| f.fee).sum();
        assert_eq!(closed.iter().map(|t| t.fees).sum::<Decimal>(), fees, "seed {seed} {symbol}: fees");
        let bought: Decimal = mine.iter().filter(|f| f.signed_quantity() > Decimal::ZERO).map(|f| f.quantity).sum();
        let sold: Decimal = mine.iter().filter(|f| f.signed_quantity() < Decimal::ZERO).map(|f| f.quantity).sum();
        let quantity: Decimal = closed.iter().map(|t| t.quantity).sum();
        assert_eq!((quantity, bought), (bought, sold), "seed {seed} {symbol}: closed, bought and sold quantities");
        for t in &closed {
            assert_eq!(t.net_pnl, t.gross_pnl - t.fees);
        }
    }

    // Every execution of our orders at the broker is stored once, as the broker made it.
    let ours: std::collections::HashSet<&str> = orders.iter().map(|o| o.client_order_id.as_str()).collect();
    let at_broker: Vec<_> =
        broker.fills.iter().filter(|f| f.client_order_id.as_deref().is_some_and(|id| ours.contains(id))).collect();
    assert!(!at_broker.is_empty());
    for report in &at_broker {
        let stored = mine_by_id(&fills, &report.fill_id);
        assert_eq!(stored.len(), 1, "seed {seed}: {} stored {} times", report.fill_id, stored.len());
        let f = stored[0];
        assert_eq!(
            (f.quantity, f.price, f.fee, f.time, f.side),
            (report.quantity, report.price, report.fee, report.time, report.side)
        );
    }
    // Every filled unit of every order is booked, none twice.
    for order in &orders {
        let booked: Decimal = fills
            .iter()
            .filter(|f| f.client_order_id.as_deref() == Some(order.client_order_id.as_str()))
            .map(|f| f.quantity)
            .sum();
        assert_eq!(booked, order.filled_quantity, "seed {seed}: {} booked vs filled", order.client_order_id);
        assert_eq!(order.booked_quantity, booked);
        assert!(order.status.is_final(), "seed {seed}: {} is still {}", order.client_order_id, order.status);
    }

    // A restart rebuilds the same round trips from the stored fills.
    let mut ledger = Ledger::new();
    let mut rebuilt = Vec::new();
    for fill in &fills {
        let instrument = config.instruments.iter().find(|i| i.symbol == fill.symbol).unwrap();
        if let Applied::Booked { round_trips } = ledger.apply(fill, instrument).unwrap() {
            rebuilt.extend(round_trips);
        }
    }
    assert_eq!(rebuilt, trips, "seed {seed}: the stored round trips are the fills' round trips");
}

fn mine_by_id<'a>(fills: &'a [Fill], id: &str) -> Vec<&'a Fill> {
    fills.iter().filter(|f| f.fill_id == id).collect::<Vec<_>>()
}

#[tokio::test]
async fn seed_11_keeps_every_identity() {
    run_and_check(11).await;
}

#[tokio::test]
async fn seed_7_keeps_every_identity() {
    run_and_check(7).await;
}

#[tokio::test]
async fn seed_3_keeps_every_identity() {
    run_and_check(3).await;
}
