//! The store against real SQLite files.

use chrono::{TimeZone, Utc};
use noise_core::order::OrderStatus;
use noise_core::risk::RiskState;
use noise_store::records::{ClosedTradeRow, EquitySnapshot};
use noise_store::trades::NewOrder;
use noise_store::{MIGRATIONS, Store, StoreError, audit, positions, records, risk_state, trades};
use rust_decimal::Decimal;

fn at(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 14, minute, 0).unwrap()
}

fn order(id: &str) -> NewOrder {
    NewOrder {
        client_order_id: id.into(),
        broker: "sim".into(),
        symbol: "SPY".into(),
        side: "BUY".into(),
        intent: "entry".into(),
        quantity: "83".parse().unwrap(),
        order_type: "market".into(),
        limit_price: None,
        stop_loss: Some("598.17".parse().unwrap()),
        take_profit: Some("603.05".parse().unwrap()),
        signal_id: None,
        risk_decision: Some("{\"verdict\":\"REDUCE\"}".into()),
        created_at: at(1),
    }
}

#[tokio::test]
async fn migrations_are_applied_once_recorded_and_wal_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("var/noise.db");
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), MIGRATIONS.last().unwrap().version);
    assert!(store.migrate().await.unwrap().is_empty(), "a second run applies nothing");
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode, "wal");
    let recorded: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, name FROM migrations").fetch_all(store.pool()).await.unwrap();
    let names: Vec<(i64, &str)> = recorded.iter().map(|(v, n)| (*v, n.as_str())).collect();
    assert_eq!(
        names,
        [(1, "initial"), (2, "audit_triggers"), (3, "backtests"), (4, "list_indexes"), (5, "symbol_indexes")]
    );
}

#[tokio::test]
async fn a_backtest_run_and_its_trades_round_trip() {
    use noise_store::backtests::{self, BacktestRun, BacktestTrade};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let run = BacktestRun {
        created_at: at("2026-11-25T18:00:00Z"),
        data_source: "spy-1m.csv".into(),
        symbols: "SPY".into(),
        strategy: "sma-cross --fast 10 --slow 30".into(),
        options: "{}".into(),
        period_start: at("2026-03-02T14:30:00Z"),
        period_end: at("2026-03-06T20:59:00Z"),
        bars: 1950,
        elapsed_ms: 1.5,
        starting_equity: "100000".parse().unwrap(),
        final_equity: "100123.45".parse().unwrap(),
        metrics: "{\"trades\":2}".into(),
        equity_curve: "[]".into(),
        open_positions: "[]".into(),
    };
    let trade = |pnl: &str| BacktestTrade {
        symbol: "SPY".into(),
        side: "LONG".into(),
        quantity: "100".parse().unwrap(),
        entry_time: at("2026-03-02T15:00:00Z"),
        entry_price: "600.01".parse().unwrap(),
        exit_time: at("2026-03-02T15:30:00Z"),
        exit_price: "601.25".parse().unwrap(),
        pnl: pnl.parse().unwrap(),
        fees: "0".parse().unwrap(),
    };
    let trades = [trade("124"), trade("-0.5")];
    let mut tx = store.begin().await.unwrap();
    let id = backtests::insert(&mut tx, &run, &trades).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let recent = backtests::recent(&mut conn, 10).await.unwrap();
    assert_eq!(recent, vec![(id, run.clone())]);
    assert_eq!(backtests::one(&mut conn, id).await.unwrap(), Some((id, run)));
    assert_eq!(backtests::one(&mut conn, id + 1).await.unwrap(), None);
    assert_eq!(backtests::trades(&mut conn, id, 10, 0).await.unwrap(), trades);
    assert_eq!(backtests::trades(&mut conn, id, 10, 1).await.unwrap(), trades[1..]);
}

#[tokio::test]
async fn a_database_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.db");
    let store = Store::open(&path).await.unwrap();
    sqlx::query("INSERT INTO migrations (version, name, checksum, applied_at) VALUES (99, 'future', 'x', 'now')")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let err = Store::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::NewerThanBinary { database: 99, .. }), "{err}");
    assert!(err.to_string().contains("newer than this binary"), "{err}");
}

