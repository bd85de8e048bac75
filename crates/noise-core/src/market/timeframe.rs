//! Bar timeframes.

use std::fmt;
use std::str::FromStr;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// The bar intervals NOISE works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Timeframe {
    M1,
    M5,
    M15,
    H1,
    /// One trading session (a day), aligned to the instrument's session.
    D1,
}

impl Timeframe {
    pub const ALL: [Timeframe; 5] = [Self::M1, Self::M5, Self::M15, Self::H1, Self::D1];

    /// Nominal length; a daily bar spans its session, which this approximates.
    pub const fn seconds(self) -> i64 {
        match self {
            Self::M1 => 60,
            Self::M5 => 300,
            Self::M15 => 900,
            Self::H1 => 3600,
            Self::D1 => 86_400,
        }
    }

    pub fn duration(self) -> TimeDelta {
        TimeDelta::seconds(self.seconds())
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::H1 => "1h",
            Self::D1 => "1d",
        }
    }

    /// True for every timeframe shorter than a session.
    pub const fn is_intraday(self) -> bool {
        !matches!(self, Self::D1)
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timeframe {0:?} (expected 1m, 5m, 15m, 1h or 1d)")]
pub struct UnknownTimeframe(pub String);

impl FromStr for Timeframe {
    type Err = UnknownTimeframe;

    /// Accepts our short names and Alpaca's (`1Min`, `5Min`, `15Min`, `1Hour`, `1Day`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1m" | "1min" => Ok(Self::M1),
            "5m" | "5min" => Ok(Self::M5),
            "15m" | "15min" => Ok(Self::M15),
            "1h" | "60m" | "1hour" => Ok(Self::H1),
            "1d" | "1day" => Ok(Self::D1),
            _ => Err(UnknownTimeframe(s.to_string())),
        }
    }
}

impl TryFrom<String> for Timeframe {
    type Error = UnknownTimeframe;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Timeframe> for String {
    fn from(tf: Timeframe) -> Self {
        tf.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ours_and_alpacas_names() {
        for (text, tf) in [
            ("1m", Timeframe::M1),
            ("5Min", Timeframe::M5),
            ("15m", Timeframe::M15),
            ("1Hour", Timeframe::H1),
            ("1d", Timeframe::D1),
        ] {
            assert_eq!(text.parse::<Timeframe>().unwrap(), tf);
            assert_eq!(tf.as_str().parse::<Timeframe>().unwrap(), tf);
        }
        assert!("2m".parse::<Timeframe>().is_err());
    }
}

/// `t` plus one minute: the close of the 1-minute bar opening at `t`. The
/// same instant as `t + TimeDelta::minutes(1)`, without the general date
/// arithmetic when the minute stays within the day (a backtest asks for
/// this for every bar).
#[inline]
pub fn one_minute_after(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::Timelike;
    let naive = t.naive_utc();
    let (secs, nanos) = (naive.time().num_seconds_from_midnight(), naive.time().nanosecond());
    if secs < 86_400 - 60
        && nanos < 1_000_000_000
        && let Some(later) = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs + 60, nanos)
    {
        return naive.date().and_time(later).and_utc();
    }
    t + chrono::TimeDelta::minutes(1)
}

#[cfg(test)]
mod one_minute_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_adding_a_minute(secs in 0i64..4_102_444_800, nanos in 0u32..1_000_000_000) {
            let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
            prop_assert_eq!(one_minute_after(t), t + chrono::TimeDelta::minutes(1));
        }
    }

    #[test]
    fn across_midnight_and_the_year() {
        for text in ["2026-12-31T23:59:00Z", "2026-03-08T06:59:30Z", "2024-02-28T23:59:59Z"] {
            let t: chrono::DateTime<chrono::Utc> = text.parse().unwrap();
            assert_eq!(one_minute_after(t), t + chrono::TimeDelta::minutes(1), "{text}");
        }
    }
}
