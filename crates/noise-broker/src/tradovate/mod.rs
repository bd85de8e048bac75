//! Tradovate (CME micro futures): one session per process (access token,
//! renewed before it expires), REST for commands and reads, the market-data
//! WebSocket for 1-minute bars. Facts: `shared/brokers/TRADOVATE.md`.
//!
//! A placement is at most once: Tradovate has no documented duplicate check
//! on `clOrdId`, so an unknown outcome is resolved by finding our `clOrdId`
//! among the account's orders' commands before anything is sent again.

pub mod frame;
pub mod md;
pub mod wire;

use compact_str::ToCompactString;
use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use noise_core::contracts::front_month;
use noise_core::instrument::{AssetClass, BrokerKind};
use noise_core::market::Bar;
use noise_core::order::OrderType;
use noise_core::risk::Side;
use reqwest::Method;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::decimal_from_double;
use crate::http::{Endpoint, NoticeSink, Reply, Retry};
use crate::resilience::{Backoff, Failure};
use crate::{AccountInfo, BrokerAdapter, BrokerError, BrokerPosition, FillReport, OrderKind, OrderRequest, OrderState};

const BROKER: BrokerKind = BrokerKind::Tradovate;
pub const DEMO_REST_URL: &str = "https://demo.tradovateapi.com/v1";
pub const LIVE_REST_URL: &str = "https://live.tradovateapi.com/v1";
pub const DEMO_WS_URL: &str = "wss://demo.tradovateapi.com/v1/websocket";
pub const LIVE_WS_URL: &str = "wss://live.tradovateapi.com/v1/websocket";
pub const MD_URL: &str = "wss://md.tradovateapi.com/v1/websocket";
/// Renew the 90-minute token when less than this is left.
const RENEW_BEFORE: chrono::TimeDelta = chrono::TimeDelta::minutes(15);
/// The client-side budget of REST requests.
pub const REQUESTS_PER_MINUTE: u32 = 75;
/// The longest penalty wait we sit out; a longer one is reported instead.
const MAX_PENALTY_WAIT: u64 = 120;

/// Credentials and hosts; the environment is the only source of secrets.
#[derive(Clone)]
pub struct TradovateConfig {
    pub username: String,
    pub password: String,
    pub app_id: String,
    pub app_version: String,
    pub cid: String,
    pub secret: String,
    /// Stable across runs: Tradovate checks it (strictly on live).
    pub device_id: String,
    /// The account's name; needed when the user has more than one.
    pub account: Option<String>,
    pub rest_url: String,
    pub ws_url: String,
    pub md_url: String,
    pub live: bool,
    /// Send `cid` as a JSON string (what the schema says) instead of a number (what the examples send).
    pub cid_as_string: bool,
}

impl std::fmt::Debug for TradovateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradovateConfig")
            .field("rest_url", &self.rest_url)
            .field("md_url", &self.md_url)
            .field("account", &self.account)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl TradovateConfig {
    /// From `TRADOVATE_USERNAME`, `TRADOVATE_PASSWORD`, `TRADOVATE_APP_ID`,
    /// `TRADOVATE_CID`, `TRADOVATE_SECRET` (required) and the optional
    /// `TRADOVATE_APP_VERSION`, `TRADOVATE_ACCOUNT`, `TRADOVATE_DEVICE_ID`,
    /// `TRADOVATE_REST_URL`, `TRADOVATE_WS_URL`, `TRADOVATE_MD_URL`,
    /// `TRADOVATE_CID_AS_STRING`. `Err` names every missing variable.
    /// Without `TRADOVATE_DEVICE_ID`, `device_id` is the one kept in
    /// `device_file` (made once, then reused).
    pub fn from_env(live: bool, device_file: &std::path::Path) -> Result<Self, Vec<&'static str>> {
        let var = crate::env_var;
        let required =
            ["TRADOVATE_USERNAME", "TRADOVATE_PASSWORD", "TRADOVATE_APP_ID", "TRADOVATE_CID", "TRADOVATE_SECRET"];
        let missing: Vec<&'static str> = required.into_iter().filter(|n| var(n).is_none()).collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let get = |name: &str| var(name).unwrap_or_default();
        Ok(Self {
            username: get("TRADOVATE_USERNAME"),
            password: get("TRADOVATE_PASSWORD"),
            app_id: get("TRADOVATE_APP_ID"),
            app_version: var("TRADOVATE_APP_VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").into()),
            cid: get("TRADOVATE_CID"),
            secret: get("TRADOVATE_SECRET"),
            device_id: var("TRADOVATE_DEVICE_ID").unwrap_or_else(|| device_id(device_file)),
            account: var("TRADOVATE_ACCOUNT"),
            rest_url: var("TRADOVATE_REST_URL")
                .unwrap_or_else(|| (if live { LIVE_REST_URL } else { DEMO_REST_URL }).into()),
            ws_url: var("TRADOVATE_WS_URL").unwrap_or_else(|| (if live { LIVE_WS_URL } else { DEMO_WS_URL }).into()),
            md_url: var("TRADOVATE_MD_URL").unwrap_or_else(|| MD_URL.into()),
            live,
            cid_as_string: var("TRADOVATE_CID_AS_STRING").is_some_and(|v| v == "1" || v == "true"),
        })
    }
}

