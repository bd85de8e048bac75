//! NOISE's pure core: market data, indicators, configuration, and (in later
//! modules) signals and risk. Functions of data only: no I/O, no async, and
//! the clock is always passed in as `now`, never read.

pub mod config;
pub mod indicators;
pub mod market;
pub mod num;