#[tokio::test]
async fn the_audit_log_refuses_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let id = audit::append(&mut conn, at(1), "config_loaded", "engine", &serde_json::json!({"mode": "paper"}))
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE id = ?").bind(id).execute(&mut *conn).await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_log").execute(&mut *conn).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    let entries = audit::recent(&mut conn, Some("config_loaded"), 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "engine");
    assert_eq!(entries[0].details["mode"], "paper");
}

#[tokio::test]
async fn an_intent_and_its_audit_event_commit_together_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();

    // Rolled back: neither the order nor the event the trigger wrote remains.
    {
        let mut tx = store.begin().await.unwrap();
        trades::insert_intent(&mut tx, &order("c-1")).await.unwrap();
        drop(tx);
    }
    let mut conn = store.pool().acquire().await.unwrap();
    assert!(trades::by_client_order_id(&mut conn, "c-1").await.unwrap().is_none());
    assert!(audit::recent(&mut conn, None, 10).await.unwrap().is_empty());
    drop(conn);

    // Committed: both, the event written by the database itself.
    let mut tx = store.begin().await.unwrap();
    trades::insert_intent(&mut tx, &order("c-1")).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let row = trades::by_client_order_id(&mut conn, "c-1").await.unwrap().unwrap();
    assert_eq!(row.status, OrderStatus::Intent);
    assert_eq!(row.quantity, Decimal::from(83));
    assert_eq!(row.stop_loss, Some("598.17".parse().unwrap()));
    let events = audit::recent(&mut conn, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "order_intent");
    assert_eq!(events[0].details["client_order_id"], "c-1");
    assert_eq!(events[0].details["quantity"], "83");

    // The same client order id can never be written twice.
    assert!(trades::insert_intent(&mut conn, &order("c-1")).await.is_err());
}

#[tokio::test]
async fn every_order_status_change_is_audited_once_and_no_op_updates_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    trades::insert_intent(&mut conn, &order("c-2")).await.unwrap();
    let mut leg = order("c-2-sl");
    leg.risk_decision = None;
    trades::insert_intent(&mut conn, &leg).await.unwrap();
    let zero = Decimal::ZERO;
    let price = Some("600.01".parse().unwrap());
    let steps = [
        (OrderStatus::Submitted, zero, None),
        (OrderStatus::Submitted, zero, None), // unchanged: no event
        (OrderStatus::PartiallyFilled, Decimal::from(40), price),
        (OrderStatus::Filled, Decimal::from(83), price),
    ];
    for (status, filled, fill_price) in steps {
        trades::update_status(&mut conn, "c-2", status, Some("B-2"), filled, fill_price, zero, None, at(2))
            .await
            .unwrap();
    }
    trades::update_status(&mut conn, "c-2-sl", OrderStatus::Cancelled, None, zero, None, zero, Some("oco"), at(3))
        .await
        .unwrap();
    let mut kinds: Vec<String> =
        audit::recent(&mut conn, None, 20).await.unwrap().into_iter().map(|e| e.event_type).collect();
    kinds.reverse();
    assert_eq!(
        kinds,
        ["order_intent", "bracket_leg", "order_placed", "order_filled", "order_filled", "order_cancelled"]
    );
    let cancelled = &audit::recent(&mut conn, Some("order_cancelled"), 1).await.unwrap()[0];
    assert_eq!(cancelled.details["previous_status"], "intent");
    assert_eq!(cancelled.details["error"], "oco");
}

