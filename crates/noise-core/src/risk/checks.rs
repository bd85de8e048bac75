//! The risk checks, one type each, run in the order of [`CHAIN`].

use crate::num::decimal_to_f64;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use crate::instrument::{AssetClass, Instrument};
use crate::signal::{Candidate, Direction};

use super::account::{AccountSnapshot, PositionSnapshot};
use super::config::{OppositeSignal, RiskConfig};
use super::decision::{Cap, CheckStatus, DenialReason, Figure, Intent, ReduceReason};
use super::state::{RiskState, TradingState, trading_date};

/// Everything a check may look at.
pub struct RiskContext<'a> {
    pub signal: &'a Candidate,
    pub account: &'a AccountSnapshot,
    pub positions: &'a [PositionSnapshot],
    pub state: &'a RiskState,
    pub instrument: &'a Instrument,
    pub now: DateTime<Utc>,
    pub config: &'a RiskConfig,
    pub intent: Intent,
    /// The position already held in this symbol, if any.
    pub existing: Option<&'a PositionSnapshot>,
}

impl RiskContext<'_> {
    /// Notional of one more unit at the entry price.
    fn unit_notional(&self) -> Decimal {
        self.signal.entry * self.instrument.point_value
    }
}

/// What one check concluded.
pub struct Outcome {
    pub status: CheckStatus,
    pub measured: Option<Figure>,
    pub limit: Option<Figure>,
    /// A size this check sets (sizing) or lowers to (a cap).
    pub quantity: Option<Decimal>,
    pub reduce: Option<ReduceReason>,
    pub block: Option<DenialReason>,
}

impl Outcome {
    /// What the decision lists for this check (its figures move there).
    pub(crate) fn result(&mut self, name: &'static str) -> super::decision::CheckResult {
        super::decision::CheckResult {
            name,
            status: self.status,
            measured: self.measured.take(),
            limit: self.limit.take(),
        }
    }
    fn pass(measured: Option<Figure>, limit: Option<Figure>) -> Self {
        Self { status: CheckStatus::Passed, measured, limit, quantity: None, reduce: None, block: None }
    }
    fn not_applicable() -> Self {
        Self {
            status: CheckStatus::NotApplicable,
            measured: None,
            limit: None,
            quantity: None,
            reduce: None,
            block: None,
        }
    }
    fn block(reason: DenialReason, measured: Option<Figure>, limit: Option<Figure>) -> Self {
        Self { status: CheckStatus::Blocked, measured, limit, quantity: None, reduce: None, block: Some(reason) }
    }
    fn sized(quantity: Decimal, measured: Option<Figure>, limit: Option<Figure>) -> Self {
        Self { quantity: Some(quantity), ..Self::pass(measured, limit) }
    }
    fn reduced(quantity: Decimal, reason: ReduceReason, measured: Option<Figure>, limit: Option<Figure>) -> Self {
        Self {
            status: CheckStatus::Reduced,
            measured,
            limit,
            quantity: Some(quantity),
            reduce: Some(reason),
            block: None,
        }
    }
}

/// One independent risk check. Adding a check means adding one type and
/// listing it in [`CHAIN`].
pub trait RiskCheck: Sync {
    fn name(&self) -> &'static str;
    /// `quantity` is the size so far (`None` before sizing).
    fn check(&self, ctx: &RiskContext<'_>, quantity: Option<Decimal>) -> Outcome;
}

/// The chain, in order: state and validity first (cheap refusals), then
/// breakers, cooldown and PDT, then sizing, then the caps that may only
/// shrink the size, last the money to pay for it.
pub static CHAIN: &[&dyn RiskCheck] = &[
    &TradingStateCheck,
    &SignalValidity,
    &PositionPolicy,
    &CircuitBreakers,
    &LossStreakCooldown,
    &PatternDayTrader,
    &PositionSizing,
    &MaxOpenPositions,
    &SymbolExposure,
    &GroupExposure,
    &GrossExposure,
    &BuyingPower,
];

pub struct TradingStateCheck;
impl RiskCheck for TradingStateCheck {
    fn name(&self) -> &'static str {
        "trading_state"
    }
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        let state = ctx.state.trading_state;
        let measured = Some(Figure::State(format!("{state:?}").to_uppercase()));
        match (state, ctx.intent) {
            (TradingState::Halted, _) => Outcome::block(DenialReason::TradingHalted, measured, None),
            (TradingState::Reducing, Intent::Entry) => Outcome::block(DenialReason::ReducingOnly, measured, None),
            _ => Outcome::pass(measured, None),
        }
    }
}

