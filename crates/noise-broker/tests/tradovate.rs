//! The Tradovate adapter against a fake Tradovate on loopback built from the
//! OpenAPI excerpt and TRADOVATE.md: login (a refused one is HTTP 200 with
//! errorText; a penalty ticket is sat out and resent), renewal, the account,
//! cash snapshot, positions, bracket orders, fills, cancels, and the
//! market-data WebSocket (frames, heartbeats, a dropped connection).

#[path = "support/http.rs"]
mod http;
#[path = "support/approval.rs"]
mod support;
#[path = "support/tradovate_config.rs"]
mod tradovate_config;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use http::{query_value, read_request, respond};
use noise_broker::resilience::Backoff;
use noise_broker::tradovate::TradovateBroker;
use noise_broker::tradovate::md::ChartStream;
use noise_broker::{BrokerAdapter, BrokerError, OrderRequest};
use noise_core::order::OrderStatus;
use noise_core::signal::Direction;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tradovate_config::config;

/// What the fake does with the next request to a route.
#[derive(Debug, Clone, Copy)]
enum Fault {
    ServerError,
    TooMany {
        retry_after: u64,
    },
    Malformed,
    /// Book the order, answer after the client gave up.
    SlowAfterBooking,
}

#[derive(Default)]
struct Fake {
    faults: Mutex<HashMap<&'static str, VecDeque<Fault>>>,
    token: Mutex<String>,
    logins: AtomicUsize,
    renewals: AtomicUsize,
    /// The next login answers with a penalty ticket first.
    penalty_next: Mutex<bool>,
    /// Minutes the next token lives (90 unless set).
    token_minutes: Mutex<i64>,
    orders: Mutex<Vec<Value>>,
    places: AtomicUsize,
    drop_next_place_after_booking: Mutex<bool>,
    reject_next_place: Mutex<Option<&'static str>>,
    /// Contracts filled by this many per order (0: working).
    fill_qty: Mutex<i64>,
    last_place_body: Mutex<Value>,
    md_requests: Mutex<Vec<String>>,
    md_heartbeats: AtomicUsize,
    md_connections: AtomicUsize,
    /// Close each market-data connection after its first chart packet.
    md_drop_after_history: Mutex<bool>,
    md_delay_before_history: Mutex<Duration>,
}

async fn start() -> (Arc<Fake>, String, String) {
    let fake = Arc::new(Fake { token_minutes: Mutex::new(90), ..Fake::default() });
    let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let md = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest_url = format!("http://{}/v1", rest.local_addr().unwrap());
    let md_url = format!("ws://{}/v1/websocket", md.local_addr().unwrap());
    let serving = fake.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = rest.accept().await.unwrap();
            let fake = serving.clone();
            tokio::spawn(async move { serve_rest(fake, stream).await });
        }
    });
    let serving = fake.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = md.accept().await.unwrap();
            let fake = serving.clone();
            tokio::spawn(async move { serve_md(fake, stream).await });
        }
    });
    (fake, rest_url, md_url)
}

fn token_reply(fake: &Fake) -> Value {
    let n = fake.logins.load(Ordering::SeqCst) + fake.renewals.load(Ordering::SeqCst);
    let token = format!("tok-{n}");
    *fake.token.lock().unwrap() = token.clone();
    let minutes = *fake.token_minutes.lock().unwrap();
    json!({"accessToken": token, "expirationTime": (Utc::now() + chrono::TimeDelta::minutes(minutes)).to_rfc3339(),
           "userId": 7, "name": "trader", "userStatus": "Active", "hasLive": false})
}

