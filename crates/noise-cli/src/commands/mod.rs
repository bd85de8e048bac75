pub mod api;
pub mod backtest;
pub mod config;
pub mod indicators;
pub mod migrate;
pub mod run;
pub mod schedule;
pub mod signals;
