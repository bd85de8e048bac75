//! What a backtest prints and writes: the terminal summary, `--json`, the
//! HTML report, the stored run, and a sweep's ranked table.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use noise_core::ledger::RoundTrip;
use noise_core::metrics::PerformanceMetrics;
use noise_engine::RiskMode;
use noise_engine::backtest::{BacktestOptions, BacktestReport, SweepRow, downsample};
use noise_store::backtests::{BacktestRun, BacktestTrade};
use noise_store::{Store, audit};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

use super::load::Loaded;
use crate::failure::Failure;

/// Points of the equity curve kept for the report and the dashboard.
const CHART_POINTS: usize = 4000;
/// Gaps listed in the JSON and the report (all are counted).
const GAPS_LISTED: usize = 100;

pub struct Run<'a> {
    pub source: String,
    pub strategy: String,
    pub options: &'a BacktestOptions,
    /// `--qty` with the risk checks on.
    pub fixed_quantity: Option<Decimal>,
    pub loaded: &'a Loaded,
    pub report: &'a BacktestReport,
    pub load_ms: f64,
    pub elapsed_ms: f64,
}

impl Run<'_> {
    fn bars_per_sec(&self) -> f64 {
        if self.elapsed_ms > 0.0 { self.report.bars as f64 / (self.elapsed_ms / 1e3) } else { 0.0 }
    }

    fn settings(&self) -> String {
        let mut parts = vec![match self.options.risk {
            RiskMode::Checked => "risk on".to_string(),
            RiskMode::Off { .. } => "risk off".to_string(),
        }];
        parts.push(self.sizing());
        if self.options.long_only {
            parts.push("long only".into());
        }
        parts.join(", ")
    }

    fn sizing(&self) -> String {
        match (self.options.risk, self.fixed_quantity) {
            (RiskMode::Off { quantity }, _) => format!("fixed {quantity}"),
            (RiskMode::Checked, Some(quantity)) => format!("fixed {quantity} within the risk caps"),
            (RiskMode::Checked, None) => "risk-based".into(),
        }
    }

    fn fill_model(&self) -> String {
        let sim = &self.options.sim;
        format!(
            "market orders at the next bar's open, {} tick(s) slippage, commission {}/share, {}/contract",
            sim.slippage_ticks, sim.commission_per_share, sim.commission_per_contract
        )
    }
}

/// A progress bar on standard error for long runs (hidden when it is not a
/// terminal, when quiet, or for runs too short to need one).
pub fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || total < 500_000 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} bars, {eta} left") {
        bar.set_style(style);
    }
    bar
}

fn percent(x: f64) -> String {
    format!("{:+.2} %", x * 100.0)
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.2}"))
}

