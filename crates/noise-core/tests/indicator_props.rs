//! Invariants of the indicators, on generated data.

use noise_core::indicators::*;
use noise_core::market::Candle;
use proptest::prelude::*;

/// Bars that stress the numerics: flat stretches, zero volume, constant bars,
/// tiny and large price levels, jumps.
fn candles() -> impl Strategy<Value = Vec<Candle>> {
    let level = prop_oneof![Just(0.0001), Just(0.5), Just(100.0), Just(25_000.0), Just(1.0e7)];
    (level, proptest::collection::vec((0u8..4, -3i32..=3, 0u32..4, 0u32..4, 0u32..3), 0..400)).prop_map(
        |(level, steps)| {
            let tick = level / 1000.0;
            let mut close = level;
            steps
                .into_iter()
                .map(|(kind, step, up, down, vol)| {
                    if kind == 0 {
                        return Candle { open: close, high: close, low: close, close, volume: 0.0 };
                    }
                    let open = close;
                    close = (open + f64::from(step) * tick).max(tick);
                    let high = open.max(close) + f64::from(up) * tick;
                    let low = (open.min(close) - f64::from(down) * tick).max(tick / 2.0);
                    Candle { open, high, low, close, volume: f64::from(vol) * 100.0 }
                })
                .collect()
        },
    )
}

fn all_finite(s: &IndicatorSnapshot) -> bool {
    let opt = |v: Option<f64>| v.is_none_or(f64::is_finite);
    opt(s.rsi)
        && s.macd.is_none_or(|m| m.macd.is_finite() && m.signal.is_finite() && m.histogram.is_finite())
        && s.bands.is_none_or(|b| b.upper.is_finite() && b.middle.is_finite() && b.lower.is_finite())
        && opt(s.atr)
        && opt(s.adx)
        && s.di.is_none_or(|d| d.plus.is_finite() && d.minus.is_finite())
        && opt(s.obv)
        && opt(s.sma)
        && opt(s.ema)
        && opt(s.volume_ratio)
        && opt(s.atr_percentile)
}

proptest! {
    #[test]
    fn no_nan_or_infinity_ever_leaks_out(bars in candles()) {
        let mut set = IndicatorSet::new(&IndicatorParams::default()).unwrap();
        for bar in &bars {
            let s = set.update(bar);
            prop_assert!(all_finite(&s), "{s:?} after {bar:?}");
            if let Some(rsi) = s.rsi { prop_assert!((0.0..=100.0).contains(&rsi)); }
            if let Some(adx) = s.adx { prop_assert!((0.0..=100.0 + 1e-9).contains(&adx)); }
            if let Some(p) = s.atr_percentile { prop_assert!((0.0..=100.0).contains(&p)); }
            if let Some(b) = s.bands { prop_assert!(b.lower <= b.middle && b.middle <= b.upper); }
        }
    }

    /// Feeding a series in pieces through clones (as an engine that
    /// snapshots its state would) gives exactly the batch result.
    #[test]
    fn streaming_in_pieces_equals_batch(bars in candles(), cut in 0usize..400) {
        let closes: Vec<f64> = bars.iter().map(|c| c.close).collect();
        let whole = batch(Macd::new(12, 26, 9).unwrap(), closes.iter().copied());
        let mut first = Macd::new(12, 26, 9).unwrap();
        let cut = cut.min(closes.len());
        let mut pieces: Vec<_> = closes[..cut].iter().map(|&x| first.update(x)).collect();
        let mut second = first.clone();
        pieces.extend(closes[cut..].iter().map(|&x| second.update(x)));
        prop_assert_eq!(whole, pieces);

        let whole = batch(Adx::new(14).unwrap(), bars.iter());
        let mut first = Adx::new(14).unwrap();
        let mut pieces: Vec<_> = bars[..cut].iter().map(|c| first.update(c)).collect();
        let mut second = first.clone();
        pieces.extend(bars[cut..].iter().map(|c| second.update(c)));
        prop_assert_eq!(whole, pieces);
    }

    #[test]
    fn sma_is_the_mean_of_its_window(xs in proptest::collection::vec(1.0f64..1000.0, 1..200), period in 1usize..30) {
        let out = batch(Sma::new(period).unwrap(), xs.iter().copied());
        for (i, v) in out.iter().enumerate() {
            match v {
                None => prop_assert!(i + 1 < period),
                Some(v) => {
                    let mean = xs[i + 1 - period..=i].iter().sum::<f64>() / period as f64;
                    prop_assert!((v - mean).abs() <= 1e-9 * mean);
                }
            }
        }
    }

    #[test]
    fn params_problems_agree_with_the_constructors(rsi in 0usize..4, fast in 0usize..4, slow in 0usize..4, bb in 0usize..4, dev in -1.0f64..3.0, look in 0usize..4) {
        let params = IndicatorParams { rsi_period: rsi, macd_fast: fast, macd_slow: slow, bb_period: bb, bb_deviations: dev, atr_percentile_lookback: look, ..IndicatorParams::default() };
        prop_assert_eq!(params.problems().is_empty(), IndicatorSet::new(&params).is_ok());
    }
}

