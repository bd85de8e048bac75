//! The seed's scheduled jobs on the engine's clock: which are due when a
//! minute begins. The same for `noise run` and `noise backtest`, so both
//! reset the breakers at the same moments.

use chrono::{DateTime, Utc};
use noise_core::schedule::{Job, Schedule};

/// Each job's next firing after the last minute seen.
pub struct JobClock {
    schedule: Schedule,
    /// (job, its next firing), for the jobs the loop runs (the signal cycle is the loop itself).
    next: Vec<(Job, Option<DateTime<Utc>>)>,
    /// The earliest of them: most minutes only compare with this.
    earliest: Option<DateTime<Utc>>,
}

/// Every job the loop runs.
pub const ALL: [Job; 4] = [Job::EquitySnapshot, Job::EndOfDay, Job::DailyReset, Job::WeeklyReset];
/// The jobs that change what trades.
pub const RESETS: [Job; 2] = [Job::DailyReset, Job::WeeklyReset];

impl JobClock {
    /// A clock whose `jobs` fire from after `start` on.
    pub fn new(schedule: Schedule, jobs: &[Job], start: DateTime<Utc>) -> Self {
        let next = jobs.iter().map(|job| (*job, schedule.next(*job, start))).collect();
        let mut clock = Self { schedule, next, earliest: None };
        clock.earliest = clock.next.iter().filter_map(|(_, t)| *t).min();
        clock
    }

    /// Whether a job is due by `now`.
    #[inline]
    pub fn any_due(&self, now: DateTime<Utc>) -> bool {
        self.earliest.is_some_and(|t| t <= now)
    }

    /// The firings due by `now` (at or before it), in time order, each once;
    /// each job's next firing moves past `now`.
    #[inline]
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<(Job, DateTime<Utc>)> {
        if self.earliest.is_none_or(|t| t > now) {
            return Vec::new();
        }
        self.fire(now)
    }

    fn fire(&mut self, now: DateTime<Utc>) -> Vec<(Job, DateTime<Utc>)> {
        let mut due = Vec::new();
        for (job, next) in &mut self.next {
            while let Some(at) = next.filter(|t| *t <= now) {
                due.push((*job, at));
                *next = self.schedule.next(*job, at);
                // A long gap (a weekend of data, a stopped engine) fires a job once per missed day at most 16 times.
                if due.iter().filter(|(j, _)| j == job).count() >= 16 {
                    *next = self.schedule.next(*job, now);
                }
            }
        }
        due.sort_by_key(|(_, at)| *at);
        self.earliest = self.next.iter().filter_map(|(_, t)| *t).min();
        due
    }
}
