//! Rows the tests store.

use noise_store::Store;

/// Stores a backtest run of SPY with one trade per P&L given; returns its id.
pub async fn store_backtest(store: &Store, trade_pnls: &[&str]) -> i64 {
    use noise_store::backtests::{BacktestRun, BacktestTrade};
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap();
    let run = BacktestRun {
        created_at: at("2026-11-25T18:00:00Z"),
        data_source: "spy-1m.csv".into(),
        symbols: "SPY".into(),
        strategy: "sma-cross --fast 10 --slow 30".into(),
        options: "{\"settings\":\"risk off\"}".into(),
        period_start: at("2026-03-02T14:30:00Z"),
        period_end: at("2026-03-13T19:59:00Z"),
        bars: 3900,
        elapsed_ms: 0.6,
        starting_equity: d("100000"),
        final_equity: d("101234.5"),
        metrics: "{\"trades\":3,\"sharpe\":1.5}".into(),
        equity_curve: "[[\"2026-03-02T14:30:00Z\",\"100000\"]]".into(),
        open_positions: "[]".into(),
    };
    let trades: Vec<BacktestTrade> = trade_pnls
        .iter()
        .map(|pnl| BacktestTrade {
            symbol: "SPY".into(),
            side: "LONG".into(),
            quantity: d("100"),
            entry_time: at("2026-03-02T15:00:00Z"),
            entry_price: d("600.01"),
            exit_time: at("2026-03-02T15:30:00Z"),
            exit_price: d("601.25"),
            pnl: d(pnl),
            fees: d("0"),
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    let id = noise_store::backtests::insert(&mut tx, &run, &trades).await.unwrap();
    tx.commit().await.unwrap();
    id
}
