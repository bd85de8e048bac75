use rust_decimal_macros::dec;

use super::*;

const START: &str = "2024-01-01T00:00:00Z";

fn walk(n: usize, seed: u64) -> Vec<Bar> {
    random_walk(n, seed)
}

fn sma_cross_options(quantity: Decimal) -> BacktestOptions {
    BacktestOptions {
        strategy: Some("sma_cross".into()),
        risk: RiskMode::Off { quantity },
        long_only: true,
        sim: SimConfig {
            starting_cash: dec!(100000),
            slippage_ticks: 0,
            commission_per_share: Decimal::ZERO,
            commission_per_contract: Decimal::ZERO,
            max_volume_share: Decimal::ZERO,
        },
        risk_free_rate: 0.0,
    }
}

fn series(bars: Vec<Bar>) -> Vec<Series> {
    vec![Series { instrument: Instrument::generic_equity("SYN"), bars }]
}

fn backtest(bars: Vec<Bar>, options: &BacktestOptions) -> BacktestReport {
    run(&series(bars), &NoiseConfig::default(), options, &mut |_| {}).unwrap()
}

/// The rule written out plainly: SMAs summed afresh each bar, the same tie
/// tolerance, orders at the close filled at the next bar's open.
fn reference_sma_cross(
    bars: &[Bar],
    fast: usize,
    slow: usize,
    qty: Decimal,
) -> Vec<(DateTime<Utc>, Decimal, DateTime<Utc>, Decimal)> {
    let closes: Vec<f64> = bars.iter().map(|b| decimal_to_f64(b.close)).collect();
    let sma = |i: usize, n: usize| (i + 1 >= n).then(|| closes[i + 1 - n..=i].iter().sum::<f64>() / n as f64);
    let diff = |i: usize| {
        let (f, s) = (sma(i, fast)?, sma(i, slow)?);
        let d = f - s;
        Some(if d.abs() < 1e-9 * s.abs() { 0.0 } else { d })
    };
    let (mut long, mut entry, mut trades) = (false, None, Vec::new());
    for i in 1..bars.len().saturating_sub(1) {
        let (Some(before), Some(now)) = (diff(i - 1), diff(i)) else { continue };
        let fill = &bars[i + 1];
        if !long && before <= 0.0 && now > 0.0 {
            long = true;
            entry = Some((fill.time, fill.open));
        } else if long && before >= 0.0 && now < 0.0 {
            long = false;
            let (t, p) = entry.take().unwrap();
            trades.push((t, p, fill.time, fill.open));
        }
    }
    let _ = qty;
    trades
}

#[test]
fn sma_cross_trades_exactly_as_the_rule_says() {
    let bars = walk(20_000, 7);
    let report = backtest(bars.clone(), &sma_cross_options(dec!(100)));
    let want = reference_sma_cross(&bars, 10, 30, dec!(100));
    let got: Vec<_> = report.trades.iter().map(|t| (t.entry_time, t.entry_price, t.exit_time, t.exit_price)).collect();
    assert!(want.len() > 100, "the walk should cross often: {}", want.len());
    assert_eq!(got, want);
    for t in &report.trades {
        assert_eq!(t.quantity, dec!(100));
        assert_eq!(t.net_pnl, (t.exit_price - t.entry_price) * dec!(100));
        assert_eq!(t.fees, Decimal::ZERO);
    }
}

#[test]
fn fills_are_at_the_next_open_and_costs_apply() {
    let bars = walk(3_000, 11);
    let mut options = sma_cross_options(dec!(10));
    options.sim.slippage_ticks = 2;
    options.sim.commission_per_share = dec!(0.005);
    let report = backtest(bars.clone(), &options);
    let at = |t: DateTime<Utc>| bars.iter().find(|b| b.time == t).unwrap();
    for t in &report.trades {
        // A buy fills 2 ticks above the open, a sell 2 below; 0.005 a share each way.
        assert_eq!(t.entry_price, at(t.entry_time).open + dec!(0.02));
        assert_eq!(t.exit_price, at(t.exit_time).open - dec!(0.02));
        assert_eq!(t.fees, dec!(0.1));
        assert_eq!(t.net_pnl, ((t.exit_price - t.entry_price) * dec!(10) - dec!(0.1)).round_dp(2));
    }
    // Cash only moves by the trades: the final equity is the start plus every P&L (plus any open position).
    let realized: Decimal = report.trades.iter().map(|t| t.net_pnl).sum();
    let unrealized: Decimal = report.open_positions.iter().map(|p| p.unrealized_pnl).sum();
    assert_eq!(report.final_equity, (dec!(100000) + realized + unrealized).round_dp(2));
}