async fn serve_rest(fake: Arc<Fake>, mut stream: TcpStream) {
    let Some(request) = read_request(&mut stream).await else { return };
    let path = request.path.trim_start_matches("/v1").to_string();
    let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
    if path == "/auth/accesstokenrequest" {
        if *fake.penalty_next.lock().unwrap() && body.get("p-ticket").is_none() {
            *fake.penalty_next.lock().unwrap() = false;
            return respond(&mut stream, 200, "", r#"{"p-ticket":"ticket-1","p-time":1}"#).await;
        }
        if body["password"] != "right" {
            return respond(
                &mut stream,
                200,
                "",
                r#"{"errorText":"Incorrect username or password. Please try again."}"#,
            )
            .await;
        }
        assert_eq!(body["deviceId"], "device-1");
        assert_eq!(body["cid"], 1234, "cid goes as a number by default");
        fake.logins.fetch_add(1, Ordering::SeqCst);
        return respond(&mut stream, 200, "", &token_reply(&fake).to_string()).await;
    }
    let bearer = request.header("authorization").map(str::to_string).unwrap_or_default();
    if bearer != format!("Bearer {}", fake.token.lock().unwrap()) {
        return respond(&mut stream, 401, "", "").await;
    }
    let route: &'static str = match path.as_str() {
        "/cashBalance/getcashbalancesnapshot" => "cash",
        "/position/deps" => "positions",
        "/account/list" => "accounts",
        "/order/placeoso" | "/order/placeorder" => "place",
        _ => "other",
    };
    let fault = fake.faults.lock().unwrap().get_mut(route).and_then(VecDeque::pop_front);
    match fault {
        Some(Fault::ServerError) => return respond(&mut stream, 500, "", "").await,
        Some(Fault::TooMany { retry_after }) => {
            return respond(&mut stream, 429, &format!("Retry-After: {retry_after}\r\n"), "").await;
        }
        Some(Fault::Malformed) => return respond(&mut stream, 200, "", r#"[{"id": 101, "name": "#).await,
        _ => {}
    }
    let query_id = |key: &str| query_value(&request.query, key).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
    let reply: Value = match (request.method.as_str(), path.as_str()) {
        ("GET", "/auth/renewaccesstoken") => {
            fake.renewals.fetch_add(1, Ordering::SeqCst);
            token_reply(&fake)
        }
        ("GET", "/account/list") => json!([{"id": 101, "name": "DEMO123", "userId": 7, "accountType": "Customer", "active": true, "closed": false}]),
        ("POST", "/cashBalance/getcashbalancesnapshot") => {
            assert_eq!(body["accountId"], 101);
            json!({"totalCashValue": 50000.5, "netLiq": 51234.25, "initialMargin": 2000.0, "openPnL": 1233.75})
        }
        ("GET", "/position/deps") => json!([
            {"id": 1, "accountId": 101, "contractId": 9001, "timestamp": "2026-11-25T15:00:00Z", "tradeDate": {"year": 2026, "month": 11, "day": 25}, "netPos": -2, "netPrice": 21450.25, "bought": 0, "boughtValue": 0, "sold": 2, "soldValue": 42900.5, "prevPos": 0},
            {"id": 2, "accountId": 101, "contractId": 9002, "timestamp": "2026-11-25T15:00:00Z", "tradeDate": {"year": 2026, "month": 11, "day": 25}, "netPos": 0, "bought": 1, "boughtValue": 1, "sold": 1, "soldValue": 1, "prevPos": 0}
        ]),
        ("GET", "/contract/item") => json!({"id": query_id("id"), "name": if query_id("id") == 9001 { "MNQU6" } else { "MESZ6" }, "contractMaturityId": 1, "timestamp": "2026-01-01T00:00:00Z"}),
        ("GET", "/contract/find") => {
            let name = query_value(&request.query, "name").unwrap_or_default();
            json!({"id": 9000 + name.len() as i64, "name": name, "contractMaturityId": 1, "timestamp": "2026-01-01T00:00:00Z"})
        }
        ("POST", "/order/placeoso") | ("POST", "/order/placeorder") => {
            fake.places.fetch_add(1, Ordering::SeqCst);
            *fake.last_place_body.lock().unwrap() = body.clone();
            if let Some(reason) = fake.reject_next_place.lock().unwrap().take() {
                json!({"failureReason": reason, "failureText": "price is not on the tick grid"})
            } else {
                let id = {
                    let mut orders = fake.orders.lock().unwrap();
                    let id = 5000 + 10 * orders.len() as i64;
                    let contract = 9000 + body["symbol"].as_str().unwrap().len() as i64;
                    orders.push(json!({"id": id, "clOrdId": body["clOrdId"], "contractId": contract,
                                       "action": body["action"], "qty": body["orderQty"], "status": "Working"}));
                    // An OSO's exits: orders of their own, waiting for the entry to fill.
                    for (n, bracket) in [(1, &body["bracket1"]), (2, &body["bracket2"])] {
                        if bracket.is_object() {
                            orders.push(json!({"id": id + n, "clOrdId": bracket["clOrdId"], "contractId": contract, "parent": id,
                                               "action": bracket["action"], "qty": body["orderQty"], "status": "Suspended"}));
                        }
                    }
                    id
                };
                if std::mem::take(&mut *fake.drop_next_place_after_booking.lock().unwrap()) {
                    return; // booked, then the connection drops before the answer
                }
                if matches!(fault, Some(Fault::SlowAfterBooking)) {
                    tokio::time::sleep(Duration::from_secs(2)).await; // booked; the answer comes too late
                }
                if path == "/order/placeoso" { json!({"orderId": id, "oso1Id": id + 1, "oso2Id": id + 2}) } else { json!({"orderId": id}) }
            }
        }
        ("GET", "/order/deps") => Value::Array(fake.orders.lock().unwrap().iter().map(order_entity).collect()),
        ("GET", "/order/item") => {
            let found = fake.orders.lock().unwrap().iter().find(|o| o["id"] == query_id("id")).map(order_entity);
            match found {
                Some(order) => order,
                None => return respond(&mut stream, 404, "", "").await,
            }
        }
        ("GET", "/command/deps") => Value::Array(
            fake.orders.lock().unwrap().iter().filter(|o| o["id"] == query_id("masterid"))
                .map(|o| json!({"id": 1, "orderId": o["id"], "timestamp": "2026-11-25T15:00:00Z", "clOrdId": o["clOrdId"], "commandType": "New", "commandStatus": "RiskPassed", "isAutomated": true}))
                .collect(),
        ),
        ("GET", "/orderVersion/deps") => Value::Array(
            fake.orders.lock().unwrap().iter().filter(|o| o["id"] == query_id("masterid"))
                .map(|o| json!({"id": 1, "orderId": o["id"], "orderQty": o["qty"], "orderType": "Market"}))
                .collect(),
        ),
        ("GET", "/contractMaturity/item") => {
            json!({"id": query_id("id"), "productId": 77, "expirationMonth": 12, "expirationDate": "2026-12-18T14:30:00Z", "isFront": true})
        }
        ("POST", "/contract/getproductfeeparams") => {
            assert_eq!(body["productIds"], json!([77]));
            json!({"params": [{"productId": 77, "clearingFee": 0.19, "exchangeFee": 0.20, "nfaFee": 0.02,
                               "brokerageFee": 0.0, "commission": 0.35, "orderRoutingFee": 0.0}]})
        }
        ("GET", "/fill/list") => {
            let filled = *fake.fill_qty.lock().unwrap();
            let orders = fake.orders.lock().unwrap();
            let mut all = Vec::new();
            if filled > 0 {
                for (n, o) in orders.iter().filter(|o| o.get("parent").is_none()).enumerate() {
                    all.push(json!({"id": 700 + n as i64, "orderId": o["id"], "contractId": o["contractId"],
                                    "timestamp": "2026-11-25T15:01:00Z", "tradeDate": {"year": 2026, "month": 11, "day": 25},
                                    "action": o["action"], "qty": filled, "price": 21450.25, "active": true, "finallyPaired": 0}));
                }
                // Someone else's fill (another app), and a busted one: neither is ours to book.
                all.push(json!({"id": 900, "orderId": 1, "contractId": 9001, "timestamp": "2026-11-25T15:01:30Z",
                                "tradeDate": {"year": 2026, "month": 11, "day": 25}, "action": "Sell", "qty": 1,
                                "price": 21449.0, "active": false, "finallyPaired": 0}));
            }
            Value::Array(all)
        }
        ("GET", "/fill/deps") => {
            let filled = *fake.fill_qty.lock().unwrap();
            if filled == 0 { json!([]) } else {
                json!([{"id": 1, "orderId": query_id("masterid"), "contractId": 9005, "timestamp": "2026-11-25T15:01:00Z", "tradeDate": {"year": 2026, "month": 11, "day": 25},
                        "action": "Buy", "qty": filled, "price": 21450.25, "active": true, "finallyPaired": 0}])
            }
        }
        ("POST", "/order/cancelorder") => {
            let mut orders = fake.orders.lock().unwrap();
            if let Some(o) = orders.iter_mut().find(|o| o["id"] == body["orderId"]) {
                o["status"] = json!("Canceled");
            }
            json!({"commandId": 77})
        }
        _ => return respond(&mut stream, 404, "", "").await,
    };
    respond(&mut stream, 200, "", &reply.to_string()).await;
}

fn order_entity(o: &Value) -> Value {
    json!({"id": o["id"], "accountId": 101, "contractId": o["contractId"], "timestamp": "2026-11-25T15:00:00Z",
           "action": o["action"], "ordStatus": o["status"], "admin": false})
}

async fn serve_md(fake: Arc<Fake>, stream: TcpStream) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else { return };
    fake.md_connections.fetch_add(1, Ordering::SeqCst);
    socket.send(Message::text("o")).await.unwrap();
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let text = text.to_string();
        if text == "[]" {
            fake.md_heartbeats.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let parts: Vec<&str> = text.splitn(4, '\n').collect();
        let (endpoint, id) =
            (parts[0].to_ascii_lowercase(), parts.get(1).and_then(|i| i.parse::<i64>().ok()).unwrap_or(-1));
        fake.md_requests.lock().unwrap().push(endpoint.clone());
        match endpoint.as_str() {
            "authorize" => {
                let ok = parts.get(3).is_some_and(|t| *t == fake.token.lock().unwrap().as_str());
                let status = if ok { 200 } else { 401 };
                socket.send(Message::text(format!("a[{{\"i\":{id},\"s\":{status}}}]"))).await.unwrap();
            }
            "md/getchart" => {
                let body: Value = serde_json::from_str(parts[3]).unwrap();
                assert_eq!(body["chartDescription"]["underlyingType"], "MinuteBar");
                socket
                    .send(Message::text(format!(
                        "a[{{\"i\":{id},\"s\":200,\"d\":{{\"historicalId\":11,\"realtimeId\":12}}}}]"
                    )))
                    .await
                    .unwrap();
                let delay = *fake.md_delay_before_history.lock().unwrap();
                tokio::time::sleep(delay).await;
                let bar = |minute: u32, close: f64| json!({"timestamp": format!("2026-11-25T15:{minute:02}:00Z"), "open": 21450.0, "high": 21452.5, "low": 21449.25, "close": close, "upVolume": 120, "downVolume": 80, "upTicks": 10, "downTicks": 8, "bidVolume": 90, "offerVolume": 110});
                let history = json!([{"e": "chart", "d": {"charts": [{"id": 11, "td": 20261125, "bars": [bar(0, 21451.0), bar(1, 21451.5), bar(2, 21450.75)]}]}}]);
                socket.send(Message::text(format!("a{history}"))).await.unwrap();
                if *fake.md_drop_after_history.lock().unwrap() {
                    *fake.md_drop_after_history.lock().unwrap() = false;
                    return; // the connection drops
                }
                let end = json!([{"e": "chart", "d": {"charts": [{"id": 11, "eoh": true}]}}]);
                socket.send(Message::text(format!("a{end}"))).await.unwrap();
                // The forming bar, re-sent on the real-time subscription with the same timestamp.
                let live = json!([{"e": "chart", "d": {"charts": [{"id": 12, "td": 20261125, "bars": [bar(2, 21451.25), bar(3, 21452.0)]}]}}]);
                socket.send(Message::text(format!("a{live}"))).await.unwrap();
            }
            _ => {}
        }
    }
}