/// This machine's device id: read from `path`, or made (random, hex) and
/// written there once. If it cannot be written, the made one is used for
/// this run (and Tradovate may ask to confirm the device again).
pub fn device_id(path: &std::path::Path) -> String {
    if let Ok(text) = std::fs::read_to_string(path)
        && !text.trim().is_empty()
    {
        return text.trim().to_string();
    }
    let made: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, &made);
    made
}

#[derive(Debug, Clone)]
struct Token {
    access: String,
    expires: DateTime<Utc>,
    user_id: Option<i64>,
}

/// What the session knows once logged in.
#[derive(Debug, Default)]
struct Known {
    token: Option<Token>,
    account: Option<(i64, String)>,
    /// Contract ids by Tradovate name (`MNQZ6`) and back.
    contracts: HashMap<String, i64>,
    contract_names: HashMap<i64, String>,
    /// Our client order ids to Tradovate's order ids, as placed or found.
    orders: HashMap<String, i64>,
    /// A bracket's exit orders (take profit, stop), by the entry's order id.
    legs: HashMap<i64, Vec<i64>>,
    /// The latest close seen per product root: REST gives positions no
    /// market price, the bars read through this adapter do.
    marks: HashMap<String, Decimal>,
    /// What one contract costs per side, by contract id (from its product's fee parameters).
    fees: HashMap<i64, Decimal>,
}

pub struct TradovateBroker {
    config: TradovateConfig,
    rest: Endpoint,
    known: Mutex<Known>,
    backoff: Backoff,
    /// The session's current token, for the chart streams' reconnects.
    token: tokio::sync::watch::Sender<String>,
    /// One subscribed chart per contract, kept while the adapter lives.
    streams: std::sync::Mutex<HashMap<i64, md::ChartStream>>,
    /// Dropped with the adapter: the streams stop.
    streams_stop: tokio::sync::watch::Sender<bool>,
}

/// A request for at most this many bars is served from the subscribed chart.
const FROM_STREAM: usize = 10;

impl TradovateBroker {
    pub fn new(config: TradovateConfig) -> Result<Self, BrokerError> {
        Self::with_timeout(config, Duration::from_secs(10))
    }

    pub fn with_timeout(config: TradovateConfig, timeout: Duration) -> Result<Self, BrokerError> {
        Ok(Self {
            // Tradovate's documented limits are per hour; integrators report a practical
            // ceiling near 80 a minute: stay under it, and stream what changes often.
            rest: Endpoint::new(BROKER, timeout, Some(REQUESTS_PER_MINUTE))?,
            config,
            known: Mutex::new(Known::default()),
            backoff: Backoff::STANDARD,
            token: tokio::sync::watch::channel(String::new()).0,
            streams: std::sync::Mutex::new(HashMap::new()),
            streams_stop: tokio::sync::watch::channel(false).0,
        })
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.rest = self.rest.with_backoff(backoff);
        self.backoff = backoff;
        self
    }

    pub fn with_notices(mut self, sink: NoticeSink) -> Self {
        self.rest = self.rest.with_notices(sink);
        self
    }

    pub fn config(&self) -> &TradovateConfig {
        &self.config
    }

    pub fn breaker_state(&self) -> crate::resilience::BreakerState {
        self.rest.breaker_state()
    }