pub struct SignalValidity;
impl RiskCheck for SignalValidity {
    fn name(&self) -> &'static str {
        "signal_validity"
    }
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        let s = ctx.signal;
        let invalid = |problem: String| Outcome::block(DenialReason::InvalidSignal { problem }, None, None);
        if !s.symbol.eq_ignore_ascii_case(&ctx.instrument.symbol) {
            return invalid(format!("signal for {} evaluated with instrument {}", s.symbol, ctx.instrument.symbol));
        }
        for (field, value) in [("entry", s.entry), ("stop_loss", s.stop_loss), ("take_profit", s.take_profit)] {
            if value <= Decimal::ZERO {
                return invalid(format!("{field} {value} is not a positive price"));
            }
        }
        let ordered = match s.direction {
            Direction::Long => s.stop_loss < s.entry && s.entry < s.take_profit,
            Direction::Short => s.take_profit < s.entry && s.entry < s.stop_loss,
        };
        if !ordered {
            return invalid(format!(
                "{} with stop {} and target {} around entry {}: the stop is on the wrong side",
                s.direction, s.stop_loss, s.take_profit, s.entry
            ));
        }
        if let Some((field, _)) = ctx.instrument.problems().first() {
            return Outcome::block(DenialReason::MissingInstrumentFacts { field }, None, None);
        }
        Outcome::pass(None, None)
    }
}

pub struct CircuitBreakers;
impl RiskCheck for CircuitBreakers {
    fn name(&self) -> &'static str {
        "circuit_breakers"
    }
    /// Blocks entries on a tripped breaker, and also on a loss that has
    /// reached a limit but not yet been marked (the engine trips it next).
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        if ctx.intent == Intent::Exit {
            return Outcome::not_applicable();
        }
        let (state, cfg, equity) = (ctx.state, ctx.config, ctx.account.equity);
        let hwm = state.high_water_mark.max(equity);
        let figures = [
            (
                super::state::BreakerKind::DailyLoss,
                super::state::loss_pct(state.day_start_equity, equity),
                cfg.daily_loss_pct,
            ),
            (
                super::state::BreakerKind::WeeklyLoss,
                super::state::loss_pct(state.week_start_equity, equity),
                cfg.weekly_loss_pct,
            ),
            (super::state::BreakerKind::Drawdown, super::state::loss_pct(hwm, equity), cfg.max_drawdown_pct),
        ];
        let worst = figures.iter().map(|(_, m, l)| m / l).fold(0.0, f64::max);
        for (kind, measured, limit) in figures {
            if let Some(trip) = state.tripped(kind) {
                let reason =
                    DenialReason::CircuitBreaker { kind, measured_pct: trip.measured_pct, limit_pct: trip.limit_pct };
                return Outcome::block(
                    reason,
                    Some(Figure::Percent(trip.measured_pct)),
                    Some(Figure::Percent(trip.limit_pct)),
                );
            }
            if measured >= limit {
                let reason = DenialReason::CircuitBreaker { kind, measured_pct: measured, limit_pct: limit };
                return Outcome::block(reason, Some(Figure::Percent(measured)), Some(Figure::Percent(limit)));
            }
        }
        Outcome::pass(Some(Figure::Percent(worst * 100.0)), Some(Figure::Percent(100.0)))
    }
}

