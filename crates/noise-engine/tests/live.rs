//! The live loop on a virtual clock, against a broker that serves the
//! synthetic market's bars as they close and fills through the simulator:
//! the engine trades, and a symbol whose bars cannot be read costs only
//! that symbol's minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use noise_broker::sim::{SimBroker, SimConfig, SyntheticMarket};
use noise_broker::{AccountInfo, BrokerAdapter, BrokerError, BrokerPosition, OrderRequest, OrderState};
use noise_core::config::NoiseConfig;
use noise_core::instrument::{AssetClass, BrokerKind};
use noise_core::market::Bar;
use noise_engine::{Clock, Engine, LiveOptions, run_live};
use noise_store::Store;

/// Time moves only when the loop sleeps; at the `stall`-th sleep it loses
/// ten minutes (a broker that hung, a machine that slept).
struct VirtualClock(Mutex<DateTime<Utc>>, std::sync::atomic::AtomicU64, Option<u64>);

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    async fn sleep_until(&self, t: DateTime<Utc>) {
        let sleeps = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut now = self.0.lock().unwrap();
        *now = (*now).max(t);
        if Some(sleeps) == self.2 {
            *now += TimeDelta::minutes(10);
        }
    }
}

/// A broker whose market is the synthetic one, up to the clock's time.
struct MarketBroker {
    sim: Arc<SimBroker>,
    market: tokio::sync::Mutex<(SyntheticMarket, HashMap<String, Vec<Bar>>)>,
    clock: Arc<VirtualClock>,
    broken: &'static str,
    /// Placements whose answer is lost: odd ones after the broker booked them,
    /// even ones before (the broker never saw them).
    lose_answers: bool,
    placements: std::sync::atomic::AtomicUsize,
}