#[test]
fn an_order_on_the_last_bar_never_fills_and_an_open_position_stays_open() {
    let bars = walk(5_000, 3);
    let full = backtest(bars.clone(), &sma_cross_options(dec!(1)));
    // Cut the data right after a bar on which an entry was decided (the bar before a fill).
    let entry = full.trades[5].entry_time;
    let cut = bars.iter().position(|b| b.time == entry).unwrap();
    let report = backtest(bars[..cut].to_vec(), &sma_cross_options(dec!(1)));
    assert!(report.open_positions.is_empty(), "the entry decided on the last bar must not fill");
    assert_eq!(report.trades.len(), 5);
    // One bar more: it fills at that bar's open and is reported open, marked to its close.
    let report = backtest(bars[..=cut].to_vec(), &sma_cross_options(dec!(1)));
    let open = &report.open_positions[0];
    assert_eq!((open.entry_time, open.entry_price), (bars[cut].time, bars[cut].open));
    assert_eq!(open.mark_price, bars[cut].close);
    assert_eq!(open.unrealized_pnl, bars[cut].close - bars[cut].open);
    assert_eq!(report.trades.len(), 5, "no fictitious closing trade");
    assert_eq!(
        report.final_equity,
        dec!(100000) + report.trades.iter().map(|t| t.net_pnl).sum::<Decimal>() + open.unrealized_pnl
    );
}

#[test]
fn no_look_ahead_a_strategy_never_sees_the_bar_it_trades_on() {
    let bars = walk(4_000, 5);
    let full = backtest(bars.clone(), &sma_cross_options(dec!(1)));
    for trade in full.trades.iter().step_by(7).take(12) {
        let fill = bars.iter().position(|b| b.time == trade.entry_time).unwrap();
        // Rewrite everything about the fill bar but its open, and every later bar:
        // the decision to enter (made before the bar existed) and its fill must not change.
        let mut tampered = bars.clone();
        for (k, bar) in tampered.iter_mut().enumerate().skip(fill) {
            if k > fill {
                bar.open += dec!(7.77);
            }
            bar.close += dec!(5.55);
            bar.high += dec!(9.99);
        }
        let report = backtest(tampered, &sma_cross_options(dec!(1)));
        let before: Vec<_> = full
            .trades
            .iter()
            .filter(|t| t.entry_time <= trade.entry_time)
            .map(|t| (t.entry_time, t.entry_price))
            .collect();
        let after: Vec<_> = report
            .trades
            .iter()
            .filter(|t| t.entry_time <= trade.entry_time)
            .map(|t| (t.entry_time, t.entry_price))
            .collect();
        let open_entry = report.open_positions.iter().map(|p| (p.entry_time, p.entry_price));
        let after: Vec<_> = after.into_iter().chain(open_entry.filter(|(t, _)| *t <= trade.entry_time)).collect();
        assert_eq!(before, after, "changing bars from {} on changed earlier decisions", trade.entry_time);
    }
}

/// The bundled SPY sample, the default config, and the weighted pipeline with every risk check.
fn spy_sample_with_every_check() -> (NoiseConfig, Instrument, Vec<Bar>, BacktestOptions) {
    let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/spy-1m.csv")).unwrap();
    let bars = noise_core::market::parse_bars("spy-1m.csv", &data).unwrap();
    let config = NoiseConfig::default();
    let spy = config.instrument("SPY").unwrap().clone();
    let options = BacktestOptions {
        strategy: None,
        risk: RiskMode::Checked,
        long_only: false,
        sim: SimConfig::default(),
        risk_free_rate: 0.0,
    };
    (config, spy, bars, options)
}

#[test]
fn no_look_ahead_in_the_full_pipeline_with_risk_on_either() {
    let (config, spy, bars, options) = spy_sample_with_every_check();
    let run_on =
        |bars: Vec<Bar>| run(&[Series { instrument: spy.clone(), bars }], &config, &options, &mut |_| {}).unwrap();
    let full = run_on(bars.clone());
    assert!(full.trades.len() > 10);
    for trade in full.trades.iter().step_by(9).take(8) {
        let fill = bars.iter().position(|b| b.time == trade.entry_time).unwrap();
        let mut tampered = bars.clone();
        for bar in tampered.iter_mut().skip(fill + 1) {
            bar.open += dec!(3);
            bar.high += dec!(9);
            bar.close += dec!(4);
        }
        tampered[fill].close = tampered[fill].open; // the fill bar's own close moves too
        let report = run_on(tampered);
        // Each entry fill (a lot) with its whole quantity, however later exits split it.
        let entries = |r: &BacktestReport| -> std::collections::BTreeMap<(DateTime<Utc>, Decimal), Decimal> {
            let open = r.open_positions.iter().map(|p| (p.entry_time, p.entry_price, p.quantity));
            let closed = r.trades.iter().map(|t| (t.entry_time, t.entry_price, t.quantity));
            let mut lots = std::collections::BTreeMap::new();
            for (time, price, qty) in closed.chain(open).filter(|e| e.0 <= trade.entry_time) {
                *lots.entry((time, price)).or_insert(Decimal::ZERO) += qty;
            }
            lots
        };
        assert_eq!(
            entries(&full),
            entries(&report),
            "changing bars from {} on changed earlier entries",
            trade.entry_time
        );
    }
}

