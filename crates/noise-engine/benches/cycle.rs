//! One full trading cycle for 20 symbols with the simulated broker and an
//! on-disk SQLite database (WAL, synchronous = FULL): the minute's bars into
//! the broker (fills), then the engine's minute: the order monitor (order
//! states, the ledger's fills, legs, round trips), the signal cycle (20
//! pipelines, risk, write-ahead intents, orders) and the answers. Each iteration is the next simulated minute of a trading day
//! (10:00 New York onwards, indicators warmed on four days of history).

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use divan::Bencher;
use noise_broker::sim::{SimBroker, SimConfig, SyntheticMarket};
use noise_core::config::NoiseConfig;
use noise_core::instrument::Instrument;
use noise_engine::Engine;
use noise_store::Store;

fn main() {
    divan::main();
}

/// The nine default instruments and eleven more equities: twenty symbols.
fn twenty() -> Vec<Instrument> {
    let mut all = Instrument::defaults();
    let template = all.iter().find(|i| i.symbol == "SPY").unwrap().clone();
    for symbol in ["AAPL", "MSFT", "NVDA", "AMZN", "META", "GOOG", "TSLA", "AMD", "IWM", "DIA", "XLK"] {
        all.push(Instrument { symbol: symbol.into(), ..template.clone() });
    }
    all
}

#[divan::bench(sample_count = 30, sample_size = 10)]
fn cycle_20_symbols(bencher: Bencher) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = NoiseConfig { instruments: twenty(), ..NoiseConfig::default() };
    let start = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap();
    let (mut engine, sim, mut market) = runtime.block_on(async {
        let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
        let sim =
            Arc::new(SimBroker::open(&dir.path().join("sim.json"), SimConfig::default(), &config.instruments).unwrap());
        let mut market = SyntheticMarket::new(7, &config.instruments, start - TimeDelta::days(4));
        let mut engine = Engine::new(config.clone(), store, sim.clone()).await.unwrap();
        while market.next_minute() < start {
            let (_, bars) = market.advance();
            for (symbol, bar) in &bars {
                engine.warm_up(symbol, bar).unwrap();
            }
        }
        engine.reconcile(start).await.unwrap();
        (engine, sim, market)
    });
    bencher.bench_local(|| {
        runtime.block_on(async {
            let (close, bars) = market.advance();
            sim.on_bars(&bars).await.unwrap();
            engine.minute(close, &bars).await.unwrap().len()
        })
    });
}
