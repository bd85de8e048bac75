//! The signal engine: regime, weighted strategies, filters, provenance.
//!
//! Per symbol, a [`SymbolPipeline`] takes each 1-minute bar at its close and
//! returns what happened: nothing (no strategy had an opinion, or the
//! indicators are still warming up), a [`Signal`] that passed every filter,
//! or a [`Rejected`] candidate that names why. Both carry full provenance:
//! each strategy's opinion with its weight and reasons, the regime, and each
//! filter's verdict. [`SignalManager`] is the same pipeline as a pure
//! function of bar history, instrument, `now` and config.

mod combine;
pub mod config;
mod features;
mod filters;
mod pipeline;
pub mod reason;
pub mod regime;
pub mod strategy;

use compact_str::CompactString;
use std::fmt;
use std::ops::Deref;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::market::Timeframe;

pub use combine::{WeightedComponent, regime_multiplier};
pub use config::{MtfMode, SignalConfig};
pub use features::{FeatureBuilder, Features};
pub use filters::{FilterVerdict, HigherTrend};
pub use pipeline::{SignalError, SignalManager, SymbolPipeline};
pub use reason::{FilterDetail, Reason};
pub use regime::{Regime, TrendState, VolatilityState};
pub use strategy::{Opinion, STRATEGY_NAMES, Strategy};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    Long,
    Short,
}

impl Direction {
    /// +1 for long, −1 for short.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Long => 1.0,
            Direction::Short => -1.0,
        }
    }

    pub fn opposite(self) -> Direction {
        match self {
            Direction::Long => Direction::Short,
            Direction::Short => Direction::Long,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Long => "LONG",
            Direction::Short => "SHORT",
        })
    }
}

/// A combined trading idea with everything that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// When it was made: the close of the bar it acts on.
    pub time: DateTime<Utc>,
    pub symbol: CompactString,
    pub timeframe: Timeframe,
    pub direction: Direction,
    /// Combined strength in [0, 1].
    pub strength: f64,
    /// The signal bar's close, on the tick grid.
    pub entry: Decimal,
    pub stop_loss: Decimal,
    pub take_profit: Decimal,
    /// ATR of the signal timeframe that set the stop and target.
    pub atr: f64,
    pub regime: Regime,
    pub components: Vec<WeightedComponent>,
    pub filters: Vec<FilterVerdict>,
}

/// A candidate that passed every filter. Only the pipeline makes one, so
/// holding a `Signal` proves the filters ran and passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Signal(Candidate);

impl Signal {
    pub(crate) fn approved(candidate: Candidate) -> Self {
        Self(candidate)
    }

    pub fn into_candidate(self) -> Candidate {
        self.0
    }
}

impl Deref for Signal {
    type Target = Candidate;
    fn deref(&self) -> &Candidate {
        &self.0
    }
}

/// A candidate that did not become a signal; its failed filters say why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub candidate: Candidate,
}

impl Rejected {
    /// The failed filters as `name: detail`, joined with "; ".
    pub fn reason(&self) -> String {
        let failed: Vec<String> =
            self.candidate.filters.iter().filter(|v| !v.passed).map(|v| format!("{}: {}", v.name, v.detail)).collect();
        failed.join("; ")
    }
}

/// What the pipeline concluded at one bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluation {
    Signal(Signal),
    Rejected(Rejected),
}

impl Evaluation {
    pub fn candidate(&self) -> &Candidate {
        match self {
            Evaluation::Signal(s) => s,
            Evaluation::Rejected(r) => &r.candidate,
        }
    }

    pub fn signal(&self) -> Option<&Signal> {
        match self {
            Evaluation::Signal(s) => Some(s),
            Evaluation::Rejected(_) => None,
        }
    }
}