#[test]
fn the_full_pipeline_with_risk_on_acts_on_the_signals_noise_signals_finds() {
    let (config, spy, bars, options) = spy_sample_with_every_check();
    let report =
        run(&[Series { instrument: spy.clone(), bars: bars.clone() }], &config, &options, &mut |_| {}).unwrap();
    // The same signals `noise signals` finds on this file (the pipeline is the same code).
    let replayed = noise_core::signal::SignalManager::replay(
        &bars,
        &spy,
        bars.last().unwrap().time + TimeDelta::minutes(1),
        &config.signals,
        &config.indicators,
    )
    .unwrap();
    let signals = replayed.iter().filter(|e| e.signal().is_some()).count() as u64;
    assert!(signals > 0);
    assert_eq!(report.signals, signals);
    assert_eq!(report.orders + report.not_traded, report.signals);
    assert!(report.orders > 0);
    assert_eq!(report.bars, bars.len() as u64);
    assert!(report.equity_curve.len() <= bars.len() + 1);
}

#[test]
fn the_step_curve_loses_nothing_the_metrics_need() {
    let bars = walk(50_000, 13); // five weeks: annualised by the data's own bars per year
    let mut options = sma_cross_options(dec!(10));
    options.risk_free_rate = 0.03;
    let report = backtest(bars.clone(), &options);
    let curve = &report.equity_curve;
    let minute = TimeDelta::minutes(1);
    assert_eq!(curve[0], (bars[0].time, dec!(100000)));
    assert_eq!(curve.last().unwrap().0, bars.last().unwrap().time + minute);
    assert!(curve.windows(2).all(|w| w[0].0 < w[1].0));
    // Flat stretches are not repeated: each point but the closing one changes the equity.
    assert!(curve[..curve.len() - 1].windows(2).all(|w| w[0].1 != w[1].1));
    assert!(curve.len() < bars.len(), "{}", curve.len());
    // Expanded back to one point per bar close, the curve gives the same metrics.
    let mut full = vec![(curve[0].0, decimal_to_f64(curve[0].1))];
    let mut step = 1;
    let mut equity = curve[0].1;
    for bar in &bars {
        let close = bar.time + minute;
        while step < curve.len() && curve[step].0 <= close {
            equity = curve[step].1;
            step += 1;
        }
        full.push((close, decimal_to_f64(equity)));
    }
    let outcomes: Vec<TradeOutcome> = report
        .trades
        .iter()
        .map(|t| TradeOutcome { entry: t.entry_time, exit: t.exit_time, pnl: decimal_to_f64(t.net_pnl) })
        .collect();
    let years = (full.last().unwrap().0 - full[0].0).num_seconds() as f64 / (365.25 * 86_400.0);
    let held: Vec<_> = report.open_positions.iter().map(|p| (p.entry_time, full.last().unwrap().0)).collect();
    let expected = metrics::compute_with_open(&full, &outcomes, &held, bars.len() as f64 / years, 0.03);
    assert_eq!(report.metrics, expected);
}

#[test]
fn empty_data_is_an_error() {
    let error =
        run(&series(Vec::new()), &NoiseConfig::default(), &sma_cross_options(dec!(1)), &mut |_| {}).unwrap_err();
    assert!(matches!(error, BacktestError::NoBars));
}

#[test]
fn a_sweep_ranks_every_valid_point() {
    let bars = walk(3_000, 9);
    let axes = [SweepAxis::parse("fast=5..7").unwrap(), SweepAxis::parse("slow=6..30:12").unwrap()];
    let points = grid(&axes);
    let SweepOutcome { rows, skipped } =
        sweep(&series(bars.clone()), &NoiseConfig::default(), &sma_cross_options(dec!(1)), "sma_cross", &points)
            .unwrap();
    // fast 5..7 × slow {6, 18, 30}: (6, 6) and (7, 6) are invalid (fast must be below slow).
    assert_eq!((rows.len(), skipped.len()), (7, 2));
    let sharpes: Vec<f64> = rows.iter().map(|r| r.metrics.sharpe.unwrap_or(f64::NEG_INFINITY)).collect();
    assert!(sharpes.windows(2).all(|w| w[0] >= w[1]), "{sharpes:?}");
    // Each row is what a single run with those parameters gives.
    let row = &rows[0];
    let mut config = NoiseConfig::default();
    config.signals = apply_params(&config.signals, "sma_cross", &row.params).unwrap();
    let single = run(&series(bars), &config, &sma_cross_options(dec!(1)), &mut |_| {}).unwrap();
    assert_eq!(single.final_equity, row.final_equity);
}

