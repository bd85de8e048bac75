//! One signal's way from the risk manager to an order: the step `noise run`
//! and `noise backtest` share, a pure function (the caller persists).

use chrono::{DateTime, Datelike, Timelike, Utc};
use noise_broker::{AccountInfo, OrderRequest};
use noise_core::instrument::{AssetClass, Instrument};
use noise_core::risk::{
    self, AccountSnapshot, Approval, Intent, PositionSnapshot, RiskConfig, RiskDecision, RiskState, Side,
};
use noise_core::signal::Signal;
use rust_decimal::Decimal;

/// Whether orders pass the risk chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RiskMode {
    /// Every check of the chain (the only mode `noise run` has).
    Checked,
    /// `noise backtest --risk off`: no checks, no brackets, this size.
    Off { quantity: Decimal },
}

/// The account as the risk chain sees it, from a broker's figures.
pub fn account_snapshot(account: &AccountInfo) -> AccountSnapshot {
    AccountSnapshot {
        equity: account.equity,
        cash: account.cash,
        buying_power: account.buying_power,
        available_margin: account.available_margin,
        margin_account: account.margin_account,
        broker_day_trades: account.day_trade_count,
    }
}

/// The deterministic client order id of the order acting on `symbol`'s
/// signal at `now`: `noise-<yyyymmddHHMM>-<SYMBOL>`. The same bar processed
/// twice (a restart) yields the same id, so it can only become one order.
pub fn client_order_id(now: DateTime<Utc>, symbol: &str) -> String {
    // Digits into a buffer, then one allocation: this runs for every order of a backtest.
    let date = now.date_naive();
    let mut digits = *b"000000000000";
    let mut put = |end: usize, mut value: u32, width: usize| {
        for place in digits[end - width..end].iter_mut().rev() {
            *place = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(4, date.year().clamp(0, 9999) as u32, 4);
    put(6, date.month(), 2);
    put(8, date.day(), 2);
    put(10, now.hour(), 2);
    put(12, now.minute(), 2);
    let mut id = String::with_capacity(19 + symbol.len());
    id.push_str("noise-");
    id.extend(digits.iter().map(|d| char::from(*d)));
    id.push('-');
    id.push_str(symbol);
    id
}

/// The risk decision for `signal` and, when approved, the order to send.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    signal: &Signal,
    instrument: &Instrument,
    account: &AccountSnapshot,
    positions: &[PositionSnapshot],
    state: &RiskState,
    config: &RiskConfig,
    mode: RiskMode,
    now: DateTime<Utc>,
) -> (RiskDecision, Option<OrderRequest>) {
    let decision = match mode {
        RiskMode::Checked => risk::evaluate(signal, account, positions, state, instrument, now, config),
        RiskMode::Off { quantity } => risk::without_checks(signal, positions, quantity, now),
    };
    let order = decision.approval().map(|a| OrderRequest::from_approval(a, client_order_id(now, &signal.symbol)));
    (decision, order)
}

/// Reserves an approved entry's exposure and cost in `account` and
/// `positions`, so later signals of the same cycle see them. Called once
/// the order is certain to go out (its intent stored, or in a backtest its
/// book has it); an exit reserves nothing.
pub fn reserve(
    approval: &Approval,
    instrument: &Instrument,
    account: &mut AccountSnapshot,
    positions: &mut Vec<PositionSnapshot>,
) {
    if approval.intent() != Intent::Entry {
        return;
    }
    let signed = if approval.side() == Side::Buy { approval.quantity() } else { -approval.quantity() };
    positions.push(PositionSnapshot::new(instrument, signed, approval.entry(), approval.entry()));
    match instrument.asset_class {
        AssetClass::Equity => account.buying_power -= approval.quantity() * approval.entry(),
        AssetClass::Future => {
            account.available_margin -= approval.quantity() * instrument.initial_margin.unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_order_ids_are_the_minute_and_symbol() {
        let now = "2026-03-02T14:31:00Z".parse().unwrap();
        assert_eq!(client_order_id(now, "SPY"), "noise-202603021431-SPY");
        let same_minute = "2026-03-02T14:31:59Z".parse().unwrap();
        assert_eq!(client_order_id(same_minute, "SPY"), client_order_id(now, "SPY"));
    }
}
