//! Aggregating 1-minute bars into higher timeframes, without look-ahead.
//!
//! A higher bar (5m, 15m, 1h on clock boundaries; 1d on session boundaries)
//! is emitted only once it is complete: when the 1-minute bar that closes at
//! the bucket's end arrives, or when a later bar (a gap) or the clock
//! ([`Resampler::advance_to`]) shows the bucket's end has passed. Until then
//! it is invisible, so nothing downstream can see a minute that has not
//! closed yet. Buckets without any bar produce no bar: gaps stay gaps.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::bar::Bar;
use super::timeframe::Timeframe;

/// Where a trading day starts, in exchange-local time: `00:00` New York for
/// US equities (the calendar day), `18:00` New York for CME Globex, whose
/// session for trade date D opens at 18:00 on the evening before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayStart {
    pub tz: Tz,
    pub time: NaiveTime,
}

impl DayStart {
    pub const fn new(tz: Tz, time: NaiveTime) -> Self {
        Self { tz, time }
    }

    /// The `[start, end)` interval of the trading day holding `t`, DST-correct.
    pub fn day_of(&self, t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let local = t.with_timezone(&self.tz);
        let mut date = local.date_naive();
        if local.time() < self.time {
            date = date.pred_opt().unwrap_or(date);
        }
        let start = self.at(date);
        let end = self.at(date.checked_add_days(Days::new(1)).unwrap_or(date));
        (start, end)
    }

    fn at(&self, date: chrono::NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(self.time);
        // A start inside a DST gap does not exist: take the first valid instant after it.
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| self.tz.from_local_datetime(&(local + chrono::TimeDelta::hours(1))).earliest())
            .map_or_else(|| local.and_utc(), |t| t.to_utc())
    }
}

/// How a resampler cuts time into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucketing {
    /// Intraday buckets aligned to the UTC clock (and so to New York's whole hours).
    Clock(Timeframe),
    /// One bucket per trading day.
    Session(DayStart),
}

impl Bucketing {
    fn bucket_of(&self, t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            Self::Clock(tf) => {
                let len = tf.seconds();
                let start = t.timestamp().div_euclid(len) * len;
                let start = DateTime::from_timestamp(start, 0).unwrap_or(t);
                (start, start + tf.duration())
            }
            Self::Session(day) => day.day_of(t),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bar at {got} is not after the previous bar at {previous}: resampler input must be in time order")]
pub struct OutOfOrderBar {
    pub previous: DateTime<Utc>,
    pub got: DateTime<Utc>,
}

/// Up to two bars completed by one input (a flushed old bucket, then a new
/// bucket that a single bar already completed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completed([Option<Bar>; 2]);

impl Completed {
    fn push(&mut self, bar: Bar) {
        let slot = if self.0[0].is_none() { 0 } else { 1 };
        self.0[slot] = Some(bar);
    }

    pub fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }
}

impl IntoIterator for Completed {
    type Item = Bar;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Bar>, 2>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().flatten()
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    end: DateTime<Utc>,
    bar: Bar,
}

/// Streams 1-minute bars into bars of a higher timeframe.
#[derive(Debug, Clone)]
pub struct Resampler {
    bucketing: Bucketing,
    open: Option<Bucket>,
    last_input: Option<DateTime<Utc>>,
}

impl Resampler {
    pub fn new(bucketing: Bucketing) -> Self {
        Self { bucketing, open: None, last_input: None }
    }

    pub fn clock(timeframe: Timeframe) -> Self {
        Self::new(Bucketing::Clock(timeframe))
    }

    /// Feeds one completed 1-minute bar (it closes at `bar.time + 1m`).
    /// Returns the higher bars that are complete at that close.
    pub fn push(&mut self, bar: &Bar) -> Result<Completed, OutOfOrderBar> {
        if let Some(previous) = self.last_input
            && bar.time <= previous
        {
            return Err(OutOfOrderBar { previous, got: bar.time });
        }
        self.last_input = Some(bar.time);
        let mut done = Completed::default();
        let close = bar.time + Timeframe::M1.duration();
        match &mut self.open {
            Some(bucket) if bar.time < bucket.end => bucket.bar.absorb(bar),
            _ => {
                if let Some(stale) = self.open.take() {
                    done.push(stale.bar);
                }
                let (start, end) = self.bucketing.bucket_of(bar.time);
                self.open = Some(Bucket { end, bar: Bar { time: start, ..bar.clone() } });
            }
        }
        if self.open.as_ref().is_some_and(|b| close >= b.end)
            && let Some(bucket) = self.open.take()
        {
            done.push(bucket.bar);
        }
        Ok(done)
    }

    /// Emits the open bucket if the clock shows its end has passed (used when
    /// the last minutes of a bucket had no trades).
    pub fn advance_to(&mut self, now: DateTime<Utc>) -> Option<Bar> {
        if self.open.as_ref().is_some_and(|b| now >= b.end) {
            return self.open.take().map(|b| b.bar);
        }
        None
    }

