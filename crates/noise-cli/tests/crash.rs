//! Kill -9 at many moments of the trading cycle and restart: no order is
//! ever sent twice, none is forgotten, no fill is lost or booked twice, and
//! the database agrees with the broker (the simulated broker's own state
//! file) at the end: orders, fills, positions, and round trips that are
//! exactly what the stored fills give.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn run_args<'a>(db: &'a str, sim: &'a str) -> Vec<&'a str> {
    vec!["run", "--db", db, "--sim-state", sim, "--speed", "0"]
}

/// Starts `noise run`, waits until it has printed `events` event lines
/// (it is trading), then a little more, and kills it with SIGKILL.
fn kill_mid_cycle(db: &str, sim: &str, events: usize, extra_ms: u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args(run_args(db, sim))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("20") {
                seen += 1;
                if seen >= events {
                    break;
                }
            }
        }
    });
    reader.join().unwrap();
    std::thread::sleep(Duration::from_millis(extra_ms));
    child.kill().unwrap(); // SIGKILL: no clean-up code runs
    child.wait().unwrap();
}

#[test]
fn kill_dash_nine_never_duplicates_or_loses_an_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sim) = (dir.path().join("noise.db"), dir.path().join("sim.json"));
    let (db_s, sim_s) = (db.to_str().unwrap(), sim.to_str().unwrap());
    // Kill points spread over the cycle: after a few events, after many, with
    // and without a pause (mid-write, between minutes, inside a broker call).
    // Twelve kill points: inside the write-ahead commit, between it and the
    // broker call, inside a broker call, between minutes.
    for (round, (events, extra)) in
        [(3, 0), (10, 7), (25, 0), (6, 23), (40, 2), (15, 0), (60, 11), (8, 1), (33, 4), (12, 17), (50, 0), (20, 3)]
            .into_iter()
            .enumerate()
    {
        kill_mid_cycle(db_s, sim_s, events, extra);
        assert!(sim.exists() || round == 0, "the broker state file exists after round {round}");
    }
    // A clean run reconciles and trades on.
    let mut args = run_args(db_s, sim_s);
    args.extend(["--minutes", "15"]);
    let out = Command::new(env!("CARGO_BIN_EXE_noise")).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    verify(&db, &sim);
}

fn verify(db: &Path, sim: &Path) {
    let broker: serde_json::Value = serde_json::from_slice(&std::fs::read(sim).unwrap()).unwrap();
    let broker_orders = broker["orders"].as_object().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    type Pairs = Vec<(String, String)>;
    let (rows, positions): (Pairs, Pairs) = runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let rows = sqlx::query_as("SELECT client_order_id, status FROM trades").fetch_all(&pool).await.unwrap();
        let positions = sqlx::query_as("SELECT symbol, quantity FROM positions").fetch_all(&pool).await.unwrap();
        (rows, positions)
    });
    assert!(broker_orders.len() > 10, "the runs traded: {} broker orders", broker_orders.len());

    // Every order the broker holds is in the database exactly once (the
    // UNIQUE client order id makes "at most once" a database guarantee).
    for coid in broker_orders.keys() {
        let n = rows.iter().filter(|(id, _)| id == coid).count();
        assert_eq!(n, 1, "broker order {coid} appears {n} times in the database");
    }
    // Nothing forgotten: every database order reached the broker, or was
    // explicitly cancelled by reconciliation as never sent; no intent is left.
    for (coid, status) in &rows {
        match broker_orders.get(coid) {
            Some(order) => {
                let theirs = order["state"]["status"].as_str().unwrap();
                assert_eq!(status, theirs, "{coid}: database says {status}, broker says {theirs}");
            }
            None => assert_eq!(status, "cancelled", "{coid} never reached the broker yet is {status}"),
        }
    }
    // One entry order per symbol and minute, ever: no duplicate sends.
    let mut entries: Vec<&String> =
        broker_orders.keys().filter(|k| !k.ends_with("-sl") && !k.ends_with("-tp")).collect();
    let before = entries.len();
    entries.dedup();
    assert_eq!(before, entries.len());
    verify_fills_and_round_trips(db, &broker, &runtime);
    // Positions agree with the broker's.
    let theirs: std::collections::BTreeMap<String, String> = broker["positions"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(s, p)| (s.clone(), p["quantity"].as_str().unwrap().to_string()))
        .collect();
    let ours: std::collections::BTreeMap<String, String> = positions.into_iter().collect();
    let normalize = |m: &std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
        m.iter().map(|(s, q)| (s.clone(), q.parse::<f64>().unwrap().to_string())).collect()
    };
    assert_eq!(normalize(&ours), normalize(&theirs), "positions differ from the broker's");
}

