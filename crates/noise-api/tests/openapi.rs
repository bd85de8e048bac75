//! The OpenAPI document against the server it describes: every route the
//! API serves is in it, and every answer a route gives on a real engine's
//! database (an engine that traded the synthetic market for a day) is one
//! the document lists, with a body that fits its schema exactly.

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/schema.rs"]
mod schema;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use noise_api::{ApiState, router};
use noise_broker::sim::{SimBroker, SimConfig};
use noise_core::config::NoiseConfig;
use noise_engine::{ControlOutcomeError, ControlRequest, Engine, MarketSource, RunOptions};
use noise_store::Store;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "openapi-test-token";

/// What the issue and the seed name: each must be served and documented.
const REQUIRED: [(&str, &str); 23] = [
    ("get", "/api/status"),
    ("get", "/api/account"),
    ("get", "/api/positions"),
    ("get", "/api/trades"),
    ("get", "/api/trades/{id}"),
    ("get", "/api/fills"),
    ("get", "/api/signals"),
    ("get", "/api/metrics/summary"),
    ("get", "/api/metrics/daily"),
    ("get", "/api/metrics/equity"),
    ("get", "/api/metrics/backtests"),
    ("get", "/api/metrics/backtests/{id}"),
    ("get", "/api/metrics/backtests/{id}/trades"),
    ("get", "/api/risk/state"),
    ("get", "/api/risk/exposure"),
    ("post", "/api/risk/reset-circuit-breaker"),
    ("get", "/api/audit"),
    ("post", "/api/positions/sync"),
    ("post", "/api/trading/pause"),
    ("post", "/api/trading/resume"),
    ("post", "/api/trading/flatten"),
    ("get", "/api/events"),
    ("get", "/api/openapi.json"),
];

/// An engine that traded from 14:00 to 21:00 UTC (the US close, a daily
/// roll-up), then stays to answer controls; the API over its database.
async fn engine_and_api(dir: &std::path::Path) -> (std::net::SocketAddr, i64) {
    let config = NoiseConfig::default();
    let store = Store::open(&dir.join("noise.db")).await.unwrap();
    let sim = Arc::new(SimBroker::open(&dir.join("sim.json"), SimConfig::default(), &config.instruments).unwrap());
    let mut engine = Engine::new(config.clone(), store.clone(), sim.clone()).await.unwrap();
    let options = RunOptions {
        speed: 0.0,
        start: Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap(),
        warm_up_days: 3,
        source: MarketSource::Synthetic { seed: 7 },
        max_minutes: Some(420),
    };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let summary =
        noise_engine::run(&mut engine, sim.clone(), &config.instruments, &options, stop, None, &mut |_, _| {})
            .await
            .unwrap();
    let now = summary.last_time.unwrap();
    let (controls, mut requests) = tokio::sync::mpsc::channel::<ControlRequest>(4);
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            let outcome = match engine.control(request.control, now, &request.by).await.unwrap() {
                Ok(events) => Ok(serde_json::json!({"control": request.control, "events": events.len()})),
                Err(refused) => Err(ControlOutcomeError::Refused(refused.0)),
            };
            let _ = request.reply.send(outcome);
        }
    });
    let run_id = fixtures::store_backtest(&store, &["124"]).await;
    let (events, _) = tokio::sync::broadcast::channel(16);
    let mut state = ApiState::new(store, TOKEN);
    state.broker = Some(sim);
    state.events = Some(events);
    state.controls = Some(controls);
    state.limiter = noise_api::Limiter::per_second(10_000);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(Arc::new(state)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, run_id)
}

