//! `noise backtest`'s simulation on 1,000,000 one-minute bars (a random walk
//! in whole cents, contiguous minutes, like bench/peers/series.py): SMA-cross
//! 10/30 long-only with risk off (the peers' terms), and the full weighted
//! pipeline with every risk check. Loading is not measured.

use divan::Bencher;
use noise_broker::sim::SimConfig;
use noise_core::config::NoiseConfig;
use noise_core::instrument::Instrument;
use noise_core::market::Bar;
use noise_engine::RiskMode;
use noise_engine::backtest::{BacktestOptions, PEERS_SEED, Series, random_walk, run};
use rust_decimal::Decimal;

fn main() {
    divan::main();
}

const BARS: usize = 1_000_000;

fn walk(n: usize) -> Vec<Bar> {
    random_walk(n, PEERS_SEED)
}

fn options(strategy: Option<&str>, risk: RiskMode, long_only: bool) -> BacktestOptions {
    BacktestOptions {
        strategy: strategy.map(str::to_string),
        risk,
        long_only,
        sim: SimConfig { slippage_ticks: 0, commission_per_share: Decimal::ZERO, ..SimConfig::default() },
        risk_free_rate: 0.0,
    }
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn sma_cross_1m_bars(bencher: Bencher) {
    let series = [Series { instrument: Instrument::generic_equity("SYN"), bars: walk(BARS) }];
    let config = NoiseConfig::default();
    let options = options(Some("sma_cross"), RiskMode::Off { quantity: Decimal::from(100) }, true);
    bencher.bench_local(|| run(&series, &config, &options, &mut |_| {}).unwrap().trades.len());
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn full_pipeline_1m_bars(bencher: Bencher) {
    let config = NoiseConfig::default();
    let spy = config.instrument("SPY").unwrap().clone();
    let series = [Series { instrument: spy, bars: walk(BARS) }];
    let options = options(None, RiskMode::Checked, false);
    bencher.bench_local(|| run(&series, &config, &options, &mut |_| {}).unwrap().trades.len());
}

// The same signals, all refused (a size of zero): what the bars cost without
// any order, so the difference to `sma_cross_1m_bars` is the orders' and fills' share.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn sma_cross_no_orders(bencher: Bencher) {
    let series = [Series { instrument: Instrument::generic_equity("SYN"), bars: walk(BARS) }];
    let config = NoiseConfig::default();
    let options = options(Some("sma_cross"), RiskMode::Off { quantity: Decimal::ZERO }, true);
    bencher.bench_local(|| run(&series, &config, &options, &mut |_| {}).unwrap().trades.len());
}
