//! `noise backtest`: history through the live code path, with metrics, a
//! JSON and an HTML report, results stored for the dashboard, and sweeps.

mod load;
mod output;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::anyhow;
use noise_broker::sim::SimConfig;
use noise_engine::RiskMode;
use noise_engine::backtest::{self, BacktestOptions, StrategySpec, SweepAxis};
use rust_decimal::Decimal;

use crate::failure::Failure;

pub struct Options {
    pub data: PathBuf,
    pub symbol: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub strategy: Option<String>,
    pub cash: Option<Decimal>,
    pub qty: Option<Decimal>,
    pub risk_on: bool,
    pub long_only: bool,
    pub slippage_ticks: Option<u32>,
    pub commission_per_share: Option<Decimal>,
    pub commission_per_contract: Option<Decimal>,
    pub risk_free: f64,
    pub json: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub sweep: Vec<String>,
    pub no_store: bool,
    pub quiet: bool,
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
    let risk = if options.risk_on {
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
