//! The data of a backtest: a bar CSV or a folder of them, one symbol or
//! several, cut to a date range, with its gaps found.

use std::path::Path;

use anyhow::anyhow;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::New_York;
use noise_core::config::NoiseConfig;
use noise_core::instrument::Instrument;
use noise_core::market::{Bar, parse_bars_by_symbol};
use noise_engine::backtest::{Gap, Series, find_gaps};

use super::Options;
use crate::failure::Failure;
use crate::files::read_input;

/// The correlation group of symbols not in the config, and its exposure cap.
pub const UNGROUPED: &str = Instrument::UNGROUPED;
pub const UNGROUPED_CAP_PCT: f64 = 100.0;

pub struct Loaded {
    pub series: Vec<Series>,
    pub gaps: Vec<Gap>,
    /// Symbols not in the config, run as generic US equities.
    pub unconfigured: Vec<String>,
}

impl Loaded {
    pub fn bars(&self) -> usize {
        self.series.iter().map(|s| s.bars.len()).sum()
    }

    pub fn first(&self) -> Option<DateTime<Utc>> {
        self.series.iter().filter_map(|s| s.bars.first()).map(|b| b.time).min()
    }

    pub fn last(&self) -> Option<DateTime<Utc>> {
        self.series.iter().filter_map(|s| s.bars.last()).map(|b| b.time).max()
    }

    pub fn symbols(&self) -> Vec<&str> {
        self.series.iter().map(|s| s.instrument.symbol.as_str()).collect()
    }

    /// Gaps and unconfigured symbols, on standard error.
    pub fn warn_about(&self, quiet: bool) {
        for symbol in &self.unconfigured {
            eprintln!(
                "note: {symbol} is not a configured instrument; run as a US equity (tick 0.01, NYSE hours, \
                 correlation group `{UNGROUPED}` capped at {UNGROUPED_CAP_PCT} % unless [risk.exposure] says otherwise)"
            );
        }
        if self.gaps.is_empty() {
            return;
        }
        let missing: i64 = self.gaps.iter().map(|g| g.missing_bars).sum();
        eprintln!(
            "warning: {} gap(s) in the data, {missing} in-session minute(s) without a bar (not filled in):",
            self.gaps.len()
        );
        for gap in self.gaps.iter().take(if quiet { 0 } else { 5 }) {
            eprintln!(
                "  {} after {} until {}: {} missing",
                gap.symbol,
                gap.after.format("%Y-%m-%d %H:%M"),
                gap.before.format("%Y-%m-%d %H:%M"),
                gap.missing_bars
            );
        }
    }
}

pub fn load(options: &Options, config: &NoiseConfig) -> Result<Loaded, Failure> {
    let path = options.data.as_path();
    let mut groups = if path.is_dir() { read_folder(path)? } else { read_file(path)? };
    groups.retain(|(_, bars)| !bars.is_empty());
    if groups.is_empty() {
        return Err(Failure::bad_input(anyhow!("{}: no bars", path.display())));
    }
    if let Some(wanted) = &options.symbol {
        let available: Vec<String> = groups.iter().map(|(s, _)| s.clone()).collect();
        groups.retain(|(s, _)| s.eq_ignore_ascii_case(wanted));
        if groups.is_empty() {
            return Err(Failure::bad_input(anyhow!(
                "{}: no bars for symbol {wanted}; the data has {}",
                path.display(),
                available.join(", ")
            )));
        }
    }
    let (from, to) = range(options)?;
    let span = |groups: &[(String, Vec<Bar>)]| {
        let first = groups.iter().filter_map(|(_, b)| b.first()).map(|b| b.time).min();
        let last = groups.iter().filter_map(|(_, b)| b.last()).map(|b| b.time).max();
        format!("{} to {}", stamp(first), stamp(last))
    };
    let whole = span(&groups);
    for (_, bars) in &mut groups {
        bars.retain(|b| from.is_none_or(|f| b.time >= f) && to.is_none_or(|t| b.time < t));
    }
    groups.retain(|(_, bars)| !bars.is_empty());
    if groups.is_empty() {
        return Err(Failure::bad_input(anyhow!(
            "{}: no bars from {} until {}; the data runs from {whole}",
            path.display(),
            stamp(from),
            stamp(to)
        )));
    }
    let mut unconfigured = Vec::new();
    let mut gaps = Vec::new();
    let series = groups
        .into_iter()
        .map(|(symbol, bars)| {
            let instrument = config.instrument(&symbol).cloned().unwrap_or_else(|| {
                unconfigured.push(symbol.clone());
                Instrument::generic_equity(&symbol)
            });
            gaps.extend(find_gaps(&instrument, &bars));
            Series { instrument, bars }
        })
        .collect();
    Ok(Loaded { series, gaps, unconfigured })
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "the end".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Bounds of the range: none means open-ended.
type Bound = Option<DateTime<Utc>>;

/// `--from` (inclusive) and `--to` (inclusive of a whole New York date; an
/// instant is exclusive).
fn range(options: &Options) -> Result<(Bound, Bound), Failure> {
    let parse = |flag: &str, text: &str, end: bool| -> Result<DateTime<Utc>, Failure> {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            // A date is a New York calendar day, as the risk day and the schedules count them.
            let date = if end { date.succ_opt().unwrap_or(date) } else { date };
            let midnight = date.and_hms_opt(0, 0, 0).map(|t| New_York.from_local_datetime(&t).earliest());
            let midnight =
                midnight.flatten().ok_or_else(|| Failure::bad_input(anyhow!("{flag} {text}: not a date")))?;
            return Ok(midnight.with_timezone(&Utc));
        }
        text.parse::<DateTime<Utc>>().map_err(|_| {
            Failure::bad_input(anyhow!("{flag} {text}: write a date (2026-01-02) or an instant (2026-01-02T14:30:00Z)"))
        })
    };
    let from = options.from.as_deref().map(|t| parse("--from", t, false)).transpose()?;
    let to = options.to.as_deref().map(|t| parse("--to", t, true)).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(Failure::bad_input(anyhow!("--from {} is not before --to {}", stamp(from), stamp(to))));
    }
    Ok((from, to))
}

/// The symbol a file without a `symbol` column holds: its name up to the
/// first `-`, `_` or `.` (spy-1m.csv is SPY).
pub(crate) fn symbol_of(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .map_or("UNKNOWN".to_string(), |s| s.split(['-', '_', '.']).next().unwrap_or(s).to_ascii_uppercase())
}

fn read_file(path: &Path) -> Result<Vec<(String, Vec<Bar>)>, Failure> {
    let data = read_input(path)?;
    parse_bars_by_symbol(&path.display().to_string(), &data, &symbol_of(path)).map_err(Failure::bad_input)
}

fn read_folder(path: &Path) -> Result<Vec<(String, Vec<Bar>)>, Failure> {
    let entries =
        std::fs::read_dir(path).map_err(|e| Failure::bad_input(anyhow!("cannot read {}: {e}", path.display())))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::bad_input(anyhow!("{}: no .csv files in this folder", path.display())));
    }
    let mut groups: Vec<(String, Vec<Bar>, String)> = Vec::new();
    for file in files {
        for (symbol, bars) in read_file(&file)? {
            if let Some((_, _, other)) = groups.iter().find(|(s, _, _)| *s == symbol) {
                return Err(Failure::bad_input(anyhow!(
                    "{symbol} is in both {other} and {}: one file per symbol",
                    file.display()
                )));
            }
            groups.push((symbol, bars, file.display().to_string()));
        }
    }
    Ok(groups.into_iter().map(|(s, b, _)| (s, b)).collect())
}
