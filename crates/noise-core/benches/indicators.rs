//! Indicator throughput over 1,000,000 bars, streaming and batch.
//!
//! The series is a deterministic xorshift random walk; `bench/indicators_vs_talib.py`
//! rebuilds the identical series in Python and times TA-Lib on it in the same run.
//! Divan reports time per iteration (one pass over all bars): divide by 10^6 for ns/bar.
//! "batch" is the dense `series` path (TA-Lib's output layout); for bar indicators
//! over columns (`series_of_columns`), as TA-Lib takes separate arrays.

use divan::{Bencher, black_box};
use noise_core::indicators::*;
use noise_core::market::{Candle, CandleColumns};

const BARS: usize = 1_000_000;

fn main() {
    divan::main();
}

/// The benchmark series; the Python script reproduces it bit for bit.
fn series() -> Vec<Candle> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut close = 100.0f64;
    (0..BARS)
        .map(|_| {
            let open = close;
            close = (open + (uniform() - 0.5) * 2.0).max(1.0);
            let high = open.max(close) + uniform();
            let low = (open.min(close) - uniform()).max(0.5);
            let volume = (uniform() * 1000.0).floor();
            Candle { open, high, low, close, volume }
        })
        .collect()
}

fn closes() -> Vec<f64> {
    series().iter().map(|c| c.close).collect()
}

macro_rules! price_bench {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;

            #[divan::bench(sample_count = 15, sample_size = 4)]
            fn streaming(bencher: Bencher) {
                let xs = closes();
                bencher.bench_local(|| {
                    let mut ind = $make;
                    for &x in &xs {
                        black_box(ind.update(black_box(x)));
                    }
                });
            }

            #[divan::bench(sample_count = 15, sample_size = 4)]
            fn batch(bencher: Bencher) {
                let xs = closes();
                bencher.bench_local(|| drop(black_box(noise_core::indicators::series($make, xs.iter().copied()))));
            }
        }
    };
}

macro_rules! bar_bench {
    ($module:ident, $make:expr) => {
        bar_bench!($module, $make, {
            // Batch over columns, as TA-Lib takes high, low, close as separate arrays.
            let columns: CandleColumns = series().into_iter().collect();
            move |bencher: Bencher| {
                bencher.bench_local(|| drop(black_box(series_of_columns($make, &columns))));
            }
        });
    };
    ($module:ident, $make:expr, $batch:block) => {
        mod $module {
            use super::*;

            #[divan::bench(sample_count = 15, sample_size = 4)]
            fn streaming(bencher: Bencher) {
                let bars = series();
                bencher.bench_local(|| {
                    let mut ind = $make;
                    for bar in &bars {
                        black_box(ind.update(black_box(bar)));
                    }
                });
            }

            #[divan::bench(sample_count = 15, sample_size = 4)]
            fn batch(bencher: Bencher) {
                let run = $batch;
                run(bencher);
            }
        }
    };
}

price_bench!(sma_20, Sma::new(20).unwrap());
price_bench!(ema_20, Ema::new(20).unwrap());
price_bench!(rsi_14, Rsi::new(14).unwrap());
price_bench!(macd_12_26_9, Macd::new(12, 26, 9).unwrap());
mod bbands_20_2 {
    use super::*;

    #[divan::bench(sample_count = 15, sample_size = 4)]
    fn streaming(bencher: Bencher) {
        let xs = closes();
        bencher.bench_local(|| {
            let mut ind = BollingerBands::new(20, 2.0).unwrap();
            for &x in &xs {
                black_box(ind.update(black_box(x)));
            }
        });
    }

    /// Bollinger's own slice batch (`BollingerBands::series_of`), bit-identical to streaming.
    #[divan::bench(sample_count = 15, sample_size = 4)]
    fn batch(bencher: Bencher) {
        let xs = closes();
        let bb = BollingerBands::new(20, 2.0).unwrap();
        bencher.bench_local(|| drop(black_box(bb.series_of(&xs))));
    }
}
bar_bench!(atr_14, Atr::new(14).unwrap());
bar_bench!(adx_14, Adx::new(14).unwrap());
bar_bench!(plus_minus_di_14, Dmi::new(14).unwrap());
bar_bench!(obv, Obv::default());
// Not Continuous (no ratio exists when the window had no volume): the sparse batch.
bar_bench!(volume_ratio_20, VolumeRatio::new(20).unwrap(), {
    let bars = series();
    move |bencher: Bencher| {
        bencher
            .bench_local(|| drop(black_box(noise_core::indicators::batch(VolumeRatio::new(20).unwrap(), bars.iter()))));
    }
});
bar_bench!(atr_percentile_14_100, AtrPercentile::new(14, 100).unwrap());

/// All indicators together, as the signal pipeline updates them per bar.
#[divan::bench(sample_count = 15, sample_size = 4)]
fn indicator_set_streaming(bencher: Bencher) {
    let bars = series();
    bencher.bench_local(|| {
        let mut set = IndicatorSet::new(&IndicatorParams::default()).unwrap();
        for bar in &bars {
            black_box(set.update(black_box(bar)));
        }
    });
}
