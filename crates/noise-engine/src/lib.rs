//! The engine: one synchronous core ([`core::EngineCore`]) for the trading
//! cycle, driven by two thin shells: the live one ([`Engine`], over the
//! store and a broker, run by [`run`] on the simulated market and by
//! [`run_live`] on real brokers) and the backtest ([`backtest::run`], over
//! the simulator's book on a virtual clock).
//!
//! Money facts come from fills only: the core books every fill in the
//! ledger (`noise_core::ledger`), which gives positions, lots and round
//! trips; the risk state hears the round trips; the broker's positions are
//! a check on the ledger (reconciliation), never a substitute for it.
//!
//! Client order ids are deterministic, `noise-<yyyymmddHHMM>-<SYMBOL>`: the
//! same bar processed twice (a restart) yields the same id, which the store's
//! UNIQUE constraint and the broker's idempotence turn into one order.

pub mod backtest;
pub mod core;
mod decide;
mod events;
mod live;
mod run;
mod shell;

use noise_broker::BrokerError;
use noise_core::signal::SignalError;
use noise_store::StoreError;

pub use decide::{RiskMode, client_order_id, decide, reserve};
pub use events::EngineEvent;
pub use live::{Clock, LiveOptions, WallClock, run_live};
pub use run::{MarketSource, RunOptions, RunSummary, run};
pub use shell::Engine;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Signal(#[from] SignalError),
    #[error("schedule: {0}")]
    Schedule(String),
}

/// What the API may ask of a running engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Halt trading: only orders that cancel pass, until resumed.
    Pause,
    Resume,
    /// Clear every breaker (the drawdown one resets only this way).
    ResetCircuitBreaker,
    /// Bring positions in line with the broker's now.
    SyncPositions,
    /// The kill switch: cancel every open order, close every position at
    /// market, and pause.
    Flatten,
}

/// Why a control was refused: the state forbids it (a 409 for the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRefused(pub String);

/// A control with the channel its outcome goes back on: the trading state
/// and risk state after it, or why it was refused.
#[derive(Debug)]
pub struct ControlRequest {
    pub control: Control,
    pub by: String,
    pub reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, ControlOutcomeError>>,
}

/// A control that did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlOutcomeError {
    Refused(String),
    Failed(String),
}
