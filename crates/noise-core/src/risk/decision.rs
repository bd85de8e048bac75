//! What the risk manager decides, and the approval only it can issue.

use compact_str::CompactString;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::signal::Direction;

use super::state::BreakerKind;

/// Whether an order opens/adds exposure or shrinks an existing position.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Entry,
    Exit,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub const ALL: [Side; 2] = [Side::Buy, Side::Sell];

    /// `BUY` or `SELL`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }

    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

impl std::str::FromStr for Side {
    type Err = crate::order::UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::order::parse_word("side", s, &Self::ALL, Self::as_str)
    }
}

impl Intent {
    pub const ALL: [Intent; 2] = [Intent::Entry, Intent::Exit];

    /// `entry` or `exit`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Entry => "entry",
            Intent::Exit => "exit",
        }
    }
}

impl std::str::FromStr for Intent {
    type Err = crate::order::UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::order::parse_word("intent", s, &Self::ALL, Self::as_str)
    }
}

/// An exposure cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cap", content = "group", rename_all = "snake_case")]
pub enum Cap {
    Symbol,
    Group(String),
    Gross,
}

/// Why an order is refused. Typed, so callers can act on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum DenialReason {
    TradingHalted,
    /// Breakers tripped: only orders that shrink positions pass.
    ReducingOnly,
    CircuitBreaker {
        kind: BreakerKind,
        measured_pct: f64,
        limit_pct: f64,
    },
    Cooldown {
        until: DateTime<Utc>,
        losses_in_a_row: u32,
    },
    InvalidSignal {
        problem: String,
    },
    MissingInstrumentFacts {
        field: &'static str,
    },
    NonPositiveEquity {
        equity: Decimal,
    },
    /// Kelly from the recent trades says the edge is not positive.
    NegativeEdge {
        kelly: f64,
    },
    SizeRoundsToZero {
        risk_budget: Decimal,
        risk_per_unit: Decimal,
    },
    MaxOpenPositions {
        open: usize,
        limit: usize,
    },
    CapFull {
        cap: Cap,
        room: Decimal,
    },
    PatternDayTrader {
        day_trades: usize,
        limit: u32,
    },
    NoBuyingPower {
        needed_per_unit: Decimal,
        available: Decimal,
    },
    /// The position policy: the symbol is held (or an entry is pending) on
    /// the signal's side, with as many entries as `[risk.positions]` allows.
    AlreadyHeld {
        symbol: CompactString,
        direction: Direction,
        entries: u32,
        max: u32,
    },
    /// The caps cut the size below the policy's fraction of what they
    /// would allow with nothing held (`sized`): what is held already took
    /// the room, and a sliver is not worth its order, fees and bracket.
    Sliver {
        quantity: Decimal,
        sized: Decimal,
        min_fraction: f64,
    },
    /// The policy says to ignore a signal against the held position.
    OppositeSignalIgnored {
        held: Direction,
    },
    /// A round trip in the symbol closed too recently to enter it again.
    ReentryCooldown {
        until: DateTime<Utc>,
    },
    /// Inside the window before the session's close where positions are
    /// flattened: no new entries.
    SessionClosing {
        close: DateTime<Utc>,
        minutes: u32,
    },
}

impl DenialReason {
    /// The reason's name, as it is serialized (`cap_full`, `cooldown`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TradingHalted => "trading_halted",
            Self::ReducingOnly => "reducing_only",
            Self::CircuitBreaker { .. } => "circuit_breaker",
            Self::Cooldown { .. } => "cooldown",
            Self::InvalidSignal { .. } => "invalid_signal",
            Self::MissingInstrumentFacts { .. } => "missing_instrument_facts",
            Self::NonPositiveEquity { .. } => "non_positive_equity",
            Self::NegativeEdge { .. } => "negative_edge",
            Self::SizeRoundsToZero { .. } => "size_rounds_to_zero",
            Self::MaxOpenPositions { .. } => "max_open_positions",
            Self::CapFull { .. } => "cap_full",
            Self::PatternDayTrader { .. } => "pattern_day_trader",
            Self::NoBuyingPower { .. } => "no_buying_power",
            Self::AlreadyHeld { .. } => "already_held",
            Self::Sliver { .. } => "sliver",
            Self::OppositeSignalIgnored { .. } => "opposite_signal_ignored",
            Self::ReentryCooldown { .. } => "reentry_cooldown",
            Self::SessionClosing { .. } => "session_closing",
        }
    }
}

fn side_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Long => "long",
        Direction::Short => "short",
    }
}

