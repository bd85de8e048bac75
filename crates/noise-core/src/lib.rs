//! NOISE's pure core: market data, indicators, calendars, instruments,
//! signals, risk, the ledger of fills and configuration. Functions of data only: no I/O, no async, and
//! the clock is always passed in as `now`, never read.

pub mod calendar;
pub mod config;
pub mod contracts;
pub mod indicators;
pub mod instrument;
pub mod ledger;
pub mod market;
pub mod metrics;
pub mod num;
pub mod order;
pub mod risk;
pub mod schedule;
pub mod signal;
#[cfg(test)]
mod test_time;