const FAST: Backoff = Backoff { first: Duration::from_millis(20), factor: 2, max_retries: 3, jitter: 0.25 };

fn broker(rest_url: &str, md_url: &str) -> TradovateBroker {
    TradovateBroker::with_timeout(config(rest_url, md_url, "right"), Duration::from_millis(800))
        .unwrap()
        .with_backoff(FAST)
}

fn mnq_order(id: &str) -> OrderRequest {
    let (approval, _) = support::approval("MNQ", "mnq-1m.csv", Direction::Long);
    OrderRequest::from_approval(&approval, id)
}

#[tokio::test]
async fn a_refused_login_is_an_error_with_its_text_and_a_penalty_is_sat_out() {
    let (fake, rest, md) = start().await;
    let refused = TradovateBroker::new(config(&rest, &md, "wrong")).unwrap().authenticate().await.unwrap_err();
    assert!(
        matches!(&refused, BrokerError::Rejected { reason, .. } if reason.contains("Incorrect username")),
        "{refused}"
    );
    *fake.penalty_next.lock().unwrap() = true;
    let started = std::time::Instant::now();
    broker(&rest, &md).authenticate().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "p-time 1 s waited");
    assert_eq!(fake.logins.load(Ordering::SeqCst), 1, "one session");
}

#[tokio::test]
async fn one_session_renewed_before_expiry() {
    let (fake, rest, md) = start().await;
    *fake.token_minutes.lock().unwrap() = 10; // inside the 15-minute renewal window
    let tradovate = broker(&rest, &md);
    assert_eq!(tradovate.access_token().await.unwrap(), "tok-1");
    *fake.token_minutes.lock().unwrap() = 90;
    tradovate.account().await.unwrap();
    tradovate.positions().await.unwrap();
    assert_eq!(fake.logins.load(Ordering::SeqCst), 1, "never a second login");
    assert_eq!(fake.renewals.load(Ordering::SeqCst), 1, "renewed once, then good for 90 minutes");
}

