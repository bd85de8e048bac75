//! `noise.toml`: typed sections with documented defaults, and a loader that
//! reports every bad key at once.
//!
//! Loading never stops at the first problem: a value of the wrong type is
//! reported with its dotted key and replaced by its default so the rest can
//! still be checked, unknown keys are reported, and then each section's
//! `validate` adds the semantic problems (a period of zero, weights that do
//! not sum to one). Parsing takes text: the caller reads the file.

use serde::{Deserialize, Serialize};

use crate::indicators::IndicatorParams;
use crate::instrument::Instrument;
use crate::risk::RiskConfig;
use crate::schedule::ScheduleConfig;
use crate::signal::SignalConfig;

/// The `[engine]` section: where `noise run` keeps things and how fast the
/// simulated market runs. Command-line flags override these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// The SQLite database (the `NOISE_DB` environment variable overrides it).
    pub db: String,
    /// The simulated broker's own state file.
    pub sim_state: String,
    /// Simulated minutes per real minute; 0 runs as fast as possible.
    pub speed: f64,
    /// Where a new simulation starts (RFC 3339).
    pub start: String,
    /// Seed of the built-in synthetic market.
    pub seed: u64,
    /// Days of history that warm the indicators before trading.
    pub warm_up_days: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            db: "var/noise.db".into(),
            sim_state: "var/sim-broker.json".into(),
            speed: 60.0,
            start: "2026-03-09T14:00:00Z".into(),
            seed: 7,
            warm_up_days: 4,
        }
    }
}

/// The `[api]` section: where `noise run` serves the API and who may call it
/// from a browser. The bearer token is a secret: it comes only from the
/// `NOISE_API_TOKEN` environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    /// Listen address (`--api-addr` overrides it).
    pub addr: String,
    /// Browser origins allowed by CORS, e.g. "http://localhost:5173"; none by default.
    pub cors_origins: Vec<String>,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Requests per second one client address may make (bursts up to twice
    /// that); beyond it the answer is 429 with Retry-After.
    pub requests_per_second: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            cors_origins: Vec::new(),
            max_body_bytes: 65_536,
            requests_per_second: 2_000,
        }
    }
}

/// The `[sim]` section: the simulated broker's balance and costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimSettings {
    pub starting_cash: rust_decimal::Decimal,
    /// Ticks a market order fills worse than the next bar's open.
    pub slippage_ticks: u32,
    pub commission_per_share: rust_decimal::Decimal,
    pub commission_per_contract: rust_decimal::Decimal,
    /// The most of a bar's volume one order may take in that bar (0 to 1; 0,
    /// the default, means no limit): a larger order fills in parts over the
    /// following bars, as a real one would in a thin market.
    pub max_volume_share: rust_decimal::Decimal,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            starting_cash: rust_decimal::Decimal::from(100_000),
            slippage_ticks: 1,
            commission_per_share: rust_decimal::Decimal::ZERO,
            commission_per_contract: rust_decimal::Decimal::new(62, 2),
            max_volume_share: rust_decimal::Decimal::ZERO,
        }
    }
}

/// The whole configuration. Each section has defaults for every key, so an
/// empty file is a valid configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoiseConfig {
    pub engine: EngineConfig,
    pub api: ApiSettings,
    pub sim: SimSettings,
    pub indicators: IndicatorParams,
    pub signals: SignalConfig,
    pub risk: RiskConfig,
    pub schedule: ScheduleConfig,
    /// The instruments NOISE knows. A `[[instruments]]` list in the file
    /// replaces the default list (DESIGN.md's nine) as a whole.
    pub instruments: Vec<Instrument>,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            api: ApiSettings::default(),
            sim: SimSettings::default(),
            indicators: IndicatorParams::default(),
            signals: SignalConfig::default(),
            risk: RiskConfig::default(),
            schedule: ScheduleConfig::default(),
            instruments: Instrument::defaults(),
        }
    }
}

