//! One full risk evaluation: every check of the chain, an equity signal
//! that is sized and then reduced by a cap, against four open positions and
//! forty closed trades of Kelly history.

use chrono::{TimeZone, Utc};
use divan::{Bencher, black_box};
use noise_core::instrument::Instrument;
use noise_core::market::Timeframe;
use noise_core::risk::{AccountSnapshot, PositionSnapshot, RiskConfig, RiskState, evaluate};
use noise_core::signal::{Direction, Evaluation, SignalManager};
use rust_decimal::Decimal;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 50, sample_size = 1000)]
fn one_evaluation(bencher: Bencher) {
    // A real signal from the bundled sample, so the whole type is genuine.
    let config = noise_core::config::NoiseConfig::default();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/spy-1m.csv");
    let bars = noise_core::market::parse_bars(path, &std::fs::read(path).unwrap()).unwrap();
    let spy = config.instrument("SPY").unwrap().clone();
    let end = bars.last().unwrap().time + Timeframe::M1.duration();
    let signal = SignalManager::replay(&bars, &spy, end, &config.signals, &config.indicators)
        .unwrap()
        .into_iter()
        .find_map(|e| match e {
            Evaluation::Signal(s) if s.direction == Direction::Long => Some(s),
            _ => None,
        })
        .expect("the sample has a long signal");
    let instruments = Instrument::defaults();
    let position = |symbol: &str, qty: i64, price: i64| {
        let i = instruments.iter().find(|i| i.symbol == symbol).unwrap();
        PositionSnapshot::new(i, Decimal::from(qty), Decimal::from(price), Decimal::from(price))
    };
    let positions =
        vec![position("QQQ", 50, 500), position("MES", 1, 5800), position("MCL", 2, 70), position("MGC", 1, 2600)];
    let account = AccountSnapshot {
        equity: Decimal::from(250_000),
        cash: Decimal::from(250_000),
        buying_power: Decimal::from(500_000),
        available_margin: Decimal::from(200_000),
        margin_account: true,
        broker_day_trades: None,
    };
    let mut state = RiskState::new(account.equity);
    state.recent_results = (0..40).map(|i| Decimal::from(if i % 5 < 3 { 120 } else { -80 })).collect();
    let risk = RiskConfig::default();
    let now = Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap();
    let decision = evaluate(&signal, &account, &positions, &state, &spy, now, &risk);
    assert!(!decision.is_blocked(), "the bench must run the whole chain: {decision:?}");
    assert_eq!(decision.checks.len(), noise_core::risk::CHAIN.len());
    bencher.bench_local(|| {
        evaluate(black_box(&signal), black_box(&account), black_box(&positions), black_box(&state), &spy, now, &risk)
    });
}
