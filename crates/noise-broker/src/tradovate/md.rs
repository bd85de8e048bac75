//! Tradovate's market-data WebSocket: 1-minute bars by chart request.
//!
//! [`chart_once`] asks for the last N bars and closes. [`ChartStream`] keeps
//! charts subscribed for the engine: it sends the client heartbeat every
//! 2.5 s, and when the socket drops (or the server closes it) it connects
//! again, authorises and re-sends every chart request; bars are kept by
//! their timestamp, so a forming bar re-sent is updated, not duplicated.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use noise_core::instrument::BrokerKind;
use noise_core::market::Bar;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::frame::{self, Frame, Message};
use super::wire::ChartBar;
use crate::BrokerError;

const BROKER: BrokerKind = BrokerKind::Tradovate;
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(2500);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn unavailable(reason: impl Into<String>) -> BrokerError {
    BrokerError::Unavailable { broker: BROKER, reason: reason.into() }
}

fn malformed(detail: impl Into<String>, snippet: &str) -> BrokerError {
    BrokerError::malformed(BROKER, detail, snippet)
}

/// An authorised market-data connection.
struct Connection {
    socket: Socket,
    next_id: i64,
    /// When the last heartbeat went out: it is due every 2.5 s whatever the traffic.
    beat: tokio::time::Instant,
}

impl Connection {
    /// Connects, waits for `o`, authorises with the access token.
    async fn open(url: &str, token: &str) -> Result<Self, BrokerError> {
        crate::install_crypto_provider();
        let (socket, _) = tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| unavailable(format!("{url}: no connection within 10 s")))?
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        let mut connection = Self { socket, next_id: 1, beat: tokio::time::Instant::now() };
        let opened = tokio::time::timeout(Duration::from_secs(10), connection.next_frame()).await;
        match opened.map_err(|_| unavailable(format!("{url}: no `o` frame within 10 s")))?? {
            Frame::Open => {}
            other => return Err(malformed(format!("expected the `o` frame first, got {other:?}"), "")),
        }
        connection.send_text(frame::request("authorize", 0, "", token)).await?;
        let answer = tokio::time::timeout(Duration::from_secs(10), connection.authorised()).await;
        answer.map_err(|_| unavailable("market data: no answer to authorize within 10 s"))??;
        Ok(connection)
    }

    /// Waits for the answer to `authorize`.
    async fn authorised(&mut self) -> Result<(), BrokerError> {
        loop {
            if let Frame::Messages(messages) = self.next_frame().await? {
                for m in messages {
                    if let Message::Response { id: 0, status, data } = m {
                        return match status {
                            200 => Ok(()),
                            _ => Err(BrokerError::Rejected {
                                broker: BROKER,
                                reason: format!("market data refused the token: {status} {data}"),
                            }),
                        };
                    }
                }
            }
        }
    }

    async fn send_text(&mut self, text: String) -> Result<(), BrokerError> {
        self.socket.send(WsMessage::text(text)).await.map_err(|e| unavailable(format!("market data send: {e}")))
    }

    async fn request(&mut self, endpoint: &str, body: &Value) -> Result<i64, BrokerError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send_text(frame::request(endpoint, id, "", &body.to_string())).await?;
        Ok(id)
    }

    /// The next protocol frame; the heartbeat goes out every 2.5 s, busy or not.
    async fn next_frame(&mut self) -> Result<Frame, BrokerError> {
        loop {
            if self.beat.elapsed() >= HEARTBEAT_EVERY {
                self.send_text(frame::HEARTBEAT.to_string()).await?;
                self.beat = tokio::time::Instant::now();
            }
            let message = tokio::time::timeout_at(self.beat + HEARTBEAT_EVERY, self.socket.next()).await;
            let message = match message {
                Err(_) => continue, // time for the heartbeat

                Ok(None) => return Err(unavailable("market data socket closed")),
                Ok(Some(Err(e))) => return Err(unavailable(format!("market data socket: {e}"))),
                Ok(Some(Ok(m))) => m,
            };
            let text = match message {
                WsMessage::Text(t) => t.to_string(),
                WsMessage::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                WsMessage::Close(_) => return Err(unavailable("market data socket closed by the server")),
                _ => continue,
            };
            let parsed = frame::parse(&text).map_err(|e| malformed(e.detail, &e.snippet))?;
            if let Frame::Closed { detail } = &parsed {
                return Err(unavailable(format!("market data closed: {detail}")));
            }
            return Ok(parsed);
        }
    }
}

/// The chart request for 1-minute bars of a contract, the last `limit`.
pub fn chart_request(contract_id: i64, limit: usize) -> Value {
    chart_request_for(contract_id, 1, json!({"asMuchAsElements": limit}))
}

/// The chart request for `minutes`-minute bars of a contract over `time_range`
/// (`asMuchAsElements`, or `closestTimestamp` with `asFarAsTimestamp`).
pub fn chart_request_for(contract_id: i64, minutes: u32, time_range: Value) -> Value {
    json!({
        "symbol": contract_id,
        "chartDescription": {"underlyingType": "MinuteBar", "elementSize": minutes, "elementSizeUnit": "UnderlyingUnits", "withHistogram": false},
        "timeRange": time_range,
    })
}

/// A chart event's bars for the subscription `id`, and whether it marks the end of history.
fn chart_packets(data: &Value) -> Vec<(i64, bool, Vec<ChartBar>)> {
    data.get("charts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|chart| {
            let id = chart.get("id").and_then(Value::as_i64).unwrap_or(-1);
            let eoh = chart.get("eoh").and_then(Value::as_bool).unwrap_or(false);
            let bars = chart
                .get("bars")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|b| serde_json::from_value::<ChartBar>(b.clone()).ok())
                .collect();
            (id, eoh, bars)
        })
        .collect()
}

