//! The API as a client meets it: a real server on loopback over a real
//! SQLite file, requests written as plain HTTP/1.1.

#[path = "support/fixtures.rs"]
mod fixtures;

use std::sync::Arc;

use noise_api::{ApiState, MAX_LIMIT, router};
use noise_store::Store;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "test-token-0123456789abcdef";

struct Server {
    addr: std::net::SocketAddr,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    start_with(None, None).await
}

async fn start_with(
    broker: Option<Arc<dyn noise_broker::BrokerAdapter>>,
    events: Option<tokio::sync::broadcast::Sender<noise_api::StreamEvent>>,
) -> Server {
    start_limited(broker, events, 10_000).await
}

async fn start_limited(
    broker: Option<Arc<dyn noise_broker::BrokerAdapter>>,
    events: Option<tokio::sync::broadcast::Sender<noise_api::StreamEvent>>,
    per_second: u32,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut state = ApiState::new(store.clone(), TOKEN);
    state.broker = broker;
    state.events = events;
    state.cors_origins = vec!["http://localhost:5173".into()];
    state.max_body_bytes = 4096;
    state.limiter = noise_api::Limiter::per_second(per_second);
    let state = Arc::new(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, store, _dir: dir }
}

/// (status, JSON body) of `GET path`, with `token` as the bearer when given.
async fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    send(server, "GET", path, token).await
}

/// (status, JSON body) of a bodiless `method path`.
async fn send(server: &Server, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Every documented route as (method, concrete path), plus one that does not exist.
fn every_route() -> Vec<(String, String)> {
    let doc = noise_api::openapi();
    let mut routes: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().keys().map(move |method| (method.to_uppercase(), path.replace("{id}", "1")))
        })
        .collect();
    routes.push(("GET".into(), "/api/no-such-thing".into()));
    routes
}

#[tokio::test]
async fn every_api_route_refuses_a_missing_or_wrong_token_and_audits_it() {
    let server = start().await;
    let routes = every_route();
    assert!(routes.len() >= 22, "{routes:?}");
    for (method, path) in &routes {
        for token in [None, Some("wrong"), Some("test-token-0123456789abcdeF")] {
            let (status, body) = send(&server, method, path, token).await;
            assert_eq!(status, 401, "{method} {path} {token:?}");
            assert_eq!(body["error"]["code"], "unauthorized", "{path}");
        }
    }
    let mut conn = server.store.pool().acquire().await.unwrap();
    let refused = noise_store::audit::recent(&mut conn, Some("auth_failed"), 1000).await.unwrap();
    assert_eq!(refused.len(), 3 * routes.len());
    assert!(refused.iter().all(|e| !e.details.to_string().contains("test-token")), "the token is never recorded");
    assert_eq!(refused[0].details["reason"], "wrong bearer token");
    // /healthz alone is open, and says only that the process is alive.
    assert_eq!(get(&server, "/healthz", None).await, (200, serde_json::json!({"status": "alive"})));
}

#[tokio::test]
async fn status_is_the_seeds_health_document() {
    let server = start().await;
    let (status, body) = get(&server, "/api/status", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["database"], "connected");
    assert_eq!(body["circuitBreaker"], "off");
    assert_eq!(body["lastSignalTime"], Value::Null);
    assert_eq!(body["mode"], "paper");
    assert!(body["version"].is_string());
}

