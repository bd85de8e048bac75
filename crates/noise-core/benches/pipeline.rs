//! The whole per-symbol signal pipeline per new 1-minute bar: 5m/15m
//! resampling and trends, every indicator, regime, the strategies, the
//! weighted combination, the filters and the candidate with its provenance.
//!
//! Input: the bundled MNQ sample (three Globex sessions, 4,140 bars) replayed
//! ten times back to back, 41,400 bars; each iteration replays all of them
//! through a fresh pipeline, so divide by 41,400 for the time per bar.

use chrono::TimeDelta;
use divan::{Bencher, black_box};
use noise_core::config::NoiseConfig;
use noise_core::market::{Bar, Timeframe, parse_bars};
use noise_core::signal::SymbolPipeline;

fn main() {
    divan::main();
}

fn bars() -> Vec<Bar> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/mnq-1m.csv");
    let one = parse_bars(path, &std::fs::read(path).expect("sample data")).expect("valid sample");
    // Each copy one week later: same weekdays, so the Globex sessions line up.
    (0..10)
        .flat_map(|copy| {
            let shift = TimeDelta::weeks(copy);
            one.iter().map(move |b| Bar { time: b.time + shift, ..b.clone() })
        })
        .collect()
}

#[divan::bench(sample_count = 20)]
fn per_bar_pipeline_41400_bars(bencher: Bencher) {
    let config = NoiseConfig::default();
    let instrument = config.instrument("MNQ").unwrap().clone();
    let bars = bars();
    bencher.counter(divan::counter::ItemsCount::new(bars.len())).bench_local(|| {
        let mut pipeline = SymbolPipeline::new(instrument.clone(), &config.signals, &config.indicators).unwrap();
        let mut produced = 0usize;
        for bar in &bars {
            let now = bar.time + Timeframe::M1.duration();
            produced += usize::from(pipeline.on_bar(black_box(bar), now).unwrap().is_some());
        }
        produced
    });
}
