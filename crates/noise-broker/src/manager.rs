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

use crate::{AccountInfo, BrokerAdapter, BrokerError, BrokerPosition, OrderRequest, OrderState};

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
    health: Mutex<HashMap<BrokerKind, Health>>,
}

impl BrokerManager {
    /// `adapters`: at most one per broker; `instruments`: who routes what.
    pub fn new(adapters: Vec<Arc<dyn BrokerAdapter>>, instruments: &[Instrument]) -> Self {
        let routes = instruments.iter().map(|i| (i.symbol.clone(), i.broker)).collect();
        Self { adapters, routes, last_positions: Mutex::default(), health: Mutex::default() }
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

    /// The sum over the brokers that answer; an error only when none does.
    async fn account(&self) -> Result<AccountInfo, BrokerError> {
        let mut total: Option<AccountInfo> = None;
        let mut last_error = None;
        for adapter in &self.adapters {
            let outcome = adapter.account().await;
            self.note(adapter.broker(), &outcome);
            match outcome {
                Ok(a) => {
                    let sum = total.get_or_insert(AccountInfo {
                        broker: self.broker(),
                        equity: Decimal::ZERO,
                        cash: Decimal::ZERO,
                        buying_power: Decimal::ZERO,
                        available_margin: Decimal::ZERO,
                    });
                    sum.equity += a.equity;
                    sum.cash += a.cash;
                    // Buying power is the equity broker's; margin the futures broker's.
                    if adapter.asset_classes().contains(&AssetClass::Equity) {
                        sum.buying_power += a.buying_power;
                    }
                    if adapter.asset_classes().contains(&AssetClass::Future) {
                        sum.available_margin += a.available_margin;
                    }
                }
                Err(e) => last_error = Some(e),
            }
        }
        total.ok_or_else(|| last_error.unwrap_or(BrokerError::State("no broker is configured".into())))
    }

    /// Every broker's positions; a broker that does not answer contributes
    /// what it last said (an outage is not a flat book).
    async fn positions(&self) -> Result<Vec<BrokerPosition>, BrokerError> {
        let mut all = Vec::new();
        let mut answered = false;
        let mut last_error = None;
        for adapter in &self.adapters {
            let outcome = adapter.positions().await;
            self.note(adapter.broker(), &outcome);
            let mut last = self.last_positions.lock().unwrap_or_else(|p| p.into_inner());
            match outcome {
                Ok(held) => {
                    answered = true;
                    last.insert(adapter.broker(), held.clone());
                    all.extend(held);
                }
                Err(e) => match last.get(&adapter.broker()) {
                    Some(held) => all.extend(held.iter().cloned()),
                    None => last_error = Some(e),
                },
            }
        }
        match (answered || last_error.is_none(), last_error) {
            (true, _) => Ok(all),
            (false, Some(e)) => Err(e),
            (false, None) => Ok(all),
        }
    }

    async fn place_order(&self, order: &OrderRequest) -> Result<OrderState, BrokerError> {
        let adapter = self.route(order.symbol())?;
        let outcome = adapter.place_order(order).await;
        self.note(adapter.broker(), &outcome);
        outcome
    }

    async fn cancel_order(&self, client_order_id: &str) -> Result<OrderState, BrokerError> {
        for adapter in &self.adapters {
            if adapter.order_status(client_order_id).await?.is_some() {
                return adapter.cancel_order(client_order_id).await;
            }
        }
        Err(BrokerError::NotFound { broker: self.broker(), id: client_order_id.to_string() })
    }

    /// Asks each broker; a broker that is down is skipped, and if the order
    /// is found nowhere while one is down, that is an error, not "never
    /// arrived" (it may be at the broker that is down).
    async fn order_status(&self, client_order_id: &str) -> Result<Option<OrderState>, BrokerError> {
        let mut down = None;
        for adapter in &self.adapters {
            match adapter.order_status(client_order_id).await {
                Ok(Some(state)) => return Ok(Some(state)),
                Ok(None) => {}
                Err(e @ BrokerError::Unavailable { .. }) => down = Some(e),
                Err(other) => return Err(other),
            }
        }
        match down {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    async fn recent_bars(&self, symbol: &str, limit: usize) -> Result<Vec<Bar>, BrokerError> {
        let adapter = self.route(symbol)?;
        let outcome = adapter.recent_bars(symbol, limit).await;
        self.note(adapter.broker(), &outcome);
        outcome
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
