//! The seed's Broker Manager: one adapter per broker behind the same
//! interface, orders routed by the instrument's broker, account figures and
//! positions aggregated across brokers, and one broker's outage never
//! stopping the other's trading.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use noise_core::instrument::{AssetClass, BrokerKind, Instrument};
use noise_core::market::Bar;
use rust_decimal::Decimal;

use crate::{AccountInfo, BrokerAdapter, BrokerError, BrokerPosition, FillReport, OrderRequest, OrderState};

/// How a broker answered last.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    Up,
    Down(String),
}

pub struct BrokerManager {
    adapters: Vec<Arc<dyn BrokerAdapter>>,
    /// Which broker trades each symbol (from the instruments' config).
    routes: HashMap<String, BrokerKind>,
    /// Each broker's positions at its last good answer: while it is down,
    /// its positions are what it last said, never "none".
    last_positions: Mutex<HashMap<BrokerKind, Vec<BrokerPosition>>>,
    /// Each broker's account at its last good answer: a short outage must
    /// not read as a loss (breakers) nor shrink the day's starting equity.
    last_accounts: Mutex<HashMap<BrokerKind, AccountInfo>>,
    health: Mutex<HashMap<BrokerKind, Health>>,
}

impl BrokerManager {
    /// `adapters`: at most one per broker; `instruments`: who routes what.
    pub fn new(adapters: Vec<Arc<dyn BrokerAdapter>>, instruments: &[Instrument]) -> Self {
        let routes = instruments.iter().map(|i| (i.symbol.clone(), i.broker)).collect();
        Self {
            adapters,
            routes,
            last_positions: Mutex::default(),
            last_accounts: Mutex::default(),
            health: Mutex::default(),
        }
    }

    pub fn adapters(&self) -> &[Arc<dyn BrokerAdapter>] {
        &self.adapters
    }

    /// The adapter that trades `symbol`.
    pub fn route(&self, symbol: &str) -> Result<&Arc<dyn BrokerAdapter>, BrokerError> {
        let kind = self.routes.get(symbol).ok_or_else(|| BrokerError::Rejected {
            broker: BrokerKind::Sim,
            reason: format!("{symbol} is not a configured instrument"),
        })?;
        self.adapters.iter().find(|a| a.broker() == *kind).ok_or_else(|| BrokerError::Unavailable {
            broker: *kind,
            reason: format!("{symbol} trades at {kind:?}, which is not connected (see --broker)"),
        })
    }

    /// Each broker's health as of its last answer.
    pub fn health(&self) -> Vec<(BrokerKind, Health)> {
        let known = self.health.lock().unwrap_or_else(|p| p.into_inner());
        self.adapters.iter().map(|a| (a.broker(), known.get(&a.broker()).cloned().unwrap_or(Health::Up))).collect()
    }

    /// The broker that has the order, and its state. A broker that is down
    /// is skipped; "found nowhere" while one is down is that broker's error
    /// (the order may be there), never "never sent".
    async fn locate(
        &self,
        client_order_id: &str,
    ) -> Result<Option<(&Arc<dyn BrokerAdapter>, OrderState)>, BrokerError> {
        let mut down = None;
        for adapter in &self.adapters {
            match adapter.order_status(client_order_id).await {
                Ok(Some(state)) => return Ok(Some((adapter, state))),
                Ok(None) => {}
                Err(e @ BrokerError::Unavailable { .. }) => down = Some(e),
                Err(other) => return Err(other),
            }
        }
        down.map_or(Ok(None), Err)
    }

    fn note<T>(&self, broker: BrokerKind, outcome: &Result<T, BrokerError>) {
        let health = match outcome {
            Ok(_) => Health::Up,
            Err(BrokerError::Unavailable { reason, .. }) => Health::Down(reason.clone()),
            // A refusal or a bad reply is the broker answering.
            Err(_) => Health::Up,
        };
        self.health.lock().unwrap_or_else(|p| p.into_inner()).insert(broker, health);
    }
}

