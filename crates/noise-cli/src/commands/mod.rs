pub mod config;
pub mod indicators;
pub mod signals;
