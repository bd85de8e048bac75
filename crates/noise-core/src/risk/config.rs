//! The `[risk]` section of `noise.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Every limit the risk manager enforces. Percentages are of account equity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskConfig {
    /// Circuit breaker: loss since the start of the day, % of day-start equity.
    pub daily_loss_pct: f64,
    /// Circuit breaker: loss since the start of the week, % of week-start equity.
    pub weekly_loss_pct: f64,
    /// Circuit breaker: drawdown from the equity high-water mark, %.
    pub max_drawdown_pct: f64,
    /// Losing trades in a row that start a cooldown.
    pub max_consecutive_losses: u32,
    /// Minutes new entries wait after that many losses.
    pub cooldown_minutes: u32,
    pub sizing: SizingConfig,
    pub exposure: ExposureConfig,
    pub pdt: PdtConfig,
    pub positions: PositionsConfig,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            daily_loss_pct: 2.0,
            weekly_loss_pct: 5.0,
            max_drawdown_pct: 10.0,
            max_consecutive_losses: 3,
            cooldown_minutes: 30,
            sizing: SizingConfig::default(),
            exposure: ExposureConfig::default(),
            pdt: PdtConfig::default(),
            positions: PositionsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SizingConfig {
    /// Fixed-fractional risk per trade: the money lost at the stop, % of equity.
    pub risk_per_trade_pct: f64,
    /// Use fractional Kelly once `kelly_min_trades` closed trades exist.
    pub kelly_enabled: bool,
    /// The fraction of full Kelly to bet (¼ by default).
    pub kelly_fraction: f64,
    /// Kelly never risks more than this % of equity per trade.
    pub kelly_cap_pct: f64,
    pub kelly_min_trades: usize,
    /// Closed trades the rolling win rate and win/loss ratio look back over.
    pub kelly_lookback: usize,
    /// Scale size down as volatility rises: full size up to the median ATR
    /// percentile, falling linearly to `high_volatility_scale` at the 100th.
    pub volatility_adjustment: bool,
    pub high_volatility_scale: f64,
    /// A fixed size for every entry instead of the risk-based size (the caps
    /// after sizing still apply). Whole units; `None` sizes by risk.
    pub fixed_quantity: Option<rust_decimal::Decimal>,
}

impl Default for SizingConfig {
    fn default() -> Self {
        Self {
            risk_per_trade_pct: 1.0,
            kelly_enabled: true,
            kelly_fraction: 0.25,
            kelly_cap_pct: 2.0,
            kelly_min_trades: 30,
            kelly_lookback: 100,
            volatility_adjustment: true,
            high_volatility_scale: 0.5,
            fixed_quantity: None,
        }
    }
}

/// Exposure caps, as notional (price × point value × quantity) in % of
/// equity. They may exceed 100 %: futures are leveraged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExposureConfig {
    pub max_symbol_pct: f64,
    /// Caps per correlation group; a group without a cap here is refused
    /// when an instrument names it (see `validate`).
    pub group_caps_pct: BTreeMap<String, f64>,
    pub max_gross_pct: f64,
    pub max_open_positions: usize,
}

impl Default for ExposureConfig {
    fn default() -> Self {
        Self {
            max_symbol_pct: 50.0,
            group_caps_pct: [("equity_index", 150.0), ("energy", 50.0), ("metals", 50.0)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            max_gross_pct: 200.0,
            max_open_positions: 5,
        }
    }
}

/// Pattern day trader rule. Day trades are always counted and reported;
/// blocking by FINRA's old rule (replaced in 2026) is opt-in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PdtConfig {
    pub enforce: bool,
    /// Below this equity a margin account is limited.
    pub min_equity: f64,
    /// Day trades allowed in five business days; the opening order whose
    /// same-day close would exceed it is blocked.
    pub max_day_trades: u32,
}

impl Default for PdtConfig {
    fn default() -> Self {
        Self { enforce: false, min_equity: 25_000.0, max_day_trades: 3 }
    }
}

/// The position policy (`[risk.positions]`): how a signal meets a
/// position already held in its symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PositionsConfig {
    /// Entries (each a lot with its own bracket) a symbol may hold on one
    /// side, pending entries included. 1: a signal on the held side is not
    /// traded; above 1, scaling in up to that many entries.
    pub max_entries_per_symbol: u32,
    /// An entry the caps cut below this fraction of the size the sizing
    /// step computed is refused as a sliver (0 lets any cut size through).
    pub min_order_fraction: f64,
    /// What a signal against the held position does.
    pub on_opposite_signal: OppositeSignal,
    /// Minutes after a round trip in a symbol closes before it may be
    /// entered again (0: at once).
    pub reentry_cooldown_minutes: u32,
    /// For day traders: this many minutes before the venue's close (early
    /// closes included) every position is closed and every working order
    /// cancelled, and no entry is taken until the close (0: off).
    pub flatten_before_close_minutes: u32,
}

impl Default for PositionsConfig {
    fn default() -> Self {
        Self {
            max_entries_per_symbol: 1,
            min_order_fraction: 0.25,
            on_opposite_signal: OppositeSignal::Close,
            reentry_cooldown_minutes: 0,
            flatten_before_close_minutes: 0,
        }
    }
}

/// What a signal against the held position does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OppositeSignal {
    /// Exit the position at market (its bracket legs cancelled); no new
    /// entry in that minute.
    Close,
    /// Exit the position, then enter the other side in the same minute
    /// through the whole risk chain (as if the position were gone).
    Reverse,
    /// Refuse the signal: the position keeps its bracket.
    Ignore,
}

