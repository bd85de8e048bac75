//! Exchange calendars: when US equities and CME Globex trade, DST-correct.
//!
//! Everything here works in exchange-local time (America/New_York) and
//! answers in UTC instants. Holidays and early closes for 2025-2027 are data
//! (the tables below, from the NYSE and CME published holiday calendars);
//! dates outside those years follow the regular weekly schedule, and
//! [`Venue::covers`] tells callers whether the holiday data covers a date.
//!
//! * US equities: regular session 09:30-16:00 ET, 13:00 on early-close days.
//! * CME Globex (all five micro futures): the session for trade date D opens
//!   at 18:00 ET on the evening before (Sunday for Monday) and closes at 17:00
//!   ET on D, so the daily 17:00-18:00 halt and the weekend fall between
//!   sessions. On exchange holidays CME either has no session for that trade
//!   date or halts early; the equity-index halt times are used for all five
//!   products (energy and metals halt up to 30 minutes later on some
//!   holidays, so this errs on the side of not trading).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

/// Where an instrument trades, which decides its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Venue {
    /// NYSE / Nasdaq regular trading hours.
    UsEquities,
    /// CME Globex electronic trading (CME, NYMEX, COMEX products).
    CmeGlobex,
}

/// One trading session: `[open, close)` in UTC, for a trade date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Session {
    pub trade_date: NaiveDate,
    pub open: DateTime<Utc>,
    pub close: DateTime<Utc>,
}

impl Session {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.open <= t && t < self.close
    }
}

/// What an exchange does on a special date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Closed,
    /// Closes early at this New York time.
    EarlyClose(u32, u32),
}

use Special::{Closed, EarlyClose};

const fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, day) {
        Some(date) => date,
        None => panic!("invalid date in a holiday table"),
    }
}

/// NYSE holidays and early closes (13:00 ET), 2025-2027.
const NYSE_SPECIAL: &[(NaiveDate, Special)] = &[
    (d(2025, 1, 1), Closed),
    (d(2025, 1, 9), Closed), // National Day of Mourning (President Carter)
    (d(2025, 1, 20), Closed),
    (d(2025, 2, 17), Closed),
    (d(2025, 4, 18), Closed),
    (d(2025, 5, 26), Closed),
    (d(2025, 6, 19), Closed),
    (d(2025, 7, 3), EarlyClose(13, 0)),
    (d(2025, 7, 4), Closed),
    (d(2025, 9, 1), Closed),
    (d(2025, 11, 27), Closed),
    (d(2025, 11, 28), EarlyClose(13, 0)),
    (d(2025, 12, 24), EarlyClose(13, 0)),
    (d(2025, 12, 25), Closed),
    (d(2026, 1, 1), Closed),
    (d(2026, 1, 19), Closed),
    (d(2026, 2, 16), Closed),
    (d(2026, 4, 3), Closed),
    (d(2026, 5, 25), Closed),
    (d(2026, 6, 19), Closed),
    (d(2026, 7, 3), Closed), // Independence Day observed
    (d(2026, 9, 7), Closed),
    (d(2026, 11, 26), Closed),
    (d(2026, 11, 27), EarlyClose(13, 0)),
    (d(2026, 12, 24), EarlyClose(13, 0)),
    (d(2026, 12, 25), Closed),
    (d(2027, 1, 1), Closed),
    (d(2027, 1, 18), Closed),
    (d(2027, 2, 15), Closed),
    (d(2027, 3, 26), Closed),
    (d(2027, 5, 31), Closed),
    (d(2027, 6, 18), Closed), // Juneteenth observed
    (d(2027, 7, 5), Closed),  // Independence Day observed
    (d(2027, 9, 6), Closed),
    (d(2027, 11, 25), Closed),
    (d(2027, 11, 26), EarlyClose(13, 0)),
    (d(2027, 12, 24), Closed), // Christmas observed
];

