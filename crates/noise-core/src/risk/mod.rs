//! The risk manager: every order passes a chain of independent checks.
//!
//! [`evaluate`] is a pure function of the signal, the account, the open
//! positions, the [`RiskState`], the instrument, `now` and the config. It
//! returns a [`RiskDecision`]: ALLOW with a size, REDUCE with a smaller size
//! and why, or BLOCK and why, with every check that ran (name, status,
//! measured figure, limit). Only an ALLOW or REDUCE carries an
//! [`Approval`], the one thing the broker layer accepts.
//!
//! A signal opposite to a held position is an exit: it closes that position
//! (no reversal in one order) and passes everything but a halt.

mod account;
mod checks;
mod config;
mod decision;
mod report;
mod state;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::instrument::Instrument;
use crate::signal::{Candidate, Direction, Signal};

pub use account::{AccountSnapshot, PositionSnapshot};
pub use checks::{CHAIN, Outcome, RiskCheck, RiskContext};
pub use config::{ExposureConfig, OppositeSignal, PdtConfig, PositionsConfig, RiskConfig, SizingConfig};
pub use decision::{
    Approval, Cap, CheckResult, CheckStatus, DenialReason, Figure, Intent, ReduceReason, RiskDecision, Side, Verdict,
};
pub use report::{ExposureLine, ExposureReport, OpenPositions, RiskFigures, RiskLimits};
pub use state::{BreakerKind, RiskEvent, RiskState, TradingState, Trip};

/// Evaluates an approved signal. See the module documentation.
pub fn evaluate(
    signal: &Signal,
    account: &AccountSnapshot,
    positions: &[PositionSnapshot],
    state: &RiskState,
    instrument: &Instrument,
    now: DateTime<Utc>,
    config: &RiskConfig,
) -> RiskDecision {
    evaluate_candidate(signal, account, positions, state, instrument, now, config)
}

/// The decision of a backtest run with its risk manager switched off
/// (`noise backtest --risk off`), so that a strategy can be compared with
/// other engines on equal terms: no check runs and no protective bracket is
/// attached. An entry gets `quantity`; a signal opposite to a held position
/// closes all of it. The decision says plainly that the checks were off.
/// The live engine never calls this: it only calls [`evaluate`].
pub fn without_checks(
    signal: &Signal,
    positions: &[PositionSnapshot],
    quantity: Decimal,
    now: DateTime<Utc>,
) -> RiskDecision {
    let (existing, held) = held_position(signal, positions);
    let (intent, quantity) = match existing {
        Some(p) if held == Some(signal.direction.opposite()) => (Intent::Exit, p.quantity.abs()),
        // No caps bound the size with the checks off, so positions are not added to.
        Some(_) => (Intent::Entry, Decimal::ZERO),
        None => (Intent::Entry, quantity),
    };
    let side = side_of(signal.direction);
    let approval = (quantity >= Decimal::ONE).then(|| Approval {
        symbol: signal.symbol.clone(),
        side,
        intent,
        quantity,
        entry: signal.entry,
        stop_loss: None,
        take_profit: None,
        approved_at: now,
    });
    let verdict = match approval {
        Some(_) => Verdict::Allow,
        None if existing.is_some() => Verdict::Block {
            reason: DenialReason::InvalidSignal {
                problem: "already holding this direction; with the risk checks off, positions are not added to".into(),
            },
        },
        None => Verdict::Block {
            reason: DenialReason::InvalidSignal { problem: format!("quantity {quantity} is below one unit") },
        },
    };
    RiskDecision {
        symbol: signal.symbol.clone(),
        direction: signal.direction,
        intent,
        decided_at: now,
        verdict,
        requested: Some(quantity),
        checks: vec![CheckResult {
            name: "risk_checks_off",
            status: CheckStatus::NotApplicable,
            measured: None,
            limit: None,
        }],
        approval,
    }
}

/// The position held in the signal's symbol, and its direction.
fn held_position<'a>(
    signal: &Candidate,
    positions: &'a [PositionSnapshot],
) -> (Option<&'a PositionSnapshot>, Option<Direction>) {
    let existing = positions.iter().find(|p| p.symbol.eq_ignore_ascii_case(&signal.symbol) && !p.quantity.is_zero());
    let held = existing.map(|p| if p.quantity > Decimal::ZERO { Direction::Long } else { Direction::Short });
    (existing, held)
}

/// A long signal buys (opening a long, or closing a short); a short one sells.
fn side_of(direction: Direction) -> decision::Side {
    match direction {
        Direction::Long => decision::Side::Buy,
        Direction::Short => decision::Side::Sell,
    }
}