fn in_percent_range(v: f64) -> bool {
    v.is_finite() && v > 0.0 && v <= 100.0
}

impl RiskConfig {
    /// Every problem as (dotted key under `risk`, message). `groups` are the
    /// correlation groups the configured instruments name.
    pub fn problems<'a>(&self, groups: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |key: String, message: String| out.push((key, message));
        let s = &self.sizing;
        for (key, value) in [
            ("daily_loss_pct", self.daily_loss_pct),
            ("weekly_loss_pct", self.weekly_loss_pct),
            ("max_drawdown_pct", self.max_drawdown_pct),
            ("sizing.risk_per_trade_pct", s.risk_per_trade_pct),
            ("sizing.kelly_cap_pct", s.kelly_cap_pct),
        ] {
            if !in_percent_range(value) {
                bad(key.into(), format!("must be a percentage in (0, 100], got {value}"));
            }
        }
        if self.max_consecutive_losses == 0 {
            bad("max_consecutive_losses".into(), "must be at least 1".into());
        }
        if !(s.kelly_fraction.is_finite() && s.kelly_fraction > 0.0 && s.kelly_fraction <= 1.0) {
            bad("sizing.kelly_fraction".into(), format!("must be in (0, 1], got {}", s.kelly_fraction));
        }
        if s.kelly_min_trades == 0 {
            bad("sizing.kelly_min_trades".into(), "must be at least 1".into());
        }
        if s.kelly_lookback < s.kelly_min_trades {
            bad(
                "sizing.kelly_lookback".into(),
                format!("{} is below kelly_min_trades {}", s.kelly_lookback, s.kelly_min_trades),
            );
        }
        if let Some(q) = s.fixed_quantity
            && (q < rust_decimal::Decimal::ONE || !q.fract().is_zero())
        {
            bad("sizing.fixed_quantity".into(), format!("must be a whole number of units, at least 1, got {q}"));
        }
        if !(s.high_volatility_scale.is_finite() && s.high_volatility_scale > 0.0 && s.high_volatility_scale <= 1.0) {
            bad("sizing.high_volatility_scale".into(), format!("must be in (0, 1], got {}", s.high_volatility_scale));
        }
        let e = &self.exposure;
        let cap_ok = |v: f64| v.is_finite() && v > 0.0 && v <= 10_000.0;
        if !cap_ok(e.max_symbol_pct) {
            bad(
                "exposure.max_symbol_pct".into(),
                format!("must be a positive percentage of equity, got {}", e.max_symbol_pct),
            );
        }
        if !cap_ok(e.max_gross_pct) {
            bad(
                "exposure.max_gross_pct".into(),
                format!("must be a positive percentage of equity, got {}", e.max_gross_pct),
            );
        }
        for (group, cap) in &e.group_caps_pct {
            if !cap_ok(*cap) {
                bad(
                    format!("exposure.group_caps_pct.{group}"),
                    format!("must be a positive percentage of equity, got {cap}"),
                );
            }
        }
        if e.max_open_positions == 0 {
            bad("exposure.max_open_positions".into(), "must be at least 1".into());
        }
        let named: std::collections::BTreeSet<&str> = groups.into_iter().collect();
        for group in e.group_caps_pct.keys() {
            if !named.contains(group.as_str()) {
                let known = named.iter().copied().collect::<Vec<_>>().join(", ");
                bad(
                    format!("exposure.group_caps_pct.{group}"),
                    format!("unknown correlation group (instruments name: {known})"),
                );
            }
        }
        for group in &named {
            if !e.group_caps_pct.contains_key(*group) {
                bad(
                    "exposure.group_caps_pct".into(),
                    format!("no cap for correlation group `{group}`, which an instrument names"),
                );
            }
        }
        let p = &self.positions;
        if p.max_entries_per_symbol == 0 {
            bad("positions.max_entries_per_symbol".into(), "must be at least 1".into());
        }
        if !(p.min_order_fraction.is_finite() && (0.0..=1.0).contains(&p.min_order_fraction)) {
            bad("positions.min_order_fraction".into(), format!("must be in [0, 1], got {}", p.min_order_fraction));
        }
        if p.reentry_cooldown_minutes > 10_080 {
            bad(
                "positions.reentry_cooldown_minutes".into(),
                format!("must be at most 10080 (a week), got {}", p.reentry_cooldown_minutes),
            );
        }
        if p.flatten_before_close_minutes > 240 {
            bad(
                "positions.flatten_before_close_minutes".into(),
                format!("must be at most 240 (four hours), got {}", p.flatten_before_close_minutes),
            );
        }
        if !(self.pdt.min_equity.is_finite() && self.pdt.min_equity >= 0.0) {
            bad("pdt.min_equity".into(), format!("must be a non-negative amount, got {}", self.pdt.min_equity));
        }
        out
    }
}

impl PositionsConfig {
    /// The close of the session open at `now` at `venue`, when `now` is in
    /// the window before it where positions are flattened (none when the
    /// window is off or the market is closed).
    pub fn flatten_window(
        &self,
        venue: crate::calendar::Venue,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        if self.flatten_before_close_minutes == 0 {
            return None;
        }
        let window = chrono::TimeDelta::minutes(i64::from(self.flatten_before_close_minutes));
        venue.session_at(now).map(|s| s.close).filter(|close| *close - now <= window)
    }
}
