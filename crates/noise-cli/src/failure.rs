//! How a command fails: a message and an exit code.

use std::process::ExitCode;

/// Exit code for bad input: a CSV row, a config value, a missing file.
pub const BAD_INPUT: u8 = 2;
/// Exit code for everything else (the machine, not the user's data).
pub const INTERNAL: u8 = 1;

#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        Self { code: BAD_INPUT, error: error.into() }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self { code: INTERNAL, error: error.into() }
    }

    pub fn report(self) -> ExitCode {
        eprintln!("error: {:#}", self.error);
        ExitCode::from(self.code)
    }
}