#[tokio::test]
async fn account_and_positions_normalise() {
    let (_, rest, md) = start().await;
    let tradovate = broker(&rest, &md);
    let account = tradovate.account().await.unwrap();
    assert_eq!(
        (account.equity, account.cash, account.available_margin),
        (dec!(51234.25), dec!(50000.5), dec!(49234.25))
    );
    let positions = tradovate.positions().await.unwrap();
    assert_eq!(positions.len(), 1, "the flat contract's row is left out");
    assert_eq!(
        (positions[0].symbol.as_str(), positions[0].quantity, positions[0].average_price),
        ("MNQ", dec!(-2), dec!(21450.25))
    );
}

#[tokio::test]
async fn a_bracket_order_is_one_oso_flagged_automated_on_the_tick_grid() {
    let (fake, rest, md) = start().await;
    *fake.fill_qty.lock().unwrap() = 1;
    let tradovate = broker(&rest, &md);
    let order = mnq_order("noise-202611251500-MNQ");
    let state = tradovate.place_order(&order).await.unwrap();
    let body = fake.last_place_body.lock().unwrap().clone();
    assert_eq!(body["isAutomated"], true);
    assert_eq!(body["accountId"], 101);
    assert_eq!(body["clOrdId"], "noise-202611251500-MNQ");
    assert!(body["symbol"].as_str().unwrap().starts_with("MNQ"), "{body}");
    assert_eq!(body["bracket1"]["orderType"], "Limit");
    assert_eq!(body["bracket2"]["orderType"], "Stop");
    let on_grid = |v: &Value| (v.as_f64().unwrap() * 4.0).fract() == 0.0;
    assert!(on_grid(&body["bracket1"]["price"]) && on_grid(&body["bracket2"]["stopPrice"]), "{body}");
    assert_eq!(state.symbol, "MNQ");
    if order.quantity() > dec!(1) {
        assert_eq!(state.status, OrderStatus::PartiallyFilled, "one contract of several filled");
    }
    assert_eq!(state.average_fill_price, Some(dec!(21450.25)));
    let legs: Vec<&str> = state.legs.iter().map(|l| l.client_order_id.as_str()).collect();
    assert_eq!(legs, ["noise-202611251500-MNQ-tp", "noise-202611251500-MNQ-sl"], "the exits are tracked");
    assert_eq!(body["bracket2"]["clOrdId"], "noise-202611251500-MNQ-sl");
    // Fees: every part of the product's fee parameters, per contract filled.
    assert_eq!(state.fees, dec!(0.76));
    // The same client order id again is the same order, not a second one.
    tradovate.place_order(&order).await.unwrap();
    assert_eq!(fake.places.load(Ordering::SeqCst), 1);
    // Its fill, one by one with ids and fees; a busted fill is left out.
    let fills = tradovate.fills_since("2026-11-25T15:00:00Z".parse().unwrap()).await.unwrap();
    assert_eq!(fills.len(), 1, "{fills:?}");
    let fill = &fills[0];
    assert_eq!(
        (fill.fill_id.as_str(), fill.client_order_id.as_deref(), fill.symbol.as_str(), fill.side),
        ("700", Some("noise-202611251500-MNQ"), "MNQ", noise_core::risk::Side::Buy)
    );
    assert_eq!((fill.quantity, fill.price, fill.fee), (dec!(1), dec!(21450.25), dec!(0.76)));
    assert_eq!(fill.time, "2026-11-25T15:01:00Z".parse::<chrono::DateTime<Utc>>().unwrap());
    assert!(tradovate.fills_since("2026-11-25T15:02:00Z".parse().unwrap()).await.unwrap().is_empty());
    let cancelled = tradovate.cancel_order("noise-202611251500-MNQ").await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
}