/// `[risk.positions]`: a signal on the held side (or of a pending entry)
/// adds an entry only up to the policy's count; a signal against the held
/// position exits it or is ignored; a symbol whose round trip just closed
/// waits out the re-entry cooldown.
pub struct PositionPolicy;
impl RiskCheck for PositionPolicy {
    fn name(&self) -> &'static str {
        "position_policy"
    }
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        let policy = &ctx.config.positions;
        if ctx.intent == Intent::Exit {
            let held = ctx.signal.direction.opposite();
            return match policy.on_opposite_signal {
                OppositeSignal::Close => Outcome::pass(Some(Figure::State("CLOSE".into())), None),
                OppositeSignal::Reverse => Outcome::pass(Some(Figure::State("REVERSE".into())), None),
                OppositeSignal::Ignore => Outcome::block(
                    DenialReason::OppositeSignalIgnored { held },
                    Some(Figure::State("IGNORE".into())),
                    None,
                ),
            };
        }
        let entries = entries_on_side(ctx.positions, &ctx.signal.symbol, ctx.signal.direction);
        let (measured, limit) =
            (Some(Figure::Count(entries as usize)), Some(Figure::Count(policy.max_entries_per_symbol as usize)));
        if entries >= policy.max_entries_per_symbol {
            let reason = DenialReason::AlreadyHeld {
                symbol: ctx.signal.symbol.clone(),
                direction: ctx.signal.direction,
                entries,
                max: policy.max_entries_per_symbol,
            };
            return Outcome::block(reason, measured, limit);
        }
        if let Some(close) = policy.flatten_window(ctx.instrument.venue, ctx.now) {
            let reason = DenialReason::SessionClosing { close, minutes: policy.flatten_before_close_minutes };
            return Outcome::block(reason, Some(Figure::Until(close)), limit);
        }
        let wait = chrono::TimeDelta::minutes(i64::from(policy.reentry_cooldown_minutes));
        let last_exit = ctx.state.last_exit(&ctx.signal.symbol);
        if let Some(until) = last_exit.map(|t| t + wait).filter(|until| entries == 0 && ctx.now < *until) {
            return Outcome::block(DenialReason::ReentryCooldown { until }, Some(Figure::Until(until)), limit);
        }
        Outcome::pass(measured, limit)
    }
}

/// Entries held or pending in `symbol` on `direction`'s side.
fn entries_on_side(positions: &[PositionSnapshot], symbol: &str, direction: Direction) -> u32 {
    positions
        .iter()
        .filter(|p| p.symbol.eq_ignore_ascii_case(symbol))
        .filter(|p| match direction {
            Direction::Long => p.quantity > Decimal::ZERO,
            Direction::Short => p.quantity < Decimal::ZERO,
        })
        .map(|p| p.entries)
        .sum()
}

pub struct LossStreakCooldown;
impl RiskCheck for LossStreakCooldown {
    fn name(&self) -> &'static str {
        "loss_streak_cooldown"
    }
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        if ctx.intent == Intent::Exit {
            return Outcome::not_applicable();
        }
        let streak = ctx.state.losses_in_a_row;
        let limit = Some(Figure::Count(ctx.config.max_consecutive_losses as usize));
        match ctx.state.cooldown_until.filter(|&until| ctx.now < until) {
            Some(until) => Outcome::block(
                DenialReason::Cooldown { until, losses_in_a_row: ctx.state.cooldown_after_losses },
                Some(Figure::Until(until)),
                limit,
            ),
            None => Outcome::pass(Some(Figure::Count(streak as usize)), limit),
        }
    }
}

pub struct PatternDayTrader;
impl RiskCheck for PatternDayTrader {
    fn name(&self) -> &'static str {
        "pattern_day_trader"
    }
    /// Counts always (the broker's count when it gives one); blocks only
    /// when `pdt.enforce` is on, for a margin account under the minimum
    /// equity, on an opening order whose same-day close would exceed the limit.
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        if ctx.instrument.asset_class != AssetClass::Equity {
            return Outcome::not_applicable();
        }
        let count = match ctx.account.broker_day_trades {
            Some(n) => n as usize,
            None => ctx.state.day_trades_in_window(trading_date(ctx.now)),
        };
        let cfg = &ctx.config.pdt;
        let limit = Some(Figure::Count(cfg.max_day_trades as usize));
        let below_minimum = decimal_to_f64(ctx.account.equity) < cfg.min_equity;
        let restricted = cfg.enforce && ctx.account.margin_account && below_minimum;
        if ctx.intent == Intent::Entry && restricted && count >= cfg.max_day_trades as usize {
            let reason = DenialReason::PatternDayTrader { day_trades: count, limit: cfg.max_day_trades };
            return Outcome::block(reason, Some(Figure::Count(count)), limit);
        }
        Outcome::pass(Some(Figure::Count(count)), limit)
    }
}

