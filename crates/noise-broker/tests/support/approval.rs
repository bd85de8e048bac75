//! Orders for broker tests made the only way orders are made: a real
//! signal from a bundled sample, approved by the risk manager.

use chrono::Utc;
use noise_core::config::NoiseConfig;
use noise_core::market::{Timeframe, parse_bars};
use noise_core::risk::{AccountSnapshot, Approval, RiskConfig, RiskState, evaluate};
use noise_core::signal::{Direction, Evaluation, SignalManager};
use rust_decimal_macros::dec;

/// A real approval: the first signal of `direction` in a bundled sample,
/// passed through the risk manager.
pub fn approval(symbol: &str, file: &str, direction: Direction) -> (Approval, chrono::DateTime<Utc>) {
    let config = NoiseConfig::default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/").to_string() + file;
    let bars = parse_bars(&path, &std::fs::read(&path).unwrap()).unwrap();
    let instrument = config.instrument(symbol).unwrap();
    let end = bars.last().unwrap().time + Timeframe::M1.duration();
    let signal = SignalManager::replay(&bars, instrument, end, &config.signals, &config.indicators)
        .unwrap()
        .into_iter()
        .find_map(|e| match e {
            Evaluation::Signal(s) if s.direction == direction => Some(s),
            _ => None,
        })
        .unwrap();
    let account = AccountSnapshot {
        equity: dec!(100000),
        cash: dec!(100000),
        buying_power: dec!(200000),
        available_margin: dec!(100000),
        margin_account: true,
        broker_day_trades: None,
    };
    let decision = evaluate(
        &signal,
        &account,
        &[],
        &RiskState::new(dec!(100000)),
        instrument,
        signal.time,
        &RiskConfig::default(),
    );
    (decision.into_approval().expect("approved"), signal.time)
}
