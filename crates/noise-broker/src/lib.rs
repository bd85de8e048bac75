//! Brokers behind one interface.
//!
//! [`BrokerAdapter`] is the seed's interface (authenticate, account,
//! positions, place / cancel / status of orders, broker and asset class)
//! plus market data. Every broker normalises to the unified types here:
//! `Decimal` prices and quantities, UTC times, [`OrderStatus`]. An
//! [`OrderRequest`] can only be made from a risk [`Approval`], so nothing
//! reaches a broker without passing the risk checks.

pub mod alpaca;
pub mod http;
pub mod manager;
pub mod resilience;
pub mod sim;
pub mod tradovate;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use noise_core::instrument::{AssetClass, BrokerKind};
use noise_core::market::Bar;
use noise_core::order::{OrderStatus, OrderType};
use noise_core::risk::{Approval, Intent, Side};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Account figures as a broker reports them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub broker: BrokerKind,
    pub equity: Decimal,
    pub cash: Decimal,
    pub buying_power: Decimal,
    pub available_margin: Decimal,
    /// The broker's own count of day trades in the rolling five days, where
    /// it still reports one (Alpaca's deprecated `daytrade_count`).
    #[serde(default)]
    pub day_trade_count: Option<u32>,
    /// A margin account (the PDT rule applies to margin equity accounts).
    #[serde(default = "margin_by_default")]
    pub margin_account: bool,
}

fn margin_by_default() -> bool {
    true
}

/// A position as a broker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerPosition {
    pub symbol: String,
    /// Signed: positive long, negative short.
    pub quantity: Decimal,
    pub average_price: Decimal,
    pub market_price: Decimal,
}

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "price", rename_all = "snake_case")]
pub enum OrderKind {
    /// At the next price available.
    Market,
    /// At this price or better.
    Limit(Decimal),
    /// Becomes a market order once the price trades through this level.
    Stop(Decimal),
}

/// An order to send. Only the `from_approval` constructors make one (no
/// public constructor, no `Deserialize`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRequest {
    kind: OrderKind,
    client_order_id: CompactString,
    symbol: CompactString,
    side: Side,
    intent: Intent,
    quantity: Decimal,
    stop_loss: Option<Decimal>,
    take_profit: Option<Decimal>,
}

impl OrderKind {
    /// The kind without its price, as orders are stored.
    pub fn order_type(self) -> OrderType {
        match self {
            OrderKind::Market => OrderType::Market,
            OrderKind::Limit(_) => OrderType::Limit,
            OrderKind::Stop(_) => OrderType::Stop,
        }
    }
}

impl OrderRequest {
    /// A market order for what the risk manager approved, under the client
    /// order id the engine has already stored (write-ahead).
    pub fn from_approval(approval: &Approval, client_order_id: impl Into<CompactString>) -> Self {
        Self::from_approval_as(approval, client_order_id, OrderKind::Market)
    }

    /// A limit or stop order for what the risk manager approved.
    pub fn from_approval_as(approval: &Approval, client_order_id: impl Into<CompactString>, kind: OrderKind) -> Self {
        Self {
            kind,
            client_order_id: client_order_id.into(),
            symbol: approval.symbol().into(),
            side: approval.side(),
            intent: approval.intent(),
            quantity: approval.quantity(),
            stop_loss: approval.stop_loss(),
            take_profit: approval.take_profit(),
        }
    }
    pub fn kind(&self) -> OrderKind {
        self.kind
    }
    pub fn client_order_id(&self) -> &str {
        &self.client_order_id
    }
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    pub fn side(&self) -> Side {
        self.side
    }
    pub fn intent(&self) -> Intent {
        self.intent
    }
    pub fn quantity(&self) -> Decimal {
        self.quantity
    }
    /// Bracket legs: the broker holds them once the entry fills.
    pub fn stop_loss(&self) -> Option<Decimal> {
        self.stop_loss
    }
    pub fn take_profit(&self) -> Option<Decimal> {
        self.take_profit
    }
}

/// One execution as a broker reports it: the fact the ledger books.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FillReport {
    pub broker: BrokerKind,
    /// The broker's id of this execution (Alpaca's activity id, Tradovate's
    /// fill id, the simulator's `SIMF-<n>`): unique per broker.
    pub fill_id: CompactString,
    /// The broker's id of the order that filled.
    pub broker_order_id: CompactString,
    /// Our client order id of that order, when the broker says it.
    pub client_order_id: Option<CompactString>,
    /// Our symbol (the product root for futures).
    pub symbol: CompactString,
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    /// What this execution cost (commissions and fees the broker charges per fill).
    pub fee: Decimal,
    /// When it executed.
    pub time: DateTime<Utc>,
}