/// One problem with a configuration: the dotted key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the configuration:\n{}", .0.len(), .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

impl NoiseConfig {
    /// Parses and validates TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigErrors> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let key = e.span().map_or_else(|| "(file)".to_string(), |span| describe_position(text, span.start));
            ConfigErrors(vec![ConfigIssue { key, message: format!("TOML syntax: {}", e.message()) }])
        })?;
        let mut issues = Vec::new();
        let config = loop {
            let mut unknown = Vec::new();
            let value = toml::Value::Table(table.clone());
            let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
            let deserializer = serde_ignored::Deserializer::new(value, &mut note_unknown);
            match serde_path_to_error::deserialize::<_, NoiseConfig>(deserializer) {
                Ok(config) => {
                    issues.extend(unknown.into_iter().map(|key| ConfigIssue { key, message: "unknown key".into() }));
                    break config;
                }
                Err(error) => {
                    let segments: Vec<String> = error.path().iter().map(|s| s.to_string()).collect();
                    // The deserializer's message may repeat the key on a second line.
                    let message = error.inner().to_string().lines().next().unwrap_or_default().to_string();
                    issues.push(ConfigIssue { key: segments.join("."), message });
                    if segments.is_empty() || !remove_path(&mut table, &segments) {
                        return Err(ConfigErrors(issues));
                    }
                }
            }
        };
        issues.extend(config.validate());
        if issues.is_empty() { Ok(config) } else { Err(ConfigErrors(issues)) }
    }

    /// Semantic checks of every section, each problem with its dotted key.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let e = &self.engine;
        if !(e.speed.is_finite() && e.speed >= 0.0) {
            issues.push(ConfigIssue {
                key: "engine.speed".into(),
                message: format!("must be a non-negative number, got {}", e.speed),
            });
        }
        if chrono::DateTime::parse_from_rfc3339(&e.start).is_err() {
            issues.push(ConfigIssue {
                key: "engine.start".into(),
                message: format!("{:?} is not an RFC 3339 time", e.start),
            });
        }
        for (key, value) in [("engine.db", &e.db), ("engine.sim_state", &e.sim_state)] {
            if value.trim().is_empty() {
                issues.push(ConfigIssue { key: key.into(), message: "must not be empty".into() });
            }
        }
        if self.api.addr.parse::<std::net::SocketAddr>().is_err() {
            issues.push(ConfigIssue {
                key: "api.addr".into(),
                message: format!("{:?} is not an address such as 127.0.0.1:8080", self.api.addr),
            });
        }
        for (i, origin) in self.api.cors_origins.iter().enumerate() {
            let scheme_ok = origin.starts_with("http://") || origin.starts_with("https://");
            let rest = origin.split_once("://").map_or("", |(_, r)| r);
            if !scheme_ok || rest.is_empty() || rest.contains('/') {
                issues.push(ConfigIssue {
                    key: format!("api.cors_origins[{i}]"),
                    message: format!(
                        "{origin:?} is not an origin such as http://localhost:5173 (scheme and host, no path)"
                    ),
                });
            }
        }
        if self.api.requests_per_second == 0 {
            issues.push(ConfigIssue { key: "api.requests_per_second".into(), message: "must be at least 1".into() });
        }
        if !(1024..=10 * 1024 * 1024).contains(&self.api.max_body_bytes) {
            issues.push(ConfigIssue {
                key: "api.max_body_bytes".into(),
                message: format!("must be from 1024 to 10485760, got {}", self.api.max_body_bytes),
            });
        }
        if self.sim.starting_cash <= rust_decimal::Decimal::ZERO {
            issues.push(ConfigIssue {
                key: "sim.starting_cash".into(),
                message: format!("must be positive, got {}", self.sim.starting_cash),
            });
        }
        for (key, value) in [
            ("sim.commission_per_share", self.sim.commission_per_share),
            ("sim.commission_per_contract", self.sim.commission_per_contract),
        ] {
            if value < rust_decimal::Decimal::ZERO {
                issues.push(ConfigIssue { key: key.into(), message: format!("must not be negative, got {value}") });
            }
        }
        if !(rust_decimal::Decimal::ZERO..=rust_decimal::Decimal::ONE).contains(&self.sim.max_volume_share) {
            issues.push(ConfigIssue {
                key: "sim.max_volume_share".into(),
                message: format!("must be from 0 (no limit) to 1, got {}", self.sim.max_volume_share),
            });
        }
        for (key, error) in self.indicators.problems() {
            issues.push(ConfigIssue { key: format!("indicators.{key}"), message: error.to_string() });
        }
        for (key, message) in self.signals.problems() {
            issues.push(ConfigIssue { key: format!("signals.{key}"), message });
        }
        for (key, message) in self.risk.problems(self.instruments.iter().map(|i| i.correlation_group.as_str())) {
            issues.push(ConfigIssue { key: format!("risk.{key}"), message });
        }
        for (key, message) in self.schedule.problems() {
            issues.push(ConfigIssue { key: format!("schedule.{key}"), message });
        }
        if self.instruments.is_empty() {
            issues.push(ConfigIssue { key: "instruments".into(), message: "the list is empty".into() });
        }
        let mut seen = std::collections::HashSet::new();
        for (i, instrument) in self.instruments.iter().enumerate() {
            for (field, message) in instrument.problems() {
                issues.push(ConfigIssue { key: format!("instruments[{i}].{field}"), message });
            }
            if !seen.insert(instrument.symbol.as_str()) {
                let message = format!("symbol {} appears more than once", instrument.symbol);
                issues.push(ConfigIssue { key: format!("instruments[{i}].symbol"), message });
            }
        }
        issues
    }

    /// The instrument with this symbol, if configured.
    pub fn instrument(&self, symbol: &str) -> Option<&Instrument> {
        self.instruments.iter().find(|i| i.symbol.eq_ignore_ascii_case(symbol))
    }

    /// The effective settings, defaults filled in, as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot render the configuration: {e}\n"))
    }
}