    /// One HTTP exchange with Tradovate, penalties sat out (up to
    /// [`MAX_PENALTY_WAIT`]) and resent with their ticket.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<Value, BrokerError> {
        let url = format!("{}{path}", self.config.rest_url.trim_end_matches('/'));
        let mut body = body.cloned();
        loop {
            let reply = self
                .rest
                .call(&format!("{method} {path}"), retry, || {
                    let mut request =
                        self.rest.client().request(method.clone(), &url).header("Accept", "application/json");
                    if let Some(token) = token {
                        request = request.bearer_auth(token);
                    }
                    if let Some(body) = &body {
                        request = request.json(body);
                    }
                    request
                })
                .await?;
            let value = parse_reply(&reply, path)?;
            let Some(penalty) = wire::Penalty::of(&value) else { return Ok(value) };
            if penalty.captcha {
                return Err(BrokerError::Unavailable {
                    broker: BROKER,
                    reason: format!(
                        "{path}: Tradovate asks for a captcha (too many attempts); wait an hour before trying again"
                    ),
                });
            }
            if penalty.wait_seconds > MAX_PENALTY_WAIT {
                return Err(BrokerError::Unavailable {
                    broker: BROKER,
                    reason: format!("{path}: penalty of {} s; try again later", penalty.wait_seconds),
                });
            }
            tokio::time::sleep(Duration::from_secs(penalty.wait_seconds)).await;
            let mut with_ticket = body.take().unwrap_or_else(|| json!({}));
            with_ticket["p-ticket"] = json!(penalty.ticket);
            body = Some(with_ticket);
        }
    }

    /// A valid access token: logs in once, renews when less than 15 minutes are left.
    pub async fn access_token(&self) -> Result<String, BrokerError> {
        let mut known = self.known.lock().await;
        let now = Utc::now();
        match &known.token {
            Some(t) if t.expires - now > RENEW_BEFORE => return Ok(t.access.clone()),
            Some(t) if t.expires > now => {
                let current = t.access.clone();
                match self.exchange(Method::GET, "/auth/renewaccesstoken", Some(&current), None, Retry::Safe).await {
                    Ok(value) => {
                        let renewed = token_from(&value, "/auth/renewaccesstoken")?;
                        let access = renewed.access.clone();
                        known.token = Some(Token { user_id: renewed.user_id.or(t.user_id), ..renewed });
                        self.token.send_replace(access.clone());
                        return Ok(access);
                    }
                    // A refused renewal (the session ended: 401) falls back to a fresh login below.
                    Err(BrokerError::Rejected { .. } | BrokerError::Unauthorized { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
            _ => {}
        }
        let token = self.login().await?;
        let access = token.access.clone();
        known.token = Some(token);
        self.token.send_replace(access.clone());
        Ok(access)
    }

    async fn login(&self) -> Result<Token, BrokerError> {
        let body = login_body(&self.config);
        // A login is not retried on failure: only failures count against the hourly limit.
        let value = self.exchange(Method::POST, "/auth/accesstokenrequest", None, Some(&body), Retry::Never).await?;
        token_from(&value, "/auth/accesstokenrequest")
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BrokerError> {
        self.authorised(Method::GET, path, None, Retry::Safe).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value, retry: Retry) -> Result<T, BrokerError> {
        self.authorised(Method::POST, path, Some(body), retry).await
    }

    /// A call with the session's token. A 401 means the session ended (a
    /// login elsewhere ends the oldest of a user's sessions; the token
    /// expired): Tradovate did not act on the request, so it is sent once
    /// more after a fresh login.
    async fn authorised<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry: Retry,
    ) -> Result<T, BrokerError> {
        let token = self.access_token().await?;
        let value = match self.exchange(method.clone(), path, Some(&token), body, retry).await {
            Err(BrokerError::Unauthorized { .. }) => {
                {
                    // Only the token that was refused is dropped (another call may have renewed it).
                    let mut known = self.known.lock().await;
                    if known.token.as_ref().is_some_and(|t| t.access == token) {
                        known.token = None;
                    }
                }
                let token = self.access_token().await?;
                self.exchange(method, path, Some(&token), body, retry).await?
            }
            other => other?,
        };
        decode(value, path)
    }

    /// The account to trade: by `TRADOVATE_ACCOUNT`'s name, or the only one.
    pub async fn account_id(&self) -> Result<(i64, String), BrokerError> {
        if let Some(known) = &self.known.lock().await.account {
            return Ok(known.clone());
        }
        let accounts: Vec<wire::Account> = self.get("/account/list").await?;
        let usable: Vec<&wire::Account> = accounts.iter().filter(|a| a.closed != Some(true)).collect();
        let chosen = match &self.config.account {
            Some(name) => usable.iter().find(|a| &a.name == name).ok_or_else(|| BrokerError::Rejected {
                broker: BROKER,
                reason: format!(
                    "no account named {name:?}; the user has {}",
                    usable.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            })?,
            None => match usable.as_slice() {
                [only] => only,
                [] => {
                    return Err(BrokerError::Rejected {
                        broker: BROKER,
                        reason: "the user has no open account".into(),
                    });
                }
                many => {
                    return Err(BrokerError::Rejected {
                        broker: BROKER,
                        reason: format!(
                            "several accounts ({}): set TRADOVATE_ACCOUNT to the one to trade",
                            many.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            },
        };
        let account = (chosen.id, chosen.name.clone());
        self.known.lock().await.account = Some(account.clone());
        Ok(account)
    }

    /// The front-month contract for our product root, resolved to its id.
    pub async fn contract(&self, root: &str, today: chrono::NaiveDate) -> Result<(i64, String), BrokerError> {
        let name = front_month(root, today)
            .ok_or_else(|| BrokerError::Rejected {
                broker: BROKER,
                reason: format!("{root} is not a micro future NOISE knows"),
            })?
            .symbol();
        if let Some(id) = self.known.lock().await.contracts.get(&name) {
            return Ok((*id, name));
        }
        let contract: wire::Contract = self.get(&format!("/contract/find?name={name}")).await?;
        let mut known = self.known.lock().await;
        known.contracts.insert(contract.name.clone(), contract.id);
        known.contract_names.insert(contract.id, contract.name.clone());
        Ok((contract.id, contract.name))
    }

    async fn contract_name(&self, id: i64) -> Result<String, BrokerError> {
        if let Some(name) = self.known.lock().await.contract_names.get(&id) {
            return Ok(name.clone());
        }
        let contract: wire::Contract = self.get(&format!("/contract/item?id={id}")).await?;
        let mut known = self.known.lock().await;
        known.contract_names.insert(contract.id, contract.name.clone());
        known.contracts.insert(contract.name.clone(), contract.id);
        Ok(contract.name)
    }

    /// Tradovate's order id for our client order id: remembered, or found
    /// among the account's orders by their commands' `clOrdId`.
    async fn find_order(&self, client_order_id: &str) -> Result<Option<i64>, BrokerError> {
        if let Some(id) = self.known.lock().await.orders.get(client_order_id) {
            return Ok(Some(*id));
        }
        let (account, _) = self.account_id().await?;
        let mut orders: Vec<wire::Order> = self.get(&format!("/order/deps?masterid={account}")).await?;
        orders.sort_by_key(|o| std::cmp::Reverse(o.timestamp));
        // Our ids carry their minute (noise-YYYYMMDDHHMM-...): only orders created
        // from then on can be it, which keeps the command lookups few.
        let since = minute_of_id(client_order_id).map(|t| t - chrono::TimeDelta::minutes(1));
        let candidates = orders.iter().filter(|o| since.is_none_or(|t| o.timestamp >= t)).take(50);
        for order in candidates {
            let commands: Vec<wire::Command> = self.get(&format!("/command/deps?masterid={}", order.id)).await?;
            if commands.iter().any(|c| c.cl_ord_id.as_deref() == Some(client_order_id)) {
                self.known.lock().await.orders.insert(client_order_id.to_string(), order.id);
                return Ok(Some(order.id));
            }
        }
        Ok(None)
    }

    /// An order's state, with its bracket's exit orders as legs.
    async fn order_state(&self, client_order_id: &str, order_id: i64) -> Result<OrderState, BrokerError> {
        let mut state = self.single_state(client_order_id, order_id).await?;
        let legs = self.known.lock().await.legs.get(&order_id).cloned().unwrap_or_default();
        for (leg_id, suffix) in legs.into_iter().zip(["tp", "sl"]) {
            state.legs.push(self.single_state(&format!("{client_order_id}-{suffix}"), leg_id).await?);
        }
        Ok(state)
    }

    async fn single_state(&self, client_order_id: &str, order_id: i64) -> Result<OrderState, BrokerError> {
        let order: wire::Order = self.get(&format!("/order/item?id={order_id}")).await?;
        let versions: Vec<wire::OrderVersion> = self.get(&format!("/orderVersion/deps?masterid={order_id}")).await?;
        let fills: Vec<wire::Fill> = self.get(&format!("/fill/deps?masterid={order_id}")).await?;
        let fills: Vec<&wire::Fill> = fills.iter().filter(|f| f.active && f.order_id == order_id).collect();
        let filled: i64 = fills.iter().map(|f| f.qty).sum();
        let average = (filled > 0).then(|| fills.iter().map(|f| f.price * f.qty as f64).sum::<f64>() / filled as f64);
        let version = versions.iter().rfind(|v| v.order_id == order_id);
        let quantity = version.map_or(filled, |v| v.order_qty);
        let order_type = match version.and_then(|v| v.order_type.as_deref()) {
            Some("Limit") => OrderType::Limit,
            Some("Stop" | "StopLimit" | "TrailingStop" | "TrailingStopLimit") => OrderType::Stop,
            _ => OrderType::Market,
        };
        let symbol = match order.contract_id {
            Some(id) => root_of(&self.contract_name(id).await?),
            None => String::new(),
        };
        let fees = match order.contract_id {
            Some(id) if filled > 0 => self.fee_per_contract(id).await? * Decimal::from(filled),
            _ => Decimal::ZERO,
        };
        Ok(OrderState {
            client_order_id: client_order_id.into(),
            broker_order_id: order.id.to_compact_string(),
            symbol: symbol.into(),
            side: side_of(&order.action).map_err(|e| malformed("/order/item", &e, ""))?,
            order_type,
            quantity: Decimal::from(quantity),
            status: wire::status(&order.ord_status, filled),
            filled_quantity: Decimal::from(filled),
            average_fill_price: average.and_then(decimal_from_double),
            fees,
            updated_at: fills.iter().map(|f| f.timestamp).max().unwrap_or(order.timestamp),
            legs: Vec::new(),
        })
    }

    /// What one contract of `contract_id` costs per side: every fee part of
    /// its product (`/contract/getproductfeeparams`), read once per contract.
    async fn fee_per_contract(&self, contract_id: i64) -> Result<Decimal, BrokerError> {
        if let Some(fee) = self.known.lock().await.fees.get(&contract_id) {
            return Ok(*fee);
        }
        let contract: wire::Contract = self.get(&format!("/contract/item?id={contract_id}")).await?;
        let maturity = contract.contract_maturity_id.ok_or_else(|| {
            malformed("/contract/item", &format!("contract {contract_id} has no contractMaturityId"), "")
        })?;
        let maturity: wire::ContractMaturity = self.get(&format!("/contractMaturity/item?id={maturity}")).await?;
        let path = "/contract/getproductfeeparams";
        let reply: wire::ProductFeeParamsResponse =
            self.post(path, &json!({"productIds": [maturity.product_id]}), Retry::Safe).await?;
        let params =
            reply.params.iter().find(|p| p.product_id == maturity.product_id).ok_or_else(|| {
                malformed(path, &format!("no fee parameters for product {}", maturity.product_id), "")
            })?;
        let fee = params.per_contract().map_err(|e| malformed(path, &e, ""))?;
        self.known.lock().await.fees.insert(contract_id, fee);
        Ok(fee)
    }

    /// The user's fills at or after `since` (`/fill/list`), busted ones left
    /// out, each priced with its fees.
    async fn fill_reports(&self, since: DateTime<Utc>) -> Result<Vec<FillReport>, BrokerError> {
        let path = "/fill/list";
        let fills: Vec<wire::Fill> = self.get(path).await?;
        let ours: HashMap<i64, String> =
            self.known.lock().await.orders.iter().map(|(client, id)| (*id, client.clone())).collect();
        let mut reports = Vec::new();
        for fill in fills.iter().filter(|f| f.active && f.timestamp >= since) {
            let id =
                fill.id.ok_or_else(|| malformed(path, &format!("a fill of order {} has no id", fill.order_id), ""))?;
            let contract =
                fill.contract_id.ok_or_else(|| malformed(path, &format!("fill {id} has no contractId"), ""))?;
            let side = side_of(fill.action.as_deref().unwrap_or_default())
                .map_err(|e| malformed(path, &format!("fill {id}: {e}"), ""))?;
            if fill.qty <= 0 {
                return Err(malformed(path, &format!("fill {id}: qty {} is not positive", fill.qty), ""));
            }
            let price = decimal_from_double(fill.price)
                .ok_or_else(|| malformed(path, &format!("fill {id}: price {}", fill.price), ""))?;
            let quantity = Decimal::from(fill.qty);
            reports.push(FillReport {
                broker: BROKER,
                fill_id: id.to_compact_string(),
                broker_order_id: fill.order_id.to_compact_string(),
                client_order_id: ours.get(&fill.order_id).map(|id| id.as_str().into()),
                symbol: root_of(&self.contract_name(contract).await?).into(),
                side,
                quantity,
                price,
                fee: self.fee_per_contract(contract).await? * quantity,
                time: fill.timestamp,
            });
        }
        reports.sort_by_key(|r| r.time);
        Ok(reports)
    }

    /// The body of our order: `placeorder`, or `placeoso` with the bracket.
    /// An entry goes to the front month; an exit to the contract actually
    /// held (after a roll date the position may still be in the old one, and
    /// an exit sent to the new one would open a second position instead).
    async fn order_body(&self, order: &OrderRequest) -> Result<(String, Value), BrokerError> {
        let account = self.account_id().await?;
        let held = match order.intent() {
            noise_core::risk::Intent::Exit => self.held_contract(account.0, order.symbol()).await?,
            _ => None,
        };
        let contract = match (order.intent(), held) {
            (_, Some(name)) => name,
            // Nothing left to exit (a bracket leg closed it first): sending it would open a position.
            (noise_core::risk::Intent::Exit, None) => {
                return Err(BrokerError::Rejected {
                    broker: BROKER,
                    reason: format!("exit of {}: no position is held any more", order.symbol()),
                });
            }
            (_, None) => self.contract(order.symbol(), trade_date(Utc::now())).await?.1,
        };
        order_request(order, &account, &contract)
    }

    /// The name of the contract of `root` the account holds, if any.
    async fn held_contract(&self, account: i64, root: &str) -> Result<Option<String>, BrokerError> {
        let rows: Vec<wire::Position> = self.get(&format!("/position/deps?masterid={account}")).await?;
        for row in rows.iter().filter(|p| p.net_pos != 0) {
            let name = self.contract_name(row.contract_id).await?;
            if root_of(&name) == root {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }
}

/// The login body (`AccessTokenRequest`): `cid` a number as Tradovate's
/// examples send it, or a string as its schema types it.
pub fn login_body(config: &TradovateConfig) -> Value {
    let cid = if config.cid_as_string {
        json!(config.cid)
    } else {
        config.cid.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| json!(config.cid))
    };
    json!({
        "name": config.username, "password": config.password,
        "appId": config.app_id, "appVersion": config.app_version,
        "cid": cid, "sec": config.secret, "deviceId": config.device_id,
    })
}

/// Our order as Tradovate's: the path (`placeorder`, or `placeoso` with the
/// bracket) and the body, for `account` (id, name) and the contract's name.
pub fn order_request(
    order: &OrderRequest,
    account: &(i64, String),
    contract: &str,
) -> Result<(String, Value), BrokerError> {
    let action = |side: Side| if side == Side::Buy { "Buy" } else { "Sell" };
    let quantity =
        order.quantity().trunc().to_string().parse::<i64>().ok().filter(|q| Decimal::from(*q) == order.quantity());
    let quantity = quantity.ok_or_else(|| BrokerError::Rejected {
        broker: BROKER,
        reason: format!("{} contracts is not a whole number", order.quantity()),
    })?;
    let mut body = json!({
        "accountSpec": account.1, "accountId": account.0, "clOrdId": order.client_order_id(),
        "action": action(order.side()), "symbol": contract, "orderQty": quantity,
        "timeInForce": "Day", "isAutomated": true,
    });
    match order.kind() {
        OrderKind::Market => body["orderType"] = json!("Market"),
        OrderKind::Limit(p) => {
            body["orderType"] = json!("Limit");
            body["price"] = json!(number(p));
        }
        OrderKind::Stop(p) => {
            body["orderType"] = json!("Stop");
            body["stopPrice"] = json!(number(p));
        }
    }
    let exit = if order.side() == Side::Buy { Side::Sell } else { Side::Buy };
    let path = match (order.take_profit(), order.stop_loss()) {
        (Some(target), Some(stop)) => {
            // The exits carry their own client ids, so they can be found again after a restart.
            let id = order.client_order_id();
            body["bracket1"] = json!({"action": action(exit), "orderType": "Limit", "price": number(target),
                                      "timeInForce": "GTC", "clOrdId": format!("{id}-tp")});
            body["bracket2"] = json!({"action": action(exit), "orderType": "Stop", "stopPrice": number(stop),
                                      "timeInForce": "GTC", "clOrdId": format!("{id}-sl")});
            "/order/placeoso"
        }
        _ => "/order/placeorder",
    };
    Ok((path.to_string(), body))
}

impl TradovateBroker {
    /// `minutes`-minute bars of the product's front contract from `start` to
    /// `end`, read backwards in chunks (Tradovate caps each answer) until the
    /// range is covered; `progress` hears the count so far.
    pub async fn history(
        &self,
        root: &str,
        minutes: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        let (contract_id, _) = self.contract(root, trade_date(end)).await?;
        let mut bars: std::collections::BTreeMap<DateTime<Utc>, Bar> = std::collections::BTreeMap::new();
        let mut closest = end;
        loop {
            let token = self.access_token().await?;
            let range = json!({"closestTimestamp": closest.to_rfc3339(), "asFarAsTimestamp": start.to_rfc3339()});
            let request = md::chart_request_for(contract_id, minutes, range);
            let chunk = md::chart_history(&self.config.md_url, &token, &request, usize::MAX).await?;
            let oldest = chunk.first().map(|b| b.time);
            let before = bars.len();
            bars.extend(chunk.into_iter().filter(|b| b.time >= start && b.time <= end).map(|b| (b.time, b)));
            progress(bars.len());
            match oldest {
                Some(t) if t > start && bars.len() > before => closest = t,
                _ => return Ok(bars.into_values().collect()),
            }
        }
    }
}

impl TradovateBroker {
    /// Starts the contract's subscribed chart, once.
    fn subscribe(&self, contract_id: i64) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if streams.contains_key(&contract_id) {
            return;
        }
        let token = self.token.subscribe();
        let source = move || {
            let current = token.borrow().clone();
            async move { Ok(current) }
        };
        let stop = self.streams_stop.subscribe();
        let stream = md::ChartStream::spawn(self.config.md_url.clone(), source, vec![contract_id], FROM_STREAM, stop);
        streams.insert(contract_id, stream);
    }
}

/// The minute a client order id of ours was made for (`noise-202611251500-MNQ…`).
fn minute_of_id(id: &str) -> Option<DateTime<Utc>> {
    let digits = id.strip_prefix("noise-")?.get(..12)?;
    chrono::NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok().map(|t| t.and_utc())
}

/// CME's trade date of an instant: the New York date, the next one from
/// 18:00 (Sunday evening trades belong to Monday).
pub fn trade_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    use chrono::Timelike;
    let local = t.with_timezone(&chrono_tz::America::New_York);
    let date = local.date_naive();
    if local.hour() >= 18 { date.succ_opt().unwrap_or(date) } else { date }
}

/// Our symbol for a contract name: the product root (`MNQZ6` → `MNQ`).
pub fn root_of(contract: &str) -> String {
    contract.get(..contract.len().saturating_sub(2)).unwrap_or(contract).to_string()
}

fn side_of(action: &str) -> Result<Side, String> {
    match action {
        "Buy" => Ok(Side::Buy),
        "Sell" => Ok(Side::Sell),
        other => Err(format!("action {other:?} is neither Buy nor Sell")),
    }
}

/// A tick-grid decimal as the JSON double Tradovate wants (exact for any
/// price with few decimals).
fn number(value: Decimal) -> f64 {
    noise_core::num::decimal_to_f64(value)
}

fn malformed(what: &str, detail: &str, snippet: &str) -> BrokerError {
    BrokerError::malformed(BROKER, format!("{what}: {detail}"), snippet)
}

fn parse_reply(reply: &Reply, path: &str) -> Result<Value, BrokerError> {
    match reply.status.as_u16() {
        200..=299 => serde_json::from_str(&reply.body).map_err(|e| malformed(path, &e.to_string(), &reply.body)),
        401 => Err(BrokerError::Unauthorized {
            broker: BROKER,
            reason: format!("{path}: HTTP 401 (token or device refused)"),
        }),
        404 => Err(BrokerError::NotFound { broker: BROKER, id: path.to_string() }),
        status => {
            Err(BrokerError::Rejected { broker: BROKER, reason: format!("{path}: HTTP {status}: {}", reply.snippet()) })
        }
    }
}

fn decode<T: DeserializeOwned>(value: Value, path: &str) -> Result<T, BrokerError> {
    if let Some(text) = value.get("errorText").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        return Err(BrokerError::Rejected { broker: BROKER, reason: format!("{path}: {text}") });
    }
    let snippet = value.to_string();
    serde_json::from_value(value).map_err(|e| malformed(path, &e.to_string(), &snippet))
}

fn token_from(value: &Value, path: &str) -> Result<Token, BrokerError> {
    let reply: wire::AccessTokenResponse = decode(value.clone(), path).map_err(|e| match e {
        BrokerError::Rejected { reason, .. } => {
            BrokerError::Rejected { broker: BROKER, reason: format!("login refused: {reason}") }
        }
        other => other,
    })?;
    let access = reply
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed(path, "no accessToken", &value.to_string()))?;
    let expires = reply.expiration_time.ok_or_else(|| malformed(path, "no expirationTime", &value.to_string()))?;
    Ok(Token { access, expires, user_id: reply.user_id })
}

#[async_trait]
impl BrokerAdapter for TradovateBroker {
    fn broker(&self) -> BrokerKind {
        BROKER
    }

    fn asset_classes(&self) -> &[AssetClass] {
        &[AssetClass::Future]
    }

    async fn authenticate(&self) -> Result<(), BrokerError> {
        self.access_token().await?;
        self.account_id().await.map(|_| ())
    }

    async fn refresh_token(&self) -> Result<(), BrokerError> {
        self.access_token().await.map(|_| ())
    }

    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        let (account, _) = self.account_id().await?;
        let snapshot: wire::CashBalanceSnapshot =
            self.post("/cashBalance/getcashbalancesnapshot", &json!({"accountId": account}), Retry::Safe).await?;
        let money = |name: &str, v: Option<f64>| {
            v.and_then(decimal_from_double)
                .ok_or_else(|| malformed("/cashBalance/getcashbalancesnapshot", &format!("no {name}"), ""))
        };
        let equity = money("netLiq", snapshot.net_liq)?;
        let margin = snapshot.initial_margin.and_then(decimal_from_double).unwrap_or_default();
        Ok(AccountInfo {
            broker: BROKER,
            equity,
            cash: money("totalCashValue", snapshot.total_cash_value)?,
            buying_power: equity - margin,
            available_margin: equity - margin,
            day_trade_count: None,
            margin_account: true,
        })
    }

    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        let (account, _) = self.account_id().await?;
        let rows: Vec<wire::Position> = self.get(&format!("/position/deps?masterid={account}")).await?;
        let mut positions = Vec::new();
        // Flattened contracts keep a row with netPos 0.
        for row in rows.iter().filter(|p| p.net_pos != 0) {
            let name = self.contract_name(row.contract_id).await?;
            let average = row
                .net_price
                .and_then(decimal_from_double)
                .ok_or_else(|| malformed("/position/deps", "a position without netPrice", ""))?;
            let symbol = root_of(&name);
            // REST has no mark: the last close read through this adapter, else the average price.
            let mark = self.known.lock().await.marks.get(&symbol).copied().unwrap_or(average);
            let quantity = Decimal::from(row.net_pos);
            // Two contracts of one product (around a roll) are one position of ours:
            // quantities added, the average weighted by quantity.
            match positions.iter_mut().find(|p: &&mut BrokerPosition| p.symbol == symbol) {
                Some(held) => {
                    let total = held.quantity + quantity;
                    if !total.is_zero() {
                        held.average_price = (held.average_price * held.quantity + average * quantity) / total;
                    }
                    held.quantity = total;
                }
                None => positions.push(BrokerPosition { symbol, quantity, average_price: average, market_price: mark }),
            }
        }
        positions.retain(|p| !p.quantity.is_zero());
        Ok(positions)
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError> {
        let id = order.client_order_id();
        if let Some(existing) = self.find_order(id).await? {
            return self.order_state(id, existing).await;
        }
        let (path, body) = self.order_body(order).await?;
        match self.post::<wire::CommandOutcome>(&path, &body, Retry::Never).await {
            Ok(outcome) => {
                outcome.accepted().map_err(|reason| BrokerError::Rejected { broker: BROKER, reason })?;
                let order_id = outcome.order_id.ok_or_else(|| malformed(&path, "accepted without an orderId", ""))?;
                let legs: Vec<i64> = [outcome.oso1_id, outcome.oso2_id].into_iter().flatten().collect();
                let mut known = self.known.lock().await;
                known.orders.insert(id.to_string(), order_id);
                for (leg, suffix) in legs.iter().zip(["tp", "sl"]) {
                    known.orders.insert(format!("{id}-{suffix}"), *leg);
                }
                known.legs.insert(order_id, legs);
                drop(known);
                self.order_state(id, order_id).await
            }
            // The outcome is unknown. Tradovate has no duplicate check on clOrdId, so
            // the order is never sent again: it is looked for on the retry schedule, and
            // if it does not appear, the engine's order monitor settles the intent.
            Err(BrokerError::Unavailable { reason, .. }) => {
                for retry in 0.. {
                    let Some(wait) = self.backoff.wait(retry, Failure::Transport, rand::random::<f64>()) else { break };
                    tokio::time::sleep(wait).await;
                    if let Ok(Some(existing)) = self.find_order(id).await {
                        return self.order_state(id, existing).await; // it arrived
                    }
                }
                Err(BrokerError::Unavailable {
                    broker: BROKER,
                    reason: format!("order {id}: {reason}; not found since, not sent again"),
                })
            }
            Err(other) => Err(other),
        }
    }

    async fn cancel_order(&self, client_order_id: &str) -> Result<OrderState, BrokerError> {
        let order_id = self
            .find_order(client_order_id)
            .await?
            .ok_or_else(|| BrokerError::NotFound { broker: BROKER, id: client_order_id.to_string() })?;
        // Sent once: a cancel whose answer was lost is read back, not repeated.
        let sent = self
            .post::<wire::CommandOutcome>(
                "/order/cancelorder",
                &json!({"orderId": order_id, "isAutomated": true}),
                Retry::Never,
            )
            .await;
        let state = self.single_state(client_order_id, order_id).await?;
        let refused = match &sent {
            Ok(outcome) => outcome.accepted().err(),
            Err(BrokerError::Unavailable { reason, .. }) => Some(reason.clone()),
            Err(other) => Some(other.to_string()),
        };
        // Refused (or unanswered) but final, or already being cancelled: that is the answer.
        let settled = state.status.is_final() || {
            let order: wire::Order = self.get(&format!("/order/item?id={order_id}")).await?;
            order.ord_status == "PendingCancel"
        };
        match refused {
            Some(reason) if !settled => Err(BrokerError::Rejected { broker: BROKER, reason }),
            _ => Ok(state),
        }
    }

    async fn order_status(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError> {
        match self.find_order(client_order_id).await? {
            Some(order_id) => self.order_state(client_order_id, order_id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn fills_since(&self, since: DateTime<Utc>) -> Result<Vec<FillReport>, BrokerError> {
        self.fill_reports(since).await
    }

    async fn bar_history(
        &self,
        symbol: &str,
        minutes: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        self.history(symbol, minutes, start, end, progress).await
    }

    /// History (a large `limit`) by one chart request, which also starts the
    /// contract's subscribed chart; the last few bars, each minute, from that
    /// subscription (one socket per contract, kept and reconnected, instead
    /// of a new one every minute).
    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        let (contract_id, _) = self.contract(symbol, trade_date(Utc::now())).await?;
        let token = self.access_token().await?; // renews the session the streams use too
        let stream = self.streams.lock().unwrap_or_else(|p| p.into_inner()).get(&contract_id).cloned();
        let streamed = stream.map(|s| s.bars(contract_id)).filter(|b| limit <= FROM_STREAM && !b.is_empty());
        let bars = match streamed {
            Some(all) => all[all.len().saturating_sub(limit)..].to_vec(),
            None => {
                let bars = md::chart_once(&self.config.md_url, &token, contract_id, limit).await?;
                self.subscribe(contract_id);
                bars
            }
        };
        if let Some(last) = bars.last() {
            self.known.lock().await.marks.insert(symbol.to_string(), last.close);
        }
        Ok(bars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_ids_say_their_minute() {
        assert_eq!(minute_of_id("noise-202611251500-MNQ-sl").unwrap().to_rfc3339(), "2026-11-25T15:00:00+00:00");
        assert_eq!(minute_of_id("something-else"), None);
    }

    #[test]
    fn the_trade_date_rolls_at_six_in_new_york() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // 17:59 and 18:00 New York on Wednesday 2026-12-09 (EST, UTC-5).
        assert_eq!(trade_date(at("2026-12-09T22:59:00Z")).to_string(), "2026-12-09");
        assert_eq!(trade_date(at("2026-12-09T23:00:00Z")).to_string(), "2026-12-10");
        // So MNQ rolls to March at Wednesday's evening session, the start of Thursday's trade date.
        assert_eq!(front_month("MNQ", trade_date(at("2026-12-09T23:30:00Z"))).unwrap().symbol(), "MNQH7");
        assert_eq!(root_of("MNQZ6"), "MNQ");
    }
}