/// Every execution the broker made for our orders is stored exactly once,
/// with the broker's figures; every stored fill (but reconciliation's) is
/// one the broker made; each order's fills add up to what the broker says
/// filled; and the stored round trips are exactly those the stored fills
/// give (none lost, none doubled, after every restart).
fn verify_fills_and_round_trips(db: &Path, broker: &serde_json::Value, runtime: &tokio::runtime::Runtime) {
    use noise_core::ledger::{Applied, Ledger};
    use rust_decimal::Decimal;
    let (fills, trips, orders) = runtime.block_on(async {
        let store = noise_store::Store::open(db).await.unwrap();
        let mut conn = store.acquire().await.unwrap();
        let fills: Vec<_> =
            noise_store::fills::after(&mut conn, 0, u32::MAX).await.unwrap().into_iter().map(|r| r.fill).collect();
        let trips = noise_store::records::all_round_trips(&mut conn).await.unwrap();
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT client_order_id FROM trades").fetch_all(&mut *conn).await.unwrap();
        let ids: Vec<&str> = ids.iter().map(|(id,)| id.as_str()).collect();
        let orders = noise_store::trades::by_client_order_ids(&mut conn, &ids).await.unwrap();
        (fills, trips, orders)
    });
    let ours: std::collections::HashSet<&str> = orders.iter().map(|o| o.client_order_id.as_str()).collect();
    let at_broker: Vec<&serde_json::Value> = broker["fills"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["client_order_id"].as_str().is_some_and(|id| ours.contains(id)))
        .collect();
    assert!(at_broker.len() > 10, "the runs filled orders: {}", at_broker.len());
    let d = |v: &serde_json::Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
    for theirs in &at_broker {
        let id = theirs["fill_id"].as_str().unwrap();
        let stored: Vec<_> = fills.iter().filter(|f| f.fill_id == id).collect();
        assert_eq!(stored.len(), 1, "broker fill {id} is stored {} times", stored.len());
        let f = stored[0];
        assert_eq!(
            (f.quantity, f.price, f.fee),
            (d(&theirs["quantity"]), d(&theirs["price"]), d(&theirs["fee"])),
            "{id}"
        );
    }
    for f in fills.iter().filter(|f| !f.reconciled) {
        assert!(
            at_broker.iter().any(|b| b["fill_id"] == f.fill_id.as_str()),
            "stored fill {} is not the broker's",
            f.fill_id
        );
    }
    for order in &orders {
        let booked: Decimal = fills
            .iter()
            .filter(|f| f.client_order_id.as_deref() == Some(order.client_order_id.as_str()))
            .map(|f| f.quantity)
            .sum();
        assert_eq!(booked, order.filled_quantity, "{}: fills booked vs filled at the broker", order.client_order_id);
    }
    let instruments = noise_core::config::NoiseConfig::default().instruments;
    let mut ledger = Ledger::new();
    let mut rebuilt = Vec::new();
    for fill in &fills {
        let instrument = instruments.iter().find(|i| i.symbol == fill.symbol).unwrap();
        if let Applied::Booked { round_trips } = ledger.apply(fill, instrument).unwrap() {
            rebuilt.extend(round_trips);
        }
    }
    assert!(!trips.is_empty());
    assert_eq!(rebuilt, trips, "the stored round trips are exactly the stored fills' round trips");
}

/// Ctrl-C (SIGINT) finishes the current minute and exits cleanly, and a
/// short run leaves every kind of record in the database.
#[test]
fn ctrl_c_stops_cleanly_and_the_database_holds_the_whole_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (db, sim) = (dir.path().join("noise.db"), dir.path().join("sim.json"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args(run_args(db.to_str().unwrap(), sim.to_str().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // Trade until the first round trips have closed and an hour has passed.
    let (mut closed, mut equity) = (0, 0);
    for line in lines.by_ref() {
        let line = line.unwrap();
        closed += usize::from(line.contains(" CLOSED "));
        equity += usize::from(line.contains(" EQUITY "));
        if closed >= 3 && equity >= 2 {
            break;
        }
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(rest.iter().any(|l| l.starts_with("stopped after")), "no clean stop line: {:?}", rest.last());

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
                n
            }
        };
        assert!(count("SELECT COUNT(*) FROM signals WHERE status = 'signal'").await > 0);
        assert!(count("SELECT COUNT(*) FROM signals WHERE status = 'rejected'").await > 0);
        assert!(count("SELECT COUNT(*) FROM audit_log WHERE event_type = 'risk_decision'").await > 0);
        assert!(count("SELECT COUNT(*) FROM trades WHERE status = 'filled'").await > 0);
        assert!(count("SELECT COUNT(*) FROM trade_history").await >= 3);
        assert!(count("SELECT COUNT(*) FROM equity_curve").await >= 2);
        assert!(count("SELECT COUNT(*) FROM risk_state").await == 1);
        for event in [
            "config_loaded",
            "engine_started",
            "reconciliation",
            "signal_generated",
            "order_intent",
            "order_placed",
            "order_filled",
            "position_closed",
            "engine_stopped",
        ] {
            let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE event_type = ?")
                .bind(event)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert!(n.0 > 0, "no {event} audit event");
        }
    });
}

/// The engine replaying a file acts on exactly the signals `noise signals`
/// finds in it: one code path, live or offline.
#[test]
fn replay_trades_on_the_same_signals_as_the_offline_tool() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/spy-1m.csv");
    let (db, sim) = (dir.path().join("noise.db"), dir.path().join("sim.json"));
    let mut args = run_args(db.to_str().unwrap(), sim.to_str().unwrap());
    args.extend(["--replay", sample.to_str().unwrap()]);
    let run = Command::new(env!("CARGO_BIN_EXE_noise")).args(&args).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let engine_signals: Vec<&str> = stdout.lines().filter(|l| l.contains(" SIGNAL ")).collect();

    let offline = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args(["signals", "--input", sample.to_str().unwrap(), "--symbol", "SPY"])
        .output()
        .unwrap();
    let offline = String::from_utf8_lossy(&offline.stdout);
    let tool_signals: Vec<&str> = offline.lines().filter(|l| l.contains(" SIGNAL ")).collect();
    assert_eq!(engine_signals.len(), tool_signals.len());
    // Same instants, symbols and directions, in order ("<time> SIGNAL <symbol> <direction> ...").
    let keys = |lines: &[&str]| -> Vec<String> {
        lines.iter().map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" ")).collect()
    };
    assert_eq!(keys(&engine_signals), keys(&tool_signals));
    assert!(stdout.contains(" FILL "), "the replay traded");
}