fn money(d: Decimal) -> String {
    let d = d.round_dp(2);
    let sign = if d.is_sign_negative() { "-" } else { "" };
    let text = format!("{:.2}", d.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    format!("{sign}${}.{cents}", thousands(whole))
}

fn duration(seconds: i64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

fn count(n: u64) -> String {
    thousands(&n.to_string())
}

/// Digits with a comma every three from the right.
fn thousands(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

pub fn print_summary(run: &Run<'_>) {
    let (r, m) = (run.report, &run.report.metrics);
    println!("NOISE backtest  {}  {}  ({})", run.loaded.symbols().join(","), run.strategy, run.settings());
    println!(
        "data      {}: {} bars, {} to {} UTC, {} gap(s)",
        run.source,
        count(r.bars),
        when(run.loaded.first()),
        when(run.loaded.last()),
        run.loaded.gaps.len()
    );
    println!(
        "speed     loaded in {:.0} ms; simulated in {:.1} ms: {} bars/s",
        run.load_ms,
        run.elapsed_ms,
        count(run.bars_per_sec() as u64)
    );
    let why: Vec<String> = r.not_traded_by.iter().map(|(reason, n)| format!("{reason} {}", count(*n))).collect();
    let why = if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) };
    println!("signals   {}; orders {}; not traded {}{why}", count(r.signals), count(r.orders), count(r.not_traded));
    println!("{}", "-".repeat(64));
    println!("total return        {}", percent(m.total_return));
    println!("CAGR                {}", m.cagr.map_or_else(|| "n/a".into(), percent));
    println!("Sharpe              {}", ratio(m.sharpe));
    println!("Sortino             {}", ratio(m.sortino));
    println!(
        "max drawdown        {:.2} %  (longest under water {})",
        m.max_drawdown * 100.0,
        duration(m.max_drawdown_duration)
    );
    println!("win rate            {}", m.win_rate.map_or_else(|| "n/a".into(), |w| format!("{:.1} %", w * 100.0)));
    println!("profit factor       {}", ratio(m.profit_factor));
    println!(
        "expectancy          {}",
        m.expectancy
            .and_then(Decimal::from_f64_retain)
            .map_or_else(|| "n/a".into(), |e| format!("{} per trade", money(e)))
    );
    println!("avg trade duration  {}", m.average_trade_duration.map_or_else(|| "n/a".into(), duration));
    println!("exposure            {:.1} %", m.exposure * 100.0);
    println!("trades              {} closed; {} open", count(m.trades as u64), r.open_positions.len());
    for p in &r.open_positions {
        println!(
            "  open {} {} {} @ {} since {}, marked {} ({})",
            p.symbol,
            p.side,
            p.quantity,
            p.entry_price,
            when(Some(p.entry_time)),
            p.mark_price,
            money(p.unrealized_pnl)
        );
    }
    println!("starting equity     {}", money(r.starting_equity));
    println!("final equity        {}", money(r.final_equity));
}

#[derive(Serialize)]
struct Summary {
    total_return: f64,
    cagr: Option<f64>,
    sharpe: Option<f64>,
    sortino: Option<f64>,
    max_drawdown: f64,
    max_drawdown_duration: i64,
    trades: usize,
    win_rate: Option<f64>,
    profit_factor: Option<f64>,
    expectancy: Option<f64>,
    average_trade_duration: Option<i64>,
    exposure: f64,
    starting_equity: Decimal,
    final_equity: Decimal,
}

fn summary(r: &BacktestReport) -> Summary {
    let m: &PerformanceMetrics = &r.metrics;
    Summary {
        total_return: m.total_return,
        cagr: m.cagr,
        sharpe: m.sharpe,
        sortino: m.sortino,
        max_drawdown: m.max_drawdown,
        max_drawdown_duration: m.max_drawdown_duration,
        trades: m.trades,
        win_rate: m.win_rate,
        profit_factor: m.profit_factor,
        expectancy: m.expectancy,
        average_trade_duration: m.average_trade_duration,
        exposure: m.exposure,
        starting_equity: r.starting_equity,
        final_equity: r.final_equity,
    }
}

/// The trade list as `--json` and the report have always written it (`qty`,
/// `pnl` net of fees), plus what the ledger adds: gross P&L and the two
/// fills each round trip took its units from.
struct Trades<'a>(&'a [RoundTrip]);

#[derive(Serialize)]
struct TradeJson<'a> {
    symbol: &'a str,
    side: noise_core::signal::Direction,
    qty: Decimal,
    entry_time: DateTime<Utc>,
    entry_price: Decimal,
    exit_time: DateTime<Utc>,
    exit_price: Decimal,
    gross_pnl: Decimal,
    fees: Decimal,
    pnl: Decimal,
    entry_fill_id: &'a str,
    exit_fill_id: &'a str,
}

impl Serialize for Trades<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|t| TradeJson {
            symbol: &t.symbol,
            side: t.side,
            qty: t.quantity.normalize(),
            entry_time: t.entry_time,
            entry_price: t.entry_price.normalize(),
            exit_time: t.exit_time,
            exit_price: t.exit_price.normalize(),
            gross_pnl: t.gross_pnl.normalize(),
            fees: t.fees.normalize(),
            pnl: t.net_pnl.normalize(),
            entry_fill_id: &t.entry_fill_id,
            exit_fill_id: &t.exit_fill_id,
        }))
    }
}