/// What a broker knows about one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderState {
    pub client_order_id: CompactString,
    pub broker_order_id: CompactString,
    pub symbol: CompactString,
    pub side: Side,
    /// Market, limit or stop (a bracket's take-profit and stop-loss legs).
    #[serde(default)]
    pub order_type: OrderType,
    pub quantity: Decimal,
    pub status: OrderStatus,
    pub filled_quantity: Decimal,
    pub average_fill_price: Option<Decimal>,
    pub fees: Decimal,
    pub updated_at: DateTime<Utc>,
    /// For a bracket: the exit legs the broker created (ids `<parent>-sl`, `<parent>-tp`).
    pub legs: Vec<OrderState>,
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("{broker:?} refused the order: {reason}")]
    Rejected { broker: BrokerKind, reason: String },
    /// The credentials or the session were refused (HTTP 401): log in again.
    #[error("{broker:?} refused the credentials: {reason}")]
    Unauthorized { broker: BrokerKind, reason: String },
    #[error("{broker:?} does not know order {id}")]
    NotFound { broker: BrokerKind, id: String },
    #[error("{broker:?} is unavailable: {reason}")]
    Unavailable { broker: BrokerKind, reason: String },
    #[error("{broker:?} sent a reply that does not parse: {detail} (reply: {snippet})")]
    Malformed { broker: BrokerKind, detail: String, snippet: String },
    #[error("{broker:?} state: {0}", broker = BrokerKind::Sim)]
    State(String),
}

/// The seed's broker interface, plus market data.
#[async_trait]
pub trait BrokerAdapter: Send + Sync {
    fn broker(&self) -> BrokerKind;
    /// The broker that trades `symbol` (a manager routes; one broker is itself).
    fn broker_for(&self, _symbol: &str) -> BrokerKind {
        self.broker()
    }
    fn asset_classes(&self) -> &[AssetClass];
    async fn authenticate(&self) -> Result<(), BrokerError>;
    async fn refresh_token(&self) -> Result<(), BrokerError>;
    async fn account(&self) -> Result<AccountInfo, BrokerError>;
    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError>;
    /// Positions as every broker says them now: never a down broker's last
    /// known book (what reconciliation compares the ledger with).
    async fn fresh_positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        self.positions().await
    }
    /// Places an order. Idempotent by client order id: sending the same id
    /// again returns the existing order and never creates a second one.
    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError>;
    async fn cancel_order(&self, client_order_id: &str) -> Result<OrderState, BrokerError>;
    /// The order with this client order id, or `None` if it never arrived.
    async fn order_status(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError>;
    /// Every execution at or after `since`, oldest first, bracket legs'
    /// included. The ledger books each once (by broker and fill id), so a
    /// window that overlaps what was read before is harmless.
    async fn fills_since(&self, since: DateTime<Utc>) -> Result<Vec<FillReport>, BrokerError>;
    /// The most recent completed 1-minute bars for a symbol, oldest first.
    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError>;

    /// Bars of `minutes` minutes whose start lies in `[start, end]`, oldest
    /// first, every page read; `progress` hears the count so far.
    async fn bar_history(
        &self,
        symbol: &str,
        minutes: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError>;

    /// Whether each broker behind this adapter answers now (the account is
    /// read): `Err` says why not.
    async fn connectivity(&self) -> Vec<(BrokerKind, Result<(), String>)> {
        vec![(self.broker(), self.account().await.map(|_| ()).map_err(|e| e.to_string()))]
    }
}

impl BrokerError {
    /// A reply that does not parse: what was wrong, and the start of the reply.
    pub fn malformed(broker: BrokerKind, detail: impl Into<String>, reply: &str) -> Self {
        BrokerError::Malformed { broker, detail: detail.into(), snippet: snippet(reply) }
    }
}

/// A broker's JSON double as a decimal: prices and sizes carry at most six
/// places, so rounding there undoes the binary expansion exactly.
pub fn decimal_from_double(value: f64) -> Option<Decimal> {
    use rust_decimal::prelude::FromPrimitive;
    Decimal::from_f64(value).map(|d| d.round_dp(6).normalize())
}

/// A bar from a broker's doubles (open, high, low, close, volume), validated.
pub fn bar_from_doubles(time: DateTime<Utc>, ohlc: [f64; 4], volume: f64) -> Result<Bar, String> {
    let decimal = |name: &str, x: f64| decimal_from_double(x).ok_or_else(|| format!("bar {time}: {name} {x}"));
    let bar = Bar {
        time,
        open: decimal("open", ohlc[0])?,
        high: decimal("high", ohlc[1])?,
        low: decimal("low", ohlc[2])?,
        close: decimal("close", ohlc[3])?,
        volume: decimal("volume", volume)?.round_dp(0),
    };
    bar.validate().map_err(|e| format!("bar {time}: {e}"))?;
    Ok(bar)
}

/// An environment variable, trimmed; `None` when unset or blank.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The start of a broker's reply, for error messages (never a whole large body).
pub fn snippet(text: &str) -> String {
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// rustls with ring, once per process (two providers linked in make TLS
/// connections panic; see DEPENDENCIES.md).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
