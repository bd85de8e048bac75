//! Reading bar CSV files.
//!
//! Format: a header naming at least `timestamp,open,high,low,close,volume`
//! (any order, any case, extra columns ignored), an optional `symbol`
//! column, one bar per row. Timestamps may be RFC 3339 / ISO-8601
//! (`2026-01-05T14:30:00Z`, `2026-01-05 14:30:00-05:00`, a zone-less
//! `2026-01-05T14:30:00` or a bare date, both read as UTC), or integer Unix
//! time: seconds, or milliseconds when the magnitude is at least 10^11
//! (10^11 seconds lies in the year 5138).
//!
//! Every row is validated ([`Bar::validate`]) and timestamps must strictly
//! increase per symbol. The first bad row stops the read with an error naming
//! the source, the line and the reason. The reader takes bytes, not a path:
//! the caller does the I/O.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::bar::{Bar, BarError};

/// A bad CSV file: where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct BarCsvError {
    /// The name the caller gave the data (usually the file path).
    pub file: String,
    /// 1-based line number in the file.
    pub line: u64,
    pub kind: BarCsvErrorKind,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarCsvErrorKind {
    #[error("the file is empty: expected a header with timestamp,open,high,low,close,volume")]
    Empty,
    #[error("missing column(s) {}: the header must name timestamp,open,high,low,close,volume", .0.join(", "))]
    MissingColumns(Vec<&'static str>),
    #[error("row has {found} fields, column `{column}` needs at least {needed}")]
    MissingField { column: &'static str, found: usize, needed: usize },
    #[error("column `{column}` is empty")]
    EmptyValue { column: &'static str },
    #[error("column `{column}`: {text:?} is not a number")]
    NotANumber { column: &'static str, text: String },
    #[error("column `{column}`: {text:?} is not a finite number")]
    NonFinite { column: &'static str, text: String },
    #[error("timestamp {text:?}: {reason}")]
    BadTimestamp { text: String, reason: &'static str },
    #[error("{0}")]
    InvalidBar(BarError),
    #[error("timestamp {this} is earlier than the previous row's {previous}{}", symbol_suffix(.symbol))]
    OutOfOrder { previous: DateTime<Utc>, this: DateTime<Utc>, symbol: Option<String> },
    #[error("timestamp {time} appears twice{}", symbol_suffix(.symbol))]
    Duplicate { time: DateTime<Utc>, symbol: Option<String> },
    #[error("not valid CSV: {0}")]
    Malformed(String),
}

fn symbol_suffix(symbol: &Option<String>) -> String {
    symbol.as_ref().map(|s| format!(" for symbol {s}")).unwrap_or_default()
}

/// One parsed row, handed to the visitor of [`visit_bar_csv`].
#[derive(Debug, Clone, Copy)]
pub struct BarRecord<'a> {
    pub line: u64,
    /// The timestamp exactly as written in the file.
    pub timestamp: &'a str,
    /// The `symbol` column, when the file has one.
    pub symbol: Option<&'a str>,
    pub bar: &'a Bar,
}

const REQUIRED: [&str; 6] = ["timestamp", "open", "high", "low", "close", "volume"];

#[derive(Debug, Clone, Copy)]
struct Columns {
    /// Indices of REQUIRED, in that order.
    required: [usize; 6],
    symbol: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::ByteRecord) -> Result<Self, BarCsvErrorKind> {
        let names: Vec<String> = header
            .iter()
            .map(|raw| String::from_utf8_lossy(raw).trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        let mut required = [0; 6];
        let mut missing = Vec::new();
        for (slot, name) in required.iter_mut().zip(REQUIRED) {
            match find(name) {
                Some(i) => *slot = i,
                None => missing.push(name),
            }
        }
        if !missing.is_empty() {
            return Err(BarCsvErrorKind::MissingColumns(missing));
        }
        Ok(Self { required, symbol: find("symbol") })
    }

    fn field<'r>(
        &self,
        record: &'r csv::ByteRecord,
        index: usize,
        column: &'static str,
    ) -> Result<&'r str, BarCsvErrorKind> {
        let raw = record.get(index).ok_or(BarCsvErrorKind::MissingField {
            column,
            found: record.len(),
            needed: index + 1,
        })?;
        std::str::from_utf8(raw)
            .map(str::trim)
            .map_err(|_| BarCsvErrorKind::NotANumber { column, text: String::from_utf8_lossy(raw).into_owned() })
    }
}

/// Parses every row of `data`, calling `visit` for each valid bar in file
/// order. Returns the number of bars, or the first error.
pub fn visit_bar_csv(source: &str, data: &[u8], mut visit: impl FnMut(BarRecord<'_>)) -> Result<usize, BarCsvError> {
    let err = |line: u64, kind| BarCsvError { file: source.to_string(), line, kind };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(data);
    let header = reader.byte_headers().map_err(|e| err(1, BarCsvErrorKind::Malformed(e.to_string())))?.clone();
    if header.is_empty() || (header.len() == 1 && header.get(0).is_some_and(|h| h.iter().all(u8::is_ascii_whitespace)))
    {
        return Err(err(1, BarCsvErrorKind::Empty));
    }
    let columns = Columns::from_header(&header).map_err(|kind| err(1, kind))?;

    let mut record = csv::ByteRecord::new();
    let mut last_seen = LastSeen::default();
    let mut count = 0;
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(err(line, BarCsvErrorKind::Malformed(e.to_string()))),
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // a blank line (e.g. trailing whitespace) is not a row
        }
        let (timestamp, symbol, bar) = parse_row(&columns, &record).map_err(|kind| err(line, kind))?;
        last_seen.check(symbol, bar.time).map_err(|kind| err(line, kind))?;
        visit(BarRecord { line, timestamp, symbol, bar: &bar });
        count += 1;
    }
    Ok(count)
}

/// Parses a single-series file into its bars.
pub fn parse_bars(source: &str, data: &[u8]) -> Result<Vec<Bar>, BarCsvError> {
    let mut bars = Vec::with_capacity(data.len() / 48);
    visit_bar_csv(source, data, |record| bars.push(record.bar.clone()))?;
    Ok(bars)
}

/// Parses a file that may hold several symbols (a `symbol` column), grouped
/// by symbol in time order. A file without the column yields one group named
/// `default_symbol`.
pub fn parse_bars_by_symbol(
    source: &str,
    data: &[u8],
    default_symbol: &str,
) -> Result<Vec<(String, Vec<Bar>)>, BarCsvError> {
    let mut groups: Vec<(String, Vec<Bar>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    visit_bar_csv(source, data, |record| {
        let symbol = record.symbol.unwrap_or(default_symbol);
        let slot = match index.get(symbol) {
            Some(&i) => i,
            None => {
                index.insert(symbol.to_string(), groups.len());
                groups.push((symbol.to_string(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[slot].1.push(record.bar.clone());
    })?;
    Ok(groups)
}

/// Last timestamp per symbol ("" when the file has no symbol column), to
/// enforce strictly increasing time.
#[derive(Default)]
struct LastSeen(HashMap<String, DateTime<Utc>>);

impl LastSeen {
    fn check(&mut self, symbol: Option<&str>, time: DateTime<Utc>) -> Result<(), BarCsvErrorKind> {
        let key = symbol.unwrap_or("");
        let Some(previous) = self.0.get_mut(key) else {
            self.0.insert(key.to_string(), time);
            return Ok(());
        };
        let symbol = || symbol.map(str::to_string);
        if time == *previous {
            return Err(BarCsvErrorKind::Duplicate { time, symbol: symbol() });
        }
        if time < *previous {
            return Err(BarCsvErrorKind::OutOfOrder { previous: *previous, this: time, symbol: symbol() });
        }
        *previous = time;
        Ok(())
    }
}

fn parse_row<'r>(
    columns: &Columns,
    record: &'r csv::ByteRecord,
) -> Result<(&'r str, Option<&'r str>, Bar), BarCsvErrorKind> {
    let [t, o, h, l, c, v] = columns.required;
    let timestamp = columns.field(record, t, "timestamp")?;
    let time = parse_timestamp(timestamp)?;
    let number = |index, column| parse_number(columns.field(record, index, column)?, column);
    let bar = Bar {
        time,
        open: number(o, "open")?,
        high: number(h, "high")?,
        low: number(l, "low")?,
        close: number(c, "close")?,
        volume: number(v, "volume")?,
    };
    bar.validate().map_err(BarCsvErrorKind::InvalidBar)?;
    let symbol = match columns.symbol {
        Some(i) => {
            let s = columns.field(record, i, "symbol")?;
            if s.is_empty() {
                return Err(BarCsvErrorKind::EmptyValue { column: "symbol" });
            }
            Some(s)
        }
        None => None,
    };
    Ok((timestamp, symbol, bar))
}

fn parse_number(text: &str, column: &'static str) -> Result<Decimal, BarCsvErrorKind> {
    if text.is_empty() {
        return Err(BarCsvErrorKind::EmptyValue { column });
    }
    if let Ok(d) = Decimal::from_str(text) {
        return Ok(d);
    }
    if let Ok(d) = Decimal::from_scientific(text) {
        return Ok(d);
    }
    let bare = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if matches!(bare.as_str(), "nan" | "inf" | "infinity") {
        return Err(BarCsvErrorKind::NonFinite { column, text: text.to_string() });
    }
    Err(BarCsvErrorKind::NotANumber { column, text: text.to_string() })
}

/// Milliseconds start at this magnitude; below it an integer is seconds.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Parses one timestamp in any of the accepted forms (see the module docs).
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, BarCsvErrorKind> {
    let bad = |reason| BarCsvErrorKind::BadTimestamp { text: text.to_string(), reason };
    if text.is_empty() {
        return Err(BarCsvErrorKind::EmptyValue { column: "timestamp" });
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().map_err(|_| bad("integer out of range"))?;
        let time = if n.abs() >= MILLIS_THRESHOLD {
            DateTime::from_timestamp_millis(n)
        } else {
            DateTime::from_timestamp(n, 0)
        };
        return time.ok_or_else(|| bad("Unix time out of range"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.to_utc());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Ok(t.to_utc());
        }
    }
    let naive = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).ok_or_else(|| bad("invalid date"))?.and_utc());
    }
    Err(bad("not RFC 3339 / ISO-8601 or integer Unix seconds/milliseconds"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const HEADER: &str = "timestamp,open,high,low,close,volume\n";

    fn read(text: &str) -> Result<Vec<Bar>, BarCsvError> {
        parse_bars("bars.csv", text.as_bytes())
    }

    fn error_of(text: &str) -> (u64, String) {
        let e = read(text).expect_err("should fail");
        assert_eq!(e.file, "bars.csv");
        (e.line, e.kind.to_string())
    }

    #[test]
    fn reads_valid_rows_in_all_timestamp_forms() {
        let text = format!(
            "{HEADER}2026-01-05T14:30:00Z,1,2,0.5,1.5,10\n\
             2026-01-05 09:31:00-05:00,1,2,0.5,1.5,10\n\
             2026-01-05T14:32:00,1,2,0.5,1.5,10\n\
             1767623580,1,2,0.5,1.5,10\n\
             1767623640000,1,2,0.5,1.5,0\n"
        );
        let bars = read(&text).unwrap();
        let minutes: Vec<u32> = bars.iter().map(|b| chrono::Timelike::minute(&b.time)).collect();
        assert_eq!(minutes, vec![30, 31, 32, 33, 34]);
        assert_eq!(bars[0].time, Utc.with_ymd_and_hms(2026, 1, 5, 14, 30, 0).unwrap());
    }

    #[test]
    fn header_is_case_insensitive_in_any_order_with_extras() {
        let text = "Volume,Close,vwap,Low,High,Open,Timestamp\n10,1.5,1.4,0.5,2,1,2026-01-05T14:30:00Z\n";
        let bars = read(text).unwrap();
        assert_eq!(bars[0].close.to_string(), "1.5");
        assert_eq!(bars[0].volume.to_string(), "10");
    }

    #[test]
    fn bad_rows_name_line_and_reason() {
        let cases: &[(&str, u64, &str)] = &[
            ("", 1, "empty"),
            ("timestamp,open,high,close\n", 1, "missing column(s) low, volume"),
            ("x,1,2,0.5,1.5,10\n", 2, "timestamp \"x\""),
            ("2026-01-05T14:30:00Z,abc,2,0.5,1.5,10\n", 2, "column `open`: \"abc\" is not a number"),
            ("2026-01-05T14:30:00Z,NaN,2,0.5,1.5,10\n", 2, "not a finite number"),
            ("2026-01-05T14:30:00Z,1,inf,0.5,1.5,10\n", 2, "not a finite number"),
            ("2026-01-05T14:30:00Z,-1,2,0.5,1.5,10\n", 2, "open -1 is not a positive price"),
            ("2026-01-05T14:30:00Z,1,0.4,0.5,0.45,10\n", 2, "high 0.4 is below low 0.5"),
            ("2026-01-05T14:30:00Z,1,2,0.5,2.5,10\n", 2, "high 2 is below close 2.5"),
            ("2026-01-05T14:30:00Z,1,2,1.2,1.5,10\n", 2, "low 1.2 is above open 1"),
            ("2026-01-05T14:30:00Z,1,2,0.5,1.5,-3\n", 2, "volume -3 is negative"),
            ("2026-01-05T14:30:00Z,1,2,0.5,1.5\n", 2, "row has 5 fields"),
            ("2026-01-05T14:30:00Z,1,2,0.5,,10\n", 2, "column `close` is empty"),
            (
                "2026-01-05T14:31:00Z,1,2,0.5,1.5,10\n2026-01-05T14:30:00Z,1,2,0.5,1.5,10\n",
                3,
                "earlier than the previous row",
            ),
            ("2026-01-05T14:30:00Z,1,2,0.5,1.5,10\n2026-01-05T14:30:00Z,1,2,0.5,1.5,10\n", 3, "appears twice"),
        ];
        for (body, line, needle) in cases {
            let text = if body.starts_with("timestamp") || body.is_empty() {
                body.to_string()
            } else {
                format!("{HEADER}{body}")
            };
            let (got_line, message) = error_of(&text);
            assert_eq!(got_line, *line, "{body:?} -> {message}");
            assert!(message.contains(needle), "{body:?}: {message:?} lacks {needle:?}");
        }
    }

    #[test]
    fn order_is_checked_per_symbol() {
        let text = "timestamp,symbol,open,high,low,close,volume\n\
                    2026-01-05T14:30:00Z,SPY,1,2,0.5,1.5,10\n\
                    2026-01-05T14:30:00Z,QQQ,1,2,0.5,1.5,10\n\
                    2026-01-05T14:31:00Z,SPY,1,2,0.5,1.5,10\n\
                    2026-01-05T14:29:00Z,QQQ,1,2,0.5,1.5,10\n";
        let e = parse_bars_by_symbol("m.csv", text.as_bytes(), "X").unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.to_string().contains("for symbol QQQ"), "{e}");
        let ok = &text[..text.rfind("2026-01-05T14:29").unwrap()];
        let groups = parse_bars_by_symbol("m.csv", ok.as_bytes(), "X").unwrap();
        assert_eq!(groups.iter().map(|(s, b)| (s.as_str(), b.len())).collect::<Vec<_>>(), vec![("SPY", 2), ("QQQ", 1)]);
    }

    #[test]
    fn error_message_format() {
        let e = read(&format!("{HEADER}2026-01-05T14:30:00Z,1,2,0.5,1.5,-3\n")).unwrap_err();
        assert_eq!(e.to_string(), "bars.csv:2: volume -3 is negative");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_bars("fuzz.csv", &data);
        }

        #[test]
        fn never_panics_on_csv_shaped_text(rows in proptest::collection::vec(
            proptest::collection::vec("[-0-9a-zA-Z:.+ TZ]{0,24}", 0..8), 0..12)) {
            let mut text = String::from(HEADER);
            for row in rows { text.push_str(&row.join(",")); text.push('\n'); }
            let _ = parse_bars("fuzz.csv", text.as_bytes());
        }

        #[test]
        fn accepted_bars_are_valid_and_increasing(rows in proptest::collection::vec(
            (0i64..3, 1u32..1000, 0u32..50, 0u32..50, 0u32..100, 0u32..1000), 1..40)) {
            let mut text = String::from(HEADER);
            let mut t = 1_767_623_400i64;
            for (step, o, up, down, close_frac, v) in rows {
                t += step * 60;
                let (o, h, l) = (o as i64, o as i64 + up as i64, (o as i64 - down as i64).max(1));
                let c = l + (h - l) * close_frac as i64 / 100;
                text.push_str(&format!("{t},{o},{h},{l},{c},{v}\n"));
            }
            if let Ok(bars) = parse_bars("p.csv", text.as_bytes()) {
                for pair in bars.windows(2) { prop_assert!(pair[0].time < pair[1].time); }
                for bar in &bars { prop_assert!(bar.validate().is_ok()); }
            }
        }
    }
}
