//! The Alpaca adapter against a fake Alpaca on loopback that speaks its wire
//! format and misbehaves on cue: timeouts, 500s, 429 with Retry-After, a
//! malformed body, a refused order, a partial fill, a connection dropped
//! mid-order. The adapter must never send an order twice, never lose one,
//! and trip its breaker as specified.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use noise_broker::alpaca::{AlpacaBroker, AlpacaConfig};
use noise_broker::http::BrokerNotice;
use noise_broker::resilience::{Backoff, BreakerState, CircuitBreaker};
use noise_broker::{BrokerAdapter, BrokerError, OrderRequest};
use noise_core::order::OrderStatus;
use noise_core::signal::Direction;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/http.rs"]
mod http;
#[path = "support/approval.rs"]
mod support;
use http::{query_value, read_request, respond};

/// What the fake does with the next request to a route.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Accept (orders: book it) but answer after the client gave up.
    SlowAfterBooking,
    /// Book the order, then close the connection without an answer.
    DropAfterBooking,
    /// Close the connection without booking anything.
    DropBeforeBooking,
    ServerError,
    TooMany {
        retry_after: u64,
    },
    Malformed,
    Refuse403,
}

#[derive(Default)]
struct Fake {
    orders: Mutex<HashMap<String, Value>>,
    faults: Mutex<HashMap<&'static str, VecDeque<Fault>>>,
    posts: AtomicUsize,
    requests: AtomicUsize,
    /// The status a booked order takes (`new`, `partially_filled`, …).
    booked_status: Mutex<&'static str>,
}

impl Fake {
    fn fail(&self, route: &'static str, faults: &[Fault]) {
        self.faults.lock().unwrap().entry(route).or_default().extend(faults.iter().copied());
    }

    fn next_fault(&self, route: &'static str) -> Option<Fault> {
        self.faults.lock().unwrap().get_mut(route).and_then(VecDeque::pop_front)
    }

    fn orders_booked(&self) -> usize {
        self.orders.lock().unwrap().len()
    }
}

async fn start() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake { booked_status: Mutex::new("new"), ..Fake::default() });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let serving = fake.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let fake = serving.clone();
            tokio::spawn(async move { serve(fake, stream).await });
        }
    });
    (fake, url)
}

