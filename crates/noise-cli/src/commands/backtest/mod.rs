//! `noise backtest`: history through the live code path, with metrics, a
//! JSON and an HTML report, results stored for the dashboard, and sweeps.

pub(crate) mod load;
mod output;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::anyhow;
use noise_broker::sim::SimConfig;
use noise_engine::RiskMode;
use noise_engine::backtest::{self, BacktestOptions, StrategySpec, SweepAxis};
use rust_decimal::Decimal;

use crate::failure::Failure;

#[derive(clap::Args)]
pub struct Options {
    /// A bar CSV (timestamp,open,high,low,close,volume; optional symbol column) or a
    /// folder of them (one per symbol, named like spy-1m.csv, or with a symbol column).
    #[arg(long)]
    pub data: PathBuf,
    /// Only this symbol of the data.
    #[arg(long)]
    pub symbol: Option<String>,
    /// First day (2026-01-02) or instant (RFC 3339) to include.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day to include (or an instant to stop before).
    #[arg(long)]
    pub to: Option<String>,
    /// Config file; `./noise.toml` when absent (defaults if that does not exist).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the run is stored (also `$NOISE_DB`); else `[engine] db` from the config.
    #[arg(long, env = "NOISE_DB")]
    pub db: Option<PathBuf>,
    /// One registered strategy with its parameters instead of the weighted pipeline,
    /// e.g. "sma-cross --fast 10 --slow 30".
    #[arg(long)]
    pub strategy: Option<String>,
    /// Starting cash (default `[sim] starting_cash`).
    #[arg(long)]
    pub cash: Option<Decimal>,
    /// A fixed size for every entry (required with --risk off).
    #[arg(long)]
    pub qty: Option<Decimal>,
    /// `off` disables the risk checks (and their protective brackets) to compare engines on equal terms.
    #[arg(long, value_enum, default_value_t = RiskSwitch::On)]
    pub risk: RiskSwitch,
    /// Short signals only close longs; they never open a short.
    #[arg(long)]
    pub long_only: bool,
    /// Ticks a market order fills worse than the open (default `[sim] slippage_ticks`).
    #[arg(long)]
    pub slippage_ticks: Option<u32>,
    /// Commission per share (default `[sim] commission_per_share`).
    #[arg(long)]
    pub commission_per_share: Option<Decimal>,
    /// Commission per futures contract (default `[sim] commission_per_contract`).
    #[arg(long)]
    pub commission_per_contract: Option<Decimal>,
    /// Annual risk-free rate for Sharpe and Sortino.
    #[arg(long, default_value_t = 0.0)]
    pub risk_free: f64,
    /// Write the results as JSON (bars, timings, metrics, trades, equity curve).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (equity curve, drawdown, trade list).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Vary a strategy parameter over a range, e.g. fast=5..20 or slow=20..60:10
    /// (repeatable); runs the grid in parallel and prints a ranked table.
    #[arg(long)]
    pub sweep: Vec<String>,
    /// Do not store the run in the database.
    #[arg(long)]
    pub no_store: bool,
    /// No progress bar and no list of gaps (their count is still printed).
    #[arg(long)]
    pub quiet: bool,
}

/// `--risk on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RiskSwitch {
    On,
    Off,
}

