//! The simulated broker: fills, brackets (stop first), idempotent client
//! order ids, and a state file that survives a restart.

#[path = "support/approval.rs"]
mod support;
use support::approval;

use chrono::{TimeDelta, Utc};
use noise_broker::sim::{SimBroker, SimConfig};
use noise_broker::{BrokerAdapter, OrderRequest};
use noise_core::config::NoiseConfig;
use noise_core::market::Bar;
use noise_core::order::OrderStatus;
use noise_core::risk::Side;
use noise_core::signal::Direction;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn bar(time: chrono::DateTime<Utc>, o: Decimal, h: Decimal, l: Decimal, c: Decimal) -> Bar {
    Bar { time, open: o, high: h, low: l, close: c, volume: dec!(1000) }
}

fn broker(dir: &tempfile::TempDir) -> SimBroker {
    SimBroker::open(&dir.path().join("sim.json"), SimConfig::default(), &NoiseConfig::default().instruments).unwrap()
}

#[tokio::test]
async fn market_order_fills_at_the_next_open_with_slippage_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let sim = broker(&dir);
    let (approval, at) = approval("SPY", "spy-1m.csv", Direction::Long);
    // The simulator's clock reaches the signal bar's close.
    let e = approval.entry();
    sim.on_bar("SPY", &bar(at - TimeDelta::minutes(1), e, e, e, e)).await.unwrap();
    let request = OrderRequest::from_approval(&approval, "c-1");
    let first = sim.place_order(&request).await.unwrap();
    assert_eq!(first.status, OrderStatus::Submitted);
    let again = sim.place_order(&request).await.unwrap();
    assert_eq!(again.broker_order_id, first.broker_order_id, "the same client order id never makes a second order");
    assert_eq!(sim.snapshot().await.orders.len(), 1);

    let next = bar(at, e + dec!(0.10), e + dec!(0.20), e + dec!(0.05), e + dec!(0.15));
    let filled = sim.on_bar("SPY", &next).await.unwrap();
    assert_eq!(filled, vec!["c-1".to_string()]);
    let state = sim.order_status("c-1").await.unwrap().unwrap();
    let fill = e + dec!(0.11); // the next open plus one tick of slippage
    assert_eq!((state.status, state.average_fill_price), (OrderStatus::Filled, Some(fill)));
    assert_eq!(
        state.legs.iter().filter(|l| l.status == OrderStatus::Submitted).count(),
        2,
        "both bracket legs are live"
    );
    let q = approval.quantity();
    let account = sim.account().await.unwrap();
    assert_eq!(account.cash, dec!(100000) - q * fill);
    assert_eq!(account.equity, account.cash + q * (e + dec!(0.15)));
}

#[tokio::test]
async fn a_bar_that_touches_both_bracket_legs_takes_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let sim = broker(&dir);
    let (approval, at) = approval("SPY", "spy-1m.csv", Direction::Long);
    let entry_bar =
        bar(at, approval.entry(), approval.entry() + dec!(0.05), approval.entry() - dec!(0.05), approval.entry());
    sim.on_bar(
        "SPY",
        &bar(at - TimeDelta::minutes(1), approval.entry(), approval.entry(), approval.entry(), approval.entry()),
    )
    .await
    .unwrap();
    sim.place_order(&OrderRequest::from_approval(&approval, "c-2")).await.unwrap();
    sim.on_bar("SPY", &entry_bar).await.unwrap();
    let (stop, target) = (approval.stop_loss().unwrap(), approval.take_profit().unwrap());
    // One wide bar through both levels.
    let wide = bar(at + TimeDelta::minutes(1), approval.entry(), target + dec!(1), stop - dec!(1), approval.entry());
    let filled = sim.on_bar("SPY", &wide).await.unwrap();
    assert_eq!(filled, vec!["c-2-sl".to_string()]);
    let legs = sim.order_status("c-2").await.unwrap().unwrap().legs;
    assert_eq!(
        legs.iter().map(|l| (l.client_order_id.as_str(), l.status)).collect::<Vec<_>>(),
        vec![("c-2-sl", OrderStatus::Filled), ("c-2-tp", OrderStatus::Cancelled),]
    );
    assert_eq!(legs[0].average_fill_price, Some(stop));
    assert_eq!(legs[0].side, Side::Sell);
    assert!(sim.positions().await.unwrap().is_empty());
}