async fn serve(fake: Arc<Fake>, mut stream: TcpStream) {
    let Some(request) = read_request(&mut stream).await else { return };
    fake.requests.fetch_add(1, Ordering::SeqCst);
    if request.header("apca-api-key-id") != Some("test-key") {
        return respond(&mut stream, 401, "", r#"{"code":40110000,"message":"request is not authorized"}"#).await;
    }
    let route: &'static str = match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v2/account") => "account",
        ("GET", "/v2/positions") => "positions",
        ("POST", "/v2/orders") => "place",
        ("GET", "/v2/orders:by_client_order_id") => "lookup",
        ("DELETE", _) => "cancel",
        ("GET", _) if request.path.ends_with("/bars") => "bars",
        ("GET", "/v2/account/activities/FILL") => "fills",
        _ => return respond(&mut stream, 404, "", r#"{"code":40410000,"message":"not found"}"#).await,
    };
    if route == "place" {
        fake.posts.fetch_add(1, Ordering::SeqCst);
    }
    let fault = fake.next_fault(route);
    match fault {
        Some(Fault::DropBeforeBooking) => return,
        Some(Fault::ServerError) => return respond(&mut stream, 500, "", "").await,
        Some(Fault::TooMany { retry_after }) => {
            return respond(&mut stream, 429, &format!("Retry-After: {retry_after}\r\n"), "").await;
        }
        Some(Fault::Malformed) => return respond(&mut stream, 200, "", r#"{"status":"ACTIVE","cash":"#).await,
        Some(Fault::Refuse403) => {
            return respond(&mut stream, 403, "", r#"{"code":40310000,"message":"insufficient buying power"}"#).await;
        }
        _ => {}
    }
    let (status, body) = match route {
        "account" => (
            200,
            json!({"id": "acct", "status": "ACTIVE", "currency": "USD", "cash": "25000.50", "equity": "30125.75",
                   "buying_power": "60251.50", "multiplier": "2", "pattern_day_trader": false, "daytrade_count": 1,
                   "trading_blocked": false, "account_blocked": false, "effective_buying_power": "60251.50"})
            .to_string(),
        ),
        "positions" => (
            200,
            json!([{"asset_id": "x", "symbol": "SPY", "exchange": "ARCA", "asset_class": "us_equity", "qty": "-10",
                    "side": "short", "avg_entry_price": "600.10", "current_price": "598.00", "market_value": "-5980"}])
            .to_string(),
        ),
        "place" => place(&fake, &request.body),
        "lookup" => {
            let id = query_value(&request.query, "client_order_id").unwrap_or_default();
            match fake.orders.lock().unwrap().get(&id) {
                Some(order) => (200, order.to_string()),
                None => (404, r#"{"code":40410000,"message":"order not found"}"#.to_string()),
            }
        }
        "cancel" => {
            let id = request.path.trim_start_matches("/v2/orders/").to_string();
            let mut orders = fake.orders.lock().unwrap();
            match orders.values_mut().find(|o| o["id"] == id.as_str()) {
                Some(order) if order["status"] == "filled" => {
                    (422, r#"{"code":42210000,"message":"order is not cancelable"}"#.into())
                }
                Some(order) => {
                    order["status"] = json!("canceled");
                    (204, String::new())
                }
                None => (404, r#"{"code":40410000,"message":"order not found"}"#.into()),
            }
        }
        "bars" => bars_page(&request.query),
        "fills" => fill_page(&request.query),
        _ => unreachable!(),
    };
    match fault {
        Some(Fault::SlowAfterBooking) => tokio::time::sleep(Duration::from_secs(2)).await,
        Some(Fault::DropAfterBooking) => return,
        _ => {}
    }
    respond(&mut stream, status, "", &body).await;
}

fn place(fake: &Fake, body: &str) -> (u16, String) {
    let body: Value = serde_json::from_str(body).unwrap();
    let id = body["client_order_id"].as_str().unwrap().to_string();
    let mut orders = fake.orders.lock().unwrap();
    if orders.contains_key(&id) {
        return (422, r#"{"code":40010001,"message":"client_order_id must be unique"}"#.into());
    }
    let status = *fake.booked_status.lock().unwrap();
    let filled = if status == "partially_filled" { "4" } else { "0" };
    let order = json!({
        "id": format!("ord-{}", orders.len() + 1), "client_order_id": id, "status": status,
        "symbol": body["symbol"], "side": body["side"], "qty": body["qty"], "filled_qty": filled,
        "filled_avg_price": if filled == "0" { Value::Null } else { json!("597.25") },
        "order_class": body.get("order_class").cloned().unwrap_or(json!("simple")),
        "type": body["type"], "time_in_force": body["time_in_force"],
        "created_at": "2026-03-09T14:01:00.000001Z", "updated_at": "2026-03-09T14:01:00.000001Z",
        "legs": null
    });
    orders.insert(id, order.clone());
    (200, order.to_string())
}

/// Two pages of one-minute bars, the second reached by `page_token`.
fn bars_page(query: &str) -> (u16, String) {
    let bar = |minute: u32| json!({"t": format!("2026-01-02T14:{minute:02}:00Z"), "o": 590.1, "h": 590.5, "l": 589.9, "c": 590.25, "v": 1200, "n": 10, "vw": 590.2});
    if query_value(query, "page_token").as_deref() == Some("page2") {
        (200, json!({"bars": [bar(32), bar(33)], "symbol": "SPY", "next_page_token": null}).to_string())
    } else {
        (200, json!({"bars": [bar(30), bar(31)], "symbol": "SPY", "next_page_token": "page2"}).to_string())
    }
}

/// 101 fill activities from 14:00 on, a page of 100 and a page of one,
/// each page after the one whose last id is `page_token`.
fn fill_page(query: &str) -> (u16, String) {
    assert_eq!(query_value(query, "direction").as_deref(), Some("asc"));
    assert_eq!(query_value(query, "page_size").as_deref(), Some("100"));
    let after: chrono::DateTime<chrono::Utc> = query_value(query, "after").unwrap().parse().unwrap();
    let activity = |n: usize| {
        json!({"activity_type": "FILL", "id": format!("20260309140{:04}::a{n}", n), "order_id": format!("ord-{}", n % 3),
               "symbol": "SPY", "side": if n % 2 == 0 { "buy" } else { "sell_short" }, "qty": "2", "cum_qty": "2",
               "leaves_qty": "0", "price": "600.125", "type": "fill", "order_status": "filled",
               "transaction_time": (chrono::DateTime::<chrono::Utc>::from_timestamp(1_773_064_800, 0).unwrap() + chrono::TimeDelta::seconds(n as i64)).to_rfc3339()})
    };
    let all: Vec<Value> = (0..101)
        .map(activity)
        .filter(|a| a["transaction_time"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap() > after)
        .collect();
    let from = match query_value(query, "page_token") {
        Some(token) => all.iter().position(|a| a["id"] == token.as_str()).map_or(all.len(), |i| i + 1),
        None => 0,
    };
    (200, Value::Array(all.into_iter().skip(from).take(100).collect()).to_string())
}

const FAST: Backoff = Backoff { first: Duration::from_millis(20), factor: 2, max_retries: 3, jitter: 0.25 };

fn broker(url: &str, notices: Option<Arc<Mutex<Vec<BrokerNotice>>>>) -> AlpacaBroker {
    let config = AlpacaConfig {
        key_id: "test-key".into(),
        secret: "test-secret".into(),
        trading_url: url.into(),
        data_url: url.into(),
        live: false,
        feed: "iex".into(),
    };
    let mut broker = AlpacaBroker::with_timeout(config, Duration::from_millis(500)).unwrap().with_backoff(FAST);
    if let Some(seen) = notices {
        broker = broker.with_notices(Arc::new(move |n| seen.lock().unwrap().push(n)));
    }
    broker
}

fn spy_order(id: &str) -> OrderRequest {
    let (approval, _) = support::approval("SPY", "spy-1m.csv", Direction::Long);
    OrderRequest::from_approval(&approval, id)
}

#[tokio::test]
async fn account_positions_and_bars_normalise() {
    let (_, url) = start().await;
    let alpaca = broker(&url, None);
    alpaca.authenticate().await.unwrap();
    let account = alpaca.account().await.unwrap();
    assert_eq!((account.equity, account.cash, account.buying_power), (dec!(30125.75), dec!(25000.50), dec!(60251.50)));
    assert_eq!((account.day_trade_count, account.margin_account), (Some(1), true), "PDT facts for the risk manager");
    let pdt = alpaca.pdt_facts().await.unwrap();
    assert_eq!((pdt.daytrade_count, pdt.margin_account), (Some(1), true));
    let positions = alpaca.positions().await.unwrap();
    assert_eq!((positions[0].quantity, positions[0].market_price), (dec!(-10), dec!(598.00)));
    let start = "2026-01-02T14:30:00Z".parse().unwrap();
    let end = "2026-01-02T14:33:00Z".parse().unwrap();
    let mut seen = Vec::new();
    let bars = alpaca.bars("SPY", "1Min", start, end, &mut |n| seen.push(n)).await.unwrap();
    assert_eq!(bars.len(), 4, "both pages");
    assert_eq!(seen, [2, 4]);
    assert_eq!(bars[3].close, dec!(590.25));
}

#[tokio::test]
async fn a_timeout_after_the_order_arrived_adopts_it_instead_of_sending_again() {
    let (fake, url) = start().await;
    fake.fail("place", &[Fault::SlowAfterBooking]);
    let state = broker(&url, None).place_order(&spy_order("noise-1-SPY")).await.unwrap();
    assert_eq!(state.client_order_id, "noise-1-SPY");
    assert_eq!(fake.posts.load(Ordering::SeqCst), 1, "sent once");
    assert_eq!(fake.orders_booked(), 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_order_is_looked_up_and_never_doubled() {
    let (fake, url) = start().await;
    fake.fail("place", &[Fault::DropAfterBooking]);
    broker(&url, None).place_order(&spy_order("noise-2-SPY")).await.unwrap();
    assert_eq!((fake.posts.load(Ordering::SeqCst), fake.orders_booked()), (1, 1));

    // Dropped before Alpaca booked it: the lookup finds nothing, the same body goes again, once.
    fake.fail("place", &[Fault::DropBeforeBooking]);
    let state = broker(&url, None).place_order(&spy_order("noise-3-SPY")).await.unwrap();
    assert_eq!(state.status, OrderStatus::Submitted);
    assert_eq!((fake.posts.load(Ordering::SeqCst), fake.orders_booked()), (3, 2));
}

#[tokio::test]
async fn five_hundreds_and_429s_are_retried_on_schedule_then_succeed() {
    let (fake, url) = start().await;
    fake.fail("account", &[Fault::ServerError, Fault::TooMany { retry_after: 1 }]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let started = std::time::Instant::now();
    let account = broker(&url, Some(seen.clone())).account().await.unwrap();
    assert_eq!(account.equity, dec!(30125.75));
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was waited out");
    let retries = seen.lock().unwrap().iter().filter(|n| matches!(n, BrokerNotice::Retrying { .. })).count();
    assert_eq!(retries, 2);
    // A 500 on an order is not retried blindly: it is looked up, then resent once.
    fake.fail("place", &[Fault::ServerError]);
    broker(&url, None).place_order(&spy_order("noise-4-SPY")).await.unwrap();
    assert_eq!((fake.posts.load(Ordering::SeqCst), fake.orders_booked()), (2, 1));
}

#[tokio::test]
async fn a_refused_order_is_final_and_a_duplicate_adopts_the_existing_one() {
    let (fake, url) = start().await;
    fake.fail("place", &[Fault::Refuse403]);
    let error = broker(&url, None).place_order(&spy_order("noise-5-SPY")).await.unwrap_err();
    assert!(
        matches!(&error, BrokerError::Rejected { reason, .. } if reason.contains("insufficient buying power")),
        "{error}"
    );
    assert_eq!(fake.posts.load(Ordering::SeqCst), 1, "a refusal is not retried");
    let alpaca = broker(&url, None);
    let first = alpaca.place_order(&spy_order("noise-6-SPY")).await.unwrap();
    let again = alpaca.place_order(&spy_order("noise-6-SPY")).await.unwrap();
    assert_eq!(first.broker_order_id, again.broker_order_id, "the 422 duplicate is the same order");
    assert_eq!(fake.orders_booked(), 1);
}

#[tokio::test]
async fn a_partial_fill_and_a_cancel_read_back_as_they_are() {
    let (fake, url) = start().await;
    *fake.booked_status.lock().unwrap() = "partially_filled";
    let alpaca = broker(&url, None);
    let state = alpaca.place_order(&spy_order("noise-7-SPY")).await.unwrap();
    assert_eq!(
        (state.status, state.filled_quantity, state.average_fill_price),
        (OrderStatus::PartiallyFilled, dec!(4), Some(dec!(597.25)))
    );
    let cancelled = alpaca.cancel_order("noise-7-SPY").await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(alpaca.order_status("noise-unknown").await.unwrap(), None);
}

#[tokio::test]
async fn a_malformed_reply_is_an_error_with_the_raw_snippet() {
    let (fake, url) = start().await;
    fake.fail("account", &[Fault::Malformed]);
    match broker(&url, None).account().await {
        Err(BrokerError::Malformed { snippet, .. }) => assert!(snippet.contains("\"cash\":"), "{snippet}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn five_failures_open_the_breaker_which_refuses_at_once_then_recovers() {
    let (fake, url) = start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let cool_off = Duration::from_millis(300);
    let alpaca = broker(&url, Some(seen.clone())).with_breaker(CircuitBreaker::new(5, cool_off));
    fake.fail("account", &[Fault::ServerError; 5]);
    // One call: four attempts (three retries); the second call's first attempt is the fifth failure.
    assert!(alpaca.account().await.is_err());
    assert_eq!(alpaca.breaker_state(), BreakerState::Closed);
    let error = alpaca.account().await.unwrap_err();
    assert_eq!(alpaca.breaker_state(), BreakerState::Open, "{error}");
    let requests = fake.requests.load(Ordering::SeqCst);
    let refused = alpaca.account().await.unwrap_err();
    assert!(refused.to_string().contains("circuit breaker open"), "{refused}");
    assert_eq!(fake.requests.load(Ordering::SeqCst), requests, "an open breaker sends nothing");
    // After the cool-off one trial goes through; its success closes the breaker.
    tokio::time::sleep(cool_off + Duration::from_millis(50)).await;
    assert_eq!(alpaca.account().await.unwrap().equity, dec!(30125.75));
    assert_eq!(alpaca.breaker_state(), BreakerState::Closed);
    let transitions: Vec<BreakerState> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|n| match n {
            BrokerNotice::Breaker { transition, .. } => Some(transition.to),
            _ => None,
        })
        .collect();
    assert_eq!(transitions, [BreakerState::Open, BreakerState::HalfOpen, BreakerState::Closed], "each one reported");
}

#[tokio::test]
async fn wrong_keys_are_a_refusal_naming_the_status() {
    let (_, url) = start().await;
    let mut config = AlpacaConfig {
        key_id: "wrong".into(),
        secret: "x".into(),
        trading_url: url.clone(),
        data_url: url,
        live: false,
        feed: "iex".into(),
    };
    config.secret = "still wrong".into();
    let error = AlpacaBroker::new(config).unwrap().authenticate().await.unwrap_err();
    assert!(error.to_string().contains("HTTP 401"), "{error}");
}

#[tokio::test]
async fn fill_activities_are_read_page_by_page_from_a_time_on() {
    let (_, url) = start().await;
    let alpaca = broker(&url, None);
    let start: chrono::DateTime<chrono::Utc> = "2026-03-09T14:00:00Z".parse().unwrap();
    let fills = alpaca.fills_since(start).await.unwrap();
    assert_eq!(fills.len(), 101, "both pages, the first fill at the start itself included");
    let ids: std::collections::BTreeSet<&str> = fills.iter().map(|f| f.fill_id.as_str()).collect();
    assert_eq!(ids.len(), 101, "each execution once");
    assert!(fills.windows(2).all(|w| w[0].time <= w[1].time), "oldest first");
    let short = &fills[1];
    assert_eq!((short.side, short.quantity, short.price), (noise_core::risk::Side::Sell, dec!(2), dec!(600.125)));
    assert_eq!((short.broker_order_id.as_str(), short.client_order_id.as_deref()), ("ord-1", None));
    let later = alpaca.fills_since(start + chrono::TimeDelta::seconds(100)).await.unwrap();
    assert_eq!(later.len(), 1);
}
