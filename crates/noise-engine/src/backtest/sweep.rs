//! A parameter sweep: the grid's backtests in parallel on every core.

use noise_core::config::NoiseConfig;
use rayon::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{BacktestError, BacktestOptions, Series, apply_params, run};

/// A grid point: its parameters as (key, value).
pub type Params = Vec<(String, String)>;

/// One grid point's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    pub params: Params,
    pub metrics: noise_core::metrics::PerformanceMetrics,
    pub final_equity: Decimal,
}

/// A sweep's ranked rows, and the points skipped with why.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    pub rows: Vec<SweepRow>,
    pub skipped: Vec<(Params, String)>,
}

/// Runs `strategy` at every point of `grid` (parameter lists for its
/// section), in parallel, and ranks the results: Sharpe first (runs
/// without one last), then total return. A point whose parameters are
/// invalid (fast ≥ slow, say) is skipped and listed in the second value.
pub fn sweep(
    series: &[Series],
    config: &NoiseConfig,
    options: &BacktestOptions,
    strategy: &str,
    grid: &[Params],
) -> Result<SweepOutcome, BacktestError> {
    let outcomes: Vec<Result<SweepRow, (Params, BacktestError)>> = grid
        .par_iter()
        .map(|params| {
            let mut config = config.clone();
            config.signals = apply_params(&config.signals, strategy, params).map_err(|e| (params.clone(), e))?;
            let report = run(series, &config, options, &mut |_| {}).map_err(|e| (params.clone(), e))?;
            Ok(SweepRow { params: params.clone(), metrics: report.metrics, final_equity: report.final_equity })
        })
        .collect();
    let (mut rows, mut skipped) = (Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome {
            Ok(row) => rows.push(row),
            Err((params, BacktestError::Strategy(why))) => skipped.push((params, why)),
            Err((_, other)) => return Err(other),
        }
    }
    rows.sort_by(|a, b| {
        let key = |r: &SweepRow| r.metrics.sharpe.unwrap_or(f64::NEG_INFINITY);
        key(b).total_cmp(&key(a)).then(b.metrics.total_return.total_cmp(&a.metrics.total_return))
    });
    Ok(SweepOutcome { rows, skipped })
}
