//! The bar: one OHLCV interval, stamped with its open time.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::num::decimal_to_f64;

/// One OHLCV interval of a market.
///
/// A bar is stamped with its *open* time, as Alpaca and most vendors do, and
/// becomes known only at its *close*: whatever acts on a bar acts at
/// `time + timeframe`. Prices and volume are exact decimals as the venue
/// reported them; [`Bar::candle`] gives the `f64` view indicators compute on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    /// Open time of the interval, UTC.
    pub time: DateTime<Utc>,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
}

/// Why a bar's values cannot describe a real trading interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarError {
    #[error("{field} {value} is not a positive price")]
    NonPositivePrice { field: &'static str, value: Decimal },
    #[error("high {high} is below low {low}")]
    HighBelowLow { high: Decimal, low: Decimal },
    #[error("high {high} is below {field} {value}")]
    HighBelowBody { high: Decimal, field: &'static str, value: Decimal },
    #[error("low {low} is above {field} {value}")]
    LowAboveBody { low: Decimal, field: &'static str, value: Decimal },
    #[error("volume {0} is negative")]
    NegativeVolume(Decimal),
}

impl Bar {
    /// Checks that the values can describe a real interval: positive prices,
    /// `low <= open, close <= high`, non-negative volume.
    pub fn validate(&self) -> Result<(), BarError> {
        for (field, value) in [("open", self.open), ("high", self.high), ("low", self.low), ("close", self.close)] {
            if value <= Decimal::ZERO {
                return Err(BarError::NonPositivePrice { field, value });
            }
        }
        if self.high < self.low {
            return Err(BarError::HighBelowLow { high: self.high, low: self.low });
        }
        for (field, value) in [("open", self.open), ("close", self.close)] {
            if self.high < value {
                return Err(BarError::HighBelowBody { high: self.high, field, value });
            }
            if self.low > value {
                return Err(BarError::LowAboveBody { low: self.low, field, value });
            }
        }
        if self.volume < Decimal::ZERO {
            return Err(BarError::NegativeVolume(self.volume));
        }
        Ok(())
    }

    /// The `f64` view of this bar, converted once so that every indicator
    /// fed from it sees the same correctly rounded values.
    pub fn candle(&self) -> Candle {
        Candle {
            open: decimal_to_f64(self.open),
            high: decimal_to_f64(self.high),
            low: decimal_to_f64(self.low),
            close: decimal_to_f64(self.close),
            volume: decimal_to_f64(self.volume),
        }
    }

    /// The close alone as `f64` (what close-only indicators read).
    #[inline]
    pub fn candle_close(&self) -> f64 {
        decimal_to_f64(self.close)
    }

    /// Folds a later bar of the same interval into this one.
    pub(crate) fn absorb(&mut self, later: &Bar) {
        self.high = self.high.max(later.high);
        self.low = self.low.min(later.low);
        self.close = later.close;
        self.volume += later.volume;
    }
}

/// The `f64` view of a [`Bar`], which indicators and scores compute on.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Candle {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// Bars stored by column (one `Vec` per field), as batch computations and
/// TA-Lib's interface want them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CandleColumns {
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

impl CandleColumns {
    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }
}

impl FromIterator<Candle> for CandleColumns {
    fn from_iter<T: IntoIterator<Item = Candle>>(iter: T) -> Self {
        let mut columns = CandleColumns::default();
        for c in iter {
            columns.open.push(c.open);
            columns.high.push(c.high);
            columns.low.push(c.low);
            columns.close.push(c.close);
            columns.volume.push(c.volume);
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn bar(o: Decimal, h: Decimal, l: Decimal, c: Decimal, v: Decimal) -> Bar {
        Bar {
            time: Utc.with_ymd_and_hms(2026, 1, 5, 14, 30, 0).unwrap(),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        }
    }

    #[test]
    fn validate_table() {
        use BarError::*;
        let cases: Vec<(Bar, Option<BarError>)> = vec![
            (bar(dec!(10), dec!(11), dec!(9), dec!(10.5), dec!(100)), None),
            (bar(dec!(10), dec!(10), dec!(10), dec!(10), dec!(0)), None),
            (
                bar(dec!(-1), dec!(11), dec!(9), dec!(10), dec!(1)),
                Some(NonPositivePrice { field: "open", value: dec!(-1) }),
            ),
            (
                bar(dec!(10), dec!(11), dec!(0), dec!(10), dec!(1)),
                Some(NonPositivePrice { field: "low", value: dec!(0) }),
            ),
            (bar(dec!(10), dec!(9), dec!(11), dec!(10), dec!(1)), Some(HighBelowLow { high: dec!(9), low: dec!(11) })),
            (
                bar(dec!(12), dec!(11), dec!(9), dec!(10), dec!(1)),
                Some(HighBelowBody { high: dec!(11), field: "open", value: dec!(12) }),
            ),
            (
                bar(dec!(10), dec!(11), dec!(9), dec!(8), dec!(1)),
                Some(LowAboveBody { low: dec!(9), field: "close", value: dec!(8) }),
            ),
            (bar(dec!(10), dec!(11), dec!(9), dec!(10), dec!(-5)), Some(NegativeVolume(dec!(-5)))),
        ];
        for (bar, want) in cases {
            assert_eq!(bar.validate().err(), want, "{bar:?}");
        }
    }

    #[test]
    fn candle_converts_exactly() {
        let c = bar(dec!(100.25), dec!(101.5), dec!(99.75), dec!(100.1), dec!(1234)).candle();
        assert_eq!((c.open, c.high, c.low, c.close, c.volume), (100.25, 101.5, 99.75, 100.1, 1234.0));
    }
}