/// A chart bar as ours: its volume is up + down volume.
pub fn to_bar(b: &ChartBar) -> Result<Bar, String> {
    crate::bar_from_doubles(b.timestamp, [b.open, b.high, b.low, b.close], b.up_volume + b.down_volume)
}

/// The last `limit` completed-or-forming 1-minute bars of a contract, oldest first.
pub async fn chart_once(url: &str, token: &str, contract_id: i64, limit: usize) -> Result<Vec<Bar>, BrokerError> {
    chart_history(url, token, &chart_request(contract_id, limit), limit).await
}

/// The history a chart `request` asks for, oldest first (at most `limit` bars, the latest).
pub async fn chart_history(url: &str, token: &str, request: &Value, limit: usize) -> Result<Vec<Bar>, BrokerError> {
    let work = async {
        let mut connection = Connection::open(url, token).await?;
        let request_id = connection.request("md/getchart", request).await?;
        let mut historical = None;
        let mut realtime = None;
        let mut bars: BTreeMap<DateTime<Utc>, ChartBar> = BTreeMap::new();
        loop {
            let Frame::Messages(messages) = connection.next_frame().await? else { continue };
            for message in messages {
                match message {
                    Message::Response { id, status, data } if id == request_id => {
                        if status != 200 {
                            return Err(BrokerError::Rejected {
                                broker: BROKER,
                                reason: format!("md/getchart: {status} {data}"),
                            });
                        }
                        historical = data.get("historicalId").and_then(Value::as_i64);
                        realtime = data.get("realtimeId").and_then(Value::as_i64);
                    }
                    Message::Event { kind, data } if kind == "chart" => {
                        for (id, eoh, packet) in chart_packets(&data) {
                            if Some(id) != historical && Some(id) != realtime {
                                continue;
                            }
                            for bar in packet {
                                bars.insert(bar.timestamp, bar);
                            }
                            if eoh && Some(id) == historical {
                                if let Some(r) = realtime {
                                    let _ = connection.request("md/cancelchart", &json!({"subscriptionId": r})).await;
                                }
                                let _ = connection.socket.close(None).await;
                                let kept: Vec<&ChartBar> = bars.values().collect();
                                let from = kept.len().saturating_sub(limit);
                                return kept[from..].iter().map(|b| to_bar(b).map_err(|e| malformed(e, ""))).collect();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .map_err(|_| unavailable("md/getchart: no end of history within 30 s"))?
}

/// Each contract's bars by their start time.
type BarsByContract = HashMap<i64, BTreeMap<DateTime<Utc>, Bar>>;

/// Charts kept subscribed across reconnects.
#[derive(Clone, Default)]
pub struct ChartStream {
    bars: Arc<Mutex<BarsByContract>>,
    reconnects: Arc<std::sync::atomic::AtomicU32>,
}

impl ChartStream {
    /// Subscribes to 1-minute charts of `contracts` and keeps them: on any
    /// drop, reconnects (1 s, 2 s, 4 s … capped at 30 s), authorises with a
    /// fresh token from `token` and subscribes again. Runs until `stop`.
    pub fn spawn<F, Fut>(
        url: String,
        token: F,
        contracts: Vec<i64>,
        history: usize,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, BrokerError>> + Send,
    {
        let stream = Self::default();
        let keeper = stream.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_secs(1);
            loop {
                let session = async {
                    let token = token().await?;
                    let mut connection = Connection::open(&url, &token).await?;
                    let mut ids = HashMap::new();
                    for contract in &contracts {
                        let request = connection.request("md/getchart", &chart_request(*contract, history)).await?;
                        ids.insert(request, *contract);
                    }
                    keeper.follow(&mut connection, ids).await
                };
                let began = tokio::time::Instant::now();
                tokio::select! {
                    _ = session => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                // A session that lasted was healthy: the next reconnect starts quick again.
                if began.elapsed() > Duration::from_secs(60) {
                    wait = Duration::from_secs(1);
                }
                keeper.reconnects.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        });
        stream
    }

    /// Reads chart packets until the connection fails.
    async fn follow(&self, connection: &mut Connection, requests: HashMap<i64, i64>) -> Result<(), BrokerError> {
        let mut subscriptions: HashMap<i64, i64> = HashMap::new();
        loop {
            let Frame::Messages(messages) = connection.next_frame().await? else { continue };
            for message in messages {
                match message {
                    Message::Response { id, status: 200, data } => {
                        if let Some(contract) = requests.get(&id) {
                            for key in ["historicalId", "realtimeId"] {
                                if let Some(sub) = data.get(key).and_then(Value::as_i64) {
                                    subscriptions.insert(sub, *contract);
                                }
                            }
                        }
                    }
                    Message::Event { kind, data } if kind == "chart" => {
                        for (id, _, packet) in chart_packets(&data) {
                            let Some(contract) = subscriptions.get(&id) else { continue };
                            let mut all = self.bars.lock().unwrap_or_else(|p| p.into_inner());
                            let kept = all.entry(*contract).or_default();
                            for bar in packet.iter().filter_map(|b| to_bar(b).ok()) {
                                kept.insert(bar.time, bar);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// The bars of a contract so far, oldest first (the last may be forming).
    pub fn bars(&self, contract: i64) -> Vec<Bar> {
        let all = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        all.get(&contract).map(|b| b.values().cloned().collect()).unwrap_or_default()
    }

    pub fn reconnects(&self) -> u32 {
        self.reconnects.load(std::sync::atomic::Ordering::SeqCst)
    }
}
