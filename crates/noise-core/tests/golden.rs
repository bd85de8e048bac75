//! Every indicator against TA-Lib's own output (fixtures made by
//! `tests/golden/generate.py` with the `ta-lib` package from PyPI): same
//! warm-up (the first value at the same index) and the same values to 1e-9
//! relative, on the streaming path and on the batch path.

use std::path::{Path, PathBuf};

use noise_core::indicators::*;
use noise_core::market::{Candle, CandleColumns, parse_bars};

const SERIES: [&str; 3] = ["mnq", "spy", "edge"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn candles(series: &str) -> Vec<Candle> {
    let path = dir().join(format!("{series}.bars.csv"));
    let data = std::fs::read(&path).unwrap();
    parse_bars(&path.display().to_string(), &data).unwrap().iter().map(|b| b.candle()).collect()
}

/// Reference columns by name; `None` where TA-Lib gave NaN.
struct Reference {
    names: Vec<String>,
    rows: Vec<Vec<Option<f64>>>,
}

impl Reference {
    fn load(file: &str) -> Self {
        let text = std::fs::read_to_string(dir().join(file)).unwrap();
        let mut lines = text.lines();
        let names = lines.next().unwrap().split(',').skip(1).map(String::from).collect();
        let rows = lines
            .map(|l| l.split(',').skip(1).map(|c| (!c.is_empty()).then(|| c.parse().unwrap())).collect())
            .collect();
        Self { names, rows }
    }

    fn column(&self, name: &str) -> Vec<Option<f64>> {
        let i = self.names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no column {name}"));
        self.rows.iter().map(|r| r[i]).collect()
    }
}

fn close_enough(ours: f64, theirs: f64) -> bool {
    // 1e-9 relative; a reference of exactly 0 needs 0 within 1e-12.
    (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1e-3)
}

#[track_caller]
fn assert_matches(label: &str, ours: &[Option<f64>], theirs: &[Option<f64>]) {
    assert_eq!(ours.len(), theirs.len(), "{label}: length");
    let first = |v: &[Option<f64>]| v.iter().position(Option::is_some);
    assert_eq!(first(ours), first(theirs), "{label}: first value at a different index");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        match (a, b) {
            (Some(a), Some(b)) => assert!(close_enough(*a, *b), "{label}[{i}]: ours {a} vs TA-Lib {b}"),
            (None, None) => {}
            _ => panic!("{label}[{i}]: ours {a:?} vs TA-Lib {b:?}"),
        }
    }
}

struct Params {
    rsi: usize,
    fast: usize,
    slow: usize,
    signal: usize,
    bb: usize,
    dev: f64,
    atr: usize,
    adx: usize,
    sma: usize,
    ema: usize,
}

const DEFAULTS: Params =
    Params { rsi: 14, fast: 12, slow: 26, signal: 9, bb: 20, dev: 2.0, atr: 14, adx: 14, sma: 20, ema: 20 };
const ALT: Params = Params { rsi: 7, fast: 5, slow: 35, signal: 5, bb: 10, dev: 1.5, atr: 5, adx: 9, sma: 3, ema: 50 };

type Column = Vec<Option<f64>>;

/// One indicator output computed two ways: through `batch`, and streaming by hand.
struct Computed {
    name: &'static str,
    batched: Column,
    streamed: Column,
}

fn stream<T>(inputs: impl Iterator<Item = T>, mut update: impl FnMut(T) -> Option<f64>) -> Column {
    inputs.map(&mut update).collect()
}

fn project<T: Copy>(values: &[Option<T>], f: fn(&T) -> f64) -> Column {
    values.iter().map(|v| v.as_ref().map(f)).collect()
}

