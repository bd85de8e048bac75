//! A circuit breaker per broker: after `threshold` consecutive failures the
//! broker is not called for `cool_off`; then one trial call is let through
//! (half-open): its success closes the breaker, its failure opens it again.
//!
//! Pure: every method takes `now` and returns the transition it caused, which
//! the caller writes to the audit log and raises as an alert.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// A change of state, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
    pub at: DateTime<Utc>,
    /// Consecutive failures when it opened.
    pub failures: u32,
}

/// Refused: the breaker is open until `retry_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenUntil(pub DateTime<Utc>);

#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    threshold: u32,
    cool_off: Duration,
    state: BreakerState,
    failures: u32,
    opened_at: Option<DateTime<Utc>>,
    /// Half-open lets one trial through at a time.
    trial_in_flight: bool,
}

impl CircuitBreaker {
    /// The policy: open after 5 consecutive failures, try again after 60 s.
    pub fn standard() -> Self {
        Self::new(5, Duration::from_secs(60))
    }

    pub fn new(threshold: u32, cool_off: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_off,
            state: BreakerState::Closed,
            failures: 0,
            opened_at: None,
            trial_in_flight: false,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// May a call go out now? Moving from open to half-open is a transition.
    pub fn allow(&mut self, now: DateTime<Utc>) -> Result<Option<Transition>, OpenUntil> {
        match self.state {
            BreakerState::Closed => Ok(None),
            BreakerState::HalfOpen if self.trial_in_flight => Err(OpenUntil(now)),
            BreakerState::HalfOpen => {
                self.trial_in_flight = true;
                Ok(None)
            }
            BreakerState::Open => {
                let retry_at = self.retry_at().unwrap_or(now);
                if now < retry_at {
                    return Err(OpenUntil(retry_at));
                }
                self.trial_in_flight = true;
                Ok(Some(self.move_to(BreakerState::HalfOpen, now)))
            }
        }
    }

    /// When an open breaker lets the next trial through.
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        let cool_off = chrono::TimeDelta::from_std(self.cool_off).unwrap_or(chrono::TimeDelta::MAX);
        self.opened_at.map(|t| t + cool_off)
    }

    /// The trial call was dropped before it finished (its caller went away):
    /// the next call may be the trial instead; nothing is counted.
    pub fn abandon_trial(&mut self) {
        self.trial_in_flight = false;
    }

    pub fn on_success(&mut self, now: DateTime<Utc>) -> Option<Transition> {
        self.failures = 0;
        self.trial_in_flight = false;
        (self.state != BreakerState::Closed).then(|| self.move_to(BreakerState::Closed, now))
    }

    pub fn on_failure(&mut self, now: DateTime<Utc>) -> Option<Transition> {
        self.failures = self.failures.saturating_add(1);
        self.trial_in_flight = false;
        let opens = match self.state {
            BreakerState::Closed => self.failures >= self.threshold,
            BreakerState::HalfOpen => true,
            BreakerState::Open => false,
        };
        opens.then(|| {
            self.opened_at = Some(now);
            self.move_to(BreakerState::Open, now)
        })
    }

    fn move_to(&mut self, to: BreakerState, at: DateTime<Utc>) -> Transition {
        let from = std::mem::replace(&mut self.state, to);
        Transition { from, to, at, failures: self.failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds)
    }

    #[test]
    fn opens_after_five_failures_in_a_row_only() {
        let mut b = CircuitBreaker::standard();
        for _ in 0..4 {
            assert_eq!(b.on_failure(t(0)), None);
        }
        assert_eq!(b.on_success(t(0)), None, "a success resets the count");
        for _ in 0..4 {
            assert_eq!(b.on_failure(t(1)), None);
        }
        let opened = b.on_failure(t(1)).expect("the fifth failure opens it");
        assert_eq!((opened.from, opened.to, opened.failures), (BreakerState::Closed, BreakerState::Open, 5));
        assert_eq!(b.allow(t(30)), Err(OpenUntil(t(61))));
    }

    #[test]
    fn half_open_after_the_cool_off_lets_one_trial_through() {
        let mut b = CircuitBreaker::standard();
        for _ in 0..5 {
            b.on_failure(t(0));
        }
        let half = b.allow(t(60)).unwrap().expect("a transition");
        assert_eq!((half.from, half.to), (BreakerState::Open, BreakerState::HalfOpen));
        assert!(b.allow(t(60)).is_err(), "one trial at a time");
        let closed = b.on_success(t(61)).unwrap();
        assert_eq!((closed.from, closed.to), (BreakerState::HalfOpen, BreakerState::Closed));
        assert_eq!(b.allow(t(61)), Ok(None));
    }

    #[test]
    fn an_abandoned_trial_lets_the_next_call_be_the_trial() {
        let mut b = CircuitBreaker::standard();
        for _ in 0..5 {
            b.on_failure(t(0));
        }
        b.allow(t(60)).unwrap();
        assert!(b.allow(t(61)).is_err());
        b.abandon_trial();
        assert_eq!(b.allow(t(61)), Ok(None), "not stuck half-open");
    }

    #[test]
    fn a_failed_trial_opens_it_again_for_a_full_cool_off() {
        let mut b = CircuitBreaker::standard();
        for _ in 0..5 {
            b.on_failure(t(0));
        }
        b.allow(t(60)).unwrap();
        let reopened = b.on_failure(t(62)).unwrap();
        assert_eq!((reopened.from, reopened.to), (BreakerState::HalfOpen, BreakerState::Open));
        assert_eq!(b.allow(t(100)), Err(OpenUntil(t(122))));
    }
}
