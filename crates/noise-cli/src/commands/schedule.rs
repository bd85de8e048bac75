//! `noise schedule`: the next firings of the engine's jobs.

use std::path::Path;

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::America::New_York;
use noise_core::schedule::{Job, Schedule};

use crate::commands::config;
use crate::failure::Failure;

pub fn run(from: Option<&str>, count: usize, job: Option<&str>, config_path: Option<&Path>) -> Result<(), Failure> {
    let (config, _) = config::load(config_path)?;
    let from = match from {
        // The clock is read here, at the edge, and only when no time is given.
        None => Utc::now(),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .map_err(|e| Failure::bad_input(anyhow!("--from {text:?} is not an RFC 3339 time: {e}")))?,
    };
    let job = job.map(|name| name.parse::<Job>().map_err(|e| Failure::bad_input(anyhow!(e)))).transpose()?;
    let schedule = Schedule::new(&config.schedule).map_err(|e| Failure::bad_input(anyhow!(e)))?;
    for firing in schedule.firings(from, count, job) {
        println!(
            "{} {} {}",
            firing.job,
            firing.at.with_timezone(&New_York).to_rfc3339_opts(SecondsFormat::Secs, false),
            firing.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    Ok(())
}