/// CME Globex (equity-index schedule) by trade date, 2025-2027: no session
/// on New Year's Day, Good Friday and Christmas; an early halt on the other
/// US holidays (12:00 CT = 13:00 ET) and the day after Thanksgiving and
/// Christmas Eve (12:15 CT = 13:15 ET).
const CME_SPECIAL: &[(NaiveDate, Special)] = &[
    (d(2025, 1, 1), Closed),
    (d(2025, 1, 9), EarlyClose(9, 30)), // equity markets closed for the day of mourning
    (d(2025, 1, 20), EarlyClose(13, 0)),
    (d(2025, 2, 17), EarlyClose(13, 0)),
    (d(2025, 4, 18), Closed),
    (d(2025, 5, 26), EarlyClose(13, 0)),
    (d(2025, 6, 19), EarlyClose(13, 0)),
    (d(2025, 7, 3), EarlyClose(13, 0)),
    (d(2025, 7, 4), EarlyClose(13, 0)),
    (d(2025, 9, 1), EarlyClose(13, 0)),
    (d(2025, 11, 27), EarlyClose(13, 0)),
    (d(2025, 11, 28), EarlyClose(13, 15)),
    (d(2025, 12, 24), EarlyClose(13, 15)),
    (d(2025, 12, 25), Closed),
    (d(2026, 1, 1), Closed),
    (d(2026, 1, 19), EarlyClose(13, 0)),
    (d(2026, 2, 16), EarlyClose(13, 0)),
    (d(2026, 4, 3), Closed),
    (d(2026, 5, 25), EarlyClose(13, 0)),
    (d(2026, 6, 19), EarlyClose(13, 0)),
    (d(2026, 7, 3), EarlyClose(13, 0)),
    (d(2026, 9, 7), EarlyClose(13, 0)),
    (d(2026, 11, 26), EarlyClose(13, 0)),
    (d(2026, 11, 27), EarlyClose(13, 15)),
    (d(2026, 12, 24), EarlyClose(13, 15)),
    (d(2026, 12, 25), Closed),
    (d(2027, 1, 1), Closed),
    (d(2027, 1, 18), EarlyClose(13, 0)),
    (d(2027, 2, 15), EarlyClose(13, 0)),
    (d(2027, 3, 26), Closed),
    (d(2027, 5, 31), EarlyClose(13, 0)),
    (d(2027, 6, 18), EarlyClose(13, 0)),
    (d(2027, 7, 5), EarlyClose(13, 0)),
    (d(2027, 9, 6), EarlyClose(13, 0)),
    (d(2027, 11, 25), EarlyClose(13, 0)),
    (d(2027, 11, 26), EarlyClose(13, 15)),
    (d(2027, 12, 24), Closed),
];

/// First and last year the holiday tables cover.
pub const COVERED_YEARS: (i32, i32) = (2025, 2027);

fn special(table: &[(NaiveDate, Special)], date: NaiveDate) -> Option<Special> {
    table.binary_search_by_key(&date, |(d, _)| *d).ok().map(|i| table[i].1)
}

