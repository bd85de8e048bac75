//! What keeps a broker's trouble from becoming the engine's: retries of
//! what is safe to retry, and a circuit breaker per broker.

pub mod backoff;
pub mod breaker;

pub use backoff::{Backoff, Failure};
pub use breaker::{BreakerState, CircuitBreaker, OpenUntil, Transition};
