//! Alpaca (US equities): the Trading API v2 and Market Data v2 over HTTPS,
//! API-key headers, paper by default. Facts: `shared/brokers/ALPACA.md`.
//!
//! Orders carry our deterministic `client_order_id`, Alpaca's idempotency
//! key: a placement whose outcome is unknown (timeout, 5xx, 429, dropped
//! connection) is looked up by that id before it is sent again, and a
//! "client_order_id must be unique" refusal adopts the order that exists.

pub mod wire;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use noise_core::instrument::{AssetClass, BrokerKind};
use noise_core::market::Bar;
use noise_core::risk::Side;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::http::{Endpoint, NoticeSink, Reply, Retry};
use crate::resilience::{Backoff, Failure};
use crate::{AccountInfo, BrokerAdapter, BrokerError, BrokerPosition, FillReport, OrderKind, OrderRequest, OrderState};

const BROKER: BrokerKind = BrokerKind::Alpaca;
/// Activities per page: Alpaca's largest.
const PAGE: usize = 100;
pub const PAPER_TRADING_URL: &str = "https://paper-api.alpaca.markets";
pub const LIVE_TRADING_URL: &str = "https://api.alpaca.markets";
pub const DATA_URL: &str = "https://data.alpaca.markets";
/// Alpaca's documented Trading API budget per account.
pub const REQUESTS_PER_MINUTE: u32 = 200;

/// Where and as whom: the key pair and its hosts are one unit, so a paper
/// key is never sent to the live host.
#[derive(Clone)]
pub struct AlpacaConfig {
    pub key_id: String,
    pub secret: String,
    pub trading_url: String,
    pub data_url: String,
    pub live: bool,
    /// `iex` works without a SIP subscription.
    pub feed: String,
}

impl std::fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("AlpacaConfig")
            .field("trading_url", &self.trading_url)
            .field("data_url", &self.data_url)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl AlpacaConfig {
    /// From `ALPACA_API_KEY`, `ALPACA_API_SECRET` and the optional
    /// `ALPACA_TRADING_URL`, `ALPACA_DATA_URL`, `ALPACA_FEED`; `Err` names
    /// every missing variable.
    pub fn from_env(live: bool) -> Result<Self, Vec<&'static str>> {
        let var = crate::env_var;
        let (key_id, secret) = (var("ALPACA_API_KEY"), var("ALPACA_API_SECRET"));
        let mut missing = Vec::new();
        if key_id.is_none() {
            missing.push("ALPACA_API_KEY");
        }
        if secret.is_none() {
            missing.push("ALPACA_API_SECRET");
        }
        let (Some(key_id), Some(secret)) = (key_id, secret) else { return Err(missing) };
        let default_trading = if live { LIVE_TRADING_URL } else { PAPER_TRADING_URL };
        Ok(Self {
            key_id,
            secret,
            trading_url: var("ALPACA_TRADING_URL").unwrap_or_else(|| default_trading.into()),
            data_url: var("ALPACA_DATA_URL").unwrap_or_else(|| DATA_URL.into()),
            live,
            feed: var("ALPACA_FEED").unwrap_or_else(|| "iex".into()),
        })
    }
}

/// Alpaca's market clock.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketClock {
    pub timestamp: DateTime<Utc>,
    pub is_open: bool,
    pub next_open: DateTime<Utc>,
    pub next_close: DateTime<Utc>,
}

/// What Alpaca still says about pattern day trading (deprecated fields, may be absent).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PdtFacts {
    pub pattern_day_trader: Option<bool>,
    pub daytrade_count: Option<u32>,
    /// A margin account (multiplier above 1).
    pub margin_account: bool,
}

pub struct AlpacaBroker {
    config: AlpacaConfig,
    trading: Endpoint,
    data: Endpoint,
    /// Waits between placement attempts whose outcome was unknown.
    backoff: Backoff,
}

impl AlpacaBroker {
    pub fn new(config: AlpacaConfig) -> Result<Self, BrokerError> {
        Self::with_timeout(config, Duration::from_secs(10))
    }

