//! `noise indicators`: TA-Lib-exact indicator columns for a bar CSV.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use noise_core::indicators::{IndicatorParams, IndicatorSet, IndicatorSnapshot};
use noise_core::market::{Candle, visit_bar_csv};

use crate::failure::Failure;
use crate::files::{read_input, write_output};

pub const HEADER: &str = "timestamp,rsi_14,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower,atr_14,adx_14,plus_di_14,minus_di_14,obv,sma_20,ema_20";

/// The bars of one file, with each timestamp's text kept as written so the
/// output echoes it.
struct Series {
    candles: Vec<Candle>,
    /// All timestamp texts concatenated; `ends[i]` is where row i's ends.
    stamps: String,
    ends: Vec<usize>,
}

impl Series {
    fn stamp(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.stamps[start..self.ends[i]]
    }
}

pub fn run(input: &Path, output: Option<&Path>) -> Result<(), Failure> {
    let data = read_input(input)?;
    let series = load(input, &data)?;
    // Column names promise TA-Lib's default periods, so the tool uses them.
    let mut set = IndicatorSet::new(&IndicatorParams::default()).map_err(Failure::internal)?;
    let mut text = String::with_capacity(series.candles.len() * 200 + HEADER.len() + 1);
    text.push_str(HEADER);
    text.push('\n');
    for (i, candle) in series.candles.iter().enumerate() {
        text.push_str(series.stamp(i));
        write_row(&mut text, &set.update(candle));
    }
    write_output(output, text.as_bytes())
}

fn load(input: &Path, data: &[u8]) -> Result<Series, Failure> {
    let mut series = Series { candles: Vec::new(), stamps: String::new(), ends: Vec::new() };
    let mut first_symbol: Option<String> = None;
    let mut mixed: Option<String> = None;
    visit_bar_csv(&input.display().to_string(), data, |record| {
        if let Some(symbol) = record.symbol {
            match &first_symbol {
                None => first_symbol = Some(symbol.to_string()),
                Some(first) if first != symbol && mixed.is_none() => {
                    mixed = Some(format!("line {}: symbol {symbol} after {first}", record.line));
                }
                Some(_) => {}
            }
        }
        series.candles.push(record.bar.candle());
        series.stamps.push_str(record.timestamp);
        series.ends.push(series.stamps.len());
    })
    .map_err(Failure::bad_input)?;
    if let Some(where_) = mixed {
        return Err(Failure::bad_input(anyhow!(
            "{}: {where_}: the file holds several symbols; indicators need one series per file",
            input.display()
        )));
    }
    Ok(series)
}

fn write_row(text: &mut String, s: &IndicatorSnapshot) {
    let cells = [
        s.rsi,
        s.macd.map(|m| m.macd),
        s.macd.map(|m| m.signal),
        s.macd.map(|m| m.histogram),
        s.bands.map(|b| b.upper),
        s.bands.map(|b| b.middle),
        s.bands.map(|b| b.lower),
        s.atr,
        s.adx,
        s.di.map(|d| d.plus),
        s.di.map(|d| d.minus),
        s.obv,
        s.sma,
        s.ema,
    ];
    for cell in cells {
        text.push(',');
        if let Some(v) = cell {
            let _ = write!(text, "{v}");
        }
    }
    text.push('\n');
}
