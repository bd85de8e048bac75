pub mod config;
pub mod indicators;