    /// How long one request may take before it counts as failed.
    pub fn with_timeout(config: AlpacaConfig, timeout: Duration) -> Result<Self, BrokerError> {
        Ok(Self {
            trading: Endpoint::new(BROKER, timeout, Some(REQUESTS_PER_MINUTE))?,
            data: Endpoint::new(BROKER, timeout, Some(REQUESTS_PER_MINUTE))?,
            config,
            backoff: Backoff::STANDARD,
        })
    }

    /// Shorter retry waits (tests).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.trading = self.trading.with_backoff(backoff);
        self.data = self.data.with_backoff(backoff);
        self.backoff = backoff;
        self
    }

    /// Another breaker policy (tests use a short cool-off).
    pub fn with_breaker(mut self, breaker: crate::resilience::CircuitBreaker) -> Self {
        self.trading = self.trading.with_breaker(breaker.clone());
        self.data = self.data.with_breaker(breaker);
        self
    }

    /// Where breaker transitions and retries are reported.
    pub fn with_notices(mut self, sink: NoticeSink) -> Self {
        self.trading = self.trading.with_notices(sink.clone());
        self.data = self.data.with_notices(sink);
        self
    }

    pub fn config(&self) -> &AlpacaConfig {
        &self.config
    }

    pub fn breaker_state(&self) -> crate::resilience::BreakerState {
        self.trading.breaker_state()
    }

    async fn send(
        &self,
        host: Host,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Reply, BrokerError> {
        let (endpoint, base) = match host {
            Host::Trading => (&self.trading, &self.config.trading_url),
            Host::Data => (&self.data, &self.config.data_url),
        };
        let url = format!("{}{path}", base.trim_end_matches('/'));
        endpoint
            .call(&format!("{method} {path}"), retry, || {
                let mut request = endpoint
                    .client()
                    .request(method.clone(), &url)
                    .header("APCA-API-KEY-ID", &self.config.key_id)
                    .header("APCA-API-SECRET-KEY", &self.config.secret)
                    .header("Accept", "application/json");
                if !query.is_empty() {
                    request = request.query(query);
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                request
            })
            .await
    }

    pub async fn clock(&self) -> Result<MarketClock, BrokerError> {
        let reply = self.send(Host::Trading, Method::GET, "/v2/clock", &[], None, Retry::Safe).await?;
        let c: wire::Clock = parse_ok(&reply, "clock")?;
        Ok(MarketClock { timestamp: c.timestamp, is_open: c.is_open, next_open: c.next_open, next_close: c.next_close })
    }

    /// Trading days from `start` to `end` with their opening and closing
    /// times (New York wall clock, `HH:MM`).
    pub async fn calendar(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<(NaiveDate, String, String)>, BrokerError> {
        // The spec types both as date-time: New York midnight of each day.
        let midnight = |d: NaiveDate| {
            use chrono::TimeZone;
            chrono_tz::America::New_York
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| format!("{d}T00:00:00Z"))
        };
        let query = [("start", midnight(start)), ("end", midnight(end))];
        let reply = self.send(Host::Trading, Method::GET, "/v2/calendar", &query, None, Retry::Safe).await?;
        let days: Vec<wire::CalendarDay> = parse_ok(&reply, "calendar")?;
        Ok(days.into_iter().map(|d| (d.date, d.open, d.close)).collect())
    }

    /// The account's PDT facts for the risk manager.
    pub async fn pdt_facts(&self) -> Result<PdtFacts, BrokerError> {
        let account = self.raw_account().await?;
        Ok(PdtFacts {
            pattern_day_trader: account.pattern_day_trader,
            daytrade_count: account.daytrade_count,
            margin_account: account.multiplier.is_some_and(|m| m > rust_decimal::Decimal::ONE),
        })
    }

    async fn raw_account(&self) -> Result<wire::Account, BrokerError> {
        let reply = self.send(Host::Trading, Method::GET, "/v2/account", &[], None, Retry::Safe).await?;
        parse_ok(&reply, "account")
    }

    /// Bars of `timeframe` (`1Min`, `5Min`, `1Day`, …) from `start` to `end`
    /// (inclusive), every page (`next_page_token`) followed; `progress` hears
    /// the bars received so far.
    pub async fn bars(
        &self,
        symbol: &str,
        timeframe: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        let mut bars = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("timeframe", timeframe.to_string()),
                ("start", start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ("end", end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ("limit", "10000".to_string()),
                ("adjustment", "raw".to_string()),
                ("feed", self.config.feed.clone()),
                ("sort", "asc".to_string()),
            ];
            if let Some(t) = &token {
                query.push(("page_token", t.clone()));
            }
            let (page, next) = self.bars_page(symbol, &query).await?;
            bars.extend(page);
            progress(bars.len());
            match next {
                Some(next) if token.as_ref() != Some(&next) => token = Some(next),
                Some(_) => return Err(malformed("bars", "the same next_page_token twice", "")),
                None => return Ok(bars),
            }
        }
    }

    async fn bars_page(
        &self,
        symbol: &str,
        query: &[(&str, String)],
    ) -> Result<(Vec<Bar>, Option<String>), BrokerError> {
        let path = format!("/v2/stocks/{symbol}/bars");
        let reply = self.send(Host::Data, Method::GET, &path, query, None, Retry::Safe).await?;
        let page: wire::BarsPage = parse_ok(&reply, "bars")?;
        let bars = page
            .bars
            .unwrap_or_default()
            .iter()
            .map(wire::DataBar::unified)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| malformed("bars", &e, &reply.snippet()))?;
        Ok((bars, page.next_page_token.filter(|t| !t.is_empty())))
    }

    /// Fill activities at or after `since`, oldest first, every page read.
    pub async fn fill_activities(&self, since: DateTime<Utc>) -> Result<Vec<FillReport>, BrokerError> {
        // `after` is exclusive: a second earlier, so a fill at `since` itself is included.
        let after = (since - chrono::TimeDelta::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut fills = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query =
                vec![("after", after.clone()), ("direction", "asc".to_string()), ("page_size", PAGE.to_string())];
            if let Some(t) = &token {
                query.push(("page_token", t.clone()));
            }
            let reply =
                self.send(Host::Trading, Method::GET, "/v2/account/activities/FILL", &query, None, Retry::Safe).await?;
            let page: Vec<wire::FillActivity> = parse_ok(&reply, "fill activities")?;
            for activity in &page {
                fills.push(activity.unified().map_err(|e| malformed("fill activities", &e, &reply.snippet()))?);
            }
            match page.last() {
                Some(last) if page.len() == PAGE && token.as_deref() != Some(last.id.as_str()) => {
                    token = Some(last.id.clone())
                }
                Some(_) if page.len() == PAGE => {
                    return Err(malformed("fill activities", "the same page twice", &reply.snippet()));
                }
                _ => return Ok(fills),
            }
        }
    }

    /// The order with this client order id, with its bracket legs.
    async fn by_client_order_id(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError> {
        let query = [("client_order_id", client_order_id.to_string()), ("nested", "true".to_string())];
        let reply =
            self.send(Host::Trading, Method::GET, "/v2/orders:by_client_order_id", &query, None, Retry::Safe).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let order: wire::Order = parse_ok(&reply, "order")?;
        order.unified().map(Some).map_err(|e| malformed("order", &e, &reply.snippet()))
    }

    /// One placement attempt's outcome: the order, or why it is refused, or
    /// unknown (the broker may or may not have it).
    async fn place_once(&self, body: &Value, client_order_id: &str) -> Result<Placed, BrokerError> {
        let reply = match self.send(Host::Trading, Method::POST, "/v2/orders", &[], Some(body), Retry::Never).await {
            Ok(reply) => reply,
            Err(BrokerError::Unavailable { reason, .. }) => return Ok(Placed::Unknown(reason)),
            Err(other) => return Err(other),
        };
        match reply.status.as_u16() {
            200..=299 => {
                let order: wire::Order = parse(&reply, "order")?;
                Ok(Placed::Order(order.unified().map_err(|e| malformed("order", &e, &reply.snippet()))?))
            }
            422 if is_duplicate(&reply) => match self.by_client_order_id(client_order_id).await? {
                Some(existing) => Ok(Placed::Order(existing)),
                None => Err(malformed("order", "refused as a duplicate, yet not found by its id", &reply.snippet())),
            },
            _ => Err(refusal(&reply)),
        }
    }
}

/// Alpaca's two hosts, each with its own endpoint (budget, breaker).
#[derive(Debug, Clone, Copy)]
enum Host {
    Trading,
    Data,
}

enum Placed {
    Order(OrderState),
    Unknown(String),
}

fn is_duplicate(reply: &Reply) -> bool {
    let text = reply.body.to_ascii_lowercase();
    text.contains("client_order_id must be unique") || text.contains("client order id must be unique")
}

/// A 4xx (or an unexpected status) as our error: 401 and 403 on the account
/// are refusals of access; on an order, Alpaca's reason.
fn refusal(reply: &Reply) -> BrokerError {
    let detail = serde_json::from_str::<wire::ErrorBody>(&reply.body)
        .ok()
        .and_then(|e| e.message.map(|m| format!("{m} (code {})", e.code.unwrap_or_default())))
        .unwrap_or_else(|| reply.snippet());
    let reason = format!("HTTP {}: {detail}", reply.status.as_u16());
    match reply.status {
        StatusCode::UNAUTHORIZED => BrokerError::Unauthorized { broker: BROKER, reason },
        _ => BrokerError::Rejected { broker: BROKER, reason },
    }
}

fn malformed(what: &str, detail: &str, snippet: &str) -> BrokerError {
    BrokerError::malformed(BROKER, format!("{what}: {detail}"), snippet)
}

fn parse<T: DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, BrokerError> {
    serde_json::from_str(&reply.body).map_err(|e| malformed(what, &e.to_string(), &reply.body))
}

/// A 2xx parsed as `T`; any other status is the broker's refusal.
fn parse_ok<T: DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, BrokerError> {
    if !reply.status.is_success() {
        return Err(refusal(reply));
    }
    parse(reply, what)
}

/// Alpaca's word for bars of `minutes` minutes (`1Min`, `2Hour`, `1Day`).
pub fn timeframe(minutes: u32) -> String {
    match minutes {
        m if m >= 1440 && m % 1440 == 0 => format!("{}Day", m / 1440),
        m if m >= 60 && m % 60 == 0 => format!("{}Hour", m / 60),
        m => format!("{m}Min"),
    }
}

/// Our order as Alpaca's body: decimal strings, a bracket when the approval
/// carries a stop and a target.
pub fn order_body(order: &OrderRequest) -> Value {
    let mut body = json!({
        "symbol": order.symbol(),
        "qty": order.quantity().normalize().to_string(),
        "side": match order.side() { Side::Buy => "buy", Side::Sell => "sell" },
        "time_in_force": "day",
        "client_order_id": order.client_order_id(),
    });
    match order.kind() {
        OrderKind::Market => body["type"] = json!("market"),
        OrderKind::Limit(price) => {
            body["type"] = json!("limit");
            body["limit_price"] = json!(price.normalize().to_string());
        }
        OrderKind::Stop(price) => {
            body["type"] = json!("stop");
            body["stop_price"] = json!(price.normalize().to_string());
        }
    }
    if let (Some(stop), Some(target)) = (order.stop_loss(), order.take_profit()) {
        body["order_class"] = json!("bracket");
        body["take_profit"] = json!({"limit_price": target.normalize().to_string()});
        body["stop_loss"] = json!({"stop_price": stop.normalize().to_string()});
    }
    body
}

#[async_trait]
impl BrokerAdapter for AlpacaBroker {
    fn broker(&self) -> BrokerKind {
        BROKER
    }

    fn asset_classes(&self) -> &[AssetClass] {
        &[AssetClass::Equity]
    }

    /// Alpaca has no session: the key pair is checked by reading the account.
    async fn authenticate(&self) -> Result<(), BrokerError> {
        let account = self.raw_account().await?;
        if account.status != "ACTIVE" || account.trading_blocked == Some(true) || account.account_blocked == Some(true)
        {
            return Err(BrokerError::Rejected {
                broker: BROKER,
                reason: format!(
                    "the account cannot trade: status {}, trading_blocked {:?}, account_blocked {:?}",
                    account.status, account.trading_blocked, account.account_blocked
                ),
            });
        }
        Ok(())
    }

    async fn refresh_token(&self) -> Result<(), BrokerError> {
        Ok(()) // API keys do not expire
    }

    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        let account = self.raw_account().await?;
        Ok(AccountInfo {
            broker: BROKER,
            equity: account.equity,
            cash: account.cash,
            buying_power: account.buying_power,
            available_margin: account.buying_power,
            day_trade_count: account.daytrade_count,
            margin_account: account.multiplier.is_some_and(|m| m > rust_decimal::Decimal::ONE),
        })
    }

    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        let reply = self.send(Host::Trading, Method::GET, "/v2/positions", &[], None, Retry::Safe).await?;
        let positions: Vec<wire::Position> = parse_ok(&reply, "positions")?;
        positions
            .iter()
            .map(wire::Position::unified)
            .collect::<Result<_, _>>()
            .map_err(|e| malformed("positions", &e, &reply.snippet()))
    }

    /// Sends the order once; when the outcome is unknown, looks it up by its
    /// client order id and sends the identical body again only if Alpaca
    /// does not have it (at most three more times, on the retry schedule).
    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError> {
        let body = order_body(order);
        let id = order.client_order_id();
        let mut retry = 0;
        loop {
            let why = match self.place_once(&body, id).await? {
                Placed::Order(state) => return Ok(state),
                Placed::Unknown(why) => why,
            };
            let Some(wait) = self.backoff.wait(retry, Failure::Transport, rand::random::<f64>()) else {
                return Err(BrokerError::Unavailable { broker: BROKER, reason: format!("order {id}: {why}") });
            };
            retry += 1;
            tokio::time::sleep(wait).await;
            if let Some(existing) = self.by_client_order_id(id).await? {
                return Ok(existing); // the first attempt reached Alpaca
            }
        }
    }

    async fn cancel_order(&self, client_order_id: &str) -> Result<OrderState, BrokerError> {
        let Some(order) = self.by_client_order_id(client_order_id).await? else {
            return Err(BrokerError::NotFound { broker: BROKER, id: client_order_id.to_string() });
        };
        let path = format!("/v2/orders/{}", order.broker_order_id);
        let reply = self.send(Host::Trading, Method::DELETE, &path, &[], None, Retry::Safe).await?;
        // 204: accepted (cancelling is asynchronous); 422: already final. Either way, read it back.
        if !(reply.status.is_success() || reply.status == StatusCode::UNPROCESSABLE_ENTITY) {
            return Err(refusal(&reply));
        }
        self.by_client_order_id(client_order_id)
            .await?
            .ok_or_else(|| BrokerError::NotFound { broker: BROKER, id: client_order_id.to_string() })
    }

    async fn order_status(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError> {
        self.by_client_order_id(client_order_id).await
    }

    async fn fills_since(&self, since: DateTime<Utc>) -> Result<Vec<FillReport>, BrokerError> {
        self.fill_activities(since).await
    }

    async fn bar_history(
        &self,
        symbol: &str,
        minutes: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        self.bars(symbol, &timeframe(minutes), start, end, progress).await
    }

    /// The last few bars in one request; a longer history (the warm-up) from
    /// far enough back, every page: without `start` Alpaca answers from the
    /// beginning of today only.
    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        if limit > 100 {
            // 390 regular minutes a trading day, five trading days a week, plus holidays.
            let days = (limit / 390 + 1) as i64 * 7 / 5 + 4;
            let end = chrono::Utc::now();
            let mut bars = self.bars(symbol, "1Min", end - chrono::TimeDelta::days(days), end, &mut |_| {}).await?;
            let from = bars.len().saturating_sub(limit);
            return Ok(bars.split_off(from));
        }
        let query = [
            ("timeframe", "1Min".to_string()),
            ("limit", limit.clamp(1, 10_000).to_string()),
            ("feed", self.config.feed.clone()),
            ("sort", "desc".to_string()),
        ];
        let (mut bars, _) = self.bars_page(symbol, &query).await?;
        bars.reverse();
        Ok(bars)
    }
}