#[tokio::test]
async fn the_audit_log_pages_with_a_cursor_and_a_hard_limit() {
    let server = start().await;
    let mut conn = server.store.pool().acquire().await.unwrap();
    for i in 0..25 {
        noise_store::audit::append(&mut conn, chrono::Utc::now(), "test_event", "test", &serde_json::json!({"i": i}))
            .await
            .unwrap();
    }
    drop(conn);
    let (status, first) = get(&server, "/api/audit?event_type=test_event&limit=10", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert_eq!(items[0]["details"]["i"], 24, "newest first");
    let before = first["next_before"].as_i64().unwrap();
    let (_, second) =
        get(&server, &format!("/api/audit?event_type=test_event&limit=10&before={before}"), Some(TOKEN)).await;
    assert_eq!(second["items"][0]["details"]["i"], 14);
    let (_, last) = get(&server, "/api/audit?event_type=test_event&limit=10&before=6", Some(TOKEN)).await;
    assert_eq!(last["next_before"], Value::Null);
    for (query, field) in [
        (format!("limit={}", MAX_LIMIT + 1), "limit"),
        ("limit=0".to_string(), "limit"),
        ("limit=ten".to_string(), "limit"),
        ("before=yesterday".to_string(), "before"),
    ] {
        let (status, body) = get(&server, &format!("/api/audit?{query}"), Some(TOKEN)).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn stored_backtests_are_listed_with_their_curves_and_trades() {
    let server = start().await;
    let id = fixtures::store_backtest(&server.store, &["124", "-1", "3"]).await;

    let (status, list) = get(&server, "/api/metrics/backtests", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["metrics"]["sharpe"], 1.5);
    assert_eq!(list["items"][0]["final_equity"], "101234.5");
    let (_, one) = get(&server, &format!("/api/metrics/backtests/{id}"), Some(TOKEN)).await;
    assert_eq!(one["equity_curve"][0][1], "100000");
    assert_eq!(one["options"]["settings"], "risk off");
    let (_, page) = get(&server, &format!("/api/metrics/backtests/{id}/trades?limit=2"), Some(TOKEN)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_offset"], 2);
    let (_, rest) = get(&server, &format!("/api/metrics/backtests/{id}/trades?limit=2&offset=2"), Some(TOKEN)).await;
    assert_eq!(rest["items"][0]["pnl"], "3");
    assert_eq!(rest["next_offset"], Value::Null);
    for path in ["/api/metrics/backtests/99", "/api/metrics/backtests/99/trades", "/api/nothing-here"] {
        let (status, body) = get(&server, path, Some(TOKEN)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (status, body) = get(&server, "/api/metrics/backtests/abc", Some(TOKEN)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("id")));
}

#[tokio::test]
async fn trades_and_signals_filter_and_page() {
    let server = start().await;
    let at = |m: i64| {
        chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::TimeDelta::days(20_500) + chrono::TimeDelta::minutes(m)
    };
    let mut conn = server.store.pool().acquire().await.unwrap();
    for i in 0..30i64 {
        let symbol = if i % 3 == 0 { "MNQ" } else { "SPY" };
        let row = round_trip(symbol, i + 1, at(i), at(i + 1));
        noise_store::records::insert_round_trip(&mut conn, &row).await.unwrap();
        sqlx::query(
            "INSERT INTO signals (time, symbol, timeframe, direction, strength, entry, stop_loss, take_profit, status,
                                  reason, regime, components, filters)
             VALUES (?, ?, '1m', 'LONG', 0.7, '100', '99', '102', ?, NULL, '{}', '[]', '[]')",
        )
        .bind(at(i).to_rfc3339())
        .bind(symbol)
        .bind(if i % 2 == 0 { "signal" } else { "rejected" })
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    drop(conn);
    let (status, spy) = get(&server, "/api/trades?symbol=spy&limit=5", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let items = spy["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|t| t["symbol"] == "SPY"));
    assert_eq!(items[0]["net_pnl"], "30", "newest first");
    let before = spy["next_before"].as_i64().unwrap();
    let (_, next) = get(&server, &format!("/api/trades?symbol=SPY&limit=5&before={before}"), Some(TOKEN)).await;
    assert!(next["items"][0]["id"].as_i64().unwrap() < before);
    let from = at(10).format("%Y-%m-%dT%H:%M:%SZ");
    let to = at(20).format("%Y-%m-%dT%H:%M:%SZ");
    let (_, window) = get(&server, &format!("/api/trades?from={from}&to={to}&limit=100"), Some(TOKEN)).await;
    assert_eq!(window["items"].as_array().unwrap().len(), 10, "exits from minute 10 up to, not including, 20");
    assert_eq!(window["next_before"], Value::Null);
    // A page read again is the same until a newer trade closes; then the new one leads.
    assert_eq!(get(&server, "/api/trades?symbol=spy&limit=5", Some(TOKEN)).await.1, spy);
    let mut conn = server.store.pool().acquire().await.unwrap();
    let mut newer = noise_store::records::round_trips(&mut conn, 1).await.unwrap().remove(0);
    newer.symbol = "SPY".into();
    newer.net_pnl = "-7.5".parse().unwrap();
    noise_store::records::insert_round_trip(&mut conn, &newer).await.unwrap();
    drop(conn);
    let (_, fresh) = get(&server, "/api/trades?symbol=spy&limit=5", Some(TOKEN)).await;
    assert_eq!(fresh["items"][0]["net_pnl"], "-7.5");
    assert_eq!(fresh["items"][1], spy["items"][0]);
    let (_, rejected) = get(&server, "/api/signals?status=rejected&symbol=MNQ&limit=100", Some(TOKEN)).await;
    let rejected = rejected["items"].as_array().unwrap();
    assert_eq!(rejected.len(), 5);
    assert!(rejected.iter().all(|s| s["status"] == "rejected" && s["symbol"] == "MNQ"));
    for (path, field) in [
        ("/api/trades?from=yesterday", "from"),
        ("/api/trades?to=2026-13-01", "to"),
        ("/api/signals?status=maybe", "status"),
        ("/api/signals?limit=5000", "limit"),
        ("/api/metrics/daily?limit=-1", "limit"),
    ] {
        let (status, body) = get(&server, path, Some(TOKEN)).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some(field)), "{path}");
    }
    for path in ["/api/positions", "/api/risk/state", "/api/metrics/daily", "/api/metrics/equity"] {
        assert_eq!(get(&server, path, Some(TOKEN)).await.0, 200, "{path}");
    }
}

#[tokio::test]
async fn account_comes_from_the_broker_and_events_stream_as_they_happen() {
    let dir = tempfile::tempdir().unwrap();
    let config = noise_broker::sim::SimConfig::default();
    let sim = noise_broker::sim::SimBroker::open(
        &dir.path().join("sim.json"),
        config,
        &noise_core::instrument::Instrument::defaults(),
    )
    .unwrap();
    let (sender, _) = tokio::sync::broadcast::channel(16);
    let server = start_with(Some(Arc::new(sim)), Some(sender.clone())).await;
    let (status, account) = get(&server, "/api/account", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert_eq!(account["equity"], "100000");
    let (_, health) = get(&server, "/api/status", Some(TOKEN)).await;
    assert_eq!(health["brokers"]["sim"], "connected");

    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET /api/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    // Wait for the response head (the subscription exists once it is sent), then publish.
    while !seen.contains("text/event-stream") {
        let n = stream.read(&mut buffer).await.unwrap();
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    sender.send(noise_api::StreamEvent { kind: "fill", json: "{\"symbol\":\"SPY\"}".into() }).unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !seen.contains("data: {\"symbol\":\"SPY\"}") {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await.expect("the event arrives").unwrap();
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(seen.contains("event: fill"), "{seen}");
}

#[tokio::test]
async fn controls_need_a_running_engine() {
    let server = start().await;
    for path in ["/api/trading/pause", "/api/trading/resume", "/api/risk/reset-circuit-breaker", "/api/positions/sync"]
    {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 503"), "{path}: {text}");
        assert!(text.contains("\"code\":\"unavailable\""), "{path}: {text}");
    }
}

/// The raw response to `request`.
async fn raw(server: &Server, request: String) -> String {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).to_lowercase()
}

#[tokio::test]
async fn cors_allows_only_configured_origins_and_bodies_have_a_limit() {
    let server = start().await;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /api/status HTTP/1.1\r\nHost: localhost\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\n\
             Connection: close\r\n\r\n"
        )
    };
    let allowed = raw(&server, preflight("http://localhost:5173")).await;
    assert!(allowed.contains("access-control-allow-origin: http://localhost:5173"), "{allowed}");
    let refused = raw(&server, preflight("http://evil.example")).await;
    assert!(!refused.contains("access-control-allow-origin"), "{refused}");
    let body = "x".repeat(5000);
    let big = format!(
        "POST /api/trading/pause HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let refused = raw(&server, big).await;
    assert!(refused.starts_with("http/1.1 413"), "{refused}");
    assert!(refused.contains("\"code\":\"payload_too_large\""), "{refused}");
}

#[tokio::test]
async fn a_client_over_its_budget_gets_429_with_retry_after() {
    let server = start_limited(None, None, 2).await; // 2 a second, bursts of 4
    let request = format!(
        "GET /api/status HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = raw(&server, request.clone()).await;
        statuses.push(response[9..12].to_string());
        if response.starts_with("http/1.1 429") {
            assert!(response.contains("retry-after: 1"), "{response}");
            assert!(response.contains("\"code\":\"rate_limited\""), "{response}");
        }
    }
    assert_eq!(statuses[..4], ["200", "200", "200", "200"], "{statuses:?}");
    assert_eq!(statuses[4..], ["429", "429"], "{statuses:?}");
}

#[tokio::test]
async fn the_dashboard_is_served_from_its_folder_or_a_page_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let built = dir.path().join("dist");
    let mut state = ApiState::new(store.clone(), TOKEN);
    state.dashboard = Some(built.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(Arc::new(state)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let server = Server { addr, store, _dir: dir };
    let page =
        |path: &str| raw(&server, format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));

    let missing = page("/").await;
    assert!(missing.starts_with("http/1.1 503"), "{missing}");
    assert!(missing.contains("make dashboard") && missing.contains("npm run build"), "{missing}");

    std::fs::create_dir_all(built.join("assets")).unwrap();
    std::fs::write(built.join("index.html"), "<!doctype html><title>NOISE</title><div id=root></div>").unwrap();
    std::fs::write(built.join("assets/app.js"), "console.log('noise')").unwrap();
    let index = page("/").await;
    assert!(index.starts_with("http/1.1 200") && index.contains("<div id=root>"), "{index}");
    assert!(index.contains("content-type: text/html"), "{index}");
    let script = page("/assets/app.js").await;
    assert!(script.starts_with("http/1.1 200") && script.contains("text/javascript"), "{script}");
    assert!(page("/assets/none.js").await.starts_with("http/1.1 404"));
    // The files are open; the API behind them is not.
    assert!(page("/api/status").await.starts_with("http/1.1 401"));
}

/// A long round trip of `quantity` units, 100 to 101, as the ledger records one.
fn round_trip(
    symbol: &str,
    quantity: i64,
    entry: chrono::DateTime<chrono::Utc>,
    exit: chrono::DateTime<chrono::Utc>,
) -> noise_core::ledger::RoundTrip {
    let q = rust_decimal::Decimal::from(quantity);
    noise_core::ledger::RoundTrip {
        symbol: symbol.into(),
        asset_class: noise_core::instrument::AssetClass::Equity,
        side: noise_core::signal::Direction::Long,
        quantity: q,
        entry_time: entry,
        entry_price: "100".parse().unwrap(),
        exit_time: exit,
        exit_price: "101".parse().unwrap(),
        gross_pnl: q,
        fees: rust_decimal::Decimal::ZERO,
        net_pnl: q,
        broker: noise_core::instrument::BrokerKind::Sim,
        entry_fill_id: compact_str::format_compact!("in-{quantity}"),
        exit_fill_id: compact_str::format_compact!("out-{quantity}"),
        entry_order: None,
        exit_order: None,
        reconciled: false,
    }
}

/// A round trip opens to its fills: every part of its entry and exit
/// orders, the two it took its units from marked; and the fills list pages.
#[tokio::test]
async fn a_trade_opens_to_the_fills_behind_it() {
    use noise_core::instrument::{BrokerKind, Instrument};
    use noise_core::ledger::{Applied, Fill, Ledger};
    use noise_core::risk::Side;
    let server = start().await;
    let t0 = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::TimeDelta::days(20_500);
    let fill = |id: &str, order: &str, side: Side, q: i64, price: &str, minute: i64| Fill {
        broker: BrokerKind::Sim,
        fill_id: id.into(),
        client_order_id: Some(order.into()),
        protects: None,
        symbol: "SPY".into(),
        side,
        quantity: rust_decimal::Decimal::from(q),
        price: price.parse().unwrap(),
        fee: "0.01".parse().unwrap(),
        time: t0 + chrono::TimeDelta::minutes(minute),
        reconciled: false,
    };
    // An entry filled in two parts, closed by one exit.
    let fills = [
        fill("F1", "entry-1", Side::Buy, 3, "100", 1),
        fill("F2", "entry-1", Side::Buy, 2, "100.5", 2),
        fill("F3", "exit-1", Side::Sell, 5, "102", 9),
    ];
    let spy = Instrument::generic_equity("SPY");
    let mut ledger = Ledger::new();
    let mut conn = server.store.pool().acquire().await.unwrap();
    let mut ids = Vec::new();
    for f in &fills {
        assert!(noise_store::fills::insert(&mut conn, f, f.time).await.unwrap());
        assert!(!noise_store::fills::insert(&mut conn, f, f.time).await.unwrap(), "a fill is recorded once");
        if let Applied::Booked { round_trips } = ledger.apply(f, &spy).unwrap() {
            for trip in round_trips {
                ids.push(noise_store::records::insert_round_trip(&mut conn, &trip).await.unwrap());
            }
        }
    }
    drop(conn);
    assert_eq!(ids.len(), 2, "one round trip per entry fill");
    let (status, detail) = get(&server, &format!("/api/trades/{}", ids[1]), Some(TOKEN)).await;
    assert_eq!(status, 200, "{detail}");
    // 1.5 × 2 less F2's fee (the exit's one cent went, whole, to the first round trip's three units).
    assert_eq!((detail["quantity"].as_str(), detail["net_pnl"].as_str()), (Some("2"), Some("2.99")));
    let parts: Vec<(&str, &str)> = detail["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["fill_id"].as_str().unwrap(), f["role"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(parts, [("F1", "-"), ("F2", "entry"), ("F3", "exit")]);
    let (status, missing) = get(&server, "/api/trades/999999", Some(TOKEN)).await;
    assert_eq!((status, missing["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, bad) = get(&server, "/api/trades/abc", Some(TOKEN)).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("id")));
    let (status, page) = get(&server, "/api/fills?symbol=spy&limit=2", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let newest: Vec<&str> = page["items"].as_array().unwrap().iter().map(|f| f["fill_id"].as_str().unwrap()).collect();
    assert_eq!(newest, ["F3", "F2"]);
    assert!(page["next_before"].is_i64());
}