#[async_trait]
impl BrokerAdapter for BrokerManager {
    /// The first broker; orders are recorded under [`BrokerAdapter::broker_for`].
    fn broker(&self) -> BrokerKind {
        self.adapters.first().map_or(BrokerKind::Sim, |a| a.broker())
    }

    fn broker_for(&self, symbol: &str) -> BrokerKind {
        self.routes.get(symbol).copied().unwrap_or_else(|| self.broker())
    }

    fn asset_classes(&self) -> &[AssetClass] {
        &[AssetClass::Equity, AssetClass::Future]
    }

    /// Succeeds when at least one broker does; the others are reported down.
    async fn authenticate(&self) -> Result<(), BrokerError> {
        let mut last_error = None;
        let mut any = false;
        for adapter in &self.adapters {
            let outcome = adapter.authenticate().await;
            self.note(adapter.broker(), &outcome);
            match outcome {
                Ok(()) => any = true,
                Err(e) => last_error = Some(e),
            }
        }
        match (any, last_error) {
            (true, _) | (false, None) => Ok(()),
            (false, Some(e)) => Err(e),
        }
    }

    async fn refresh_token(&self) -> Result<(), BrokerError> {
        for adapter in &self.adapters {
            let outcome = adapter.refresh_token().await;
            self.note(adapter.broker(), &outcome);
        }
        Ok(())
    }