#[tokio::test]
async fn a_refused_order_is_final_and_a_dropped_answer_is_found_by_its_client_id() {
    let (fake, rest, md) = start().await;
    *fake.reject_next_place.lock().unwrap() = Some("InvalidPrice");
    let tradovate = broker(&rest, &md);
    let error = tradovate.place_order(&mnq_order("noise-1-MNQ")).await.unwrap_err();
    assert!(matches!(&error, BrokerError::Rejected { reason, .. } if reason.contains("InvalidPrice")), "{error}");
    assert_eq!(fake.places.load(Ordering::SeqCst), 1, "not retried");

    *fake.drop_next_place_after_booking.lock().unwrap() = true;
    let state = broker(&rest, &md).place_order(&mnq_order("noise-2-MNQ")).await.unwrap();
    assert_eq!(state.client_order_id, "noise-2-MNQ");
    assert_eq!(fake.places.load(Ordering::SeqCst), 2, "the dropped placement was found, not resent");
    assert_eq!(fake.entries(), 1);
}

#[tokio::test]
async fn bars_come_over_the_market_data_socket_with_heartbeats() {
    let (fake, rest, md) = start().await;
    *fake.md_delay_before_history.lock().unwrap() = Duration::from_millis(2800);
    let tradovate = broker(&rest, &md);
    let bars = tradovate.recent_bars("MNQ", 10).await.unwrap();
    assert_eq!(bars.len(), 3);
    let held = tradovate.positions().await.unwrap();
    assert_eq!(held[0].market_price, dec!(21450.75), "positions are marked at the last close read");
    assert_eq!((bars[0].close, bars[0].volume), (dec!(21451.0), dec!(200)));
    assert!(fake.md_heartbeats.load(Ordering::SeqCst) >= 1, "`[]` sent while waiting");
    let requests = fake.md_requests.lock().unwrap().clone();
    assert_eq!(requests[..2], ["authorize", "md/getchart"]);
}