/// The kill switch's order for a held position: sell (or buy back) all of
/// it at market. Closing a whole position only ever lowers risk, so it
/// passes even when trading is halted; the decision names the kill switch
/// as its one check. Only the engine's flatten control calls this.
pub fn kill_switch_exit(position: &PositionSnapshot, now: DateTime<Utc>) -> RiskDecision {
    forced_exit(position, now, "kill_switch")
}

/// The position policy's order before the session closes
/// (`flatten_before_close_minutes`): the whole position at market, as the
/// kill switch's, with `session_flatten` as its one check.
pub fn session_flatten_exit(position: &PositionSnapshot, now: DateTime<Utc>) -> RiskDecision {
    forced_exit(position, now, "session_flatten")
}

fn forced_exit(position: &PositionSnapshot, now: DateTime<Utc>, by: &'static str) -> RiskDecision {
    let long = position.quantity > Decimal::ZERO;
    let (direction, side) =
        if long { (Direction::Short, decision::Side::Sell) } else { (Direction::Long, decision::Side::Buy) };
    let quantity = position.quantity.abs();
    let approval = (quantity > Decimal::ZERO).then(|| Approval {
        symbol: position.symbol.clone(),
        side,
        intent: Intent::Exit,
        quantity,
        entry: position.market_price,
        stop_loss: None,
        take_profit: None,
        approved_at: now,
    });
    RiskDecision {
        symbol: position.symbol.clone(),
        direction,
        intent: Intent::Exit,
        decided_at: now,
        verdict: Verdict::Allow,
        requested: Some(quantity),
        checks: vec![CheckResult {
            name: by,
            status: CheckStatus::Passed,
            measured: Some(Figure::Quantity(quantity)),
            limit: None,
        }],
        approval,
    }
}

/// The chain itself, on any candidate (tests feed it malformed ones).
pub(crate) fn evaluate_candidate(
    signal: &Candidate,
    account: &AccountSnapshot,
    positions: &[PositionSnapshot],
    state: &RiskState,
    instrument: &Instrument,
    now: DateTime<Utc>,
    config: &RiskConfig,
) -> RiskDecision {
    let (existing, held) = held_position(signal, positions);
    let intent = if held == Some(signal.direction.opposite()) { Intent::Exit } else { Intent::Entry };
    let ctx = RiskContext { signal, account, positions, state, instrument, now, config, intent, existing };

    let mut checks = Vec::with_capacity(CHAIN.len());
    let (mut quantity, mut requested) = (None, None);
    let mut reductions = Vec::new();
    let mut denial = None;
    for check in CHAIN {
        let mut outcome = check.check(&ctx, quantity);
        checks.push(outcome.result(check.name()));
        if let Some(reason) = outcome.block {
            denial = Some(reason);
            break;
        }
        if let Some(q) = outcome.quantity {
            requested.get_or_insert(q);
            quantity = Some(q);
        }
        reductions.extend(outcome.reduce);
    }
    // An entry the caps cut: the position policy's sliver rule has the last word.
    if let (None, Intent::Entry, false, Some(cut), Some(sized)) =
        (&denial, intent, reductions.is_empty(), quantity, requested)
    {
        let mut outcome = checks::min_order_fraction(&ctx, cut, sized);
        checks.push(outcome.result("min_order_fraction"));
        denial = outcome.block;
    }

    // A long signal buys (opening a long, or closing a short); a short one sells.
    let side = side_of(signal.direction);
    let approved = quantity.filter(|q| *q >= Decimal::ONE);
    let (verdict, approval) = match (denial, approved) {
        (Some(reason), _) => (Verdict::Block { reason }, None),
        (None, None) => {
            // Only an exit with nothing to close gets here.
            let reason = DenialReason::InvalidSignal { problem: "no position to close".into() };
            (Verdict::Block { reason }, None)
        }
        (None, Some(q)) => {
            let (stop, target) = match intent {
                Intent::Entry => (Some(signal.stop_loss), Some(signal.take_profit)),
                Intent::Exit => (None, None),
            };
            let approval = Approval {
                symbol: signal.symbol.clone(),
                side,
                intent,
                quantity: q,
                entry: signal.entry,
                stop_loss: stop,
                take_profit: target,
                approved_at: now,
            };
            let verdict = if reductions.is_empty() { Verdict::Allow } else { Verdict::Reduce { reasons: reductions } };
            (verdict, Some(approval))
        }
    };
    RiskDecision {
        symbol: signal.symbol.clone(),
        direction: signal.direction,
        intent,
        decided_at: now,
        verdict,
        requested,
        checks,
        approval,
    }
}

#[cfg(test)]
mod tests;
