//! The engine's schedules: cron expressions evaluated in New York time, so
//! they stay right across DST changes. Pure: the firings after an instant.
//! The engine drives them from a clock it is given (real or virtual).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::America::New_York;
use croner::Cron;
use serde::{Deserialize, Serialize};

/// The seed's scheduled jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Job {
    SignalCycle,
    EquitySnapshot,
    EndOfDay,
    DailyReset,
    WeeklyReset,
}

impl Job {
    pub const ALL: [Job; 5] = [Job::SignalCycle, Job::EquitySnapshot, Job::EndOfDay, Job::DailyReset, Job::WeeklyReset];

    pub fn name(self) -> &'static str {
        match self {
            Job::SignalCycle => "signal-cycle",
            Job::EquitySnapshot => "equity-snapshot",
            Job::EndOfDay => "end-of-day",
            Job::DailyReset => "daily-reset",
            Job::WeeklyReset => "weekly-reset",
        }
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Job {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Job::ALL
            .into_iter()
            .find(|j| j.name() == s)
            .ok_or_else(|| format!("unknown job {s:?} (jobs: {})", Job::ALL.map(Job::name).join(", ")))
    }
}

/// The `[schedule]` section: five-field cron expressions in New York time
/// (weekdays 0 or 7 = Sunday, 1-5 = Monday to Friday).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleConfig {
    pub signal_cycle: String,
    pub equity_snapshot: String,
    pub end_of_day: String,
    pub daily_reset: String,
    pub weekly_reset: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            signal_cycle: "* * * * *".into(),
            equity_snapshot: "0 * * * *".into(),
            end_of_day: "0 17 * * 1-5".into(),
            daily_reset: "0 9 * * 1-5".into(),
            weekly_reset: "0 6 * * 1".into(),
        }
    }
}

impl ScheduleConfig {
    fn expression(&self, job: Job) -> &str {
        match job {
            Job::SignalCycle => &self.signal_cycle,
            Job::EquitySnapshot => &self.equity_snapshot,
            Job::EndOfDay => &self.end_of_day,
            Job::DailyReset => &self.daily_reset,
            Job::WeeklyReset => &self.weekly_reset,
        }
    }

    /// Every expression that does not parse, as (key, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        Job::ALL
            .into_iter()
            .filter_map(|job| parse(self.expression(job)).err().map(|e| (job.name().replace('-', "_"), e)))
            .collect()
    }
}

fn parse(expression: &str) -> Result<Cron, String> {
    if expression.split_whitespace().count() != 5 {
        return Err(format!("{expression:?} is not a five-field cron expression (minute hour day month weekday)"));
    }
    Cron::from_str(expression).map_err(|e| format!("{expression:?}: {e}"))
}

/// One scheduled run of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firing {
    pub job: Job,
    pub at: DateTime<Utc>,
}

/// The parsed schedules.
#[derive(Debug, Clone)]
pub struct Schedule {
    jobs: Vec<(Job, Cron)>,
}

impl Schedule {
    pub fn new(config: &ScheduleConfig) -> Result<Self, String> {
        let jobs = Job::ALL
            .into_iter()
            .map(|job| parse(config.expression(job)).map(|cron| (job, cron)).map_err(|e| format!("{job}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self { jobs })
    }

    /// The next firing of `job` strictly after `after`.
    pub fn next(&self, job: Job, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cron = &self.jobs.iter().find(|(j, _)| *j == job)?.1;
        cron.find_next_occurrence(&after.with_timezone(&New_York), false).ok().map(|t| t.to_utc())
    }

    /// The next `count` firings after `after` (exclusive), in time order
    /// (jobs due at the same instant in the order of [`Job::ALL`]),
    /// optionally of one job only.
    pub fn firings(&self, after: DateTime<Utc>, count: usize, only: Option<Job>) -> Vec<Firing> {
        let mut next: Vec<(Job, Option<DateTime<Utc>>)> = self
            .jobs
            .iter()
            .filter(|(job, _)| only.is_none_or(|o| o == *job))
            .map(|(job, _)| (*job, self.next(*job, after)))
            .collect();
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some((slot, at)) =
                next.iter().enumerate().filter_map(|(i, (_, t))| t.map(|t| (i, t))).min_by_key(|&(i, t)| (t, i))
            else {
                break;
            };
            let job = next[slot].0;
            out.push(Firing { job, at });
            next[slot].1 = self.next(job, at);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_time::utc;

    fn schedule() -> Schedule {
        Schedule::new(&ScheduleConfig::default()).unwrap()
    }

    #[test]
    fn new_york_times_across_the_2026_switches() {
        let s = schedule();
        // End of day 17:00 New York: 22:00Z in EST, 21:00Z in EDT (switch Sunday 2026-03-08).
        assert_eq!(s.next(Job::EndOfDay, utc(2026, 3, 6, 12, 0)), Some(utc(2026, 3, 6, 22, 0)));
        assert_eq!(s.next(Job::EndOfDay, utc(2026, 3, 7, 12, 0)), Some(utc(2026, 3, 9, 21, 0)));
        // Daily reset 09:00 weekdays; weekly reset Monday 06:00.
        assert_eq!(s.next(Job::DailyReset, utc(2026, 3, 6, 15, 0)), Some(utc(2026, 3, 9, 13, 0)));
        assert_eq!(s.next(Job::WeeklyReset, utc(2026, 3, 1, 0, 0)), Some(utc(2026, 3, 2, 11, 0)));
        assert_eq!(s.next(Job::WeeklyReset, utc(2026, 3, 3, 0, 0)), Some(utc(2026, 3, 9, 10, 0)));
        // November switch (Sunday 2026-11-01): back to EST.
        assert_eq!(s.next(Job::DailyReset, utc(2026, 10, 30, 14, 0)), Some(utc(2026, 11, 2, 14, 0)));
        // Weekdays 1-5 are Monday to Friday: never a Sunday or Saturday.
        for f in s.firings(utc(2026, 3, 1, 0, 0), 30, Some(Job::EndOfDay)) {
            let weekday = chrono::Datelike::weekday(&f.at.with_timezone(&New_York));
            assert!(!matches!(weekday, chrono::Weekday::Sat | chrono::Weekday::Sun), "{f:?}");
        }
    }

    #[test]
    fn firings_merge_jobs_in_time_order() {
        let s = schedule();
        // Monday 2026-03-09 08:58 New York (12:58Z).
        let got: Vec<(Job, DateTime<Utc>)> =
            s.firings(utc(2026, 3, 9, 12, 58), 4, None).into_iter().map(|f| (f.job, f.at)).collect();
        assert_eq!(
            got,
            vec![
                (Job::SignalCycle, utc(2026, 3, 9, 12, 59)),
                (Job::SignalCycle, utc(2026, 3, 9, 13, 0)),
                (Job::EquitySnapshot, utc(2026, 3, 9, 13, 0)),
                (Job::DailyReset, utc(2026, 3, 9, 13, 0)),
            ]
        );
    }

    #[test]
    fn bad_expressions_are_named() {
        let config = ScheduleConfig {
            end_of_day: "0 17 * *".into(),
            daily_reset: "61 9 * * 1-5".into(),
            ..ScheduleConfig::default()
        };
        let keys: Vec<String> = config.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["end_of_day", "daily_reset"]);
    }
}