#[test]
fn downsampling_keeps_the_extremes_and_the_ends() {
    let start: DateTime<Utc> = START.parse().unwrap();
    let curve: Vec<(DateTime<Utc>, Decimal)> = (0..10_000i64)
        .map(|i| {
            (start + TimeDelta::minutes(i), Decimal::from(1000 + (i * 37 % 101) - if i == 6_001 { 900 } else { 0 }))
        })
        .collect();
    let small = downsample(&curve, 400);
    assert!(small.len() <= 402, "{}", small.len());
    assert_eq!((small[0], small[small.len() - 1]), (curve[0], curve[9_999]));
    assert!(small.windows(2).all(|w| w[0].0 < w[1].0), "in time order");
    let min = |c: &[(DateTime<Utc>, Decimal)]| c.iter().map(|p| p.1).min();
    let max = |c: &[(DateTime<Utc>, Decimal)]| c.iter().map(|p| p.1).max();
    assert_eq!((min(&small), max(&small)), (min(&curve), max(&curve)));
    assert_eq!(downsample(&curve[..50], 400).len(), 50);
}

/// `flatten_before_close_minutes`: no position is held into a session's
/// last minutes, and none is opened in them; without it, positions are.
#[test]
fn the_session_flatten_closes_before_every_close() {
    let (mut config, spy, bars, options) = spy_sample_with_every_check();
    let series = [Series { instrument: spy.clone(), bars: bars.clone() }];
    let window = TimeDelta::minutes(15);
    let close_of = |t: DateTime<Utc>| spy.venue.session_at(t).map(|s| s.close).unwrap();
    let in_window = |t: DateTime<Utc>| close_of(t) - t <= window;

    let plain = run(&series, &config, &options, &mut |_| {}).unwrap();
    let held_late = plain
        .trades
        .iter()
        .filter(|t| close_of(t.entry_time) - t.exit_time.min(close_of(t.entry_time)) < window)
        .count();
    assert!(held_late > 0, "without the flatten some trade is still open in the last 15 minutes");

    config.risk.positions.flatten_before_close_minutes = 15;
    let flat = run(&series, &config, &options, &mut |_| {}).unwrap();
    assert!(flat.trades.len() > 10, "{} trades", flat.trades.len());
    for trade in &flat.trades {
        assert!(!in_window(trade.entry_time), "entered in the window: {trade:?}");
        let close = close_of(trade.entry_time);
        // Closed at the open of the first bar of the window at the latest.
        assert!(trade.exit_time <= close - window, "held into the window: {trade:?}");
    }
    let last_bar = bars.last().unwrap().time;
    assert!(flat.open_positions.is_empty() || !in_window(last_bar + TimeDelta::minutes(1)));
}

/// `on_opposite_signal`: "close" exits and waits for the next signal;
/// "reverse" enters the other side at the same fill; "ignore" keeps the
/// position until its bracket closes it. SMA-cross with every check: its
/// signals alternate, so opposite signals meet held positions.
#[test]
fn opposite_signals_close_reverse_or_are_ignored() {
    use noise_core::risk::OppositeSignal;
    let mut config = NoiseConfig::default();
    config.risk.exposure.group_caps_pct.insert("ungrouped".into(), 100.0);
    let options = BacktestOptions { risk: RiskMode::Checked, long_only: false, ..sma_cross_options(dec!(100)) };
    let series = series(walk(20_000, 7));
    let mut by_policy = |policy| {
        config.risk.positions.on_opposite_signal = policy;
        run(&series, &config, &options, &mut |_| {}).unwrap()
    };
    let reversals = |trades: &[RoundTrip]| {
        trades.windows(2).filter(|w| w[0].exit_time == w[1].entry_time && w[0].side != w[1].side).count()
    };
    let close = by_policy(OppositeSignal::Close);
    let reverse = by_policy(OppositeSignal::Reverse);
    let ignore = by_policy(OppositeSignal::Ignore);
    assert_eq!(reversals(&close.trades), 0, "close never enters at its exit's fill");
    assert!(reversals(&reverse.trades) > 0, "reverse does: {} trades", reverse.trades.len());
    assert!(ignore.not_traded_by.get("opposite_signal_ignored").copied().unwrap_or(0) > 0);
    // Every run's books balance: equity moved by exactly the trades' net P&L when flat.
    for report in [&close, &reverse, &ignore] {
        if report.open_positions.is_empty() {
            let net: Decimal = report.trades.iter().map(|t| t.net_pnl).sum();
            assert_eq!(report.final_equity, (report.starting_equity + net).round_dp(2).normalize());
        }
    }
}