/// Removes the value at `path` so that loading can continue with its default.
fn remove_path(table: &mut toml::Table, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => table.remove(last).is_some(),
        [first, rest @ ..] => match table.get_mut(first) {
            Some(toml::Value::Table(inner)) => remove_path(inner, rest),
            Some(toml::Value::Array(items)) => match rest.split_first() {
                Some((index, [])) => {
                    index.parse::<usize>().ok().filter(|&i| i < items.len()).map(|i| items.remove(i)).is_some()
                }
                Some((index, deeper)) => match index.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(toml::Value::Table(inner)) => remove_path(inner, deeper),
                    _ => false,
                },
                None => false,
            },
            _ => false,
        },
    }
}

fn describe_position(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    format!("line {line}, column {column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(NoiseConfig::from_toml_str("").unwrap(), NoiseConfig::default());
    }

    #[test]
    fn reports_every_bad_key_at_once() {
        let text = r#"
            [indicators]
            rsi_period = "fourteen"
            macd_slow = 0
            bb_deviations = -2.0
            colour = "red"
            [nonsense]
            x = 1
        "#;
        let errors = NoiseConfig::from_toml_str(text).unwrap_err().0;
        let keys: Vec<&str> = errors.iter().map(|i| i.key.as_str()).collect();
        for key in [
            "indicators.rsi_period",
            "indicators.macd_slow",
            "indicators.bb_deviations",
            "indicators.colour",
            "nonsense",
        ] {
            assert!(keys.iter().any(|k| k.starts_with(key)), "{key} missing from {errors:#?}");
        }
        assert!(errors.iter().any(|i| i.key == "indicators.rsi_period" && i.message.contains("invalid type")));
    }

    #[test]
    fn signals_section_refuses_bad_weights_periods_and_strategies() {
        let text = r#"
            [signals]
            min_strength = 1.5
            [signals.weights]
            momentum = 0.5
            telepathy = 0.2
            [signals.breakout]
            lookback = 0
            [signals.sma_cross]
            fast = 0
            [signals.mtf]
            timeframes = ["1m", "15m"]
            [[instruments]]
            symbol = "ES"
            asset_class = "future"
            broker = "alpaca"
            tick_size = 0
            point_value = 50
            correlation_group = "equity_index"
            venue = "cme_globex"
        "#;
        let errors = NoiseConfig::from_toml_str(text).unwrap_err().0;
        let find = |key: &str| errors.iter().find(|i| i.key == key).map(|i| i.message.clone());
        assert!(find("signals.min_strength").is_some(), "{errors:#?}");
        assert!(find("signals.weights").unwrap().contains("sum to 0.7"), "{errors:#?}");
        assert!(find("signals.weights.telepathy").unwrap().contains("unknown strategy"), "{errors:#?}");
        assert!(find("signals.breakout.lookback").is_some(), "{errors:#?}");
        assert!(find("signals.sma_cross.fast").is_some(), "{errors:#?}");
        assert!(find("signals.mtf.timeframes[0]").is_some(), "{errors:#?}");
        assert!(find("instruments[0].tick_size").is_some(), "{errors:#?}");
        assert!(find("instruments[0].broker").is_some(), "{errors:#?}");
    }

    #[test]
    fn risk_section_refuses_bad_percentages_caps_and_groups() {
        let text = r#"
            [risk]
            daily_loss_pct = 0
            weekly_loss_pct = 150
            [risk.sizing]
            risk_per_trade_pct = -1
            [risk.exposure]
            max_symbol_pct = -5
            [risk.exposure.group_caps_pct]
            equity_index = 150
            energy = 50
            metals = 50
            metalz = 20
        "#;
        let errors = NoiseConfig::from_toml_str(text).unwrap_err().0;
        let keys: Vec<&str> = errors.iter().map(|i| i.key.as_str()).collect();
        for key in [
            "risk.daily_loss_pct",
            "risk.weekly_loss_pct",
            "risk.sizing.risk_per_trade_pct",
            "risk.exposure.max_symbol_pct",
            "risk.exposure.group_caps_pct.metalz",
        ] {
            assert!(keys.contains(&key), "{key} not in {errors:#?}");
        }
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let errors = NoiseConfig::from_toml_str("[indicators]\nrsi_period = = 3\n").unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert!(errors[0].key.starts_with("line 2"), "{errors:?}");
    }

    #[test]
    fn round_trips_through_its_rendering() {
        let mut config = NoiseConfig::default();
        config.indicators.rsi_period = 21;
        assert_eq!(NoiseConfig::from_toml_str(&config.to_toml()).unwrap(), config);
    }

    /// Every key path of a TOML value (array elements share their first element's paths).
    fn key_paths(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(table) => {
                for (key, inner) in table {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    out.push(path.clone());
                    key_paths(inner, &path, out);
                }
            }
            toml::Value::Array(items) => {
                if let Some(first @ toml::Value::Table(_)) = items.first() {
                    key_paths(first, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn example_file_documents_every_setting_with_its_default() {
        let example = include_str!("../../../../noise.example.toml");
        assert_eq!(NoiseConfig::from_toml_str(example).unwrap(), NoiseConfig::default());
        let (mut want, mut have) = (Vec::new(), Vec::new());
        key_paths(&toml::Value::Table(NoiseConfig::default().to_toml().parse().unwrap()), "", &mut want);
        key_paths(&toml::Value::Table(example.parse().unwrap()), "", &mut have);
        let missing: Vec<_> = want.iter().filter(|k| !have.contains(k)).collect();
        assert!(missing.is_empty(), "noise.example.toml lacks {missing:?}");
    }
}