    /// The sum over the brokers; one that does not answer counts with its
    /// last good figures (an outage is not a loss); an error when a broker
    /// has never answered (a total without it would be wrong, not partial).
    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        let mut total = AccountInfo {
            broker: self.broker(),
            equity: Decimal::ZERO,
            cash: Decimal::ZERO,
            buying_power: Decimal::ZERO,
            available_margin: Decimal::ZERO,
            day_trade_count: None,
            margin_account: false,
        };
        for adapter in &self.adapters {
            let outcome = adapter.account().await;
            self.note(adapter.broker(), &outcome);
            let a = {
                let mut last = self.last_accounts.lock().unwrap_or_else(|p| p.into_inner());
                match outcome {
                    Ok(a) => {
                        last.insert(adapter.broker(), a.clone());
                        a
                    }
                    Err(e) => last.get(&adapter.broker()).cloned().ok_or(e)?,
                }
            };
            total.equity += a.equity;
            total.cash += a.cash;
            // Buying power is the equity broker's; margin the futures broker's; so are the PDT facts.
            if adapter.asset_classes().contains(&AssetClass::Equity) {
                total.buying_power += a.buying_power;
                total.margin_account |= a.margin_account;
                total.day_trade_count = a.day_trade_count.or(total.day_trade_count);
            }
            if adapter.asset_classes().contains(&AssetClass::Future) {
                total.available_margin += a.available_margin;
            }
        }
        Ok(total)
    }

    /// Every broker's positions; a broker that does not answer contributes
    /// what it last said (an outage is not a flat book), and one that never
    /// answered makes this an error (its book is unknown, not empty).
    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        let mut all = Vec::new();
        for adapter in &self.adapters {
            let outcome = adapter.positions().await;
            self.note(adapter.broker(), &outcome);
            let mut last = self.last_positions.lock().unwrap_or_else(|p| p.into_inner());
            let held = match outcome {
                Ok(held) => {
                    last.insert(adapter.broker(), held.clone());
                    held
                }
                Err(e) => last.get(&adapter.broker()).cloned().ok_or(e)?,
            };
            all.extend(held);
        }
        Ok(all)
    }

    /// Every broker's positions now; one that does not answer makes this an
    /// error (its last known book may be out of date).
    async fn fresh_positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        let mut all = Vec::new();
        for adapter in &self.adapters {
            let outcome = adapter.fresh_positions().await;
            self.note(adapter.broker(), &outcome);
            let held = outcome?;
            self.last_positions.lock().unwrap_or_else(|p| p.into_inner()).insert(adapter.broker(), held.clone());
            all.extend(held);
        }
        Ok(all)
    }

    /// Every broker's fills, in time order. A broker that does not answer is
    /// left out (its orders wait for their fills until it does); an error
    /// only when none answers.
    async fn fills_since(&self, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<FillReport>, BrokerError> {
        let (mut all, mut failures) = (Vec::new(), Vec::new());
        for adapter in &self.adapters {
            let outcome = adapter.fills_since(since).await;
            self.note(adapter.broker(), &outcome);
            match outcome {
                Ok(fills) => all.extend(fills),
                Err(e) => failures.push(e),
            }
        }
        if failures.len() == self.adapters.len()
            && let Some(e) = failures.pop()
        {
            return Err(e);
        }
        all.sort_by_key(|f| f.time);
        Ok(all)
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError> {
        let adapter = self.route(order.symbol())?;
        let outcome = adapter.place_order(order).await;
        self.note(adapter.broker(), &outcome);
        outcome
    }

    /// Cancels at the broker that has the order; a broker that is down is
    /// skipped, and "not found" while one is down is its error, not NotFound.
    async fn cancel_order(&self, client_order_id: &str) -> Result<OrderState, BrokerError> {
        match self.locate(client_order_id).await? {
            Some((adapter, _)) => adapter.cancel_order(client_order_id).await,
            None => Err(BrokerError::NotFound { broker: self.broker(), id: client_order_id.to_string() }),
        }
    }

    /// Asks each broker; a broker that is down is skipped, and if the order
    /// is found nowhere while one is down, that is an error, not "never
    /// arrived" (it may be at the broker that is down).
    async fn order_status(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError> {
        Ok(self.locate(client_order_id).await?.map(|(_, state)| state))
    }

    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        let adapter = self.route(symbol)?;
        let outcome = adapter.recent_bars(symbol, limit).await;
        self.note(adapter.broker(), &outcome);
        outcome
    }

    async fn bar_history(
        &self,
        symbol: &str,
        minutes: u32,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Vec<Bar>, BrokerError> {
        self.route(symbol)?.bar_history(symbol, minutes, start, end, progress).await
    }

    /// Each broker on its own: one being down does not hide the other.
    async fn connectivity(&self) -> Vec<(BrokerKind, Result<(), String>)> {
        let mut all = Vec::new();
        for adapter in &self.adapters {
            let outcome = adapter.account().await;
            self.note(adapter.broker(), &outcome);
            all.push((adapter.broker(), outcome.map(|_| ()).map_err(|e| e.to_string())));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use noise_core::instrument::Instrument;
    use rust_decimal_macros::dec;

    /// A broker whose answers the test sets.
    struct Scripted {
        kind: BrokerKind,
        classes: &'static [AssetClass],
        up: Mutex<bool>,
        equity: Decimal,
        held: Vec<BrokerPosition>,
        orders: Vec<&'static str>,
    }

    impl Scripted {
        fn new(kind: BrokerKind, equity: Decimal, held: &[(&str, Decimal)], orders: Vec<&'static str>) -> Arc<Self> {
            let classes: &'static [AssetClass] =
                if kind == BrokerKind::Alpaca { &[AssetClass::Equity] } else { &[AssetClass::Future] };
            let held = held
                .iter()
                .map(|(s, q)| BrokerPosition {
                    symbol: s.to_string(),
                    quantity: *q,
                    average_price: dec!(1),
                    market_price: dec!(1),
                })
                .collect();
            Arc::new(Self { kind, classes, up: Mutex::new(true), equity, held, orders })
        }

        fn down(&self) -> Result<(), BrokerError> {
            if *self.up.lock().unwrap() {
                Ok(())
            } else {
                Err(BrokerError::Unavailable { broker: self.kind, reason: "connection refused".into() })
            }
        }
    }

    #[async_trait]
    impl BrokerAdapter for Scripted {
        fn broker(&self) -> BrokerKind {
            self.kind
        }
        fn asset_classes(&self) -> &[AssetClass] {
            self.classes
        }
        async fn authenticate(&self) -> Result<(), BrokerError> {
            self.down()
        }
        async fn refresh_token(&self) -> Result<(), BrokerError> {
            self.down()
        }
        async fn account(&self) -> Result<AccountInfo, BrokerError> {
            self.down()?;
            Ok(AccountInfo {
                broker: self.kind,
                equity: self.equity,
                cash: self.equity,
                buying_power: self.equity * dec!(2),
                available_margin: self.equity,
                day_trade_count: (self.kind == BrokerKind::Alpaca).then_some(2),
                margin_account: self.kind == BrokerKind::Alpaca,
            })
        }
        async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
            self.down()?;
            Ok(self.held.clone())
        }
        async fn place_order(&self, _: &OrderRequest) -> Result<OrderState, BrokerError> {
            Err(BrokerError::State("not in these tests".into()))
        }
        async fn cancel_order(&self, id: &str) -> Result<OrderState, BrokerError> {
            Err(BrokerError::NotFound { broker: self.kind, id: id.into() })
        }
        async fn order_status(&self, id: &str) -> Result<Option<OrderState>, BrokerError> {
            self.down()?;
            Ok(self.orders.contains(&id).then(|| OrderState {
                client_order_id: id.into(),
                broker_order_id: "1".into(),
                symbol: "SPY".into(),
                side: noise_core::risk::Side::Buy,
                order_type: noise_core::order::OrderType::Market,
                quantity: dec!(1),
                status: noise_core::order::OrderStatus::Submitted,
                filled_quantity: dec!(0),
                average_fill_price: None,
                fees: dec!(0),
                updated_at: chrono::DateTime::UNIX_EPOCH,
                legs: Vec::new(),
            }))
        }
        async fn fills_since(&self, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<FillReport>, BrokerError> {
            self.down()?;
            let fill = FillReport {
                broker: self.kind,
                fill_id: compact_str::format_compact!("{:?}-1", self.kind),
                broker_order_id: "1".into(),
                client_order_id: None,
                symbol: self.held[0].symbol.as_str().into(),
                side: noise_core::risk::Side::Buy,
                quantity: dec!(1),
                price: dec!(1),
                fee: dec!(0),
                time: chrono::DateTime::UNIX_EPOCH
                    + chrono::TimeDelta::minutes(if self.kind == BrokerKind::Alpaca { 2 } else { 1 }),
            };
            Ok([fill].into_iter().filter(|f| f.time >= since).collect())
        }
        async fn recent_bars(&self, _: &str, _: usize) -> Result<Vec<Bar>, BrokerError> {
            self.down()?;
            Ok(Vec::new())
        }
        async fn bar_history(
            &self,
            _: &str,
            _: u32,
            _: chrono::DateTime<chrono::Utc>,
            _: chrono::DateTime<chrono::Utc>,
            _: &mut (dyn FnMut(usize) + Send),
        ) -> Result<Vec<Bar>, BrokerError> {
            self.down()?;
            Ok(Vec::new())
        }
    }

    fn both() -> (Arc<Scripted>, Arc<Scripted>, BrokerManager) {
        let alpaca = Scripted::new(BrokerKind::Alpaca, dec!(30000), &[("SPY", dec!(10))], vec!["noise-a-SPY"]);
        let tradovate = Scripted::new(BrokerKind::Tradovate, dec!(20000), &[("MNQ", dec!(-2))], vec!["noise-t-MNQ"]);
        let manager = BrokerManager::new(vec![alpaca.clone(), tradovate.clone()], &Instrument::defaults());
        (alpaca, tradovate, manager)
    }

    #[tokio::test]
    async fn routes_by_the_instruments_broker() {
        let (_, _, manager) = both();
        assert_eq!(manager.route("SPY").unwrap().broker(), BrokerKind::Alpaca);
        assert_eq!(manager.route("MGC").unwrap().broker(), BrokerKind::Tradovate);
        assert_eq!(manager.broker_for("MNQ"), BrokerKind::Tradovate);
        assert!(manager.route("AAPL").is_err(), "not a configured instrument");
        let alpaca_only =
            BrokerManager::new(vec![Scripted::new(BrokerKind::Alpaca, dec!(1), &[], vec![])], &Instrument::defaults());
        let error = alpaca_only.route("MNQ").err().unwrap().to_string();
        assert!(error.contains("not connected"), "{error}");
    }

    #[tokio::test]
    async fn accounts_and_positions_aggregate_and_an_outage_keeps_the_last_known_book() {
        let (_, tradovate, manager) = both();
        let account = manager.account().await.unwrap();
        assert_eq!(
            (account.equity, account.buying_power, account.available_margin),
            (dec!(50000), dec!(60000), dec!(20000))
        );
        assert_eq!((account.day_trade_count, account.margin_account), (Some(2), true), "the equity broker's PDT facts");
        assert_eq!(manager.positions().await.unwrap().len(), 2);

        *tradovate.up.lock().unwrap() = false;
        let account = manager.account().await.unwrap();
        assert_eq!(account.equity, dec!(50000), "a broker that stops answering counts with its last figures");
        let held = manager.positions().await.unwrap();
        assert!(held.iter().any(|p| p.symbol == "MNQ" && p.quantity == dec!(-2)), "a down broker's book is not flat");
        let health = manager.health();
        assert_eq!(health[0], (BrokerKind::Alpaca, Health::Up));
        assert!(matches!(&health[1], (BrokerKind::Tradovate, Health::Down(why)) if why.contains("refused")));
        let connectivity = manager.connectivity().await;
        assert!(connectivity[0].1.is_ok() && connectivity[1].1.is_err());
    }

    #[tokio::test]
    async fn an_order_is_found_where_it_is_and_a_down_broker_is_never_taken_for_never_sent() {
        let (_, tradovate, manager) = both();
        assert!(manager.order_status("noise-t-MNQ").await.unwrap().is_some());
        assert!(manager.order_status("noise-unknown").await.unwrap().is_none());
        *tradovate.up.lock().unwrap() = false;
        assert!(manager.order_status("noise-a-SPY").await.unwrap().is_some(), "found at the broker that answers");
        assert!(manager.order_status("noise-t-MNQ").await.is_err(), "may be at the broker that is down");
        // A broker that never answered: its book and account are unknown, not empty.
        let (_, tradovate2, fresh) = both();
        *tradovate2.up.lock().unwrap() = false;
        assert!(fresh.account().await.is_err());
        assert!(fresh.positions().await.is_err());
    }

    #[tokio::test]
    async fn fills_come_from_every_broker_that_answers_and_fresh_positions_refuse_a_stale_book() {
        let (alpaca, tradovate, manager) = both();
        let fills = manager.fills_since(chrono::DateTime::UNIX_EPOCH).await.unwrap();
        let ids: Vec<&str> = fills.iter().map(|f| f.fill_id.as_str()).collect();
        assert_eq!(ids, ["Tradovate-1", "Alpaca-1"], "both brokers' fills, in time order");
        assert_eq!(manager.fresh_positions().await.unwrap().len(), 2);
        *tradovate.up.lock().unwrap() = false;
        let fills = manager.fills_since(chrono::DateTime::UNIX_EPOCH).await.unwrap();
        assert_eq!(fills.len(), 1, "the broker that answers still reports its fills");
        assert!(manager.positions().await.is_ok(), "positions fall back to the last known book");
        assert!(manager.fresh_positions().await.is_err(), "fresh positions do not");
        *alpaca.up.lock().unwrap() = false;
        assert!(manager.fills_since(chrono::DateTime::UNIX_EPOCH).await.is_err(), "no broker answered");
    }
}
