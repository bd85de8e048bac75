//! Missing bars: minutes the instrument's market was open but the data has
//! no bar for. Reported, never filled in.

use chrono::{DateTime, TimeDelta, Utc};
use noise_core::instrument::Instrument;
use noise_core::market::Bar;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub symbol: String,
    /// The open time of the last bar before the gap.
    pub after: DateTime<Utc>,
    /// The open time of the first bar after it.
    pub before: DateTime<Utc>,
    /// In-session minutes without a bar.
    pub missing_bars: i64,
}

/// Every gap in `bars` (1-minute bars in time order). A jump across a time
/// the market was closed (a night, a weekend, a holiday) is not a gap.
pub fn find_gaps(instrument: &Instrument, bars: &[Bar]) -> Vec<Gap> {
    let minute = TimeDelta::minutes(1);
    bars.windows(2)
        .filter(|w| w[1].time - w[0].time > minute)
        .filter_map(|w| {
            let missing = open_minutes(instrument, w[0].time + minute, w[1].time);
            (missing > 0).then(|| Gap {
                symbol: instrument.symbol.clone(),
                after: w[0].time,
                before: w[1].time,
                missing_bars: missing,
            })
        })
        .collect()
}

/// Minutes in [from, to) inside the venue's sessions.
fn open_minutes(instrument: &Instrument, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let mut total = 0;
    let mut t = from;
    while t < to {
        let Some(session) = instrument.venue.next_session(t) else { break };
        if session.open >= to {
            break;
        }
        let start = session.open.max(t);
        let end = session.close.min(to);
        total += (end - start).num_minutes().max(0);
        t = session.close;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn bar(time: &str) -> Bar {
        let p = Decimal::from(100);
        Bar { time: time.parse().unwrap(), open: p, high: p, low: p, close: p, volume: Decimal::ONE }
    }

    #[test]
    fn nights_and_weekends_are_not_gaps_but_missing_session_minutes_are() {
        let spy = Instrument::generic_equity("SPY");
        let bars = [
            bar("2026-03-06T20:58:00Z"), // Friday 15:58 New York
            bar("2026-03-06T20:59:00Z"), // the last minute of the session
            bar("2026-03-09T13:30:00Z"), // Monday's open (EDT from Sunday): no gap
            bar("2026-03-09T13:31:00Z"),
            bar("2026-03-09T13:35:00Z"), // 13:32..13:34 are missing
        ];
        let gaps = find_gaps(&spy, &bars);
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert_eq!(gaps[0].missing_bars, 3);
        assert_eq!(gaps[0].after, bars[3].time);
    }

    #[test]
    fn a_missing_morning_counts_only_its_open_minutes() {
        let spy = Instrument::generic_equity("SPY");
        // Tuesday 2026-03-10: from the previous close to 10:30 New York is 60 open minutes.
        let bars = [bar("2026-03-09T19:59:00Z"), bar("2026-03-10T14:30:00Z")];
        assert_eq!(find_gaps(&spy, &bars)[0].missing_bars, 60);
    }
}
