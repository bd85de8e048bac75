//! Which futures contract to trade for a product: the listed months, each
//! contract's last day worth holding, and the symbol (`MNQZ6`).
//!
//! Rules (CME contract specs, `shared/brokers/TRADOVATE.md` §10):
//! - MNQ, MES, M2K: March, June, September, December; expire the third
//!   Friday; liquidity moves on CME's roll date, 8 days before (a Thursday).
//! - MCL: every month; trading ends one business day before CL's last day,
//!   which is three business days before the 25th of the month before the
//!   contract month (before the business day preceding the 25th when the 25th
//!   is not one). We roll two business days before MCL's last day.
//! - MGC: February, April, June, August, October, December; physical
//!   delivery, so we roll five business days before first notice (the last
//!   business day of the month before the contract month).
//!
//! Business days are CME Globex trading days (weekends and exchange holidays
//! excluded, from the calendar). The broker's own view (Tradovate's
//! `contract/rollcontract`, `contractMaturity.isFront`) is checked against
//! this at startup; a disagreement is reported, never silently followed.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::calendar::Venue;

const MONTH_CODES: [char; 12] = ['F', 'G', 'H', 'J', 'K', 'M', 'N', 'Q', 'U', 'V', 'X', 'Z'];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cycle {
    /// Quarterly equity index: roll 8 days before the third-Friday expiry.
    EquityIndex,
    /// Monthly crude: roll two business days before the last trading day.
    Crude,
    /// Bi-monthly gold: roll five business days before first notice.
    Gold,
}

fn cycle(root: &str) -> Option<(Cycle, &'static [u32])> {
    match root {
        "MNQ" | "MES" | "M2K" => Some((Cycle::EquityIndex, &[3, 6, 9, 12])),
        "MCL" => Some((Cycle::Crude, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])),
        "MGC" => Some((Cycle::Gold, &[2, 4, 6, 8, 10, 12])),
        _ => None,
    }
}

/// A listed contract: product root and contract month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    pub root: &'static str,
    pub year: i32,
    pub month: u32,
}

impl Contract {
    /// Tradovate's name: root, month code, last digit of the year (`MNQZ6`).
    pub fn symbol(&self) -> String {
        format!("{}{}{}", self.root, MONTH_CODES[(self.month - 1) as usize], self.year.rem_euclid(10))
    }

    /// The last trade date on which we still hold this contract.
    pub fn roll_date(&self) -> Option<NaiveDate> {
        let (kind, _) = cycle(self.root)?;
        Some(match kind {
            Cycle::EquityIndex => third_friday(self.year, self.month)? - Duration::days(8),
            Cycle::Crude => {
                let (y, m) = previous_month(self.year, self.month);
                let mut anchor = NaiveDate::from_ymd_opt(y, m, 25)?;
                if !business_day(anchor) {
                    anchor = business_days_before(anchor, 1);
                }
                let cl_last = business_days_before(anchor, 3);
                business_days_before(cl_last, 1 + 2)
            }
            Cycle::Gold => {
                let first_of_month = NaiveDate::from_ymd_opt(self.year, self.month, 1)?;
                let first_notice = business_days_before(first_of_month, 1);
                business_days_before(first_notice, 5)
            }
        })
    }
}

/// The contract of `root` to trade on trade date `today`: the nearest listed
/// month whose roll date is still ahead (today included). `None` for a root
/// that is not one of the five micro products.
pub fn front_month(root: &str, today: NaiveDate) -> Option<Contract> {
    let (_, months) = cycle(root)?;
    let root: &'static str = match root {
        "MNQ" => "MNQ",
        "MES" => "MES",
        "M2K" => "M2K",
        "MCL" => "MCL",
        _ => "MGC",
    };
    (0..3).flat_map(|dy| months.iter().map(move |m| (today.year() + dy, *m))).find_map(|(year, month)| {
        let contract = Contract { root, year, month };
        (contract.roll_date()? > today).then_some(contract)
    })
}

fn third_friday(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Fri, 3)
}

fn previous_month(year: i32, month: u32) -> (i32, u32) {
    if month == 1 { (year - 1, 12) } else { (year, month - 1) }
}

fn business_day(date: NaiveDate) -> bool {
    Venue::CmeGlobex.is_trading_day(date)
}

/// The date `n` business days before `date`.
fn business_days_before(date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day -= Duration::days(1);
        if business_day(day) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn front_months_on_2026_11_24_match_the_exchange() {
        // TRADOVATE.md §10, as of 2026-11-24.
        for (root, symbol) in [("MNQ", "MNQZ6"), ("MES", "MESZ6"), ("M2K", "M2KZ6"), ("MCL", "MCLF7"), ("MGC", "MGCG7")]
        {
            assert_eq!(front_month(root, d("2026-11-24")).unwrap().symbol(), symbol, "{root}");
        }
        assert_eq!(front_month("ES", d("2026-11-24")), None);
    }

    #[test]
    fn equity_micros_roll_on_cme_roll_date() {
        let z6 = Contract { root: "MNQ", year: 2026, month: 12 };
        assert_eq!(z6.roll_date(), Some(d("2026-12-10")), "8 days before Friday 2026-12-18");
        assert_eq!(front_month("MNQ", d("2026-12-09")).unwrap().symbol(), "MNQZ6");
        assert_eq!(front_month("MNQ", d("2026-12-10")).unwrap().symbol(), "MNQH7");
    }

    #[test]
    fn crude_and_gold_roll_before_last_trade_and_first_notice() {
        // CL Z6: the 25th of November 2026 is a Wednesday; three business days
        // before is Friday the 20th; MCL ends the 19th; we roll on the 17th.
        assert_eq!(Contract { root: "MCL", year: 2026, month: 12 }.roll_date(), Some(d("2026-11-17")));
        // MGC G7: first notice is the last business day of January 2027 (Friday the 29th).
        assert_eq!(Contract { root: "MGC", year: 2027, month: 2 }.roll_date(), Some(d("2027-01-22")));
        assert_eq!(front_month("MGC", d("2027-01-21")).unwrap().symbol(), "MGCG7");
        assert_eq!(front_month("MGC", d("2027-01-22")).unwrap().symbol(), "MGCJ7");
    }

    #[test]
    fn the_front_month_never_goes_backwards() {
        let mut day = d("2025-01-01");
        for root in ["MNQ", "MCL", "MGC"] {
            let mut last = (0, 0);
            while day < d("2027-10-01") {
                let c = front_month(root, day).unwrap();
                assert!((c.year, c.month) >= last, "{root} {day}");
                assert!(c.roll_date().unwrap() > day);
                last = (c.year, c.month);
                day += Duration::days(1);
            }
            day = d("2025-01-01");
        }
    }
}