#[tokio::test]
async fn futures_pnl_uses_the_point_value_and_the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (approval, at) = approval("MNQ", "mnq-1m.csv", Direction::Short);
    {
        let sim = broker(&dir);
        let e = approval.entry();
        sim.on_bar("MNQ", &bar(at - TimeDelta::minutes(1), e, e, e, e)).await.unwrap();
        sim.place_order(&OrderRequest::from_approval(&approval, "f-1")).await.unwrap();
        sim.on_bar("MNQ", &bar(at, e, e + dec!(0.5), e - dec!(10.5), e - dec!(10))).await.unwrap();
    }
    // A new process opens the same file.
    let sim = broker(&dir);
    let q = approval.quantity();
    let e = approval.entry();
    let position = sim.positions().await.unwrap().pop().expect("the short is still open");
    assert_eq!((position.quantity, position.average_price), (-q, e - dec!(0.25)), "sold at the open less one tick");
    let account = sim.account().await.unwrap();
    let fees = dec!(0.62) * q;
    assert_eq!(account.cash, dec!(100000) - fees, "no cash changes hands on a futures entry");
    // Ten points lower less the tick of slippage, at $2 a point, per contract short.
    assert_eq!(account.equity, account.cash + dec!(9.75) * dec!(2) * q);
    assert!(sim.order_status("never-sent").await.unwrap().is_none());
}

#[tokio::test]
async fn limit_and_stop_orders_fill_when_a_bar_trades_through() {
    use noise_broker::OrderKind;
    let dir = tempfile::tempdir().unwrap();
    let sim = broker(&dir);
    let (approval, at) = approval("SPY", "spy-1m.csv", Direction::Long);
    let e = approval.entry();
    sim.on_bar("SPY", &bar(at - TimeDelta::minutes(1), e, e, e, e)).await.unwrap();
    let limit = OrderRequest::from_approval_as(&approval, "lim", OrderKind::Limit(e - dec!(0.50)));
    let stop = OrderRequest::from_approval_as(&approval, "stp", OrderKind::Stop(e + dec!(0.50)));
    sim.place_order(&limit).await.unwrap();
    sim.place_order(&stop).await.unwrap();
    // A bar that trades through neither level: both rest.
    assert!(sim.on_bar("SPY", &bar(at, e, e + dec!(0.2), e - dec!(0.2), e)).await.unwrap().is_empty());
    assert_eq!(sim.order_status("lim").await.unwrap().unwrap().status, OrderStatus::Submitted);
    // Down through the limit: it fills at the limit (the open was above it).
    let filled = sim
        .on_bar("SPY", &bar(at + TimeDelta::minutes(1), e, e + dec!(0.1), e - dec!(0.6), e - dec!(0.4)))
        .await
        .unwrap();
    assert!(filled.contains(&"lim".to_string()) && !filled.contains(&"stp".to_string()), "{filled:?}");
    assert_eq!(sim.order_status("lim").await.unwrap().unwrap().average_fill_price, Some(e - dec!(0.50)));
    // A gap up through the stop: it fills at the open, which is worse than the level, plus a tick.
    sim.on_bar("SPY", &bar(at + TimeDelta::minutes(2), e + dec!(0.8), e + dec!(0.9), e + dec!(0.7), e + dec!(0.8)))
        .await
        .unwrap();
    assert_eq!(sim.order_status("stp").await.unwrap().unwrap().average_fill_price, Some(e + dec!(0.81)));
}
