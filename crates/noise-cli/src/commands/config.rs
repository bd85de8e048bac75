//! `noise config check`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use noise_core::config::NoiseConfig;

use crate::failure::Failure;
use crate::files::read_input;

pub const DEFAULT_CONFIG: &str = "noise.toml";

/// Loads the configuration: the given file, else `./noise.toml` if present,
/// else the defaults. Every problem is reported at once, as bad input.
pub fn load(path: Option<&Path>) -> Result<(NoiseConfig, Option<PathBuf>), Failure> {
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok((NoiseConfig::default(), None));
    };
    let bytes = read_input(&path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| Failure::bad_input(anyhow!("{}: not UTF-8 text", path.display())))?;
    let config = NoiseConfig::from_toml_str(&text)
        .map_err(|errors| Failure::bad_input(anyhow!("{}: {errors}", path.display())))?;
    Ok((config, Some(path)))
}

pub fn check(path: Option<&Path>) -> Result<(), Failure> {
    let (config, source) = load(path)?;
    match source {
        Some(path) => println!("# {} is valid. Effective settings:", path.display()),
        None => println!("# No {DEFAULT_CONFIG} found: the defaults are in effect:"),
    }
    print!("{}", config.to_toml());
    Ok(())
}
