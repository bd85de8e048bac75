//! The simulated broker: paper trading with no account.
//!
//! It keeps its own state (cash, positions, orders by client order id) in
//! its own JSON file, written atomically after every change, apart from the
//! engine's database: like a real broker it outlives an engine crash and can
//! be reconciled against.
//!
//! Fill model (documented, deterministic):
//! - A market order fills at the open of the first bar that opens at or
//!   after it was placed (the next bar), moved `slippage_ticks` against the
//!   order, plus commission (per share for equities, per contract for futures).
//!   Each execution has its own id (`SIMF-<n>`) and the time it happened:
//!   the open time of the bar it filled in.
//! - With `max_volume_share` set, an order takes at most that share of a
//!   bar's volume; the rest fills at the following bars' opens (a partial
//!   fill each bar). Bracket legs of a partly filled entry grow with it; once
//!   a leg fired or the legs were cancelled, the rest of the entry is
//!   cancelled, not filled (no exposure its protection no longer covers).
//! - A limit order fills, from that bar on, once a bar trades through its
//!   price, at that price or the bar's open if better; a stop order triggers
//!   when a bar trades through its level and fills at the worse of the level
//!   and the open, slipped. Both rest until filled or cancelled.
//! - Bracket exits (stop loss, take profit) of a filled entry are honoured
//!   intrabar from the bar the entry filled in. When one bar touches both,
//!   the stop is taken first (the conservative assumption); a bar that opens
//!   beyond a level fills at its open.

mod book;
mod market;
mod replay;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use noise_core::instrument::{AssetClass, BrokerKind, Instrument};
use noise_core::market::Bar;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{AccountInfo, BrokerAdapter, BrokerError, BrokerPosition, FillReport, OrderRequest, OrderState};

pub use book::SimState;
pub use market::SyntheticMarket;
pub use replay::ReplayMarket;

/// The simulator's costs and starting balance (`[sim]` in noise.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    pub starting_cash: Decimal,
    /// Ticks a market order fills worse than the open.
    pub slippage_ticks: u32,
    pub commission_per_share: Decimal,
    pub commission_per_contract: Decimal,
    /// The most of a bar's volume one order may take in that bar (0: no
    /// limit); the rest fills over the following bars.
    #[serde(default)]
    pub max_volume_share: Decimal,
}

impl From<&noise_core::config::SimSettings> for SimConfig {
    fn from(s: &noise_core::config::SimSettings) -> Self {
        Self {
            starting_cash: s.starting_cash,
            slippage_ticks: s.slippage_ticks,
            commission_per_share: s.commission_per_share,
            commission_per_contract: s.commission_per_contract,
            max_volume_share: s.max_volume_share,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            starting_cash: Decimal::from(100_000),
            slippage_ticks: 1,
            commission_per_share: Decimal::ZERO,
            commission_per_contract: Decimal::new(62, 2),
            max_volume_share: Decimal::ZERO,
        }
    }
}

/// The simulated broker over a state file.
pub struct SimBroker {
    path: PathBuf,
    config: SimConfig,
    instruments: BTreeMap<String, Instrument>,
    state: Mutex<SimState>,
}

