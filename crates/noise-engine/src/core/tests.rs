use chrono::TimeZone;
use noise_core::ledger::Fill;
use noise_core::order::OrderType;
use rust_decimal_macros::dec;

use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
}

fn core() -> EngineCore {
    let config = NoiseConfig::default();
    let symbols = config
        .instruments
        .iter()
        .map(|i| {
            let pipeline = SymbolPipeline::new(i.clone(), &config.signals, &config.indicators).unwrap();
            (i.clone(), pipeline, BrokerKind::Sim)
        })
        .collect();
    let mut core = EngineCore::new(&config, symbols, CoreOptions::live(), RiskState::new(dec!(100000))).unwrap();
    core.observe_account(&account(dec!(100000)));
    core
}

fn account(equity: Decimal) -> AccountInfo {
    AccountInfo {
        broker: BrokerKind::Sim,
        equity,
        cash: equity,
        buying_power: equity * dec!(2),
        available_margin: equity,
        day_trade_count: None,
        margin_account: true,
    }
}

/// An entry order for 10 SPY as the store would give it back.
fn entry(id: &str, created: DateTime<Utc>) -> TrackedOrder {
    TrackedOrder {
        client_order_id: id.into(),
        broker: BrokerKind::Sim,
        broker_order_id: Some(compact_str::format_compact!("B-{id}")),
        symbol: "SPY".into(),
        side: Side::Buy,
        intent: Intent::Entry,
        order_type: OrderType::Market,
        quantity: dec!(10),
        status: OrderStatus::Submitted,
        filled: Decimal::ZERO,
        booked: Decimal::ZERO,
        parent: None,
        created_at: created,
    }
}

fn state(id: &str, side: Side, kind: OrderType, status: OrderStatus, filled: Decimal) -> OrderState {
    OrderState {
        client_order_id: id.into(),
        broker_order_id: compact_str::format_compact!("B-{id}"),
        symbol: "SPY".into(),
        side,
        order_type: kind,
        quantity: dec!(10),
        status,
        filled_quantity: filled,
        average_fill_price: None,
        fees: Decimal::ZERO,
        updated_at: at(14, 31),
        legs: Vec::new(),
    }
}

fn report(
    fill_id: &str,
    order: Option<&str>,
    broker_order: &str,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    time: DateTime<Utc>,
) -> FillReport {
    FillReport {
        broker: BrokerKind::Sim,
        fill_id: fill_id.into(),
        broker_order_id: broker_order.into(),
        client_order_id: order.map(Into::into),
        symbol: "SPY".into(),
        side,
        quantity,
        price,
        fee: dec!(0.05),
        time,
    }
}

fn filled(effects: &[Effect]) -> Vec<&Fill> {
    effects.iter().filter_map(|e| if let Effect::Filled { fill, .. } = e { fill.as_deref() } else { None }).collect()
}

fn round_trips(effects: &[Effect]) -> Vec<&RoundTrip> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Filled { round_trips, .. } = e { Some(round_trips) } else { None })
        .flatten()
        .collect()
}

#[test]
fn a_bracket_from_entry_fill_to_the_stop_that_closes_its_lot() {
    let mut core = core();
    core.track(entry("e1", at(14, 30)));
    let mut out = Vec::new();
    // The broker: the entry filled in two parts; its bracket legs are there.
    let mut parent = state("e1", Side::Buy, OrderType::Market, OrderStatus::Filled, dec!(10));
    parent.legs = vec![
        state("e1-sl", Side::Sell, OrderType::Stop, OrderStatus::Submitted, dec!(0)),
        state("e1-tp", Side::Sell, OrderType::Limit, OrderStatus::Submitted, dec!(0)),
    ];
    core.on_order_state(&parent, &mut out);
    assert_eq!(out.iter().filter(|e| matches!(e, Effect::LegRegistered { .. })).count(), 2);
    assert!(core.orders().get("e1").is_some(), "filled, but its fills are not booked yet");
    // Fills are told by the broker's order id alone (as Alpaca reports them).
    core.on_fill(report("f1", None, "B-e1", Side::Buy, dec!(4), dec!(600), at(14, 31)), at(14, 32), &mut out);
    core.on_fill(report("f2", Some("e1"), "B-e1", Side::Buy, dec!(6), dec!(601), at(14, 31)), at(14, 32), &mut out);
    assert!(core.orders().get("e1").is_none(), "settled once every filled unit is booked");
    assert_eq!(core.ledger().position("SPY"), dec!(10));
    // The stop fires; the target is cancelled (OCO).
    out.clear();
    let mut stop = state("e1-sl", Side::Sell, OrderType::Stop, OrderStatus::Filled, dec!(10));
    stop.updated_at = at(15, 0);
    core.on_order_state(&stop, &mut out);
    core.on_order_state(&state("e1-tp", Side::Sell, OrderType::Limit, OrderStatus::Cancelled, dec!(0)), &mut out);
    core.on_fill(
        report("f3", Some("e1-sl"), "B-e1-sl", Side::Sell, dec!(10), dec!(598), at(15, 0)),
        at(15, 1),
        &mut out,
    );
    let fill = filled(&out)[0];
    assert_eq!(fill.protects.as_deref(), Some("e1"), "a leg's fill names the entry it protects");
    let trips = round_trips(&out);
    assert_eq!(trips.len(), 2, "one round trip per entry fill");
    assert_eq!(trips.iter().map(|t| t.gross_pnl).sum::<Decimal>(), dec!(-8) + dec!(-18));
    assert_eq!(trips.iter().map(|t| t.fees).sum::<Decimal>(), dec!(0.15));
    assert!(core.orders().is_empty(), "everything settled");
    assert_eq!(core.risk_state().losses_in_a_row, 1, "the risk state heard one close for the one exit fill");
}

