//! `--strategy "sma-cross --fast 10 --slow 30"` and `--sweep fast=5..20`:
//! a registered strategy with parameters written over its config section.

use noise_core::signal::{STRATEGY_NAMES, SignalConfig};
use serde_json::Value;

use super::BacktestError;

/// A strategy by its registered name and the parameters to change.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySpec {
    /// The registered name (`sma_cross`).
    pub name: String,
    pub params: Vec<(String, String)>,
}

impl StrategySpec {
    /// Parses `NAME [--key value]...`.
    pub fn parse(text: &str) -> Result<Self, BacktestError> {
        let mut words = text.split_whitespace();
        let bad = |why: String| BacktestError::Strategy(format!("--strategy {text:?}: {why}"));
        let name = words.next().ok_or_else(|| bad("no strategy named".into()))?.replace('-', "_");
        if !STRATEGY_NAMES.contains(&name.as_str()) {
            return Err(bad(format!("unknown strategy `{name}`; registered: {}", STRATEGY_NAMES.join(", "))));
        }
        let mut params = Vec::new();
        while let Some(word) = words.next() {
            let key = word.strip_prefix("--").ok_or_else(|| bad(format!("expected --parameter, found `{word}`")))?;
            let value = words.next().ok_or_else(|| bad(format!("--{key} needs a value")))?;
            params.push((key.replace('-', "_"), value.to_string()));
        }
        Ok(Self { name, params })
    }

    /// How it is written back: `sma-cross --fast 10 --slow 30`.
    pub fn display(&self) -> String {
        let mut out = self.name.replace('_', "-");
        for (key, value) in &self.params {
            out.push_str(&format!(" --{} {value}", key.replace('_', "-")));
        }
        out
    }

    /// `config` with this strategy's parameters set in its section
    /// (`[signals.<name>]`), validated.
    pub fn apply(&self, config: &SignalConfig) -> Result<SignalConfig, BacktestError> {
        apply_params(config, &self.name, &self.params)
    }
}

/// Writes `params` into `[signals.<section>]` and validates the result.
pub fn apply_params(
    config: &SignalConfig,
    section: &str,
    params: &[(String, String)],
) -> Result<SignalConfig, BacktestError> {
    let bad = |why: String| BacktestError::Strategy(why);
    let mut tree = serde_json::to_value(config).map_err(|e| bad(e.to_string()))?;
    let Some(table) = tree.get_mut(section).and_then(Value::as_object_mut) else {
        if let Some((key, _)) = params.first() {
            return Err(bad(format!("strategy `{section}` has no parameters, so --{key} cannot be set")));
        }
        return Ok(config.clone());
    };
    for (key, text) in params {
        let Some(slot) = table.get_mut(key) else {
            let known: Vec<&String> = table.keys().collect();
            return Err(bad(format!(
                "`{section}` has no parameter `{key}`; it has: {}",
                known.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            )));
        };
        *slot = parse_like(slot, text).ok_or_else(|| bad(format!("--{key} {text}: not a valid value for it")))?;
    }
    let updated: SignalConfig = serde_json::from_value(tree).map_err(|e| bad(e.to_string()))?;
    let problems = updated.problems();
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        return Err(bad(text.join("; ")));
    }
    Ok(updated)
}

/// `text` as a value of the same JSON type as `current`.
fn parse_like(current: &Value, text: &str) -> Option<Value> {
    match current {
        Value::Number(n) if n.is_u64() || n.is_i64() => text.parse::<i64>().ok().map(Value::from),
        Value::Number(_) => text.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from),
        Value::Bool(_) => text.parse::<bool>().ok().map(Value::from),
        Value::String(_) => Some(Value::from(text)),
        _ => None,
    }
}

/// The most values one axis may have, and the most points a grid may have.
pub const MAX_AXIS_VALUES: usize = 1_000;
pub const MAX_GRID_POINTS: usize = 10_000;

/// One `--sweep key=from..to[:step]` axis (integers or decimals).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepAxis {
    pub key: String,
    pub values: Vec<String>,
}

impl SweepAxis {
    pub fn parse(text: &str) -> Result<Self, BacktestError> {
        let bad = |why: &str| {
            BacktestError::Strategy(format!("--sweep {text:?}: {why} (write key=from..to or key=from..to:step)"))
        };
        let (key, range) = text.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let (range, step) = match range.split_once(':') {
            Some((r, s)) => (r, Some(s)),
            None => (range, None),
        };
        let (from, to) = range.split_once("..").ok_or_else(|| bad("no `..`"))?;
        let key = key.trim().replace('-', "_");
        if let (Ok(from), Ok(to), Ok(step)) =
            (from.trim().parse::<i64>(), to.trim().parse::<i64>(), step.map_or(Ok(1), |s| s.trim().parse::<i64>()))
        {
            if step <= 0 || from > to {
                return Err(bad("needs from ≤ to and a positive step"));
            }
            if (to - from) / step >= MAX_AXIS_VALUES as i64 {
                return Err(bad(&format!("more than {MAX_AXIS_VALUES} values")));
            }
            let values = (from..=to).step_by(step as usize).map(|v| v.to_string()).collect();
            return Ok(Self { key, values });
        }
        let parse = |s: &str| s.trim().parse::<rust_decimal::Decimal>().map_err(|_| bad("not a number"));
        let (from, to) = (parse(from)?, parse(to)?);
        let step = step.map(parse).transpose()?.ok_or_else(|| bad("decimal ranges need a step"))?;
        if step <= rust_decimal::Decimal::ZERO || from > to {
            return Err(bad("needs from ≤ to and a positive step"));
        }
        if (to - from) / step >= rust_decimal::Decimal::from(MAX_AXIS_VALUES) {
            return Err(bad(&format!("more than {MAX_AXIS_VALUES} values")));
        }
        let mut values = Vec::new();
        let mut v = from;
        while v <= to {
            values.push(v.normalize().to_string());
            v += step;
        }
        Ok(Self { key, values })
    }
}

