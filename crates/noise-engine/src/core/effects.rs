//! What the engine core asks of its shell: records to store, orders to
//! send or cancel, and events to show. The core never does any of it.

use compact_str::CompactString;
use noise_broker::{OrderRequest, OrderState};
use noise_core::instrument::BrokerKind;
use noise_core::ledger::{Fill, RoundTrip};
use noise_core::order::OrderStatus;
use noise_core::risk::{RiskDecision, RiskEvent};
use noise_core::signal::Evaluation;
use noise_store::records::{DailyMetrics, EquitySnapshot};

use crate::EngineEvent;

/// One thing the shell must do, in order. Records produced before an order
/// (its intent above all) are stored before the broker is called.
#[derive(Debug)]
pub enum Effect {
    /// Store this evaluation (a signal or a rejected candidate); later
    /// effects name it by `tag`.
    Evaluation {
        tag: u64,
        evaluation: Box<Evaluation>,
    },
    /// Audit the risk decision (tag `tag`) on the signal `signal`.
    Decision {
        tag: u64,
        signal: Option<u64>,
        decision: Box<RiskDecision>,
    },
    /// Write the order's intent (approved by decision `decision`), then send it.
    Place {
        decision: u64,
        signal: Option<u64>,
        broker: BrokerKind,
        request: OrderRequest,
    },
    /// Cancel a working order at its broker.
    Cancel {
        client_order_id: CompactString,
    },
    /// Record what the broker said about an order.
    OrderUpdated(Box<OrderState>),
    /// Record a bracket leg the broker created for `parent`.
    LegRegistered {
        parent: CompactString,
        broker: BrokerKind,
        leg: Box<OrderState>,
    },
    /// An order that ended without a broker's state to record: refused
    /// (`Rejected`) or never received (`Cancelled`), and why.
    OrderClosed {
        client_order_id: String,
        status: OrderStatus,
        reason: String,
    },
    /// Record a fill and the round trips it closed (the position it
    /// changed is written from the ledger with them). The fill is left out
    /// when the core keeps no records (a backtest wants the round trips only).
    Filled {
        fill: Option<Box<Fill>>,
        round_trips: Vec<RoundTrip>,
    },
    /// Audit these risk transitions (the risk state is saved with them).
    Risk(Vec<RiskEvent>),
    /// An audit event of its own.
    Audit {
        event: &'static str,
        details: serde_json::Value,
    },
    EquitySnapshot(EquitySnapshot),
    DailyMetrics(DailyMetrics),
    /// Show this (the log line, the API's event stream).
    Emit(EngineEvent),
}