#[tokio::test]
async fn a_dropped_market_data_socket_reconnects_and_resubscribes() {
    let (fake, rest, md) = start().await;
    *fake.md_drop_after_history.lock().unwrap() = true;
    let tradovate = Arc::new(broker(&rest, &md));
    tradovate.authenticate().await.unwrap();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let tokens = tradovate.clone();
    let stream = ChartStream::spawn(
        md,
        move || {
            let t = tokens.clone();
            async move { t.access_token().await }
        },
        vec![9001],
        100,
        stop,
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stream.bars(9001).len() < 4 {
        assert!(tokio::time::Instant::now() < deadline, "bars after the reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stream.reconnects() >= 1);
    assert!(fake.md_connections.load(Ordering::SeqCst) >= 2);
    let charts = fake.md_requests.lock().unwrap().iter().filter(|r| *r == "md/getchart").count();
    assert!(charts >= 2, "the chart was requested again on the new connection");
    let bars = stream.bars(9001);
    assert_eq!(bars[2].close, dec!(21451.25), "the forming bar re-sent is updated, not doubled");
    let _ = stop_tx.send(true);
}

impl Fake {
    /// Orders placed (an OSO's exits are not counted: they come with it).
    fn entries(&self) -> usize {
        self.orders.lock().unwrap().iter().filter(|o| o.get("parent").is_none()).count()
    }

    fn fail(&self, route: &'static str, faults: &[Fault]) {
        self.faults.lock().unwrap().entry(route).or_default().extend(faults.iter().copied());
    }
}

#[tokio::test]
async fn five_hundreds_429s_malformed_bodies_and_timeouts_behave_as_specified() {
    let (fake, rest, md) = start().await;
    let tradovate = broker(&rest, &md);
    tradovate.authenticate().await.unwrap();
    // Reads are retried on 5xx and 429 (Retry-After waited out) and then succeed.
    fake.fail("cash", &[Fault::ServerError, Fault::TooMany { retry_after: 1 }]);
    let started = std::time::Instant::now();
    assert_eq!(tradovate.account().await.unwrap().equity, dec!(51234.25));
    assert!(started.elapsed() >= Duration::from_secs(1));
    // A body that does not parse is an error with the raw reply. (This second
    // session ends the first one's token, as Tradovate does: the first logs in again below.)
    let fresh = broker(&rest, &md);
    fake.fail("accounts", &[Fault::Malformed]);
    match fresh.authenticate().await {
        Err(BrokerError::Malformed { snippet, .. }) => assert!(snippet.contains("\"name\":"), "{snippet}"),
        other => panic!("{other:?}"),
    }
    // A placement that times out after Tradovate booked it is found by clOrdId, never resent.
    fake.fail("place", &[Fault::SlowAfterBooking]);
    let state = tradovate.place_order(&mnq_order("noise-9-MNQ")).await.unwrap();
    assert_eq!(state.client_order_id, "noise-9-MNQ");
    assert_eq!((fake.places.load(Ordering::SeqCst), fake.entries()), (1, 1));
    // A 500 on a placement: the outcome is unknown and Tradovate has no duplicate check,
    // so it is looked for on the retry schedule and never sent again; the engine's order
    // monitor settles the intent.
    fake.fail("place", &[Fault::ServerError]);
    let error = tradovate.place_order(&mnq_order("noise-10-MNQ")).await.unwrap_err();
    assert!(error.to_string().contains("not sent again"), "{error}");
    assert_eq!((fake.places.load(Ordering::SeqCst), fake.entries()), (1, 1));
    assert_eq!(fake.logins.load(Ordering::SeqCst), 3, "the ended session logged in again once");
}

#[tokio::test]
async fn minute_bars_come_from_one_kept_subscription_not_a_socket_a_minute() {
    let (fake, rest, md) = start().await;
    let tradovate = broker(&rest, &md);
    assert_eq!(tradovate.recent_bars("MNQ", 100).await.unwrap().len(), 3, "history by one chart request");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fake.md_connections.load(Ordering::SeqCst) < 2 || fake.md_requests.lock().unwrap().len() < 4 {
        assert!(tokio::time::Instant::now() < deadline, "the subscription starts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // its packets arrive
    for _ in 0..3 {
        let bars = tradovate.recent_bars("MNQ", 3).await.unwrap();
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[1].close, dec!(21451.25), "the forming bar as last re-sent");
        assert_eq!(bars[2].time.to_rfc3339(), "2026-11-25T15:03:00+00:00");
    }
    assert_eq!(fake.md_connections.load(Ordering::SeqCst), 2, "no new socket per request");
}

/// After a roll date the held position may still be in the old contract: an
/// exit must go there (sent to the new front month it would open a second position).
#[tokio::test]
async fn an_exit_goes_to_the_contract_held_an_entry_to_the_front_month() {
    use noise_core::instrument::Instrument;
    use noise_core::risk::{PositionSnapshot, kill_switch_exit};
    let (fake, rest, md) = start().await;
    let tradovate = broker(&rest, &md);
    let instruments = Instrument::defaults();
    let mnq = instruments.iter().find(|i| i.symbol == "MNQ").unwrap();
    let short = PositionSnapshot::new(mnq, dec!(-2), dec!(21450.25), dec!(21450.25));
    let exit = kill_switch_exit(&short, Utc::now());
    tradovate.place_order(&OrderRequest::from_approval(exit.approval().unwrap(), "noise-x-MNQ-flatten")).await.unwrap();
    let body = fake.last_place_body.lock().unwrap().clone();
    assert_eq!(
        (body["symbol"].as_str(), body["action"].as_str(), body["orderQty"].as_i64()),
        (Some("MNQU6"), Some("Buy"), Some(2))
    );
    tradovate.place_order(&mnq_order("noise-y-MNQ")).await.unwrap();
    let front = noise_core::contracts::front_month("MNQ", Utc::now().date_naive()).unwrap().symbol();
    assert_eq!(fake.last_place_body.lock().unwrap()["symbol"], front.as_str());
}