#[test]
fn a_fill_reported_twice_is_booked_once_and_a_conflicting_one_is_audited() {
    let mut core = core();
    core.track(entry("e1", at(14, 30)));
    let mut out = Vec::new();
    let first = report("f1", Some("e1"), "B-e1", Side::Buy, dec!(10), dec!(600), at(14, 31));
    core.on_fill(first.clone(), at(14, 32), &mut out);
    core.on_fill(first.clone(), at(14, 33), &mut out);
    assert_eq!(filled(&out).len(), 1);
    // The order is still open (its state said nothing yet), so a changed report is compared.
    core.track(entry("e2", at(14, 30)));
    let mut changed = report("f9", Some("e2"), "B-e2", Side::Buy, dec!(5), dec!(600), at(14, 31));
    core.on_fill(changed.clone(), at(14, 32), &mut out);
    changed.price = dec!(700);
    core.on_fill(changed.clone(), at(14, 33), &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Audit { event: "fill_conflict", .. })));
    assert_eq!(core.ledger().position("SPY"), dec!(15));
}

#[test]
fn a_fill_of_an_order_not_ours_is_left_to_reconciliation_and_audited_once() {
    let mut core = core();
    let mut out = Vec::new();
    let foreign = report("x1", Some("someone-else"), "B-x", Side::Buy, dec!(1), dec!(600), at(14, 31));
    core.on_fill(foreign.clone(), at(14, 32), &mut out);
    core.on_fill(foreign.clone(), at(14, 33), &mut out);
    let audits = out.iter().filter(|e| matches!(e, Effect::Audit { event: "fill_not_ours", .. })).count();
    assert_eq!((audits, core.ledger().position("SPY")), (1, Decimal::ZERO));
}

#[test]
fn an_intent_the_broker_never_saw_is_closed_after_the_grace_period() {
    let mut core = core();
    let mut intent = entry("e1", at(14, 30));
    intent.status = OrderStatus::Intent;
    core.track(intent);
    let mut out = Vec::new();
    assert!(!core.on_order_missing("e1", at(14, 31), TimeDelta::minutes(2), &mut out), "too early");
    assert!(core.on_order_missing("e1", at(14, 32), TimeDelta::minutes(2), &mut out));
    assert!(out.iter().any(|e| matches!(e, Effect::OrderClosed { status: OrderStatus::Cancelled, .. })));
    assert!(core.orders().is_empty());
}

