//! What the engine did, one line each for a person to follow.

use std::fmt;

use chrono::SecondsFormat;
use noise_core::ledger::{Fill, RoundTrip};
use noise_core::risk::{RiskDecision, RiskEvent, Side, Verdict};
use noise_core::signal::Signal;
use noise_store::records::EquitySnapshot;
use rust_decimal::Decimal;

/// Serialized (for the API's event stream) as `{"type": ..., "data": ...}`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EngineEvent {
    Signal(Box<Signal>),
    Decision(Box<RiskDecision>),
    OrderPlaced {
        client_order_id: String,
        symbol: String,
        side: Side,
        quantity: Decimal,
    },
    OrderRejected {
        client_order_id: String,
        reason: String,
    },
    /// One execution, as booked in the ledger.
    Fill(Box<Fill>),
    /// A round trip the ledger closed.
    Closed(Box<RoundTrip>),
    /// The ledger and the broker disagreed on a position; reconciliation
    /// booked these fills (side, quantity, price) so they agree again.
    PositionMismatch {
        symbol: String,
        ledger: Decimal,
        broker: Decimal,
        booked: Vec<(Side, Decimal, Decimal)>,
    },
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
            EngineEvent::Fill(_) => "fill",
            EngineEvent::Closed(_) => "closed",
            EngineEvent::PositionMismatch { .. } => "position_mismatch",
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
            EngineEvent::Fill(fill) => write!(
                f,
                "FILL     {} {:?} {} @ {} fee {} [{}] ({}{})",
                fill.symbol,
                fill.side,
                fill.quantity,
                fill.price,
                fill.fee,
                fill.client_order_id.as_deref().unwrap_or("no order"),
                fill.fill_id,
                if fill.reconciled { ", reconciled" } else { "" }
            ),
            EngineEvent::Closed(t) => write!(
                f,
                "CLOSED   {} {} {} {} → {} P&L {} (fees {}, held {})",
                t.symbol,
                t.side,
                t.quantity,
                t.entry_price,
                t.exit_price,
                t.net_pnl.normalize(),
                t.fees.normalize(),
                humanize(t.exit_time - t.entry_time)
            ),
            EngineEvent::PositionMismatch { symbol, ledger, broker, booked } => {
                write!(
                    f,
                    "ALERT    position mismatch {symbol}: ledger {ledger}, broker {broker}; booked reconciled fills"
                )?;
                for (side, quantity, price) in booked {
                    write!(f, " {side:?} {quantity} @ {price}")?;
                }
                Ok(())
            }
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