fn ours(c: &[Candle], p: &Params) -> Vec<Computed> {
    let closes: Vec<f64> = c.iter().map(|c| c.close).collect();
    let prices = || closes.iter().copied();
    let computed = |name, batched, streamed| Computed { name, batched, streamed };

    let macd = batch(Macd::new(p.fast, p.slow, p.signal).unwrap(), prices());
    let mut m = Macd::new(p.fast, p.slow, p.signal).unwrap();
    let macd_stream: Vec<Option<MacdValue>> = prices().map(|x| m.update(x)).collect();
    let bands = batch(BollingerBands::new(p.bb, p.dev).unwrap(), prices());
    let mut bb = BollingerBands::new(p.bb, p.dev).unwrap();
    let bb_stream: Vec<Option<Bands>> = prices().map(|x| bb.update(x)).collect();
    let di = batch(Dmi::new(p.adx).unwrap(), c.iter());
    let mut adx = Adx::new(p.adx).unwrap();
    let mut di_stream = Vec::new();
    let adx_stream = stream(c.iter(), |x| {
        let v = adx.update(x);
        di_stream.push(adx.directional_index());
        v
    });

    let mut rsi = Rsi::new(p.rsi).unwrap();
    let mut atr = Atr::new(p.atr).unwrap();
    let mut sma = Sma::new(p.sma).unwrap();
    let mut ema = Ema::new(p.ema).unwrap();
    let mut obv = Obv::default();
    let mut tr = TrueRange::default();
    vec![
        computed("rsi", batch(Rsi::new(p.rsi).unwrap(), prices()), stream(prices(), |x| rsi.update(x))),
        computed("macd", project(&macd, |m| m.macd), project(&macd_stream, |m| m.macd)),
        computed("macd_signal", project(&macd, |m| m.signal), project(&macd_stream, |m| m.signal)),
        computed("macd_hist", project(&macd, |m| m.histogram), project(&macd_stream, |m| m.histogram)),
        computed("bb_upper", project(&bands, |b| b.upper), project(&bb_stream, |b| b.upper)),
        computed("bb_middle", project(&bands, |b| b.middle), project(&bb_stream, |b| b.middle)),
        computed("bb_lower", project(&bands, |b| b.lower), project(&bb_stream, |b| b.lower)),
        computed("atr", batch(Atr::new(p.atr).unwrap(), c.iter()), stream(c.iter(), |x| atr.update(x))),
        computed("adx", batch(Adx::new(p.adx).unwrap(), c.iter()), adx_stream),
        computed("plus_di", project(&di, |d| d.plus), project(&di_stream, |d| d.plus)),
        computed("minus_di", project(&di, |d| d.minus), project(&di_stream, |d| d.minus)),
        computed("sma", batch(Sma::new(p.sma).unwrap(), prices()), stream(prices(), |x| sma.update(x))),
        computed("ema", batch(Ema::new(p.ema).unwrap(), prices()), stream(prices(), |x| ema.update(x))),
        computed("obv", batch(Obv::default(), c.iter()), stream(c.iter(), |x| obv.update(x))),
        computed("trange", batch(TrueRange::default(), c.iter()), stream(c.iter(), |x| tr.update(x))),
    ]
}

fn default_column_name(ours: &str) -> String {
    match ours {
        "rsi" | "atr" | "adx" | "plus_di" | "minus_di" => format!("{ours}_14"),
        "sma" | "ema" => format!("{ours}_20"),
        other => other.to_string(),
    }
}

#[test]
fn talib_defaults() {
    for series in SERIES {
        let reference = Reference::load(&format!("{series}.talib.csv"));
        for Computed { name, batched, streamed } in ours(&candles(series), &DEFAULTS) {
            if name == "trange" {
                continue;
            }
            let theirs = reference.column(&default_column_name(name));
            assert_matches(&format!("{series} {name} batch"), &batched, &theirs);
            assert_matches(&format!("{series} {name} streaming"), &streamed, &theirs);
        }
    }
}

#[test]
fn talib_other_periods() {
    for series in SERIES {
        let reference = Reference::load(&format!("{series}.talib-alt.csv"));
        for Computed { name, batched, streamed } in ours(&candles(series), &ALT) {
            if name == "obv" {
                continue;
            }
            let theirs = reference.column(name);
            assert_matches(&format!("{series} {name} (alt) batch"), &batched, &theirs);
            assert_matches(&format!("{series} {name} (alt) streaming"), &streamed, &theirs);
        }
    }
}