#[test]
fn flat_market_reads_neutral() {
    let flat = Candle { open: 50.0, high: 50.0, low: 50.0, close: 50.0, volume: 0.0 };
    let mut set = IndicatorSet::new(&IndicatorParams::default()).unwrap();
    let last = (0..200).map(|_| set.update(&flat)).last().unwrap();
    assert_eq!(last.rsi, Some(0.0), "TA-Lib's RSI of a motionless market");
    assert_eq!(last.adx, Some(0.0));
    assert_eq!(last.atr, Some(0.0));
    assert_eq!(last.atr_percentile, Some(50.0), "a constant ATR ranks in the middle");
    assert_eq!(last.volume_ratio, None, "no trading: no ratio");
    let b = last.bands.unwrap();
    assert_eq!((b.upper, b.middle, b.lower), (50.0, 50.0, 50.0));
}

#[test]
fn volume_ratio_and_percentile_by_hand() {
    let bar = |close: f64, range: f64, volume: f64| Candle {
        open: close,
        high: close + range,
        low: close - range,
        close,
        volume,
    };
    let mut ratio = VolumeRatio::new(4).unwrap();
    let got: Vec<_> = [100.0, 100.0, 100.0, 300.0, 0.0].iter().map(|&v| ratio.update(&bar(10.0, 1.0, v))).collect();
    assert_eq!(got, vec![None, None, None, Some(2.0), Some(0.0)]);

    let mut pct = AtrPercentile::new(1, 4).unwrap();
    // ATR(1) is the true range: the first bar has none; then 2, 4, 6, 8, 3.
    let ranges = [1.0, 1.0, 2.0, 3.0, 4.0, 1.5];
    let got: Vec<_> = ranges.iter().map(|&r| pct.update(&bar(10.0, r, 1.0))).collect();
    // Window [2,4,6,8]: 8 has 3 below → (3 + 0.5) / 4. Then [4,6,8,3]: 3 is lowest → 0.5/4.
    assert_eq!(got, vec![None, None, None, None, Some(87.5), Some(12.5)]);
}

/// Over a long series at futures prices, σ stays within 1e-9 of an exact
/// two-pass computation (a running sum of squares drifts past that).
#[test]
fn bollinger_sigma_stays_exact_over_long_series() {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut price = 20_000.0f64;
    let closes: Vec<f64> = (0..300_000)
        .map(|_| {
            price += ((uniform() - 0.5) * 8.0).round() * 0.25;
            price
        })
        .collect();
    let bands = series(BollingerBands::new(20, 2.0).unwrap(), closes.iter().copied());
    for i in (19..closes.len()).step_by(997) {
        let window = &closes[i - 19..=i];
        let mean = window.iter().sum::<f64>() / 20.0;
        let sigma = (window.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 20.0).sqrt();
        let ours = bands.get(i).unwrap();
        let ours_sigma = (ours.upper - ours.middle) / 2.0;
        assert!((ours_sigma - sigma).abs() <= 1e-9 * sigma.max(1e-3), "bar {i}: σ {ours_sigma} vs exact {sigma}");
    }
}