    /// The bucket still being built, if any: incomplete, never to be traded on.
    pub fn partial(&self) -> Option<&Bar> {
        self.open.as_ref().map(|b| &b.bar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn minute(start: DateTime<Utc>, i: i64, price: i64) -> Bar {
        let p = Decimal::from(price);
        Bar {
            time: start + TimeDelta::minutes(i),
            open: p,
            high: p + Decimal::ONE,
            low: p - Decimal::ONE,
            close: p,
            volume: Decimal::from(10),
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 13, 30, 0).unwrap() // 09:30 New York (EDT)
    }

    #[test]
    fn five_minute_bar_appears_only_when_its_last_minute_closes() {
        let mut r = Resampler::clock(Timeframe::M5);
        for i in 0..4 {
            assert!(r.push(&minute(t0(), i, 100 + i)).unwrap().is_empty(), "minute {i} must not complete the bar");
        }
        let done: Vec<Bar> = r.push(&minute(t0(), 4, 104)).unwrap().into_iter().collect();
        assert_eq!(done.len(), 1);
        let bar = &done[0];
        assert_eq!(bar.time, t0());
        assert_eq!((bar.open, bar.high, bar.low, bar.close), (100.into(), 105.into(), 99.into(), 104.into()));
        assert_eq!(bar.volume, Decimal::from(50));
    }

    #[test]
    fn gaps_close_stale_buckets_and_skip_empty_ones() {
        let mut r = Resampler::clock(Timeframe::M5);
        r.push(&minute(t0(), 0, 100)).unwrap();
        r.push(&minute(t0(), 1, 101)).unwrap();
        // Nothing from 09:32 to 09:43; then 09:44, the last minute of the 09:40 bucket.
        let done: Vec<Bar> = r.push(&minute(t0(), 14, 110)).unwrap().into_iter().collect();
        assert_eq!(done.iter().map(|b| b.time).collect::<Vec<_>>(), vec![t0(), t0() + TimeDelta::minutes(10)]);
        assert_eq!(done[0].close, Decimal::from(101));
        assert_eq!(done[1].volume, Decimal::from(10));
    }

    #[test]
    fn clock_closes_a_bucket_whose_last_minutes_had_no_trades() {
        let mut r = Resampler::clock(Timeframe::M15);
        r.push(&minute(t0(), 0, 100)).unwrap();
        assert_eq!(r.advance_to(t0() + TimeDelta::minutes(14)), None);
        assert_eq!(r.advance_to(t0() + TimeDelta::minutes(15)).map(|b| b.time), Some(t0()));
    }

    #[test]
    fn rejects_out_of_order_input() {
        let mut r = Resampler::clock(Timeframe::M5);
        r.push(&minute(t0(), 3, 100)).unwrap();
        assert!(r.push(&minute(t0(), 3, 100)).is_err());
        assert!(r.push(&minute(t0(), 1, 100)).is_err());
    }

    #[test]
    fn globex_day_starts_at_six_pm_new_york_across_dst() {
        let day = DayStart::new(chrono_tz::America::New_York, NaiveTime::from_hms_opt(18, 0, 0).unwrap());
        // Friday 2026-03-06 16:00 NY (EST) is in the session that opened Thursday 18:00 EST = 23:00Z.
        let (start, end) = day.day_of(Utc.with_ymd_and_hms(2026, 3, 6, 21, 0, 0).unwrap());
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 5, 23, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 6, 23, 0, 0).unwrap());
        // Sunday 2026-03-08 is the spring-forward day: 18:00 EDT = 22:00Z.
        let (start, _) = day.day_of(Utc.with_ymd_and_hms(2026, 3, 8, 22, 30, 0).unwrap());
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 8, 22, 0, 0).unwrap());
    }

    #[test]
    fn daily_bars_follow_the_session() {
        let day = DayStart::new(chrono_tz::America::New_York, NaiveTime::MIN);
        let mut r = Resampler::new(Bucketing::Session(day));
        let monday = Utc.with_ymd_and_hms(2026, 3, 9, 13, 30, 0).unwrap();
        for i in 0..390 {
            assert!(r.push(&minute(monday, i, 100)).unwrap().is_empty());
        }
        let tuesday = Utc.with_ymd_and_hms(2026, 3, 10, 13, 30, 0).unwrap();
        let done: Vec<Bar> = r.push(&minute(tuesday, 0, 100)).unwrap().into_iter().collect();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].time, Utc.with_ymd_and_hms(2026, 3, 9, 4, 0, 0).unwrap()); // midnight EDT
        assert_eq!(done[0].volume, Decimal::from(3900));
    }

    proptest! {
        /// The multi-timeframe no-look-ahead property: at the close of every
        /// 1-minute bar, each higher bar visible so far has already closed,
        /// and holds exactly the minutes of its bucket, none later.
        #[test]
        fn no_look_ahead(gaps in proptest::collection::vec(1i64..40, 1..300), tf in 1usize..4) {
            let tf = Timeframe::ALL[tf];
            let mut r = Resampler::clock(tf);
            let mut seen: Vec<Bar> = Vec::new();
            let mut t = 0i64;
            for (i, gap) in gaps.iter().enumerate() {
                t += gap;
                let bar = minute(t0(), t, 1000 + i as i64);
                let now = bar.time + Timeframe::M1.duration();
                for higher in r.push(&bar).unwrap() {
                    prop_assert!(higher.time + tf.duration() <= now, "{} visible at {now}", higher.time);
                    let members: Vec<&Bar> = seen.iter()
                        .filter(|m| m.time >= higher.time && m.time < higher.time + tf.duration())
                        .chain(std::iter::once(&bar).filter(|m| m.time >= higher.time && m.time < higher.time + tf.duration()))
                        .collect();
                    prop_assert!(!members.is_empty());
                    prop_assert_eq!(higher.close, members.last().unwrap().close);
                    prop_assert_eq!(higher.open, members[0].open);
                    prop_assert_eq!(higher.volume, Decimal::from(10 * members.len() as i64));
                }
                seen.push(bar);
            }
        }
    }
}