impl SimBroker {
    /// Opens the state file, or starts a fresh account when there is none.
    pub fn open(path: &Path, config: SimConfig, instruments: &[Instrument]) -> Result<Self, BrokerError> {
        let state = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| BrokerError::State(format!("{} does not parse: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SimState::new(config.starting_cash),
            Err(e) => return Err(BrokerError::State(format!("cannot read {}: {e}", path.display()))),
        };
        let instruments = instruments.iter().map(|i| (i.symbol.clone(), i.clone())).collect();
        Ok(Self { path: path.to_path_buf(), config, instruments, state: Mutex::new(state) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Feeds the market's completed bar for `symbol`: fills what is due.
    /// Returns the executions (entries and bracket legs).
    pub async fn on_bar(&self, symbol: &str, bar: &Bar) -> Result<Vec<FillReport>, BrokerError> {
        let instrument = self.instrument(symbol)?;
        let mut state = self.state.lock().await;
        let filled = state.on_bar(&instrument, bar, &self.config);
        self.save(&state, Durability::for_bar(&filled))?;
        Ok(filled)
    }

    /// Feeds one minute's bars for every symbol at once: one write for the
    /// minute instead of one per symbol.
    pub async fn on_bars(&self, bars: &[(String, Bar)]) -> Result<Vec<FillReport>, BrokerError> {
        let mut state = self.state.lock().await;
        let mut filled = Vec::new();
        for (symbol, bar) in bars {
            let instrument = self.instrument(symbol)?;
            filled.extend(state.on_bar(&instrument, bar, &self.config));
        }
        self.save(&state, Durability::for_bar(&filled))?;
        Ok(filled)
    }

    /// A copy of the whole state (for tests and reconciliation checks).
    pub async fn snapshot(&self) -> SimState {
        self.state.lock().await.clone()
    }

    fn instrument(&self, symbol: &str) -> Result<Instrument, BrokerError> {
        self.instruments.get(symbol).cloned().ok_or_else(|| BrokerError::Rejected {
            broker: BrokerKind::Sim,
            reason: format!("unknown symbol {symbol}"),
        })
    }

    /// Writes the state through a temporary file and a rename, so a crash
    /// leaves either the old state or the new one, never half of either.
    fn save(&self, state: &SimState, durability: Durability) -> Result<(), BrokerError> {
        let fail = |what: &str, e: std::io::Error| BrokerError::State(format!("{what} {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("cannot create the folder of", e))?;
        }
        let temp = self.path.with_extension("tmp");
        let bytes = serde_json::to_vec(state).map_err(|e| BrokerError::State(e.to_string()))?;
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temp).map_err(|e| fail("cannot create", e))?;
            file.write_all(&bytes).map_err(|e| fail("cannot write", e))?;
            if durability == Durability::Synced {
                file.sync_data().map_err(|e| fail("cannot sync", e))?;
            }
        }
        std::fs::rename(&temp, &self.path).map_err(|e| fail("cannot replace", e))
    }
}

/// How hard a state write must be pushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Orders, fills or cash changed: flushed to the disk before returning,
    /// as a broker confirms nothing it could lose.
    Synced,
    /// Only marks and the clock moved: the rename is still atomic and
    /// survives a killed process; a power cut loses at most marks that the
    /// next bar rewrites. Saves an fsync on most minutes.
    Atomic,
}

impl Durability {
    fn for_bar(filled: &[FillReport]) -> Self {
        if filled.is_empty() { Self::Atomic } else { Self::Synced }
    }
}

#[async_trait]
impl BrokerAdapter for SimBroker {
    fn broker(&self) -> BrokerKind {
        BrokerKind::Sim
    }

    fn asset_classes(&self) -> &[AssetClass] {
        &[AssetClass::Equity, AssetClass::Future]
    }

    async fn authenticate(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn refresh_token(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        Ok(self.state.lock().await.account(&self.instruments))
    }

    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        Ok(self.state.lock().await.positions())
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError> {
        let instrument = self.instrument(order.symbol())?;
        let mut state = self.state.lock().await;
        if let Some(existing) = state.order(order.client_order_id()) {
            return Ok(existing);
        }
        if order.quantity() <= Decimal::ZERO || !order.quantity().fract().is_zero() {
            return Err(BrokerError::Rejected {
                broker: BrokerKind::Sim,
                reason: format!("quantity {} is not a positive whole number", order.quantity()),
            });
        }
        let placed_at = state.clock();
        let accepted = state.accept(order, &instrument, placed_at);
        self.save(&state, Durability::Synced)?;
        Ok(accepted)
    }

    async fn cancel_order(&self, client_order_id: &str) -> Result<OrderState, BrokerError> {
        let mut state = self.state.lock().await;
        let cancelled = state
            .cancel(client_order_id)
            .ok_or_else(|| BrokerError::NotFound { broker: BrokerKind::Sim, id: client_order_id.to_string() })?;
        self.save(&state, Durability::Synced)?;
        Ok(cancelled)
    }

    async fn order_status(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError> {
        Ok(self.state.lock().await.order(client_order_id))
    }

    async fn fills_since(&self, since: DateTime<Utc>) -> Result<Vec<FillReport>, BrokerError> {
        Ok(self.state.lock().await.fills_since(since))
    }

    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        Ok(self.state.lock().await.recent_bars(symbol, limit))
    }

    /// The 1-minute bars the simulator has seen in the range (it keeps a
    /// recent window; it has no other history).
    async fn bar_history(
        &self,
        symbol: &str,
        minutes: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        if minutes != 1 {
            return Err(BrokerError::State(format!("the simulator keeps 1-minute bars, not {minutes}-minute ones")));
        }
        let bars: Vec<Bar> = self
            .state
            .lock()
            .await
            .recent_bars(symbol, usize::MAX)
            .into_iter()
            .filter(|b| b.time >= start && b.time <= end)
            .collect();
        progress(bars.len());
        Ok(bars)
    }
}

/// The time the simulator has reached: the close of the last bar it saw.
pub(crate) fn bar_close(bar: &Bar) -> DateTime<Utc> {
    noise_core::market::one_minute_after(bar.time)
}