pub struct PositionSizing;
impl PositionSizing {
    /// The % of equity to risk: fixed-fractional, or fractional Kelly
    /// (capped) once enough closed trades exist. `Err` holds Kelly ≤ 0.
    fn risk_pct(ctx: &RiskContext<'_>) -> Result<f64, f64> {
        let s = &ctx.config.sizing;
        let results = &ctx.state.recent_results;
        if !s.kelly_enabled || results.len() < s.kelly_min_trades {
            return Ok(s.risk_per_trade_pct);
        }
        // One pass over the recent results (each evaluation reads up to `kelly_lookback` of them).
        let (mut wins, mut win_sum, mut losses, mut loss_sum) = (0usize, 0.0f64, 0usize, 0.0f64);
        for p in results {
            if p.is_sign_positive() && !p.is_zero() {
                wins += 1;
                win_sum += decimal_to_f64(*p);
            } else if p.is_sign_negative() {
                losses += 1;
                loss_sum -= decimal_to_f64(*p);
            }
        }
        let p = wins as f64 / results.len() as f64;
        let kelly = if losses == 0 {
            p
        } else if wins == 0 {
            -1.0
        } else {
            let avg_win = win_sum / wins as f64;
            let avg_loss = loss_sum / losses as f64;
            p - (1.0 - p) / (avg_win / avg_loss)
        };
        if kelly <= 0.0 {
            return Err(kelly);
        }
        Ok((kelly * s.kelly_fraction * 100.0).min(s.kelly_cap_pct))
    }

    /// Full size up to the median ATR percentile, down linearly to
    /// `high_volatility_scale` at the 100th.
    fn volatility_scale(ctx: &RiskContext<'_>) -> f64 {
        let s = &ctx.config.sizing;
        if !s.volatility_adjustment {
            return 1.0;
        }
        let pct = ctx.signal.regime.atr_percentile.clamp(0.0, 100.0);
        if pct <= 50.0 { 1.0 } else { 1.0 - (pct - 50.0) / 50.0 * (1.0 - s.high_volatility_scale) }
    }
}

impl RiskCheck for PositionSizing {
    fn name(&self) -> &'static str {
        "position_sizing"
    }
    /// Fixed-fractional risk (or Kelly) × the volatility scale, divided by
    /// the money lost per unit at the stop; whole units, rounded down.
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        if ctx.intent == Intent::Exit {
            let quantity = ctx.existing.map_or(Decimal::ZERO, |p| p.quantity.abs());
            return Outcome::sized(quantity, Some(Figure::Quantity(quantity)), None);
        }
        let equity = ctx.account.equity;
        if equity <= Decimal::ZERO {
            return Outcome::block(DenialReason::NonPositiveEquity { equity }, Some(Figure::Money(equity)), None);
        }
        if let Some(fixed) = ctx.config.sizing.fixed_quantity {
            return Outcome::sized(fixed, Some(Figure::Quantity(fixed)), None);
        }
        let pct = match Self::risk_pct(ctx) {
            Ok(pct) => pct,
            Err(kelly) => return Outcome::block(DenialReason::NegativeEdge { kelly }, None, None),
        };
        let fraction = Decimal::from_f64(pct * Self::volatility_scale(ctx) / 100.0).unwrap_or(Decimal::ZERO);
        let risk_budget = (equity * fraction).round_dp(2);
        let risk_per_unit = (ctx.signal.entry - ctx.signal.stop_loss).abs() * ctx.instrument.point_value;
        let quantity =
            if risk_per_unit > Decimal::ZERO { (risk_budget / risk_per_unit).floor() } else { Decimal::ZERO };
        if quantity < Decimal::ONE {
            let reason = DenialReason::SizeRoundsToZero { risk_budget, risk_per_unit };
            return Outcome::block(reason, Some(Figure::Money(risk_budget)), Some(Figure::Money(risk_per_unit)));
        }
        Outcome::sized(quantity, Some(Figure::Money(risk_budget)), Some(Figure::Percent(pct)))
    }
}

