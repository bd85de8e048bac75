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
    let fill = e + dec!(0.11); // the next open plus one tick of slippage
    assert_eq!(filled.len(), 1);
    let report = &filled[0];
    assert_eq!(report.client_order_id.as_deref(), Some("c-1"));
    assert_eq!(
        (report.fill_id.as_str(), report.quantity, report.price),
        ("SIMF-0000000001", approval.quantity(), fill)
    );
    assert_eq!(report.time, at, "a fill happens at the open of the bar it fills in");
    assert_eq!(sim.fills_since(at).await.unwrap(), filled, "and the broker keeps it");
    assert!(sim.fills_since(at + TimeDelta::seconds(1)).await.unwrap().is_empty());
    let state = sim.order_status("c-1").await.unwrap().unwrap();
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
    let ids: Vec<_> = filled.iter().map(|f| f.client_order_id.as_deref()).collect();
    assert_eq!(ids, [Some("c-2-sl")]);
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
    let ids: Vec<_> = filled.iter().filter_map(|f| f.client_order_id.as_deref()).collect();
    assert!(ids.contains(&"lim") && !ids.contains(&"stp"), "{filled:?}");
    assert_eq!(sim.order_status("lim").await.unwrap().unwrap().average_fill_price, Some(e - dec!(0.50)));
    // A gap up through the stop: it fills at the open, which is worse than the level, plus a tick.
    sim.on_bar("SPY", &bar(at + TimeDelta::minutes(2), e + dec!(0.8), e + dec!(0.9), e + dec!(0.7), e + dec!(0.8)))
        .await
        .unwrap();
    assert_eq!(sim.order_status("stp").await.unwrap().unwrap().average_fill_price, Some(e + dec!(0.81)));
}

#[tokio::test]
async fn a_volume_cap_fills_an_order_in_parts_and_its_bracket_grows_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig { max_volume_share: dec!(0.01), ..SimConfig::default() };
    let sim = SimBroker::open(&dir.path().join("sim.json"), config, &NoiseConfig::default().instruments).unwrap();
    let (approval, at) = approval("SPY", "spy-1m.csv", Direction::Long);
    let e = approval.entry();
    let quantity = approval.quantity();
    assert!(quantity > dec!(10), "the sample approves a size the cap must split: {quantity}");
    sim.on_bar("SPY", &bar(at - TimeDelta::minutes(1), e, e, e, e)).await.unwrap();
    sim.place_order(&OrderRequest::from_approval(&approval, "p-1")).await.unwrap();
    // 1 % of 1,000 shares a bar: ten at each open, inside the bracket's range.
    let mut minute = 0;
    let mut fills = Vec::new();
    while fills.iter().map(|f: &noise_broker::FillReport| f.quantity).sum::<Decimal>() < quantity {
        let t = at + TimeDelta::minutes(minute);
        let got = sim.on_bar("SPY", &bar(t, e, e + dec!(0.01), e - dec!(0.01), e)).await.unwrap();
        assert_eq!(got.len(), 1, "one part per bar");
        assert!(got[0].quantity <= dec!(10));
        let state = sim.order_status("p-1").await.unwrap().unwrap();
        let done: Decimal =
            fills.iter().map(|f: &noise_broker::FillReport| f.quantity).sum::<Decimal>() + got[0].quantity;
        assert_eq!(state.filled_quantity, done);
        let want = if done < quantity { OrderStatus::PartiallyFilled } else { OrderStatus::Filled };
        assert_eq!(state.status, want);
        assert!(state.legs.iter().all(|l| l.quantity == done), "the legs protect what has filled");
        fills.extend(got);
        minute += 1;
    }
    let ids: std::collections::BTreeSet<_> = fills.iter().map(|f| f.fill_id.clone()).collect();
    assert_eq!(ids.len(), fills.len(), "each part has its own id");
    assert_eq!(sim.positions().await.unwrap()[0].quantity, quantity);
}

/// A partly filled entry whose take-profit fired is not filled further (its
/// protection is gone), and the fired leg is never made again.
#[tokio::test]
async fn the_rest_of_an_entry_is_cancelled_once_its_bracket_fired() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig { max_volume_share: dec!(0.01), ..SimConfig::default() };
    let sim = SimBroker::open(&dir.path().join("sim.json"), config, &NoiseConfig::default().instruments).unwrap();
    let (approval, at) = approval("SPY", "spy-1m.csv", Direction::Long);
    let (e, target) = (approval.entry(), approval.take_profit().unwrap());
    sim.on_bar("SPY", &bar(at - TimeDelta::minutes(1), e, e, e, e)).await.unwrap();
    sim.place_order(&OrderRequest::from_approval(&approval, "b-1")).await.unwrap();
    // Ten shares fill at the open; the bar runs through the target: the leg fires for those ten.
    let filled = sim.on_bar("SPY", &bar(at, e, target + dec!(0.5), e - dec!(0.01), target)).await.unwrap();
    let ids: Vec<_> = filled.iter().map(|f| (f.client_order_id.clone().unwrap().to_string(), f.quantity)).collect();
    assert_eq!(ids, [("b-1".to_string(), dec!(10)), ("b-1-tp".to_string(), dec!(10))]);
    // The next bar fills nothing: the entry's rest is cancelled.
    let next = sim.on_bar("SPY", &bar(at + TimeDelta::minutes(1), e, e, e, e)).await.unwrap();
    assert!(next.is_empty(), "{next:?}");
    let entry = sim.order_status("b-1").await.unwrap().unwrap();
    assert_eq!((entry.status, entry.filled_quantity), (OrderStatus::Cancelled, dec!(10)));
    assert!(sim.positions().await.unwrap().is_empty());
}