impl MarketBroker {
    async fn catch_up(&self) -> Result<(), BrokerError> {
        let mut guard = self.market.lock().await;
        let (market, history) = &mut *guard;
        while market.next_minute() + TimeDelta::minutes(1) <= self.clock.now() {
            let (_, bars) = market.advance();
            self.sim.on_bars(&bars).await?;
            for (symbol, bar) in bars {
                history.entry(symbol).or_default().push(bar);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl BrokerAdapter for MarketBroker {
    fn broker(&self) -> BrokerKind {
        BrokerKind::Sim
    }
    fn asset_classes(&self) -> &[AssetClass] {
        &[AssetClass::Equity, AssetClass::Future]
    }
    async fn authenticate(&self) -> Result<(), BrokerError> {
        Ok(())
    }
    async fn refresh_token(&self) -> Result<(), BrokerError> {
        Ok(())
    }
    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        self.sim.account().await
    }
    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        self.sim.positions().await
    }
    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError> {
        let n = self.placements.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if !self.lose_answers {
            return self.sim.place_order(order).await;
        }
        if n % 2 == 1 {
            self.sim.place_order(order).await?;
        }
        Err(BrokerError::Unavailable { broker: BrokerKind::Alpaca, reason: "connection reset mid-order".into() })
    }
    async fn cancel_order(&self, id: &str) -> Result<OrderState, BrokerError> {
        self.sim.cancel_order(id).await
    }
    async fn order_status(&self, id: &str) -> Result<Option<OrderState>, BrokerError> {
        self.sim.order_status(id).await
    }
    async fn fills_since(&self, since: DateTime<Utc>) -> Result<Vec<noise_broker::FillReport>, BrokerError> {
        self.sim.fills_since(since).await
    }
    async fn bar_history(
        &self,
        symbol: &str,
        minutes: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        self.sim.bar_history(symbol, minutes, start, end, progress).await
    }
    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        if symbol == self.broken {
            return Err(BrokerError::Unavailable { broker: BrokerKind::Tradovate, reason: "market data down".into() });
        }
        self.catch_up().await?;
        let market = self.market.lock().await;
        let bars = market.1.get(symbol).cloned().unwrap_or_default();
        Ok(bars[bars.len().saturating_sub(limit)..].to_vec())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    sim: Arc<SimBroker>,
    summary: noise_engine::RunSummary,
}

/// Runs the live loop for `minutes` from Monday 2026-03-09 14:00 UTC.
async fn run(minutes: u64, broken: &'static str, lose_answers: bool) -> Setup {
    run_with_stall(minutes, broken, lose_answers, None).await
}

async fn run_with_stall(minutes: u64, broken: &'static str, lose_answers: bool, stall: Option<u64>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = NoiseConfig::default();
    let start = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap();
    let clock = Arc::new(VirtualClock(Mutex::new(start + TimeDelta::seconds(5)), Default::default(), stall));
    let store = Store::open(&dir.path().join("noise.db")).await.unwrap();
    let sim =
        Arc::new(SimBroker::open(&dir.path().join("sim.json"), SimConfig::default(), &config.instruments).unwrap());
    let market = SyntheticMarket::new(7, &config.instruments, start - TimeDelta::days(3));
    let broker = Arc::new(MarketBroker {
        sim: sim.clone(),
        market: tokio::sync::Mutex::new((market, HashMap::new())),
        clock: clock.clone(),
        broken,
        lose_answers,
        placements: Default::default(),
    });
    let mut engine = Engine::new(config.clone(), store.clone(), broker.clone()).await.unwrap();
    let options =
        LiveOptions { warm_up_bars: 3_000, settle: std::time::Duration::from_secs(3), max_minutes: Some(minutes) };
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let summary =
        run_live(&mut engine, broker, &config.instruments, clock.as_ref(), &options, stop, None, &mut |_, _| {})
            .await
            .unwrap();
    Setup { _dir: dir, store, sim, summary }
}

/// Every order at the broker is recorded once, under its client order id,
/// and every recorded order is at the broker or closed as never sent.
#[tokio::test]
async fn answers_lost_mid_order_never_double_an_order_nor_leave_one_dangling() {
    let Setup { store, sim, summary, .. } = run(120, "", true).await;
    let mut conn = store.pool().acquire().await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT client_order_id, status FROM trades WHERE client_order_id NOT LIKE '%-sl' AND client_order_id NOT LIKE '%-tp'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(rows.len() >= 4, "several placements were tried: {rows:?} {summary:?}");
    let mut at_broker = 0;
    for (id, status) in &rows {
        match sim.order_status(id).await.unwrap() {
            Some(_) => {
                at_broker += 1;
                assert_ne!(status, "intent", "{id}: adopted by the monitor, not left as an intent");
            }
            None => assert_eq!(status, "cancelled", "{id}: never arrived, closed, not re-sent"),
        }
    }
    assert!(at_broker > 0 && at_broker < rows.len(), "both kinds happened: {rows:?}");
    let never = noise_store::audit::recent(&mut conn, Some("intent_never_sent"), 1000).await.unwrap();
    assert_eq!(never.len(), rows.len() - at_broker);
}

#[tokio::test]
async fn the_live_loop_trades_and_a_broken_symbol_costs_only_its_own_minutes() {
    let Setup { store, summary, .. } = run(180, "MCL", false).await;
    let start = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap();
    assert_eq!(summary.minutes, 180);
    assert_eq!(summary.last_time, Some(start + TimeDelta::minutes(180)));
    assert!(summary.signals > 0 && summary.orders > 0 && summary.fills > 0, "{summary:?}");
    let mut conn = store.pool().acquire().await.unwrap();
    let missing = noise_store::audit::recent(&mut conn, Some("bar_unavailable"), 1000).await.unwrap();
    assert_eq!(missing.len(), 180, "MCL's bar, every minute, and nothing else");
    assert!(missing.iter().all(|e| e.details["symbol"] == "MCL"));
    let orders = noise_store::trades::open_orders(&mut conn).await.unwrap();
    assert!(orders.iter().all(|o| o.symbol != "MCL"));
}

/// Minutes long past are not traded on stale bars: the loop jumps to the present.
#[tokio::test]
async fn a_loop_that_fell_behind_jumps_to_the_present_and_says_so() {
    let Setup { store, summary, .. } = run_with_stall(60, "", false, Some(20)).await;
    let start = Utc.with_ymd_and_hms(2026, 3, 9, 14, 0, 0).unwrap();
    assert_eq!(summary.minutes, 60);
    assert!(summary.last_time.unwrap() >= start + TimeDelta::minutes(60 + 9), "{summary:?}");
    let mut conn = store.pool().acquire().await.unwrap();
    let skipped = noise_store::audit::recent(&mut conn, Some("minutes_skipped"), 10).await.unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].details["minutes"].as_i64().unwrap() >= 9, "{}", skipped[0].details);
}