impl fmt::Display for DenialReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TradingHalted => write!(f, "trading is halted: only cancels pass"),
            Self::ReducingOnly => write!(f, "a circuit breaker tripped: only orders that shrink positions pass"),
            Self::CircuitBreaker { kind, measured_pct, limit_pct } => {
                write!(f, "{kind:?} breaker: loss {measured_pct:.2}% reached the {limit_pct}% limit")
            }
            Self::Cooldown { until, losses_in_a_row } => {
                write!(f, "cooldown after {losses_in_a_row} losing trades in a row, until {until}")
            }
            Self::InvalidSignal { problem } => write!(f, "invalid signal: {problem}"),
            Self::MissingInstrumentFacts { field } => write!(f, "the instrument has no {field}"),
            Self::NonPositiveEquity { equity } => write!(f, "account equity {equity} is not positive"),
            Self::NegativeEdge { kelly } => write!(f, "Kelly {kelly:.3} from recent trades: no positive edge"),
            Self::SizeRoundsToZero { risk_budget, risk_per_unit } => {
                write!(f, "risk budget {risk_budget} buys less than one unit at {risk_per_unit} risk per unit")
            }
            Self::MaxOpenPositions { open, limit } => write!(f, "{open} positions open, the limit is {limit}"),
            Self::CapFull { cap, room } => write!(f, "the {cap} has room for {}, less than one unit", room.round_dp(2)),
            Self::PatternDayTrader { day_trades, limit } => {
                write!(f, "{day_trades} day trades in five business days: another would exceed {limit} (PDT)")
            }
            Self::NoBuyingPower { needed_per_unit, available } => {
                write!(f, "one unit needs {needed_per_unit}, only {available} available")
            }
            Self::AlreadyHeld { symbol, direction, entries, max } => {
                let side = side_word(*direction);
                let noun = if *entries == 1 { "entry" } else { "entries" };
                write!(f, "already {side} {symbol} ({entries} {noun} of {max})")
            }
            Self::Sliver { quantity, sized, min_fraction } => write!(
                f,
                "would be a sliver: {} of {} (below {}% of the order on a flat book)",
                quantity.normalize(),
                sized.normalize(),
                min_fraction * 100.0
            ),
            Self::OppositeSignalIgnored { held } => {
                write!(
                    f,
                    "{} signal against the {} position: ignored by the position policy",
                    side_word(held.opposite()),
                    side_word(*held)
                )
            }
            Self::ReentryCooldown { until } => write!(f, "re-entry cooldown after the last round trip, until {until}"),
            Self::SessionClosing { close, minutes } => {
                write!(f, "within {minutes} minutes of the session's close at {close}: positions are being flattened")
            }
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cap::Symbol => f.write_str("symbol exposure cap"),
            Cap::Group(group) => write!(f, "{group} group exposure cap"),
            Cap::Gross => f.write_str("gross exposure cap"),
        }
    }
}

impl fmt::Display for ReduceReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReduceReason::Cap(cap) => cap.fmt(f),
            ReduceReason::BuyingPower => f.write_str("buying power"),
            ReduceReason::Margin => f.write_str("available margin"),
        }
    }
}

/// Why an order was made smaller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ReduceReason {
    Cap(Cap),
    BuyingPower,
    Margin,
}

/// A figure a check measured or compared against.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum Figure {
    Percent(f64),
    Money(Decimal),
    Quantity(Decimal),
    Count(usize),
    Until(DateTime<Utc>),
    State(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Reduced,
    Blocked,
    /// The check does not apply to this order (an exit skips sizing).
    NotApplicable,
}

/// One check's result, as the decision records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub name: &'static str,
    pub status: CheckStatus,
    pub measured: Option<Figure>,
    pub limit: Option<Figure>,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        !matches!(self.status, CheckStatus::Blocked)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Allow,
    Reduce { reasons: Vec<ReduceReason> },
    Block { reason: DenialReason },
}

/// The permission to send one order. Only [`super::evaluate`] makes one,
/// and only for an ALLOW or REDUCE decision: the broker layer accepts
/// nothing else, so no order can skip the risk checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub(super) symbol: CompactString,
    pub(super) side: Side,
    pub(super) intent: Intent,
    pub(super) quantity: Decimal,
    pub(super) entry: Decimal,
    pub(super) stop_loss: Option<Decimal>,
    pub(super) take_profit: Option<Decimal>,
    pub(super) approved_at: DateTime<Utc>,
}

impl Approval {
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    pub fn side(&self) -> Side {
        self.side
    }
    pub fn intent(&self) -> Intent {
        self.intent
    }
    /// Whole shares or contracts, always positive.
    pub fn quantity(&self) -> Decimal {
        self.quantity
    }
    pub fn entry(&self) -> Decimal {
        self.entry
    }
    pub fn stop_loss(&self) -> Option<Decimal> {
        self.stop_loss
    }
    pub fn take_profit(&self) -> Option<Decimal> {
        self.take_profit
    }
    pub fn approved_at(&self) -> DateTime<Utc> {
        self.approved_at
    }
}

/// The risk manager's answer for one signal, with every check that ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskDecision {
    pub symbol: CompactString,
    pub direction: Direction,
    pub intent: Intent,
    pub decided_at: DateTime<Utc>,
    pub verdict: Verdict,
    /// The size before caps (the sizing check's result, or the position for an exit).
    pub requested: Option<Decimal>,
    pub checks: Vec<CheckResult>,
    pub(super) approval: Option<Approval>,
}

impl RiskDecision {
    /// The approval to place the order: `Some` exactly for ALLOW and REDUCE.
    pub fn approval(&self) -> Option<&Approval> {
        self.approval.as_ref()
    }

    pub fn into_approval(self) -> Option<Approval> {
        self.approval
    }

    pub fn is_blocked(&self) -> bool {
        matches!(self.verdict, Verdict::Block { .. })
    }
}
