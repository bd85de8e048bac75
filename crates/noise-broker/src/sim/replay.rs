//! A market that replays recorded 1-minute bars (`noise run --replay bars.csv`).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use noise_core::market::Bar;

/// Recorded bars, served one minute at a time in time order.
#[derive(Debug, Clone)]
pub struct ReplayMarket {
    /// Bars by open time, each minute's bars for every symbol that traded.
    minutes: BTreeMap<DateTime<Utc>, Vec<(String, Bar)>>,
    next: DateTime<Utc>,
}

impl ReplayMarket {
    /// `groups` as the bar-CSV reader returns them: bars per symbol. Each
    /// minute's bars come in symbol order (as `noise backtest` feeds them).
    pub fn new(mut groups: Vec<(String, Vec<Bar>)>) -> Self {
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        let mut minutes: BTreeMap<DateTime<Utc>, Vec<(String, Bar)>> = BTreeMap::new();
        for (symbol, bars) in groups {
            for bar in bars {
                minutes.entry(bar.time).or_default().push((symbol.clone(), bar));
            }
        }
        let next = minutes.keys().next().copied().unwrap_or(DateTime::UNIX_EPOCH);
        Self { minutes, next }
    }

    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty()
    }

    pub fn first_minute(&self) -> Option<DateTime<Utc>> {
        self.minutes.keys().next().copied()
    }

    /// No more recorded minutes.
    pub fn finished(&self) -> bool {
        self.minutes.range(self.next..).next().is_none()
    }

    pub fn next_minute(&self) -> DateTime<Utc> {
        self.next
    }

    /// The bars of the next recorded minute (gaps in the data are skipped
    /// to, not filled in), and that minute's close time.
    pub fn advance(&mut self) -> (DateTime<Utc>, Vec<(String, Bar)>) {
        let Some((&time, bars)) = self.minutes.range(self.next..).next() else {
            return (self.next, Vec::new());
        };
        let bars = bars.clone();
        let close = time + TimeDelta::minutes(1);
        self.next = close;
        (close, bars)
    }
}