pub fn run(options: &Options) -> Result<(), Failure> {
    let (mut config, _) = crate::commands::config::load(options.config.as_deref())?;
    let spec = options.strategy.as_deref().map(StrategySpec::parse).transpose().map_err(Failure::bad_input)?;
    if let Some(spec) = &spec {
        config.signals = spec.apply(&config.signals).map_err(Failure::bad_input)?;
    }
    let backtest_options = backtest_options(options, &mut config, spec.as_ref())?;
    let axes = options.sweep.iter().map(|s| SweepAxis::parse(s)).collect::<Result<Vec<_>, _>>();
    let axes = axes.map_err(Failure::bad_input)?;
    if !axes.is_empty() && spec.is_none() {
        return Err(Failure::bad_input(anyhow!("--sweep varies a strategy's parameters: name it with --strategy")));
    }

    let started = Instant::now();
    let loaded = load::load(options, &config)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    loaded.warn_about(options.quiet);
    if !loaded.unconfigured.is_empty() {
        // Their group needs a cap or the risk chain fails closed on every signal.
        config.risk.exposure.group_caps_pct.entry(load::UNGROUPED.into()).or_insert(load::UNGROUPED_CAP_PCT);
    }

    if let Some(spec) = &spec
        && !axes.is_empty()
    {
        return sweep(options, &loaded, &config, &backtest_options, spec, &axes);
    }
    let total: usize = loaded.series.iter().map(|s| s.bars.len()).sum();
    let progress = output::progress_bar(total as u64, options.quiet);
    let started = Instant::now();
    let report = backtest::run(&loaded.series, &config, &backtest_options, &mut |done| progress.set_position(done))
        .map_err(Failure::bad_input)?;
    let elapsed = started.elapsed();
    progress.finish_and_clear();

    let run = output::Run {
        source: options.data.display().to_string(),
        strategy: spec.as_ref().map_or_else(|| "noise pipeline".to_string(), StrategySpec::display),
        options: &backtest_options,
        fixed_quantity: config.risk.sizing.fixed_quantity,
        loaded: &loaded,
        report: &report,
        load_ms,
        elapsed_ms: elapsed.as_secs_f64() * 1e3,
    };
    output::print_summary(&run);
    if let Some(path) = &options.json {
        output::write_json(path, &run)?;
        println!("json      {}", path.display());
    }
    if let Some(path) = &options.report {
        output::write_report(path, &run)?;
        println!("report    {}", path.display());
    }
    if !options.no_store {
        let db = options.db.clone().unwrap_or_else(|| config.engine.db.clone().into());
        let id = output::store(&db, &run)?;
        println!("stored    run {id} in {}", db.display());
    }
    Ok(())
}

/// The run's trading rules from the flags, over the config's `[sim]` costs.
fn backtest_options(
    options: &Options,
    config: &mut noise_core::config::NoiseConfig,
    spec: Option<&StrategySpec>,
) -> Result<BacktestOptions, Failure> {
    if let Some(q) = options.qty
        && (q < Decimal::ONE || !q.fract().is_zero())
    {
        return Err(Failure::bad_input(anyhow!("--qty {q}: a whole number of units, at least 1")));
    }
    let risk = if options.risk == RiskSwitch::On {
        if let Some(quantity) = options.qty {
            config.risk.sizing.fixed_quantity = Some(quantity); // the config's own setting stands otherwise
        }
        RiskMode::Checked
    } else {
        let quantity = options.qty.ok_or_else(|| {
            Failure::bad_input(anyhow!("--risk off needs --qty N: with the risk checks off, nothing sizes the orders"))
        })?;
        RiskMode::Off { quantity }
    };
    if !(options.risk_free.is_finite() && (-1.0..1.0).contains(&options.risk_free)) {
        return Err(Failure::bad_input(anyhow!("--risk-free {}: an annual rate such as 0.04", options.risk_free)));
    }
    let mut sim = SimConfig::from(&config.sim);
    if let Some(cash) = options.cash {
        if cash <= Decimal::ZERO {
            return Err(Failure::bad_input(anyhow!("--cash {cash}: must be positive")));
        }
        sim.starting_cash = cash;
    }
    sim.slippage_ticks = options.slippage_ticks.unwrap_or(sim.slippage_ticks);
    sim.commission_per_share = options.commission_per_share.unwrap_or(sim.commission_per_share);
    sim.commission_per_contract = options.commission_per_contract.unwrap_or(sim.commission_per_contract);
    if sim.commission_per_share < Decimal::ZERO || sim.commission_per_contract < Decimal::ZERO {
        return Err(Failure::bad_input(anyhow!("commissions cannot be negative")));
    }
    Ok(BacktestOptions {
        strategy: spec.map(|s| s.name.clone()),
        risk,
        long_only: options.long_only,
        sim,
        risk_free_rate: options.risk_free,
    })
}

fn sweep(
    options: &Options,
    loaded: &load::Loaded,
    config: &noise_core::config::NoiseConfig,
    backtest_options: &BacktestOptions,
    spec: &StrategySpec,
    axes: &[SweepAxis],
) -> Result<(), Failure> {
    let points = backtest::checked_grid(axes, &config.signals, &spec.name).map_err(Failure::bad_input)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let backtest::SweepOutcome { rows, skipped } =
        backtest::sweep(&loaded.series, config, backtest_options, &spec.name, &points).map_err(Failure::bad_input)?;
    let elapsed = started.elapsed();
    output::print_sweep(&rows, &skipped, points.len(), cores, elapsed, loaded.bars());
    if let Some(path) = &options.json {
        crate::files::write_atomically_with(path, |w| Ok(serde_json::to_writer(w, &rows)?))?;
        println!("json      {}", path.display());
    }
    Ok(())
}
