//! One broker's HTTP endpoint with the resilience every call needs: a
//! client-side rate limit, a circuit breaker, and retries of what is safe to
//! retry (1 s, 2 s, 4 s ±25 %, at most three; a 429's `Retry-After` waited
//! out). Order placement is never retried here: its caller checks whether
//! the first attempt reached the broker before sending again
//! ([`Retry::Never`]).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use noise_core::instrument::BrokerKind;
use reqwest::{RequestBuilder, StatusCode};

use crate::BrokerError;
use crate::resilience::{Backoff, BreakerState, CircuitBreaker, Failure, Transition};

/// Whether a call may be sent again after a failure that left it unknown
/// whether the broker acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads, and commands the broker treats as idempotent.
    Safe,
    /// Sent once; the caller reconciles (an order placement).
    Never,
}

/// A broker's answer: any status it gave (including 4xx), and the body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub retry_after: Option<Duration>,
}

impl Reply {
    /// The body's start, for error messages.
    pub fn snippet(&self) -> String {
        crate::snippet(&self.body)
    }
}

/// What the broker layer reports as it happens (audited and alerted by the engine).
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerNotice {
    Breaker { broker: BrokerKind, transition: Transition },
    Retrying { broker: BrokerKind, what: String, attempt: u32, wait: Duration, why: String },
}

pub type NoticeSink = Arc<dyn Fn(BrokerNotice) + Send + Sync>;

pub struct Endpoint {
    pub broker: BrokerKind,
    client: reqwest::Client,
    limiter: Option<governor::DefaultDirectRateLimiter>,
    breaker: Mutex<CircuitBreaker>,
    backoff: Backoff,
    notices: Option<NoticeSink>,
}

impl Endpoint {
    /// `per_minute`: the client-side limit (Alpaca documents 200 a minute).
    pub fn new(broker: BrokerKind, timeout: Duration, per_minute: Option<u32>) -> Result<Self, BrokerError> {
        crate::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("noise/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BrokerError::Unavailable { broker, reason: format!("HTTP client: {e}") })?;
        let limiter =
            per_minute.and_then(NonZeroU32::new).map(|n| governor::RateLimiter::direct(governor::Quota::per_minute(n)));
        Ok(Self {
            broker,
            client,
            limiter,
            breaker: Mutex::new(CircuitBreaker::standard()),
            backoff: Backoff::STANDARD,
            notices: None,
        })
    }

    /// Shorter waits (tests of the retry path).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn with_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Mutex::new(breaker);
        self
    }

    pub fn with_notices(mut self, sink: NoticeSink) -> Self {
        self.notices = Some(sink);
        self
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.lock().unwrap_or_else(|p| p.into_inner()).state()
    }

    /// Sends the request `build` makes (built afresh for each attempt) and
    /// returns the broker's answer, whatever its status, unless the broker
    /// could not be reached: then retries as `retry` allows, and finally
    /// `Unavailable` naming the last cause.
    pub async fn call(
        &self,
        what: &str,
        retry: Retry,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Reply, BrokerError> {
        let mut attempt = 0;
        loop {
            self.admit()?;
            // Until the attempt is recorded: if this future is dropped (its caller
            // went away), a half-open trial is released instead of blocking the breaker.
            let pending = Unsettled(self);
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            let (failure, why) = match build().send().await {
                Ok(response) => {
                    let reply = read(response).await;
                    match classify(&reply) {
                        None => {
                            std::mem::forget(pending);
                            self.record(true);
                            return Ok(reply);
                        }
                        Some(failure) => (failure, format!("HTTP {} {}", reply.status.as_u16(), reply.snippet())),
                    }
                }
                Err(error) => (Failure::Transport, transport_reason(&error)),
            };
            std::mem::forget(pending);
            self.record(false);
            let wait = match retry {
                Retry::Safe => self.backoff.wait(attempt, failure, rand::random::<f64>()),
                Retry::Never => None,
            };
            let Some(wait) = wait else {
                return Err(BrokerError::Unavailable { broker: self.broker, reason: format!("{what}: {why}") });
            };
            attempt += 1;
            self.notify(BrokerNotice::Retrying { broker: self.broker, what: what.to_string(), attempt, wait, why });
            tokio::time::sleep(wait).await;
        }
    }

    /// Refuses at once while the breaker is open.
    fn admit(&self) -> Result<(), BrokerError> {
        let outcome = self.breaker.lock().unwrap_or_else(|p| p.into_inner()).allow(now());
        match outcome {
            Ok(transition) => {
                if let Some(transition) = transition {
                    self.notify(BrokerNotice::Breaker { broker: self.broker, transition });
                }
                Ok(())
            }
            Err(open) => Err(BrokerError::Unavailable {
                broker: self.broker,
                reason: format!("circuit breaker open until {}", open.0.to_rfc3339()),
            }),
        }
    }

    fn record(&self, success: bool) {
        let transition = {
            let mut breaker = self.breaker.lock().unwrap_or_else(|p| p.into_inner());
            if success { breaker.on_success(now()) } else { breaker.on_failure(now()) }
        };
        if let Some(transition) = transition {
            self.notify(BrokerNotice::Breaker { broker: self.broker, transition });
        }
    }

    fn notify(&self, notice: BrokerNotice) {
        if let Some(sink) = &self.notices {
            sink(notice);
        }
    }
}

/// An attempt admitted by the breaker and not yet recorded.
struct Unsettled<'a>(&'a Endpoint);

impl Drop for Unsettled<'_> {
    fn drop(&mut self) {
        self.0.breaker.lock().unwrap_or_else(|p| p.into_inner()).abandon_trial();
    }
}

// The breaker's clock: this module is the I/O edge, where reading it belongs.
fn now() -> DateTime<Utc> {
    Utc::now()
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // A body cut off mid-way reads as what arrived; the parser then says what is wrong.
    let body = response.text().await.unwrap_or_default();
    Reply { status, body, retry_after }
}

/// Which answers count as the broker failing (retry, breaker): 5xx and 429.
/// A 4xx is the broker working and saying no.
fn classify(reply: &Reply) -> Option<Failure> {
    if reply.status == StatusCode::TOO_MANY_REQUESTS {
        Some(Failure::RateLimited { retry_after: reply.retry_after })
    } else if reply.status.is_server_error() {
        Some(Failure::Server)
    } else {
        None
    }
}

fn transport_reason(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "connection failed"
    };
    let mut reason = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    reason
}
