//! Market data: bars, timeframes, CSV input and resampling.

pub mod bar;
pub mod csv;
pub mod resample;
pub mod timeframe;

pub use bar::{Bar, BarError, Candle, CandleColumns};
pub use csv::{BarCsvError, BarCsvErrorKind, BarRecord, parse_bars, parse_bars_by_symbol, visit_bar_csv};
pub use resample::{Bucketing, Completed, DayStart, Resampler};
pub use timeframe::{Timeframe, one_minute_after};