/// (status, content type, body) of a bodiless request; an event stream is
/// left after its head.
async fn call(addr: std::net::SocketAddr, method: &str, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        method.to_uppercase()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        let n = stream.read(&mut buffer).await.unwrap();
        response.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&response);
        if n == 0 || text.contains("text/event-stream") && text.contains("\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().to_string();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_string))
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

#[tokio::test]
async fn every_route_is_documented_and_answers_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, run_id) = engine_and_api(dir.path()).await;

    let (status, _, served) = call(addr, "get", "/api/openapi.json").await;
    assert_eq!(status, "200");
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(&doc, noise_api::openapi(), "the served document is the one built from the routes");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in REQUIRED {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is not documented");
    }

    let mut checked = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let concrete = path.replace("{id}", &run_id.to_string());
            let (status, content_type, body) = call(addr, method, &concrete).await;
            let documented = &operation["responses"][&status];
            assert!(documented.is_object(), "{method} {path} answered {status}, which it does not document: {body}");
            if content_type.starts_with("text/event-stream") {
                assert!(documented["content"]["text/event-stream"].is_object(), "{path}");
                continue;
            }
            assert!(content_type.starts_with("application/json"), "{method} {path}: {content_type}");
            let schema = &documented["content"]["application/json"]["schema"];
            let value: Value = serde_json::from_str(&body).unwrap();
            let wrong = schema::violations(&doc, schema, &value);
            assert!(wrong.is_empty(), "{method} {path} {status} does not fit its schema: {wrong:#?}\n{body}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} answers checked");

    // Lists that the engine filled are not empty: the schemas were checked on real rows.
    for path in ["/api/trades?limit=2", "/api/signals?limit=2", "/api/audit?limit=2"] {
        let (_, _, body) = call(addr, "get", path).await;
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "{path}");
    }
    let (_, _, body) = call(addr, "get", "/api/metrics/daily").await;
    assert!(!serde_json::from_str::<Value>(&body).unwrap().as_array().unwrap().is_empty(), "a daily roll-up");
    // A path outside the document is not served.
    assert_eq!(call(addr, "get", "/api/metrics/everything").await.0, "404");
}

#[tokio::test]
async fn positions_exposure_risk_and_summary_agree_with_the_broker_and_the_store() {
    use rust_decimal::Decimal;
    let dir = tempfile::tempdir().unwrap();
    let (addr, _) = engine_and_api(dir.path()).await;
    let json = |body: String| serde_json::from_str::<Value>(&body).unwrap();
    let d = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();

    let positions = json(call(addr, "get", "/api/positions").await.2);
    let positions = positions.as_array().unwrap();
    assert!(!positions.is_empty(), "the engine holds positions at 21:00");
    let mut gross = Decimal::ZERO;
    for p in positions {
        let (q, avg, mark, pv) =
            (d(&p["quantity"]), d(&p["average_price"]), d(&p["market_price"]), d(&p["point_value"]));
        assert_eq!(d(&p["unrealized_pnl"]), (mark - avg) * q * pv, "{p}");
        assert_eq!(d(&p["notional"]), q.abs() * mark * pv, "{p}");
        gross += d(&p["notional"]);
    }
    let exposure = json(call(addr, "get", "/api/risk/exposure").await.2);
    assert_eq!(d(&exposure["gross"]["notional"]), gross, "exposure is the positions' notional");
    let by_class: Decimal = exposure["by_asset_class"].as_array().unwrap().iter().map(|l| d(&l["notional"])).sum();
    assert_eq!(by_class, gross);
    assert_eq!(exposure["open_positions"]["count"], positions.len());

    let account = json(call(addr, "get", "/api/account").await.2);
    let risk = json(call(addr, "get", "/api/risk/state").await.2);
    assert_eq!(risk["limits"]["daily_loss_pct"], 2.0);
    assert_eq!(d(&risk["figures"]["equity"]), d(&account["equity"]));

    // The summary's totals are the closed trades' exact sums, read once and then only what is new.
    let summary = json(call(addr, "get", "/api/metrics/summary").await.2);
    let trades = json(call(addr, "get", "/api/trades?limit=1000").await.2);
    let items = trades["items"].as_array().unwrap();
    let net: Decimal = items.iter().map(|t| d(&t["net_pnl"])).sum();
    assert_eq!(summary["trades"], items.len());
    assert_eq!(d(&summary["realized_pnl"]), net);
    assert_eq!(summary["wins"], items.iter().filter(|t| d(&t["net_pnl"]) > Decimal::ZERO).count());
    assert_eq!(d(&summary["day_pnl"]), d(&account["equity"]) - d(&risk["day_start_equity"]));
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let mut extra = noise_store::records::round_trips(&mut conn, 1).await.unwrap()[0].clone();
    extra.net_pnl = "-0.01".parse().unwrap();
    noise_store::records::insert_round_trip(&mut conn, &extra).await.unwrap();
    let after = json(call(addr, "get", "/api/metrics/summary").await.2);
    assert_eq!(after["trades"], items.len() + 1);
    assert_eq!(d(&after["realized_pnl"]), net - "0.01".parse::<Decimal>().unwrap());
    assert_eq!(after["losses"], summary["losses"].as_u64().unwrap() + 1);
}
