//! Typed provenance: the figures behind an opinion or a verdict, rendered as
//! text only when someone looks (printing, JSON, the database), so the
//! pipeline itself never formats strings.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use serde::{Serialize, Serializer};

use super::Direction;
use super::config::MtfMode;
use super::filters::HigherTrend;
use super::regime::Regime;
use crate::market::Timeframe;

/// Why a strategy holds its opinion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    MacdVersusZero { macd: f64, atr_multiple: f64, signal: f64 },
    Rsi { rsi: f64 },
    CloseVersusEma { close: f64, ema: f64 },
    Directional { plus: f64, minus: f64, adx: f64 },
    BandTouch { price: f64, band: f64, upper: bool },
    RsiBeyond { rsi: f64, threshold: f64 },
    ClearedExtreme { close: f64, level: f64, lookback: usize },
    VolumeRatio { ratio: f64 },
    AtrExpansion { atr: f64, expansion: f64, lookback: usize },
    SmaCross { fast: f64, slow: f64 },
}

fn side(above: bool) -> &'static str {
    if above { "above" } else { "below" }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::MacdVersusZero { macd, atr_multiple, signal } => {
                write!(f, "MACD {macd:.4} ({atr_multiple:.2} ATR) {} zero, signal {signal:.4}", side(macd > 0.0))
            }
            Reason::Rsi { rsi } => write!(f, "RSI {rsi:.1}"),
            Reason::CloseVersusEma { close, ema } => write!(f, "close {close:.2} {} EMA {ema:.2}", side(close > ema)),
            Reason::Directional { plus, minus, adx } if plus >= minus => {
                write!(f, "+DI {plus:.1} > −DI {minus:.1}, ADX {adx:.1}")
            }
            Reason::Directional { plus, minus, adx } => write!(f, "−DI {minus:.1} > +DI {plus:.1}, ADX {adx:.1}"),
            Reason::BandTouch { price, band, upper } => {
                let (what, which) = if upper { ("high", "upper") } else { ("low", "lower") };
                write!(f, "{what} {price:.2} touched the {which} band {band:.2}")
            }
            Reason::RsiBeyond { rsi, threshold } => write!(f, "RSI {rsi:.1} {} {threshold:.0}", side(rsi > threshold)),
            Reason::ClearedExtreme { close, level, lookback } => {
                let what = if close > level { "above the high" } else { "below the low" };
                write!(f, "close {close:.2} {what} {level:.2} of the last {lookback} bars")
            }
            Reason::VolumeRatio { ratio } => write!(f, "volume {ratio:.2}× its average"),
            Reason::AtrExpansion { atr, expansion, lookback } => {
                write!(f, "ATR {atr:.3} is {expansion:.2}× its value {lookback} bars ago")
            }
            Reason::SmaCross { fast, slow } => {
                write!(f, "fast SMA {fast:.2} crossed {} slow SMA {slow:.2}", side(fast > slow))
            }
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// What a filter saw.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterDetail {
    Disabled,
    Strength { strength: f64, minimum: f64 },
    MarketClosed { at: DateTime<Utc> },
    SessionOpening { minutes: u32, opened: DateTime<Utc> },
    SessionClosing { minutes: u32, closes: DateTime<Utc> },
    InsideWindow { at: DateTime<Utc> },
    Regime { direction: Direction, regime: Regime, against: bool },
    Trends { direction: Direction, mode: MtfMode, trends: Vec<(Timeframe, Option<HigherTrend>, bool)> },
    Levels { problem: String },
}

fn new_york(t: DateTime<Utc>) -> impl fmt::Display {
    t.with_timezone(&New_York).format("%Y-%m-%d %H:%M ET")
}

impl fmt::Display for FilterDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterDetail::Disabled => f.write_str("disabled"),
            FilterDetail::Strength { strength, minimum } => {
                let op = if strength >= minimum { "≥" } else { "<" };
                write!(f, "strength {strength:.2} {op} minimum {minimum:.2}")
            }
            FilterDetail::MarketClosed { at } => write!(f, "market closed at {}", new_york(*at)),
            FilterDetail::SessionOpening { minutes, opened } => {
                write!(f, "within the first {minutes} minutes of the session (opened {})", new_york(*opened))
            }
            FilterDetail::SessionClosing { minutes, closes } => {
                write!(f, "within the last {minutes} minutes of the session (closes {})", new_york(*closes))
            }
            FilterDetail::InsideWindow { at } => write!(f, "{} is inside the trading window", new_york(*at)),
            FilterDetail::Regime { direction, regime, against } => {
                let relation = if *against { "against" } else { "fits" };
                write!(f, "{direction} {relation} the {regime} regime")
            }
            FilterDetail::Trends { direction, mode, trends } => {
                let mode = match mode {
                    MtfMode::Agree => "agreeing",
                    MtfMode::NotOpposed => "non-opposing",
                };
                write!(f, "{direction} needs {mode} trends:")?;
                for (i, (tf, trend, ok)) in trends.iter().enumerate() {
                    let trend = match trend {
                        None => "unknown (warming up)",
                        Some(HigherTrend::Up) => "up",
                        Some(HigherTrend::Down) => "down",
                        Some(HigherTrend::Flat) => "flat",
                    };
                    write!(f, "{} {tf} {trend}{}", if i == 0 { "" } else { "," }, if *ok { "" } else { " ✗" })?;
                }
                Ok(())
            }
            FilterDetail::Levels { problem } => f.write_str(problem),
        }
    }
}

impl Serialize for FilterDetail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
