//! `noise run --replay` and `noise backtest` on the same bars store the
//! same round trips, trade by trade: entry and exit time and price,
//! quantity, gross, fees, net, the fills and orders behind them. One core
//! drives both; this holds it to that on the bundled samples and on
//! generated series (two symbols at once, partial fills).

use std::path::Path;
use std::sync::Arc;

use noise_broker::sim::{ReplayMarket, SimBroker, SimConfig};
use noise_core::config::NoiseConfig;
use noise_core::instrument::Instrument;
use noise_core::ledger::RoundTrip;
use noise_core::market::Bar;
use noise_engine::backtest::{BacktestOptions, Series, random_walk};
use noise_engine::{Engine, MarketSource, RiskMode, RunOptions};
use noise_store::Store;
use rust_decimal::Decimal;

type Groups = Vec<(String, Vec<Bar>)>;

fn sample(name: &str) -> Groups {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample").join(name);
    let symbol = name.split('-').next().unwrap().to_uppercase();
    noise_core::market::parse_bars_by_symbol(name, &std::fs::read(&path).unwrap(), &symbol).unwrap()
}

/// `noise run --replay`: the live loop over the simulated broker, stored.
async fn replayed(groups: &Groups, config: &NoiseConfig, sim: &SimConfig) -> (Vec<RoundTrip>, Decimal) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let broker = Arc::new(SimBroker::open(&dir.path().join("sim.json"), sim.clone(), &config.instruments).unwrap());
    let mut engine = Engine::new(config.clone(), store.clone(), broker.clone()).await.unwrap();
    let market = ReplayMarket::new(groups.clone());
    let options = RunOptions {
        speed: 0.0,
        start: market.first_minute().unwrap(),
        warm_up_days: 0,
        source: MarketSource::Replay(market),
        max_minutes: None,
    };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    noise_engine::run(&mut engine, broker.clone(), &config.instruments, &options, stop, None, &mut |_, _| {})
        .await
        .unwrap();
    let mut conn = store.acquire().await.unwrap();
    let trips = noise_store::records::all_round_trips(&mut conn).await.unwrap();
    (trips, noise_broker::BrokerAdapter::account(broker.as_ref()).await.unwrap().equity)
}

/// `noise backtest`: the same bars through the backtest's shell.
fn backtested(groups: &Groups, config: &NoiseConfig, sim: &SimConfig) -> (Vec<RoundTrip>, Decimal) {
    let series: Vec<Series> = groups
        .iter()
        .map(|(symbol, bars)| Series {
            instrument: config.instruments.iter().find(|i| &i.symbol == symbol).unwrap().clone(),
            bars: bars.clone(),
        })
        .collect();
    let options = BacktestOptions {
        strategy: None,
        risk: RiskMode::Checked,
        long_only: false,
        sim: sim.clone(),
        risk_free_rate: 0.0,
    };
    let report = noise_engine::backtest::run(&series, config, &options, &mut |_| {}).unwrap();
    (report.trades, report.final_equity)
}

async fn same_round_trips(groups: Groups, config: NoiseConfig, sim: SimConfig, at_least: usize) {
    let (live, live_equity) = replayed(&groups, &config, &sim).await;
    let (test, test_equity) = backtested(&groups, &config, &sim);
    assert!(live.len() >= at_least, "{} round trips", live.len());
    for (i, (a, b)) in live.iter().zip(&test).enumerate() {
        assert_eq!(a, b, "round trip {i} differs");
    }
    assert_eq!(live.len(), test.len());
    assert_eq!(live_equity, test_equity, "the same final equity");
}

#[tokio::test]
async fn the_spy_sample_trades_the_same_in_both() {
    let config = NoiseConfig::default();
    same_round_trips(sample("spy-1m.csv"), config.clone(), SimConfig::from(&config.sim), 50).await;
}

#[tokio::test]
async fn the_mnq_sample_trades_the_same_in_both() {
    let config = NoiseConfig::default();
    same_round_trips(sample("mnq-1m.csv"), config.clone(), SimConfig::from(&config.sim), 50).await;
}

/// Two generated symbols traded at once (their fills and closes interleave
/// in the risk state), filled in parts under a volume cap, with commissions.
#[tokio::test]
async fn two_generated_series_with_partial_fills_trade_the_same_in_both() {
    let mut config = NoiseConfig::default();
    // Two equities with SPY's facts (tick, correlation group and its cap).
    let spy = config.instruments.iter().find(|i| i.symbol == "SPY").unwrap().clone();
    config.instruments =
        vec![Instrument { symbol: "GENA".into(), ..spy.clone() }, Instrument { symbol: "GENB".into(), ..spy }];
    let mut b = random_walk(4_000, 5);
    for bar in &mut b {
        // A second market at about half the first's price.
        for price in [&mut bar.open, &mut bar.high, &mut bar.low, &mut bar.close] {
            *price = (*price / Decimal::TWO).round_dp(2);
        }
    }
    let groups = vec![("GENA".to_string(), random_walk(4_000, 4)), ("GENB".to_string(), b)];
    let sim = SimConfig {
        max_volume_share: Decimal::new(5, 2),
        commission_per_share: Decimal::new(35, 4),
        ..SimConfig::from(&config.sim)
    };
    same_round_trips(groups, config, sim, 20).await;
}