pub struct MaxOpenPositions;
impl RiskCheck for MaxOpenPositions {
    fn name(&self) -> &'static str {
        "max_open_positions"
    }
    fn check(&self, ctx: &RiskContext<'_>, _: Option<Decimal>) -> Outcome {
        // Symbols, not rows: a held position and a pending entry adding to it
        // arrive as two snapshots of one position. (A handful of rows: the
        // quadratic scan beats allocating a set on every evaluation.)
        let held = |p: &&PositionSnapshot| !p.quantity.is_zero();
        let open = ctx
            .positions
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                held(p) && !ctx.positions[..*i].iter().filter(held).any(|q| q.symbol.eq_ignore_ascii_case(&p.symbol))
            })
            .count();
        let limit = ctx.config.exposure.max_open_positions;
        let (measured, limit_figure) = (Some(Figure::Count(open)), Some(Figure::Count(limit)));
        if ctx.intent == Intent::Exit || ctx.existing.is_some() {
            return Outcome::pass(measured, limit_figure);
        }
        if open >= limit {
            return Outcome::block(DenialReason::MaxOpenPositions { open, limit }, measured, limit_figure);
        }
        Outcome::pass(measured, limit_figure)
    }
}

/// Shrinks `quantity` to fit `current + quantity × unit ≤ cap`.
fn fit_cap(ctx: &RiskContext<'_>, quantity: Option<Decimal>, current: Decimal, cap_pct: f64, cap: Cap) -> Outcome {
    let Some(quantity) = quantity.filter(|_| ctx.intent == Intent::Entry) else {
        return Outcome::not_applicable();
    };
    let cap_money = cap_money(ctx, cap_pct);
    let unit = ctx.unit_notional();
    let after = current + quantity * unit;
    let (measured, limit) = (Some(Figure::Money(after)), Some(Figure::Money(cap_money)));
    if after <= cap_money {
        return Outcome::pass(measured, limit);
    }
    let room = (cap_money - current).max(Decimal::ZERO);
    let fits = if unit > Decimal::ZERO { (room / unit).floor() } else { Decimal::ZERO };
    if fits < Decimal::ONE {
        return Outcome::block(DenialReason::CapFull { cap, room }, measured, limit);
    }
    Outcome::reduced(fits, ReduceReason::Cap(cap), Some(Figure::Money(current + fits * unit)), limit)
}

/// The position policy's last word on an entry the caps cut
/// (`min_order_fraction`): below the policy's fraction of what the caps
/// would allow with nothing held, it is a sliver. Measured against the flat
/// book so that a cap that always binds (a tight stop sizes far above the
/// symbol cap) is not a sliver, and room taken by what is held already is.
pub(crate) fn min_order_fraction(ctx: &RiskContext<'_>, quantity: Decimal, sized: Decimal) -> Outcome {
    let min_fraction = ctx.config.positions.min_order_fraction;
    let flat_book = flat_book_size(ctx, sized);
    let floor = flat_book * Decimal::from_f64(min_fraction).unwrap_or(Decimal::ZERO);
    let (measured, limit) = (Some(Figure::Quantity(quantity)), Some(Figure::Quantity(floor.round_dp(2).normalize())));
    if quantity < floor {
        return Outcome::block(DenialReason::Sliver { quantity, sized: flat_book, min_fraction }, measured, limit);
    }
    Outcome::pass(measured, limit)
}

/// The most of `sized` the exposure caps would allow with nothing held.
fn flat_book_size(ctx: &RiskContext<'_>, sized: Decimal) -> Decimal {
    let unit = ctx.unit_notional();
    if unit <= Decimal::ZERO {
        return sized;
    }
    let exposure = &ctx.config.exposure;
    let group_pct = exposure.group_caps_pct.get(&ctx.instrument.correlation_group).copied();
    [Some(exposure.max_symbol_pct), group_pct, Some(exposure.max_gross_pct)]
        .into_iter()
        .flatten()
        .map(|pct| (cap_money(ctx, pct) / unit).floor())
        .fold(sized, Decimal::min)
}