#[tokio::test]
async fn orders_follow_the_broker_and_leave_the_open_list_when_final() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    trades::insert_intent(&mut conn, &order("a")).await.unwrap();
    trades::insert_intent(&mut conn, &order("b")).await.unwrap();
    let price = Some("600.013".parse().unwrap());
    trades::update_status(
        &mut conn,
        "a",
        OrderStatus::PartiallyFilled,
        Some("B-1"),
        "40".parse().unwrap(),
        price,
        "0.2".parse().unwrap(),
        None,
        at(2),
    )
    .await
    .unwrap();
    trades::update_status(
        &mut conn,
        "b",
        OrderStatus::Rejected,
        None,
        Decimal::ZERO,
        None,
        Decimal::ZERO,
        Some("insufficient funds"),
        at(2),
    )
    .await
    .unwrap();
    let open = trades::open_orders(&mut conn).await.unwrap();
    assert_eq!(open.iter().map(|o| o.client_order_id.as_str()).collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(open[0].broker_order_id.as_deref(), Some("B-1"));
    assert_eq!(open[0].average_fill_price, price, "decimals are exact");
    let b = trades::by_client_order_id(&mut conn, "b").await.unwrap().unwrap();
    assert_eq!((b.status, b.error.as_deref()), (OrderStatus::Rejected, Some("insufficient funds")));
}

#[tokio::test]
async fn positions_risk_state_history_and_equity_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();

    let mut p = positions::PositionRow {
        symbol: "MNQ".into(),
        broker: "sim".into(),
        quantity: "-2".parse().unwrap(),
        average_price: "21000.25".parse().unwrap(),
        opened_at: at(1),
        updated_at: at(1),
    };
    positions::upsert(&mut conn, &p).await.unwrap();
    assert_eq!(positions::all(&mut conn).await.unwrap(), vec![p.clone()]);
    p.quantity = Decimal::ZERO;
    positions::upsert(&mut conn, &p).await.unwrap();
    assert!(positions::all(&mut conn).await.unwrap().is_empty(), "a flat position is removed");

    let mut state = RiskState::new("100000".parse().unwrap());
    state.losses_in_a_row = 2;
    risk_state::save(&mut conn, &state, at(3)).await.unwrap();
    risk_state::save(&mut conn, &state, at(4)).await.unwrap();
    assert_eq!(risk_state::load(&mut conn).await.unwrap(), Some(state));
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM risk_state").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(rows, 1, "one row, ever");

    let closed = ClosedTradeRow {
        symbol: "SPY".into(),
        side: "LONG".into(),
        quantity: "83".parse().unwrap(),
        entry_price: "600.01".parse().unwrap(),
        exit_price: "603.05".parse().unwrap(),
        entry_time: at(1),
        exit_time: at(30),
        realized_pnl: "251.62".parse().unwrap(),
        fees: "0.70".parse().unwrap(),
    };
    records::insert_closed_trade(&mut conn, &closed).await.unwrap();
    assert_eq!(records::closed_trades(&mut conn, 10).await.unwrap(), vec![closed]);

    for (minute, equity) in [(0, "100000"), (59, "100251.62")] {
        let snap = EquitySnapshot {
            time: at(minute),
            equity: equity.parse().unwrap(),
            cash: equity.parse().unwrap(),
            unrealized_pnl: Decimal::ZERO,
        };
        records::insert_equity(&mut conn, &snap).await.unwrap();
    }
    let curve = records::equity_curve(&mut conn, 10).await.unwrap();
    assert_eq!(curve.iter().map(|s| s.equity.to_string()).collect::<Vec<_>>(), vec!["100000", "100251.62"]);
}

/// The engine's transactions read, then write; the API meanwhile appends
/// audit events (a refused token). The writer that comes second must wait
/// its turn, never fail with "database is locked" (which stopped the engine).
#[tokio::test]
async fn a_write_from_another_connection_waits_for_a_transaction_that_read_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let before = audit::recent(&mut tx, None, 10).await.unwrap().len();
    let other = store.clone();
    let api = tokio::spawn(async move {
        let mut conn = other.pool().acquire().await.unwrap();
        audit::append(&mut conn, at(2), "auth_failed", "api", &serde_json::json!({"reason": "wrong bearer token"}))
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    audit::append(&mut tx, at(3), "engine_write", "engine", &serde_json::json!({})).await.expect("the engine writes");
    tx.commit().await.unwrap();
    api.await.unwrap().expect("the API's write waited, then succeeded");
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(audit::recent(&mut conn, None, 10).await.unwrap().len(), before + 2);
}
