//! A rate limit per client address: a generous ceiling that stops a runaway
//! script, not the dashboard. Beyond it: 429 with Retry-After.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use crate::{ApiError, ApiState};

/// The limiter: a token bucket per client address.
pub struct Limiter(governor::DefaultKeyedRateLimiter<IpAddr>);

impl Limiter {
    /// `per_second` requests a second per address, bursts up to twice that.
    pub fn per_second(per_second: u32) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.max(1).saturating_mul(2)).unwrap_or(rate);
        Self(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)))
    }
}

/// Passes a request within its client's budget; a 429 with Retry-After (whole
/// seconds, at least 1) otherwise. Without a known peer address (a server not
/// started with connect info), every request shares one budget.
pub async fn per_client(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    match state.limiter.0.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = ApiError::TooMany { retry_after_seconds: seconds.max(1) }.into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// Refuses a body its `Content-Length` declares too large with the JSON 413
/// every other error has; the body limit layer behind it still cuts off a
/// chunked body that grows past the limit.
pub async fn body_size(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > state.max_body_bytes as u64 => {
            ApiError::TooLarge { limit_bytes: state.max_body_bytes }.into_response()
        }
        _ => next.run(request).await,
    }
}