/// Every combination of the axes' values, as parameter lists: checked
/// first (each key must be a parameter of the strategy's section, and the
/// grid must stay under [`MAX_GRID_POINTS`]).
pub fn checked_grid(
    axes: &[SweepAxis],
    config: &SignalConfig,
    section: &str,
) -> Result<Vec<Vec<(String, String)>>, BacktestError> {
    let points = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.values.len()));
    if points.is_none_or(|n| n > MAX_GRID_POINTS) {
        return Err(BacktestError::Strategy(format!("--sweep: more than {MAX_GRID_POINTS} grid points")));
    }
    let tree = serde_json::to_value(config).map_err(|e| BacktestError::Strategy(e.to_string()))?;
    let table = tree.get(section).and_then(Value::as_object);
    for axis in axes {
        if !table.is_some_and(|t| t.contains_key(&axis.key)) {
            let known: Vec<&str> = table.map(|t| t.keys().map(String::as_str).collect()).unwrap_or_default();
            return Err(BacktestError::Strategy(format!(
                "--sweep {}: `{section}` has no parameter `{}`; it has: {}",
                axis.key,
                axis.key,
                known.join(", ")
            )));
        }
    }
    Ok(grid(axes))
}

/// Every combination of the axes' values, as parameter lists.
pub fn grid(axes: &[SweepAxis]) -> Vec<Vec<(String, String)>> {
    axes.iter().fold(vec![Vec::new()], |acc, axis| {
        acc.iter()
            .flat_map(|point| {
                axis.values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.push((axis.key.clone(), v.clone()));
                    p
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_strategy_with_parameters() {
        let spec = StrategySpec::parse("sma-cross --fast 5 --slow 20").unwrap();
        assert_eq!(spec.name, "sma_cross");
        let config = spec.apply(&SignalConfig::default()).unwrap();
        assert_eq!((config.sma_cross.fast, config.sma_cross.slow), (5, 20));
        assert_eq!(spec.display(), "sma-cross --fast 5 --slow 20");
    }

    #[test]
    fn refuses_what_it_cannot_apply() {
        for (text, needle) in [
            ("sma-crossing", "unknown strategy `sma_crossing`"),
            ("sma-cross --fats 5", "no parameter `fats`; it has: fast, slow"),
            ("sma-cross --fast five", "--fast five"),
            ("sma-cross --fast 40 --slow 30", "must be below slow"),
            ("sma-cross --fast", "needs a value"),
            ("sma-cross fast 5", "expected --parameter"),
        ] {
            let error = StrategySpec::parse(text).and_then(|s| s.apply(&SignalConfig::default()).map(|_| ()));
            let message = error.unwrap_err().to_string();
            assert!(message.contains(needle), "{text}: {message}");
        }
    }

    #[test]
    fn sweep_axes_and_their_grid() {
        let fast = SweepAxis::parse("fast=5..20").unwrap();
        assert_eq!(fast.values.len(), 16);
        let slow = SweepAxis::parse("slow=20..60:10").unwrap();
        assert_eq!(slow.values, ["20", "30", "40", "50", "60"]);
        let mult = SweepAxis::parse("stop-atr-multiple=1.5..2.5:0.5").unwrap();
        assert_eq!(mult.values, ["1.5", "2", "2.5"]);
        assert_eq!(grid(&[fast, slow]).len(), 80);
        for bad in ["fast", "fast=5", "fast=20..5", "fast=1..5:0", "fast=a..b", "x=1.0..2.0", "fast=1..1000000000"] {
            assert!(SweepAxis::parse(bad).is_err(), "{bad}");
        }
        let config = SignalConfig::default();
        let typo = SweepAxis::parse("fats=1..3").unwrap();
        let error = checked_grid(&[typo], &config, "sma_cross").unwrap_err().to_string();
        assert!(error.contains("has no parameter `fats`; it has: fast, slow"), "{error}");
        let wide = [SweepAxis::parse("fast=1..1000").unwrap(), SweepAxis::parse("slow=1..1000").unwrap()];
        assert!(checked_grid(&wide, &config, "sma_cross").unwrap_err().to_string().contains("grid points"));
    }
}