/// A cap of `pct` % of equity, in money.
fn cap_money(ctx: &RiskContext<'_>, pct: f64) -> Decimal {
    ctx.account.equity * Decimal::from_f64(pct / 100.0).unwrap_or(Decimal::ZERO)
}

/// Exposure this order adds to: same-direction holdings count, an opposite
/// holding is being closed by an exit and never reaches here.
fn notional_where(ctx: &RiskContext<'_>, keep: impl Fn(&PositionSnapshot) -> bool) -> Decimal {
    ctx.positions.iter().filter(|p| keep(p)).map(PositionSnapshot::notional).sum()
}

pub struct SymbolExposure;
impl RiskCheck for SymbolExposure {
    fn name(&self) -> &'static str {
        "symbol_exposure"
    }
    fn check(&self, ctx: &RiskContext<'_>, quantity: Option<Decimal>) -> Outcome {
        let current = notional_where(ctx, |p| p.symbol.eq_ignore_ascii_case(&ctx.instrument.symbol));
        fit_cap(ctx, quantity, current, ctx.config.exposure.max_symbol_pct, Cap::Symbol)
    }
}

pub struct GroupExposure;
impl RiskCheck for GroupExposure {
    fn name(&self) -> &'static str {
        "group_exposure"
    }
    fn check(&self, ctx: &RiskContext<'_>, quantity: Option<Decimal>) -> Outcome {
        let group = &ctx.instrument.correlation_group;
        let Some(&cap_pct) = ctx.config.exposure.group_caps_pct.get(group) else {
            // Validation refuses a group without a cap; fail closed if one slips through.
            return Outcome::block(DenialReason::MissingInstrumentFacts { field: "correlation group cap" }, None, None);
        };
        let current = notional_where(ctx, |p| p.correlation_group == group);
        fit_cap(ctx, quantity, current, cap_pct, Cap::Group(group.clone()))
    }
}

pub struct GrossExposure;
impl RiskCheck for GrossExposure {
    fn name(&self) -> &'static str {
        "gross_exposure"
    }
    fn check(&self, ctx: &RiskContext<'_>, quantity: Option<Decimal>) -> Outcome {
        let current = notional_where(ctx, |_| true);
        fit_cap(ctx, quantity, current, ctx.config.exposure.max_gross_pct, Cap::Gross)
    }
}

pub struct BuyingPower;
impl RiskCheck for BuyingPower {
    fn name(&self) -> &'static str {
        "buying_power"
    }
    /// Equities: the order's cost within buying power. Futures: initial
    /// margin per contract within the available margin.
    fn check(&self, ctx: &RiskContext<'_>, quantity: Option<Decimal>) -> Outcome {
        let Some(quantity) = quantity.filter(|_| ctx.intent == Intent::Entry) else {
            return Outcome::not_applicable();
        };
        let (per_unit, available, reason) = match ctx.instrument.asset_class {
            AssetClass::Equity => (ctx.signal.entry, ctx.account.buying_power, ReduceReason::BuyingPower),
            AssetClass::Future => match ctx.instrument.initial_margin {
                Some(margin) => (margin, ctx.account.available_margin, ReduceReason::Margin),
                None => {
                    return Outcome::block(
                        DenialReason::MissingInstrumentFacts { field: "initial_margin" },
                        None,
                        None,
                    );
                }
            },
        };
        let needed = per_unit * quantity;
        let (measured, limit) = (Some(Figure::Money(needed)), Some(Figure::Money(available)));
        if needed <= available {
            return Outcome::pass(measured, limit);
        }
        let fits =
            if per_unit > Decimal::ZERO { (available.max(Decimal::ZERO) / per_unit).floor() } else { Decimal::ZERO };
        if fits < Decimal::ONE {
            return Outcome::block(
                DenialReason::NoBuyingPower { needed_per_unit: per_unit, available },
                measured,
                limit,
            );
        }
        Outcome::reduced(fits, reason, Some(Figure::Money(per_unit * fits)), limit)
    }
}
