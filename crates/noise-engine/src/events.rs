//! What the engine did, one line each for a person to follow.

use std::fmt;

use chrono::SecondsFormat;
use noise_core::risk::{RiskDecision, RiskEvent, Side, Verdict};
use noise_core::signal::Signal;
use noise_store::records::{ClosedTradeRow, EquitySnapshot};
use rust_decimal::Decimal;

/// Serialized (for the API's event stream) as `{"type": ..., "data": ...}`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EngineEvent {
    Signal(Box<Signal>),
    Decision(Box<RiskDecision>),
    OrderPlaced { client_order_id: String, symbol: String, side: Side, quantity: Decimal },
    OrderRejected { client_order_id: String, reason: String },
    Fill { client_order_id: String, symbol: String, side: Side, quantity: Decimal, price: Decimal },
    Closed(Box<ClosedTradeRow>),
    Equity(EquitySnapshot),
    Daily(noise_store::records::DailyMetrics),
    Risk(RiskEvent),
}

impl EngineEvent {
    /// The event's kind, as its `type` field says it.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineEvent::Signal(_) => "signal",
            EngineEvent::Decision(_) => "decision",
            EngineEvent::OrderPlaced { .. } => "order_placed",
            EngineEvent::OrderRejected { .. } => "order_rejected",
            EngineEvent::Fill { .. } => "fill",
            EngineEvent::Closed(_) => "closed",
            EngineEvent::Equity(_) => "equity",
            EngineEvent::Daily(_) => "daily",
            EngineEvent::Risk(_) => "risk",
        }
    }
}

impl fmt::Display for EngineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineEvent::Signal(s) => write!(
                f,
                "SIGNAL   {} {} strength {:.2} entry {} stop {} target {} ({})",
                s.symbol,
                s.direction,
                s.strength,
                s.entry,
                s.stop_loss,
                s.take_profit,
                s.components.iter().map(|c| c.strategy).collect::<Vec<_>>().join("+")
            ),
            EngineEvent::Decision(d) => match &d.verdict {
                Verdict::Allow => {
                    write!(f, "RISK     {} ALLOW {}", d.symbol, d.approval().map_or(Decimal::ZERO, |a| a.quantity()))
                }
                Verdict::Reduce { reasons } => write!(
                    f,
                    "RISK     {} REDUCE {} → {} ({})",
                    d.symbol,
                    d.requested.unwrap_or_default(),
                    d.approval().map_or(Decimal::ZERO, |a| a.quantity()),
                    reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
                Verdict::Block { reason } => write!(f, "RISK     {} BLOCK: {reason}", d.symbol),
            },
            EngineEvent::OrderPlaced { client_order_id, symbol, side, quantity } => {
                write!(f, "ORDER    {symbol} {side:?} {quantity} market [{client_order_id}]")
            }
            EngineEvent::OrderRejected { client_order_id, reason } => {
                write!(f, "REJECTED [{client_order_id}] {reason}")
            }
            EngineEvent::Fill { client_order_id, symbol, side, quantity, price } => {
                write!(f, "FILL     {symbol} {side:?} {quantity} @ {price} [{client_order_id}]")
            }
            EngineEvent::Closed(t) => write!(
                f,
                "CLOSED   {} {} {} {} → {} P&L {} (fees {}, held {})",
                t.symbol,
                t.side,
                t.quantity,
                t.entry_price,
                t.exit_price,
                t.realized_pnl,
                t.fees,
                humanize(t.exit_time - t.entry_time)
            ),
            EngineEvent::Equity(s) => {
                write!(f, "EQUITY   {} (cash {}, open P&L {})", s.equity, s.cash, s.unrealized_pnl)
            }
            EngineEvent::Daily(m) => write!(
                f,
                "DAY      {} P&L {} over {} trades ({} won, {} lost), equity {} → {}",
                m.date, m.realized_pnl, m.trades, m.wins, m.losses, m.starting_equity, m.ending_equity
            ),
            EngineEvent::Risk(e) => match e {
                RiskEvent::BreakerTripped(t) => write!(
                    f,
                    "BREAKER  {:?} tripped: loss {:.2}% ≥ {}% at {}",
                    t.kind,
                    t.measured_pct,
                    t.limit_pct,
                    t.at.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
                other => write!(f, "RISK     {}", serde_json::to_string(other).unwrap_or_default()),
            },
        }
    }
}

fn humanize(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes();
    if minutes < 60 { format!("{minutes}m") } else { format!("{}h{:02}m", minutes / 60, minutes % 60) }
}