/// The equity curve to the cent, streamed (a million points is tens of MB).
struct Curve<'a>(&'a [(DateTime<Utc>, Decimal)]);

impl Serialize for Curve<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(t, e)| (t, e.round_dp(2).normalize())))
    }
}

pub fn write_json(path: &Path, run: &Run<'_>) -> Result<(), Failure> {
    let r = run.report;
    let gaps: Vec<_> = run.loaded.gaps.iter().take(GAPS_LISTED).collect();
    let out = json!({
        "bars": r.bars,
        "load_ms": (run.load_ms * 10.0).round() / 10.0,
        "elapsed_ms": (run.elapsed_ms * 100.0).round() / 100.0,
        "bars_per_sec": run.bars_per_sec().round(),
        "strategy": run.strategy,
        "symbols": run.loaded.symbols(),
        "settings": run.settings(),
        "fill_model": run.fill_model(),
        "signals": r.signals,
        "orders": r.orders,
        "not_traded": r.not_traded,
        "not_traded_by": r.not_traded_by,
        "gaps": {"count": run.loaded.gaps.len(), "listed": gaps},
        "metrics": summary(r),
        "open_positions": r.open_positions,
    });
    // The big arrays are streamed after the small fields rather than built as a JSON tree.
    crate::files::write_atomically_with(path, |w| {
        use std::io::Write as _;
        let head = serde_json::to_string(&out)?;
        w.write_all(&head.as_bytes()[..head.len() - 1])?;
        w.write_all(b",\"trades\":")?;
        serde_json::to_writer(&mut *w, &Trades(&r.trades))?;
        w.write_all(b",\"equity_curve\":")?;
        serde_json::to_writer(&mut *w, &Curve(&r.equity_curve))?;
        w.write_all(b"}\n")?;
        Ok(())
    })
}

const REPORT_TEMPLATE: &str = include_str!("report.html");

pub fn write_report(path: &Path, run: &Run<'_>) -> Result<(), Failure> {
    let r = run.report;
    let data = json!({
        "title": format!("NOISE backtest: {}, {}", run.loaded.symbols().join(", "), run.strategy),
        "generated_at": Utc::now(),
        "run": {
            "data": run.source,
            "symbols": run.loaded.symbols(),
            "from": run.loaded.first(),
            "to": run.loaded.last(),
            "strategy": run.strategy,
            "risk": if matches!(run.options.risk, RiskMode::Checked) { "on" } else { "off" },
            "sizing": run.sizing(),
            "cash": r.starting_equity,
            "fill_model": run.fill_model(),
            "bars": r.bars,
            "elapsed_ms": (run.elapsed_ms * 10.0).round() / 10.0,
            "bars_per_sec": run.bars_per_sec().round(),
            "gaps": run.loaded.gaps.len(),
        },
        "metrics": summary(r),
        "equity_curve": Curve(&downsample(&r.equity_curve, CHART_POINTS)),
        "trades": Trades(&r.trades),
        "open_positions": r.open_positions,
        "gaps": run.loaded.gaps.iter().take(GAPS_LISTED).collect::<Vec<_>>(),
    });
    // `<` escaped: the data sits in a <script> element and must not close it.
    let text = serde_json::to_string(&data).map_err(Failure::internal)?.replace('<', "\\u003c");
    let html = REPORT_TEMPLATE.replacen("__NOISE_REPORT_DATA__", &text, 1);
    crate::files::write_atomically(path, html.as_bytes())
}