#[test]
fn lookback_is_where_the_first_value_appears() {
    let c = candles("spy");
    let closes: Vec<f64> = c.iter().map(|c| c.close).collect();
    fn first<T>(v: &[Option<T>]) -> usize {
        v.iter().position(Option::is_some).unwrap()
    }
    let rsi = Rsi::new(14).unwrap();
    assert_eq!((rsi.lookback(), first(&batch(rsi, closes.iter().copied()))), (14, 14));
    let macd = Macd::new(12, 26, 9).unwrap();
    assert_eq!((macd.lookback(), first(&batch(macd, closes.iter().copied()))), (33, 33));
    let bb = BollingerBands::new(20, 2.0).unwrap();
    assert_eq!((bb.lookback(), first(&batch(bb, closes.iter().copied()))), (19, 19));
    let atr = Atr::new(14).unwrap();
    assert_eq!((atr.lookback(), first(&batch(atr, c.iter()))), (14, 14));
    let adx = Adx::new(14).unwrap();
    assert_eq!((adx.lookback(), first(&batch(adx, c.iter()))), (27, 27));
    let dmi = Dmi::new(14).unwrap();
    assert_eq!((dmi.lookback(), first(&batch(dmi, c.iter()))), (14, 14));
    let pct = AtrPercentile::new(14, 100).unwrap();
    assert_eq!((pct.lookback(), first(&batch(pct, c.iter()))), (113, 113));
}

/// The dense batch path (`series`) holds the same values as `batch`, starting
/// at the lookback.
#[test]
fn dense_series_equals_batch() {
    fn check<In: Copy, I: Indicator<In> + Continuous + Clone>(ind: I, inputs: &[In])
    where
        I::Output: PartialEq + std::fmt::Debug,
    {
        let dense = series(ind.clone(), inputs.iter().copied());
        let sparse = batch(ind.clone(), inputs.iter().copied());
        assert_eq!(dense.start, ind.lookback());
        assert_eq!(sparse.iter().position(Option::is_some), Some(dense.start));
        let flattened: Vec<I::Output> = sparse.into_iter().flatten().collect();
        assert_eq!(flattened, dense.values);
        assert_eq!(dense.get(dense.start), dense.values.first());
        assert_eq!(dense.get(dense.start.wrapping_sub(1)), None);
    }
    let c = candles("mnq");
    let closes: Vec<f64> = c.iter().map(|c| c.close).collect();
    let refs: Vec<&Candle> = c.iter().collect();
    check(Sma::new(20).unwrap(), &closes);
    check(Ema::new(20).unwrap(), &closes);
    check(Rsi::new(14).unwrap(), &closes);
    check(Macd::new(12, 26, 9).unwrap(), &closes);
    check(BollingerBands::new(20, 2.0).unwrap(), &closes);
    // Bollinger's slice batch equals its streaming path bit for bit.
    for name in SERIES {
        let prices: Vec<f64> = candles(name).iter().map(|c| c.close).collect();
        for (period, deviations) in [(20, 2.0), (10, 1.5), (2, 1.0)] {
            let bb = BollingerBands::new(period, deviations).unwrap();
            assert_eq!(bb.series_of(&prices), series(bb.clone(), prices.iter().copied()), "{name} {period}");
        }
    }
    check(Atr::new(14).unwrap(), &refs);
    check(Adx::new(14).unwrap(), &refs);
    check(Dmi::new(14).unwrap(), &refs);
    check(Obv::default(), &refs);
    check(AtrPercentile::new(14, 100).unwrap(), &refs);

    let columns: CandleColumns = c.iter().copied().collect();
    assert_eq!(series_of_columns(Atr::new(14).unwrap(), &columns), series(Atr::new(14).unwrap(), c.iter()));
    assert_eq!(series_of_columns(Adx::new(14).unwrap(), &columns), series(Adx::new(14).unwrap(), c.iter()));
    assert_eq!(series_of_columns(Dmi::new(14).unwrap(), &columns), series(Dmi::new(14).unwrap(), c.iter()));
    assert_eq!(series_of_columns(Obv::default(), &columns), series(Obv::default(), c.iter()));
}
