//! The store against real SQLite files.

use chrono::{TimeZone, Utc};
use noise_core::instrument::{BrokerKind, Instrument};
use noise_core::ledger::{Applied, Fill, Ledger};
use noise_core::order::{OrderStatus, OrderType};
use noise_core::risk::{Intent, RiskState, Side};
use noise_store::records::EquitySnapshot;
use noise_store::trades::NewOrder;
use noise_store::{MIGRATIONS, Store, StoreError, audit, positions, records, risk_state, trades};
use rust_decimal::Decimal;

fn at(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 14, minute, 0).unwrap()
}

fn order(id: &str) -> NewOrder {
    NewOrder {
        client_order_id: id.into(),
        broker: BrokerKind::Sim,
        symbol: "SPY".into(),
        side: Side::Buy,
        intent: Intent::Entry,
        quantity: "83".parse().unwrap(),
        order_type: OrderType::Market,
        limit_price: None,
        stop_loss: Some("598.17".parse().unwrap()),
        take_profit: Some("603.05".parse().unwrap()),
        parent: None,
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
        [
            (1, "initial"),
            (2, "audit_triggers"),
            (3, "backtests"),
            (4, "list_indexes"),
            (5, "symbol_indexes"),
            (6, "ledger"),
            (7, "signal_risk")
        ]
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
        trades::update_status(
            &mut conn,
            "c-2",
            status,
            Some("B-2"),
            Decimal::from(83),
            filled,
            fill_price,
            zero,
            None,
            at(2),
        )
        .await
        .unwrap();
    }
    let q = Decimal::from(83);
    trades::update_status(&mut conn, "c-2-sl", OrderStatus::Cancelled, None, q, zero, None, zero, Some("oco"), at(3))
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
        "83".parse().unwrap(),
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
        "83".parse().unwrap(),
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

    // A position and its lots, as the ledger's book holds them; a flat book removes both.
    let mnq = Instrument::defaults().into_iter().find(|i| i.symbol == "MNQ").unwrap();
    let mut ledger = Ledger::new();
    ledger.apply(&fill("F1", "MNQ", Side::Sell, "2", "21000.25", 1), &mnq).unwrap();
    ledger.apply(&fill("F2", "MNQ", Side::Sell, "1", "21001.00", 2), &mnq).unwrap();
    let written =
        positions::write_book(&mut conn, "MNQ", BrokerKind::Sim, ledger.book("MNQ"), &Default::default(), at(2))
            .await
            .unwrap();
    let held = positions::all(&mut conn).await.unwrap();
    assert_eq!(
        (held[0].quantity, held[0].average_price, held[0].opened_at),
        ("-3".parse().unwrap(), "21000.5".parse().unwrap(), at(1))
    );
    let lots: Vec<_> = positions::lots(&mut conn).await.unwrap().into_iter().map(|(_, l)| l).collect();
    assert_eq!(lots, ledger.book("MNQ").unwrap().lots().cloned().collect::<Vec<_>>(), "lots read back exactly");
    // A partial exit shrinks the oldest lot; only it is rewritten.
    ledger.apply(&fill("F3", "MNQ", Side::Buy, "1", "20990", 3), &mnq).unwrap();
    let written =
        positions::write_book(&mut conn, "MNQ", BrokerKind::Sim, ledger.book("MNQ"), &written, at(3)).await.unwrap();
    let lots: Vec<_> = positions::lots(&mut conn).await.unwrap().into_iter().map(|(_, l)| l).collect();
    assert_eq!(lots, ledger.book("MNQ").unwrap().lots().cloned().collect::<Vec<_>>());
    assert_eq!(positions::written_lots(&mut conn).await.unwrap()["MNQ"], written, "what was written reads back");
    ledger.apply(&fill("F4", "MNQ", Side::Buy, "2", "20990", 4), &mnq).unwrap();
    positions::write_book(&mut conn, "MNQ", BrokerKind::Sim, ledger.book("MNQ"), &written, at(4)).await.unwrap();
    assert!(positions::all(&mut conn).await.unwrap().is_empty(), "a flat position is removed");
    assert!(positions::lots(&mut conn).await.unwrap().is_empty());

    let mut state = RiskState::new("100000".parse().unwrap());
    state.losses_in_a_row = 2;
    risk_state::save(&mut conn, &state, at(3)).await.unwrap();
    risk_state::save(&mut conn, &state, at(4)).await.unwrap();
    assert_eq!(risk_state::load(&mut conn).await.unwrap(), Some(state));
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM risk_state").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(rows, 1, "one row, ever");

    let spy = Instrument::generic_equity("SPY");
    let mut ledger = Ledger::new();
    ledger.apply(&fill("S1", "SPY", Side::Buy, "83", "600.01", 1), &spy).unwrap();
    let Applied::Booked { round_trips } =
        ledger.apply(&fill("S2", "SPY", Side::Sell, "83", "603.05", 30), &spy).unwrap()
    else {
        panic!("a new fill")
    };
    records::insert_round_trip(&mut conn, &round_trips[0]).await.unwrap();
    assert_eq!(records::round_trips(&mut conn, 10).await.unwrap(), round_trips, "a round trip reads back exactly");
    assert_eq!(round_trips[0].net_pnl, "252.30".parse::<Decimal>().unwrap());

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

fn fill(id: &str, symbol: &str, side: Side, quantity: &str, price: &str, minute: u32) -> Fill {
    Fill {
        broker: BrokerKind::Sim,
        fill_id: id.into(),
        client_order_id: Some(compact_str::format_compact!("order-{id}")),
        protects: None,
        symbol: symbol.into(),
        side,
        quantity: quantity.parse().unwrap(),
        price: price.parse().unwrap(),
        fee: "0.01".parse().unwrap(),
        time: at(minute),
        reconciled: false,
    }
}

/// A fill is recorded once per broker and id, read back exactly, in the
/// order recorded; the database refuses to change or remove one; each is audited.
#[tokio::test]
async fn fills_are_facts_recorded_once_and_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let first = fill("F1", "SPY", Side::Buy, "10", "600.125", 1);
    let mut reconciled = fill("R1", "SPY", Side::Sell, "4", "601", 2);
    reconciled.client_order_id = None;
    reconciled.reconciled = true;
    assert!(noise_store::fills::insert(&mut conn, &first, at(1)).await.unwrap());
    assert!(!noise_store::fills::insert(&mut conn, &first, at(5)).await.unwrap(), "the same broker and id: once");
    let mut other_broker = first.clone();
    other_broker.broker = BrokerKind::Alpaca;
    assert!(noise_store::fills::insert(&mut conn, &other_broker, at(1)).await.unwrap());
    assert!(noise_store::fills::insert(&mut conn, &reconciled, at(2)).await.unwrap());
    let rows = noise_store::fills::after(&mut conn, 0, 100).await.unwrap();
    let read: Vec<Fill> = rows.iter().map(|r| r.fill.clone()).collect();
    assert_eq!(read, vec![first.clone(), other_broker, reconciled]);
    assert_eq!(noise_store::fills::after(&mut conn, rows[0].id, 1).await.unwrap()[0].id, rows[1].id);
    for sql in ["UPDATE fills SET price = '1'", "DELETE FROM fills"] {
        let error = sqlx::query(sql).execute(&mut *conn).await.unwrap_err().to_string();
        assert!(error.contains("fills are facts"), "{error}");
    }
    let audited = audit::recent(&mut conn, None, 10).await.unwrap();
    let kinds: Vec<&str> = audited.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["fill_reconciled", "fill", "fill"]);
    let of_order = noise_store::fills::of_orders(&mut conn, &["order-F1"]).await.unwrap();
    assert_eq!(of_order.len(), 2, "both brokers' F1 belong to order-F1");
}

