-- Backtest results, for the dashboard: one row per run with its metrics and
-- a downsampled equity curve, and its trades.

CREATE TABLE backtest_runs (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    data_source TEXT NOT NULL,
    symbols TEXT NOT NULL,
    strategy TEXT NOT NULL,
    options TEXT NOT NULL,          -- JSON: risk, sizing, costs, long-only
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    bars INTEGER NOT NULL,
    elapsed_ms REAL NOT NULL,
    starting_equity TEXT NOT NULL,
    final_equity TEXT NOT NULL,
    metrics TEXT NOT NULL,          -- JSON
    equity_curve TEXT NOT NULL,     -- JSON [[time, equity], ...], at most a few thousand points
    open_positions TEXT NOT NULL    -- JSON
);

CREATE INDEX backtest_runs_created ON backtest_runs (created_at);

CREATE TABLE backtest_trades (
    run_id INTEGER NOT NULL REFERENCES backtest_runs (id),
    seq INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity TEXT NOT NULL,
    entry_time TEXT NOT NULL,
    entry_price TEXT NOT NULL,
    exit_time TEXT NOT NULL,
    exit_price TEXT NOT NULL,
    pnl TEXT NOT NULL,
    fees TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