/// The UTC instant of a New York wall-clock time on a date. Session times
/// (09:30, 13:00, 16:00, 17:00, 18:00) never fall in a DST gap or overlap.
fn new_york(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN));
    New_York.from_local_datetime(&local).earliest().map_or_else(|| local.and_utc(), |t| t.to_utc())
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Venue {
    /// Whether the holiday data covers `date` (outside, only weekends are known).
    pub fn covers(date: NaiveDate) -> bool {
        (COVERED_YEARS.0..=COVERED_YEARS.1).contains(&date.year())
    }

    /// The session for a trade date, `None` when the market does not trade it.
    pub fn session_for(self, trade_date: NaiveDate) -> Option<Session> {
        if is_weekend(trade_date) {
            return None;
        }
        match self {
            Venue::UsEquities => {
                let close = match special(NYSE_SPECIAL, trade_date) {
                    Some(Closed) => return None,
                    Some(EarlyClose(h, m)) => new_york(trade_date, h, m),
                    None => new_york(trade_date, 16, 0),
                };
                Some(Session { trade_date, open: new_york(trade_date, 9, 30), close })
            }
            Venue::CmeGlobex => {
                let close = match special(CME_SPECIAL, trade_date) {
                    Some(Closed) => return None,
                    Some(EarlyClose(h, m)) => new_york(trade_date, h, m),
                    None => new_york(trade_date, 17, 0),
                };
                let evening_before = trade_date.checked_sub_days(Days::new(1))?;
                Some(Session { trade_date, open: new_york(evening_before, 18, 0), close })
            }
        }
    }

    /// The session open at `t`, if the market is trading then.
    pub fn session_at(self, t: DateTime<Utc>) -> Option<Session> {
        let local_date = t.with_timezone(&New_York).date_naive();
        // Globex trades the evening before its trade date, so look one day ahead too.
        [Some(local_date), local_date.checked_add_days(Days::new(1))]
            .into_iter()
            .flatten()
            .filter_map(|date| self.session_for(date))
            .find(|s| s.contains(t))
    }

    /// Whether the market trades at `t`.
    pub fn is_open(self, t: DateTime<Utc>) -> bool {
        self.session_at(t).is_some()
    }

    /// The next session whose close is after `t` (the current one if open).
    pub fn next_session(self, t: DateTime<Utc>) -> Option<Session> {
        let start = t.with_timezone(&New_York).date_naive();
        (0..15u64)
            .filter_map(|i| start.checked_add_days(Days::new(i)))
            .filter_map(|date| self.session_for(date))
            .find(|s| s.close > t)
    }

    /// Whether `date` is a trading day (a session exists for it as trade
    /// date), without working out the session's times.
    pub fn is_trading_day(self, date: NaiveDate) -> bool {
        let specials = match self {
            Venue::UsEquities => NYSE_SPECIAL,
            Venue::CmeGlobex => CME_SPECIAL,
        };
        !is_weekend(date) && !matches!(special(specials, date), Some(Closed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trading_days_are_the_days_with_a_session() {
        let mut day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        while day.year() < 2028 {
            for venue in [Venue::UsEquities, Venue::CmeGlobex] {
                assert_eq!(venue.is_trading_day(day), venue.session_for(day).is_some(), "{venue:?} {day}");
            }
            day = day.succ_opt().unwrap();
        }
    }
    use crate::test_time::utc;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for table in [NYSE_SPECIAL, CME_SPECIAL] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn equity_sessions_across_dst_switches() {
        // (trade date, open UTC hour:minute, close UTC hour:minute)
        let cases = [
            (d(2026, 3, 6), (14, 30), (21, 0)), // Friday before the March switch: EST
            (d(2026, 3, 9), (13, 30), (20, 0)), // Monday after: EDT
            (d(2026, 10, 30), (13, 30), (20, 0)),
            (d(2026, 11, 2), (14, 30), (21, 0)), // after the November switch
            (d(2027, 3, 12), (14, 30), (21, 0)),
            (d(2027, 3, 15), (13, 30), (20, 0)),
            (d(2027, 11, 5), (13, 30), (20, 0)),
            (d(2027, 11, 8), (14, 30), (21, 0)),
            (d(2026, 11, 27), (14, 30), (18, 0)), // early close 13:00 EST
            (d(2026, 12, 24), (14, 30), (18, 0)),
            (d(2025, 7, 3), (13, 30), (17, 0)), // early close 13:00 EDT
        ];
        for (date, (oh, om), (ch, cm)) in cases {
            let s = Venue::UsEquities.session_for(date).unwrap_or_else(|| panic!("{date} should trade"));
            assert_eq!(
                (s.open, s.close),
                (
                    utc(date.year(), date.month(), date.day(), oh, om),
                    utc(date.year(), date.month(), date.day(), ch, cm)
                ),
                "{date}"
            );
        }
    }

    #[test]
    fn holidays_and_weekends_have_no_equity_session() {
        for date in [
            d(2026, 4, 3),
            d(2026, 7, 3),
            d(2026, 12, 25),
            d(2027, 6, 18),
            d(2027, 12, 24),
            d(2026, 3, 7),
            d(2026, 3, 8),
        ] {
            assert_eq!(Venue::UsEquities.session_for(date), None, "{date}");
        }
    }

    #[test]
    fn globex_week_with_daily_halt_across_dst() {
        // Sunday 2026-03-08 is the spring-forward day: Globex opens 18:00 EDT = 22:00Z.
        let monday = Venue::CmeGlobex.session_for(d(2026, 3, 9)).unwrap();
        assert_eq!(monday.open, utc(2026, 3, 8, 22, 0));
        assert_eq!(monday.close, utc(2026, 3, 9, 21, 0)); // 17:00 EDT
        // The previous Friday closed at 17:00 EST = 22:00Z.
        assert_eq!(Venue::CmeGlobex.session_for(d(2026, 3, 6)).unwrap().close, utc(2026, 3, 6, 22, 0));
        // The halt: closed 17:00-18:00 ET, open again after.
        assert!(Venue::CmeGlobex.is_open(utc(2026, 3, 10, 20, 59)));
        assert!(!Venue::CmeGlobex.is_open(utc(2026, 3, 10, 21, 0)));
        assert!(!Venue::CmeGlobex.is_open(utc(2026, 3, 10, 21, 59)));
        assert!(Venue::CmeGlobex.is_open(utc(2026, 3, 10, 22, 0)));
        // Saturday and Sunday before the open are closed.
        assert!(!Venue::CmeGlobex.is_open(utc(2026, 3, 7, 15, 0)));
        assert!(!Venue::CmeGlobex.is_open(utc(2026, 3, 8, 21, 59)));
        // November 2026 switch: Sunday Nov 1 opens 18:00 EST = 23:00Z.
        assert_eq!(Venue::CmeGlobex.session_for(d(2026, 11, 2)).unwrap().open, utc(2026, 11, 1, 23, 0));
        assert_eq!(Venue::CmeGlobex.session_for(d(2027, 11, 8)).unwrap().open, utc(2027, 11, 7, 23, 0));
        assert_eq!(Venue::CmeGlobex.session_for(d(2027, 3, 15)).unwrap().open, utc(2027, 3, 14, 22, 0));
    }

    #[test]
    fn globex_holidays() {
        assert_eq!(Venue::CmeGlobex.session_for(d(2026, 12, 25)), None);
        assert_eq!(Venue::CmeGlobex.session_for(d(2026, 4, 3)), None);
        let thanksgiving = Venue::CmeGlobex.session_for(d(2026, 11, 26)).unwrap();
        assert_eq!(thanksgiving.close, utc(2026, 11, 26, 18, 0)); // 13:00 EST
        // The day after opens at 18:00 on Thanksgiving evening.
        assert_eq!(Venue::CmeGlobex.session_for(d(2026, 11, 27)).unwrap().open, utc(2026, 11, 26, 23, 0));
        // After Christmas (a Friday), Monday's session opens Sunday evening.
        assert_eq!(Venue::CmeGlobex.session_for(d(2026, 12, 28)).unwrap().open, utc(2026, 12, 27, 23, 0));
    }

    #[test]
    fn session_at_finds_the_right_trade_date() {
        // Tuesday 19:00 ET belongs to Wednesday's Globex trade date.
        let s = Venue::CmeGlobex.session_at(utc(2026, 3, 10, 23, 0)).unwrap();
        assert_eq!(s.trade_date, d(2026, 3, 11));
        assert_eq!(Venue::UsEquities.session_at(utc(2026, 3, 10, 23, 0)), None);
        assert_eq!(Venue::UsEquities.next_session(utc(2026, 4, 2, 21, 0)).unwrap().trade_date, d(2026, 4, 6));
    }
}
