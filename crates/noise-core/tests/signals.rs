//! The signal pipeline on the bundled sample series: no look-ahead, the
//! pure and streaming forms agree, and every evaluation carries provenance.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use noise_core::config::NoiseConfig;
use noise_core::market::{Bar, Timeframe, parse_bars};
use noise_core::signal::{Direction, Evaluation, SignalManager, SymbolPipeline};
use rust_decimal::Decimal;

fn sample(name: &str) -> Vec<Bar> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample").join(name);
    parse_bars(&path.display().to_string(), &std::fs::read(&path).unwrap()).unwrap()
}

fn close_of(bar: &Bar) -> DateTime<Utc> {
    bar.time + Timeframe::M1.duration()
}

fn replay(symbol: &str, bars: &[Bar]) -> Vec<Evaluation> {
    let config = NoiseConfig::default();
    let instrument = config.instrument(symbol).unwrap().clone();
    let mut pipeline = SymbolPipeline::new(instrument, &config.signals, &config.indicators).unwrap();
    bars.iter().filter_map(|b| pipeline.on_bar(b, close_of(b)).unwrap()).collect()
}

/// A 5m or 15m bar is visible only once its last minute has closed, and the
/// trend can change only when one becomes visible.
#[test]
fn higher_timeframes_never_see_an_unclosed_bar() {
    let config = NoiseConfig::default();
    let bars = sample("spy-1m.csv");
    let mut pipeline =
        SymbolPipeline::new(config.instrument("SPY").unwrap().clone(), &config.signals, &config.indicators).unwrap();
    let mut previous: Vec<_> = pipeline.higher_trends();
    for bar in &bars {
        let now = close_of(bar);
        pipeline.on_bar(bar, now).unwrap();
        for ((tf, trend, completed), (_, old_trend, old_completed)) in
            pipeline.higher_trends().into_iter().zip(&previous)
        {
            if let Some(open) = completed {
                assert!(open + tf.duration() <= now, "{tf} bar opened {open} visible at {now}");
                // The latest bucket that has ended by now is the one visible (no trading gaps inside a session).
                let bucket_end = DateTime::from_timestamp(now.timestamp() / tf.seconds() * tf.seconds(), 0).unwrap();
                if bucket_end == now {
                    assert_eq!(open + tf.duration(), now, "{tf} bar ending at {now} must be visible at its close");
                }
            }
            if completed == *old_completed {
                assert_eq!(trend, *old_trend, "{tf} trend changed at {now} without a newly completed bar");
            }
        }
        previous = pipeline.higher_trends();
    }
}

/// Bars after `now` in the history change nothing: the pure function
/// cannot look ahead, and it equals the streaming pipeline.
#[test]
fn pure_manager_equals_streaming_and_ignores_the_future() {
    let config = NoiseConfig::default();
    let bars = sample("spy-1m.csv");
    let spy = config.instrument("SPY").unwrap();
    let streamed = replay("SPY", &bars);
    let end = close_of(&bars[bars.len() - 1]);
    let pure = SignalManager::replay(&bars, spy, end, &config.signals, &config.indicators).unwrap();
    assert_eq!(pure, streamed);

    // Evaluate at a time inside the data, with and without the bars after it.
    let cut = 2_500;
    let now = close_of(&bars[cut]);
    let with_future = SignalManager::evaluate(&bars, spy, now, &config.signals, &config.indicators).unwrap();
    let without = SignalManager::evaluate(&bars[..=cut], spy, now, &config.signals, &config.indicators).unwrap();
    assert_eq!(with_future, without);
    let expected = streamed.iter().find(|e| e.candidate().time == now).cloned();
    assert_eq!(with_future, expected);
}

#[test]
fn every_evaluation_carries_its_provenance() {
    for (symbol, file) in [("SPY", "spy-1m.csv"), ("MNQ", "mnq-1m.csv")] {
        let config = NoiseConfig::default();
        let instrument = config.instrument(symbol).unwrap().clone();
        let evaluations = replay(symbol, &sample(file));
        let signals = evaluations.iter().filter(|e| e.signal().is_some()).count();
        assert!(signals > 0 && signals < evaluations.len(), "{symbol}: {signals} signals of {}", evaluations.len());
        for e in &evaluations {
            let c = e.candidate();
            assert!((0.0..=1.0).contains(&c.strength));
            assert!(!c.components.is_empty());
            let contributions: f64 = c.components.iter().map(|x| x.contribution).sum();
            assert!((contributions.abs() - c.strength).abs() < 1e-9, "components must add up to the strength");
            assert!(c.components.iter().all(|x| !x.reasons.is_empty() && x.weight > 0.0));
            let names: Vec<&str> = c.filters.iter().map(|f| f.name).collect();
            assert!(names.starts_with(&["strength", "time_of_day", "regime", "multi_timeframe"]));
            // Levels: on the tick grid, on the right side, at least a tick away.
            let tick = instrument.tick_size;
            for level in [c.entry, c.stop_loss, c.take_profit] {
                assert_eq!(level % tick, Decimal::ZERO, "{level} off the {tick} grid");
            }
            match c.direction {
                Direction::Long => assert!(c.stop_loss <= c.entry - tick && c.take_profit >= c.entry + tick),
                Direction::Short => assert!(c.stop_loss >= c.entry + tick && c.take_profit <= c.entry - tick),
            }
            match e {
                Evaluation::Signal(_) => assert!(c.filters.iter().all(|f| f.passed)),
                Evaluation::Rejected(r) => {
                    assert!(c.filters.iter().any(|f| !f.passed));
                    let first_failed = c.filters.iter().find(|f| !f.passed).unwrap();
                    assert!(r.reason().starts_with(first_failed.name), "{}", r.reason());
                }
            }
        }
    }
}

#[test]
fn signals_only_inside_the_trading_window() {
    let bars = sample("spy-1m.csv");
    for e in replay("SPY", &bars).iter().filter_map(|e| e.signal()) {
        let session = noise_core::calendar::Venue::UsEquities.session_at(e.time - TimeDelta::seconds(1)).unwrap();
        assert!(e.time >= session.open + TimeDelta::minutes(15) && e.time < session.close - TimeDelta::minutes(15));
    }
}

#[test]
fn a_bar_is_refused_before_its_close() {
    let config = NoiseConfig::default();
    let bars = sample("spy-1m.csv");
    let mut pipeline =
        SymbolPipeline::new(config.instrument("SPY").unwrap().clone(), &config.signals, &config.indicators).unwrap();
    let early = close_of(&bars[0]) - TimeDelta::seconds(1);
    assert!(pipeline.on_bar(&bars[0], early).is_err());
    assert!(pipeline.on_bar(&bars[0], close_of(&bars[0])).is_ok());
    assert!(pipeline.on_bar(&bars[0], close_of(&bars[1])).is_err(), "the same bar twice is out of order");
}