/// A database from before the ledger keeps its old round trips under
/// another name; its orders count as settled (their fills were never
/// reported one by one) and its legs know their entry.
#[tokio::test]
async fn a_database_from_before_the_ledger_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = Store::open_unmigrated(&path).await.unwrap();
    {
        let mut conn = old.pool().acquire().await.unwrap();
        sqlx::query("CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    // Apply migrations 1 to 5 by hand, as an older binary did.
    for m in &MIGRATIONS[..5] {
        let mut tx = old.pool().begin().await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql)).execute(&mut *tx).await.unwrap();
        sqlx::query("INSERT INTO migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, 'then')")
            .bind(m.version)
            .bind(m.name)
            .bind(noise_store::checksum_of(m.sql))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    {
        let mut conn = old.pool().acquire().await.unwrap();
        sqlx::query(
            "INSERT INTO trade_history (symbol, side, quantity, entry_price, exit_price, entry_time, exit_time, realized_pnl, fees, duration_seconds)
             VALUES ('SPY', 'LONG', '5', '100', '101', '2026-03-02T14:31:00.000Z', '2026-03-02T15:00:00.000Z', '5', '0', 1740)",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        for (id, status, filled) in [("noise-1-SPY", "filled", "5"), ("noise-1-SPY-sl", "cancelled", "0")] {
            sqlx::query(
                "INSERT INTO trades (client_order_id, broker, symbol, side, intent, quantity, order_type, status, filled_quantity, created_at, updated_at)
                 VALUES (?, 'sim', 'SPY', 'BUY', 'entry', '5', 'market', ?, ?, '2026-03-02T14:30:00.000Z',
                         '2026-03-02T14:31:00.000Z')",
            )
            .bind(id)
            .bind(status)
            .bind(filled)
            .execute(&mut *conn)
            .await
            .unwrap();
        }
    }
    old.close().await;
    let store = Store::open(&path).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let (kept,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM trade_history_before_ledger").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(kept, 1, "the old round trips are kept for reference");
    assert_eq!(records::round_trip_count(&mut conn).await.unwrap(), 0, "and not counted");
    assert!(trades::unsettled(&mut conn).await.unwrap().is_empty(), "old orders are settled");
    let leg = trades::by_client_order_id(&mut conn, "noise-1-SPY-sl").await.unwrap().unwrap();
    assert_eq!(leg.parent.as_deref(), Some("noise-1-SPY"));
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