#[test]
fn reconciliation_books_what_the_broker_holds_and_flags_it() {
    let mut core = core();
    let mut out = Vec::new();
    let held = |quantity: Decimal, average: Decimal| BrokerPosition {
        symbol: "SPY".into(),
        quantity,
        average_price: average,
        market_price: dec!(610),
    };
    // Flat here, 10 long there (a trade made in the broker's own app).
    assert_eq!(core.reconcile_positions(&[held(dec!(10), dec!(600))], at(14, 30), &mut out), ["SPY"]);
    let book = core.ledger().book("SPY").unwrap();
    assert_eq!((book.quantity(), book.average_price()), (dec!(10), Some(dec!(600))));
    assert!(book.lots().all(|l| l.reconciled));
    assert!(out.iter().any(|e| matches!(e, Effect::Audit { event: "position_mismatch", .. })));
    assert!(out.iter().any(|e| matches!(e, Effect::Emit(EngineEvent::PositionMismatch { .. }))));
    // The broker now holds 16 at an average of 605: six more, priced so the averages agree.
    out.clear();
    core.reconcile_positions(&[held(dec!(16), dec!(605))], at(14, 31), &mut out);
    let book = core.ledger().book("SPY").unwrap();
    assert_eq!((book.quantity(), book.average_price()), (dec!(16), Some(dec!(605))));
    // Agreeing books: nothing to do.
    out.clear();
    assert!(core.reconcile_positions(&[held(dec!(16), dec!(605))], at(14, 32), &mut out).is_empty());
    assert!(out.is_empty());
    // Liquidated at the broker: closed at the market (the last close), every round trip flagged.
    let spy = core.symbol_index("SPY").unwrap();
    let p = dec!(610);
    core.warm_up(spy, &Bar { time: at(14, 32), open: p, high: p, low: p, close: p, volume: dec!(100) }).unwrap();
    core.reconcile_positions(&[], at(14, 33), &mut out);
    let trips = round_trips(&out);
    assert_eq!(trips.iter().map(|t| t.quantity).sum::<Decimal>(), dec!(16));
    assert!(trips.iter().all(|t| t.reconciled && t.exit_price == dec!(610)));
    assert!(core.ledger().book("SPY").unwrap().is_flat());
}

#[test]
fn the_kill_switch_cancels_working_orders_and_closes_what_the_ledger_holds() {
    let mut core = core();
    let mut out = Vec::new();
    core.reconcile_positions(
        &[BrokerPosition {
            symbol: "SPY".into(),
            quantity: dec!(-5),
            average_price: dec!(600),
            market_price: dec!(599),
        }],
        at(14, 30),
        &mut out,
    );
    let mut leg = entry("old-sl", at(14, 0));
    leg.intent = Intent::Exit;
    leg.order_type = OrderType::Stop;
    core.track(leg);
    out.clear();
    core.control(Control::Flatten, at(14, 40), "test", &mut out).unwrap();
    let cancels: Vec<_> = out
        .iter()
        .filter_map(|e| if let Effect::Cancel { client_order_id } = e { Some(client_order_id.as_str()) } else { None })
        .collect();
    assert_eq!(cancels, ["old-sl"]);
    let placed: Vec<_> =
        out.iter().filter_map(|e| if let Effect::Place { request, .. } = e { Some(request) } else { None }).collect();
    assert_eq!(placed.len(), 1);
    assert_eq!((placed[0].side(), placed[0].quantity(), placed[0].intent()), (Side::Buy, dec!(5), Intent::Exit));
    assert_eq!(core.risk_state().trading_state, noise_core::risk::TradingState::Halted);
    assert!(core.control(Control::Pause, at(14, 41), "test", &mut out).is_err(), "already paused");
}

#[test]
fn scheduled_jobs_fire_once_when_their_minute_begins() {
    let mut core = core();
    core.start(at(12, 0));
    let mut out = Vec::new();
    // 09:00 New York is 13:00 UTC on 2026-03-10 (daylight time): it runs
    // when the minute closing at 13:00 has been decided, once.
    core.close_minute(at(12, 59), &account(dec!(100000)), &mut out);
    core.begin_minute(at(12, 59), &mut out);
    assert!(!out.iter().any(|e| matches!(e, Effect::Audit { event: "daily_reset", .. })));
    core.close_minute(at(13, 0), &account(dec!(100000)), &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Audit { event: "daily_reset", .. })));
    core.begin_minute(at(13, 0), &mut out);
    core.close_minute(at(13, 1), &account(dec!(100000)), &mut out);
    let resets = out.iter().filter(|e| matches!(e, Effect::Audit { event: "daily_reset", .. })).count();
    let snapshots = out.iter().filter(|e| matches!(e, Effect::EquitySnapshot(_))).count();
    assert_eq!((resets, snapshots), (1, 1), "the 09:00 reset and the hourly snapshot");
}

#[test]
fn a_job_whose_time_came_in_a_gap_runs_before_the_next_minute() {
    let mut core = core();
    core.start(at(12, 0));
    let mut out = Vec::new();
    core.close_minute(at(12, 31), &account(dec!(100000)), &mut out);
    out.clear();
    // No minute closed between 12:31 and 13:30 (a gap in the data).
    core.begin_minute(at(13, 30), &mut out);
    assert!(out.iter().any(|e| matches!(e, Effect::Audit { event: "daily_reset", .. })));
}