/// Stores the run, its trades and an audit event in one transaction.
pub fn store(db: &Path, run: &Run<'_>) -> Result<i64, Failure> {
    let r = run.report;
    let curve =
        serde_json::to_string(&Curve(&downsample(&r.equity_curve, CHART_POINTS / 2))).map_err(Failure::internal)?;
    let row = BacktestRun {
        created_at: Utc::now(),
        data_source: run.source.clone(),
        symbols: run.loaded.symbols().join(","),
        strategy: run.strategy.clone(),
        options: json!({"settings": run.settings(), "fill_model": run.fill_model(), "risk_free_rate": run.options.risk_free_rate}).to_string(),
        period_start: run.loaded.first().unwrap_or_default(),
        period_end: run.loaded.last().unwrap_or_default(),
        bars: r.bars as i64,
        elapsed_ms: run.elapsed_ms,
        starting_equity: r.starting_equity,
        final_equity: r.final_equity,
        metrics: serde_json::to_string(&summary(r)).map_err(Failure::internal)?,
        equity_curve: curve,
        open_positions: serde_json::to_string(&r.open_positions).map_err(Failure::internal)?,
    };
    let trades: Vec<BacktestTrade> = r
        .trades
        .iter()
        .map(|t| BacktestTrade {
            symbol: t.symbol.to_string(),
            side: t.side.to_string(),
            quantity: t.quantity,
            entry_time: t.entry_time,
            entry_price: t.entry_price,
            exit_time: t.exit_time,
            exit_price: t.exit_price,
            pnl: t.net_pnl.normalize(),
            fees: t.fees.normalize(),
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::internal)?;
    runtime.block_on(async {
        let store = Store::open(db).await.map_err(Failure::bad_input)?;
        let mut tx = store.begin().await.map_err(Failure::internal)?;
        let id = noise_store::backtests::insert(&mut tx, &row, &trades).await.map_err(Failure::internal)?;
        let details = json!({"run_id": id, "strategy": row.strategy, "symbols": row.symbols, "bars": row.bars,
                             "trades": trades.len(), "final_equity": row.final_equity});
        audit::append(&mut tx, row.created_at, "backtest_completed", "backtest", &details)
            .await
            .map_err(Failure::internal)?;
        tx.commit().await.map_err(|e| Failure::internal(anyhow::anyhow!(e)))?;
        store.close().await;
        Ok(id)
    })
}

pub fn print_sweep(
    rows: &[SweepRow],
    skipped: &[(Vec<(String, String)>, String)],
    points: usize,
    cores: usize,
    elapsed: Duration,
    bars: usize,
) {
    let runs = rows.len();
    let secs = elapsed.as_secs_f64();
    println!(
        "sweep     {points} point(s): {runs} run, {} skipped, on {cores} core(s) in {:.0} ms ({} bars/s over all runs)",
        skipped.len(),
        secs * 1e3,
        count(if secs > 0.0 { (runs * bars) as f64 / secs } else { 0.0 } as u64)
    );
    println!(
        "{:>4}  {:<24} {:>8} {:>10} {:>8} {:>9} {:>8} {:>8} {:>16}",
        "rank", "parameters", "trades", "return", "Sharpe", "max DD", "win", "PF", "final equity"
    );
    const SHOWN: usize = 30;
    for (i, row) in rows.iter().take(SHOWN).enumerate() {
        let m = &row.metrics;
        let params: Vec<String> = row.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:>4}  {:<24} {:>8} {:>10} {:>8} {:>8.2}% {:>8} {:>8} {:>16}",
            i + 1,
            params.join(" "),
            m.trades,
            percent(m.total_return),
            ratio(m.sharpe),
            m.max_drawdown * 100.0,
            m.win_rate.map_or_else(|| "n/a".into(), |w| format!("{:.1}%", w * 100.0)),
            ratio(m.profit_factor),
            money(row.final_equity)
        );
    }
    if rows.len() > SHOWN {
        println!("      … {} more (all of them with --json)", rows.len() - SHOWN);
    }
    for (params, why) in skipped.iter().take(5) {
        let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("skipped   {}: {why}", params.join(" "));
    }
}
