//! When to retry: only what is safe, on the schedule (1 s, 2 s, 4 s,
//! each ±25 % at random, at most three retries), and never sooner than a
//! 429's `Retry-After`.

use std::time::Duration;

/// How one attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer in time, the connection refused or dropped: the request may
    /// or may not have reached the broker.
    Transport,
    /// 5xx.
    Server,
    /// 429, with the broker's `Retry-After` if it gave one.
    RateLimited { retry_after: Option<Duration> },
    /// Anything else (4xx, a refusal, a reply that does not parse): retrying
    /// would give the same answer.
    Final,
}

impl Failure {
    pub fn retryable(self) -> bool {
        !matches!(self, Failure::Final)
    }
}

/// The schedule of waits between attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    pub factor: u32,
    pub max_retries: u32,
    /// ± this share of each wait, at random.
    pub jitter: f64,
}

impl Backoff {
    pub const STANDARD: Backoff = Backoff { first: Duration::from_secs(1), factor: 2, max_retries: 3, jitter: 0.25 };

    /// The wait before retry number `retry` (0-based) after `failure`, or
    /// `None` when no retry is allowed. `unit` is a random draw in [0, 1).
    pub fn wait(&self, retry: u32, failure: Failure, unit: f64) -> Option<Duration> {
        if retry >= self.max_retries || !failure.retryable() {
            return None;
        }
        let base = self.first.as_secs_f64() * f64::from(self.factor.saturating_pow(retry));
        let spread = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let jittered = Duration::from_secs_f64(base * spread);
        Some(match failure {
            Failure::RateLimited { retry_after: Some(asked) } => jittered.max(asked),
            _ => jittered,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_two_four_seconds_within_a_quarter_then_stop() {
        let b = Backoff::STANDARD;
        for (retry, base) in [(0, 1.0), (1, 2.0), (2, 4.0)] {
            let low = b.wait(retry, Failure::Server, 0.0).unwrap().as_secs_f64();
            let mid = b.wait(retry, Failure::Server, 0.5).unwrap().as_secs_f64();
            let high = b.wait(retry, Failure::Server, 0.999_999).unwrap().as_secs_f64();
            assert!((low - base * 0.75).abs() < 1e-9, "{retry}: {low}");
            assert!((mid - base).abs() < 1e-9, "{retry}: {mid}");
            assert!((high - base * 1.25).abs() < 1e-5, "{retry}: {high}");
        }
        assert_eq!(b.wait(3, Failure::Server, 0.5), None, "at most three retries");
    }

    #[test]
    fn only_safe_failures_are_retried_and_retry_after_is_respected() {
        let b = Backoff::STANDARD;
        assert_eq!(b.wait(0, Failure::Final, 0.5), None);
        assert!(b.wait(0, Failure::Transport, 0.5).is_some());
        let asked = Failure::RateLimited { retry_after: Some(Duration::from_secs(7)) };
        assert_eq!(b.wait(0, asked, 0.5), Some(Duration::from_secs(7)));
        let short = Failure::RateLimited { retry_after: Some(Duration::from_millis(10)) };
        assert_eq!(b.wait(1, short, 0.5), Some(Duration::from_secs(2)), "never sooner than the schedule");
    }
}
