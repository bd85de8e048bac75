//! The engine: the seed's trading cycle on the store, a broker and the
//! signal and risk core.
//!
//! Per 1-minute bar at its close: signal pipeline → evaluation stored and
//! audited → risk decision audited → for an approval, the order intent and
//! its client order id committed *before* the broker is called → the broker's
//! answer recorded. The order monitor applies fills (bracket legs included),
//! corrects positions to the broker's (the truth), closes round trips into
//! `trade_history` and updates the risk state. Every state change commits
//! with its audit event in one transaction.
//!
//! Client order ids are deterministic, `noise-<yyyymmddHHMM>-<SYMBOL>`: the
//! same bar processed twice (a restart) yields the same id, which the store's
//! UNIQUE constraint and the broker's idempotence turn into one order.

pub mod backtest;
mod decide;
mod events;
mod live;
mod run;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use noise_broker::{AccountInfo, BrokerAdapter, BrokerError, OrderRequest, OrderState};
use noise_core::config::NoiseConfig;
use noise_core::instrument::Instrument;
use noise_core::market::Bar;
use noise_core::order::OrderStatus;
use noise_core::risk::{self, AccountSnapshot, ClosedTrade, PositionSnapshot, RiskEvent, RiskState, Side};
use noise_core::signal::{Evaluation, SignalError, SymbolPipeline};
use noise_store::positions::PositionRow;
use noise_store::records::{ClosedTradeRow, EquitySnapshot};
use noise_store::trades::{NewOrder, OrderRow};
use noise_store::{Store, StoreError, audit, positions, records, risk_state, signals, trades};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::SqliteConnection;

pub use decide::{RiskMode, client_order_id, decide, reserve};
pub use events::EngineEvent;
pub use live::{Clock, LiveOptions, WallClock, run_live};
pub use run::{MarketSource, RunOptions, RunSummary, run};

const ACTOR: &str = "engine";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Signal(#[from] SignalError),
    #[error("schedule: {0}")]
    Schedule(String),
}

/// What the API may ask of a running engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Halt trading: only orders that cancel pass, until resumed.
    Pause,
    Resume,
    /// Clear every breaker (the drawdown one resets only this way).
    ResetCircuitBreaker,
    /// Bring positions in line with the broker's now.
    SyncPositions,
    /// The kill switch: cancel every open order, close every position at
    /// market, and pause.
    Flatten,
}

/// Why a control was refused: the state forbids it (a 409 for the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRefused(pub String);

/// A control with the channel its outcome goes back on: the trading state
/// and risk state after it, or why it was refused.
#[derive(Debug)]
pub struct ControlRequest {
    pub control: Control,
    pub by: String,
    pub reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, ControlOutcomeError>>,
}

/// A control that did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlOutcomeError {
    Refused(String),
    Failed(String),
}

/// Why an intent is closed when the broker has no order under its id.
const NEVER_SENT: &str = "never reached the broker (no order with this client order id); not re-sent";

/// Closes an intent the broker never received: cancelled, with why.
async fn close_never_sent(
    tx: &mut SqliteConnection,
    client_order_id: &str,
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    let status = OrderStatus::Cancelled;
    trades::update_status(tx, client_order_id, status, None, Decimal::ZERO, None, Decimal::ZERO, Some(NEVER_SENT), now)
        .await?;
    Ok(())
}

/// How long an intent whose placement failed may stay unseen at the broker
/// before the monitor closes it as never sent.
const INTENT_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// The last fill seen per symbol: what a closing round trip exits at.
#[derive(Debug, Clone)]
struct LastFill {
    price: Decimal,
    at: DateTime<Utc>,
}

pub struct Engine {
    config: NoiseConfig,
    store: Store,
    broker: Arc<dyn BrokerAdapter>,
    instruments: BTreeMap<String, Instrument>,
    pipelines: BTreeMap<String, SymbolPipeline>,
    risk: RiskState,
    last_fills: BTreeMap<String, LastFill>,
    fees_since_open: BTreeMap<String, Decimal>,
    /// The last close per symbol (prices pending orders for exposure).
    last_close: BTreeMap<String, Decimal>,
}

impl Engine {
    /// Builds the engine: pipelines for every instrument, the risk state from
    /// the database (or fresh from the broker's equity).
    pub async fn new(config: NoiseConfig, store: Store, broker: Arc<dyn BrokerAdapter>) -> Result<Self, EngineError> {
        let mut pipelines = BTreeMap::new();
        for instrument in &config.instruments {
            let pipeline = SymbolPipeline::new(instrument.clone(), &config.signals, &config.indicators)?;
            pipelines.insert(instrument.symbol.clone(), pipeline);
        }
        let instruments = config.instruments.iter().map(|i| (i.symbol.clone(), i.clone())).collect();
        let mut conn = store.acquire().await?;
        let risk = match risk_state::load(&mut conn).await? {
            Some(state) => state,
            None => RiskState::new(broker.account().await?.equity),
        };
        drop(conn);
        Ok(Self {
            config,
            store,
            broker,
            instruments,
            pipelines,
            risk,
            last_fills: BTreeMap::new(),
            fees_since_open: BTreeMap::new(),
            last_close: BTreeMap::new(),
        })
    }

    pub fn risk_state(&self) -> &RiskState {
        &self.risk
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Feeds history to the pipelines only (warm-up: no signals acted on).
    pub fn warm_up(&mut self, symbol: &str, bar: &Bar) -> Result<(), EngineError> {
        if let Some(p) = self.pipelines.get_mut(symbol) {
            p.on_bar(bar, bar.time + noise_core::market::Timeframe::M1.duration())?;
        }
        Ok(())
    }

    /// Records an audit event on its own.
    pub async fn audit(&self, now: DateTime<Utc>, event: &str, details: serde_json::Value) -> Result<(), EngineError> {
        let mut conn = self.store.acquire().await?;
        audit::append(&mut conn, now, event, ACTOR, &details).await?;
        Ok(())
    }

    /// The signal cycle for the bars that closed at `now`, in three steps so
    /// the whole cycle costs three durable commits, not one per event:
    /// 1. one transaction: every evaluation, every risk decision and every
    ///    order intent with their audit events (write-ahead: all intents are
    ///    durable before any broker call);
    /// 2. the broker calls;
    /// 3. one transaction: the broker's answers.
    pub async fn on_bars(
        &mut self,
        now: DateTime<Utc>,
        bars: &[(String, Bar)],
    ) -> Result<Vec<EngineEvent>, EngineError> {
        let mut evaluations = Vec::new();
        for (symbol, bar) in bars {
            match self.last_close.get_mut(symbol) {
                Some(close) => *close = bar.close,
                None => {
                    self.last_close.insert(symbol.clone(), bar.close);
                }
            }
            let Some(pipeline) = self.pipelines.get_mut(symbol) else { continue };
            if let Some(evaluation) = pipeline.on_bar(bar, now)? {
                evaluations.push(evaluation);
            }
        }
        if evaluations.is_empty() {
            return Ok(Vec::new());
        }
        let account = self.broker.account().await?;
        let held = self.broker.positions().await?;
        let (mut snapshot, mut positions) = self.snapshots(&account, &held);
        let mut out: Vec<EngineEvent> = Vec::new();
        let mut to_send = Vec::new();

        let mut tx = self.store.begin().await?;
        positions.extend(self.pending_entries(&mut tx).await?);
        let risk_events = self.risk.mark_equity(account.equity, now, &self.config.risk);
        record_risk_events(&mut tx, &risk_events, now).await?;
        out.extend(risk_events.into_iter().map(EngineEvent::Risk));
        for evaluation in &evaluations {
            // The `signals_audit` trigger writes signal_generated / signal_rejected.
            let signal_id = signals::insert(&mut tx, evaluation).await?;
            let Evaluation::Signal(signal) = evaluation else { continue };
            out.push(EngineEvent::Signal(Box::new(signal.clone())));
            let Some(instrument) = self.instruments.get(&signal.symbol) else { continue };
            let (decision, request) = decide(
                signal,
                instrument,
                &snapshot,
                &positions,
                &self.risk,
                &self.config.risk,
                RiskMode::Checked,
                now,
            );
            // Serialized once: the audit event and the order row carry the same text.
            let decision_json = serde_json::to_string(&decision).unwrap_or_default();
            let details = format!("{{\"signal_id\":{signal_id},\"decision\":{decision_json}}}");
            audit::append_json(&mut tx, now, "risk_decision", ACTOR, &details).await?;
            let approval = decision.approval().cloned();
            out.push(EngineEvent::Decision(Box::new(decision)));
            let (Some(request), Some(approval)) = (request, approval) else { continue };
            let order = NewOrder {
                client_order_id: request.client_order_id().to_string(),
                broker: format!("{:?}", self.broker.broker_for(&signal.symbol)).to_lowercase(),
                symbol: signal.symbol.clone(),
                side: side_text(request.side()).into(),
                intent: format!("{:?}", request.intent()).to_lowercase(),
                quantity: request.quantity(),
                order_type: "market".into(),
                limit_price: None,
                stop_loss: request.stop_loss(),
                take_profit: request.take_profit(),
                signal_id: Some(signal_id),
                risk_decision: Some(decision_json),
                created_at: now,
            };
            // The order_intent audit event comes from the database's trigger.
            if !trades::insert_intent_once(&mut tx, &order).await? {
                continue; // this bar was already acted on (a restart re-processed it): never a second order
            }
            // Only now: a re-processed bar's order is already counted as a pending entry.
            decide::reserve(&approval, instrument, &mut snapshot, &mut positions);
            to_send.push(request);
        }
        tx.commit().await.map_err(StoreError::from)?;

        let mut answers = Vec::with_capacity(to_send.len());
        for request in to_send {
            if request.intent() == risk::Intent::Exit {
                self.cancel_protecting_orders(request.symbol(), now).await?;
            }
            let answer = self.broker.place_order(&request).await;
            answers.push((request, answer));
        }

        let mut tx = self.store.begin().await?;
        for (request, answer) in answers {
            let client_order_id = request.client_order_id().to_string();
            match answer {
                Ok(state) => {
                    self.apply_order_state(&mut tx, &state, now).await?;
                    out.push(EngineEvent::OrderPlaced {
                        client_order_id,
                        symbol: request.symbol().to_string(),
                        side: request.side(),
                        quantity: request.quantity(),
                    });
                }
                Err(BrokerError::Rejected { reason, .. }) => {
                    trades::update_status(
                        &mut tx,
                        &client_order_id,
                        OrderStatus::Rejected,
                        None,
                        Decimal::ZERO,
                        None,
                        Decimal::ZERO,
                        Some(&reason),
                        now,
                    )
                    .await?;
                    audit::append(
                        &mut tx,
                        now,
                        "order_rejected",
                        ACTOR,
                        &json!({"client_order_id": client_order_id, "reason": reason}),
                    )
                    .await?;
                    out.push(EngineEvent::OrderRejected { client_order_id, reason });
                }
                // Anything else leaves the intent for the monitor / reconciliation to resolve.
                Err(other) => {
                    audit::append(
                        &mut tx,
                        now,
                        "order_error",
                        ACTOR,
                        &json!({"client_order_id": client_order_id, "error": other.to_string()}),
                    )
                    .await?;
                }
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(out)
    }

    /// Entry orders sent but not yet filled, as positions: exposure the
    /// risk checks must count before the fills arrive.
    async fn pending_entries(&self, conn: &mut SqliteConnection) -> Result<Vec<PositionSnapshot>, EngineError> {
        let open = trades::open_orders(conn).await?;
        Ok(open
            .into_iter()
            .filter(|o| o.intent == "entry")
            .filter_map(|o| {
                let instrument = self.instruments.get(&o.symbol)?;
                let price = *self.last_close.get(&o.symbol)?;
                let remaining = o.quantity - o.filled_quantity;
                let signed = if o.side == "BUY" { remaining } else { -remaining };
                Some(PositionSnapshot::new(instrument, signed, price, price))
            })
            .collect())
    }

    fn snapshots(
        &self,
        account: &AccountInfo,
        held: &[noise_broker::BrokerPosition],
    ) -> (AccountSnapshot, Vec<PositionSnapshot>) {
        let snapshot = decide::account_snapshot(account);
        let positions = held
            .iter()
            .filter_map(|p| {
                let i = self.instruments.get(&p.symbol)?;
                Some(PositionSnapshot::new(i, p.quantity, p.average_price, p.market_price))
            })
            .collect();
        (snapshot, positions)
    }

    /// Records a broker's view of one order if it changed; returns the fill event.
    async fn apply_order_state(
        &mut self,
        conn: &mut SqliteConnection,
        state: &OrderState,
        now: DateTime<Utc>,
    ) -> Result<Option<EngineEvent>, EngineError> {
        let Some(row) = trades::by_client_order_id(conn, &state.client_order_id).await? else {
            return Ok(None);
        };
        self.apply_known(conn, &row, state, now).await
    }

    /// [`Self::apply_order_state`] for an order whose row is already loaded.
    async fn apply_known(
        &mut self,
        conn: &mut SqliteConnection,
        row: &OrderRow,
        state: &OrderState,
        now: DateTime<Utc>,
    ) -> Result<Option<EngineEvent>, EngineError> {
        if row.status == state.status && row.filled_quantity == state.filled_quantity && row.broker_order_id.is_some() {
            return Ok(None);
        }
        trades::update_status(
            conn,
            &state.client_order_id,
            state.status,
            Some(&state.broker_order_id),
            state.filled_quantity,
            state.average_fill_price,
            state.fees,
            None,
            now,
        )
        .await?;
        // The `trades_audit_update` trigger records the change in the audit log.
        if state.filled_quantity > row.filled_quantity
            && let Some(price) = state.average_fill_price
        {
            self.last_fills.insert(state.symbol.clone(), LastFill { price, at: state.updated_at });
            *self.fees_since_open.entry(state.symbol.clone()).or_default() += state.fees - row.fees;
            return Ok(Some(EngineEvent::Fill {
                client_order_id: state.client_order_id.clone(),
                symbol: state.symbol.clone(),
                side: state.side,
                quantity: state.filled_quantity - row.filled_quantity,
                price,
            }));
        }
        Ok(None)
    }

    /// Cancels the bracket exits (stop, target) still working for `symbol`
    /// before another exit goes out: a real broker keeps them after the
    /// position is closed (and Alpaca holds the shares for them, refusing the
    /// exit). Best effort: a failed cancel is audited, the monitor sees the rest.
    async fn cancel_protecting_orders(&self, symbol: &str, now: DateTime<Utc>) -> Result<(), EngineError> {
        let mut conn = self.store.acquire().await?;
        let open = trades::open_orders(&mut conn).await?;
        drop(conn);
        let legs = open.iter().filter(|o| o.symbol == symbol && o.intent == "exit" && o.order_type != "market");
        for leg in legs {
            if let Err(error) = self.broker.cancel_order(&leg.client_order_id).await {
                let details = json!({"client_order_id": leg.client_order_id, "error": error.to_string()});
                self.audit(now, "cancel_failed", details).await?;
            }
        }
        Ok(())
    }

    /// Applies the broker's view of a bracket leg, first registering the leg
    /// if the broker created it since the last look, so it is tracked like
    /// any order. Returns the fill event.
    async fn apply_leg(
        &mut self,
        conn: &mut SqliteConnection,
        parent: &OrderRow,
        leg: &OrderState,
        now: DateTime<Utc>,
    ) -> Result<Option<EngineEvent>, EngineError> {
        let row = match trades::by_client_order_id(conn, &leg.client_order_id).await? {
            Some(row) => row,
            None => self.register_leg(conn, parent, leg, now).await?,
        };
        self.apply_known(conn, &row, leg, now).await
    }

    async fn register_leg(
        &self,
        conn: &mut SqliteConnection,
        parent: &OrderRow,
        leg: &OrderState,
        now: DateTime<Utc>,
    ) -> Result<OrderRow, EngineError> {
        let order = NewOrder {
            client_order_id: leg.client_order_id.clone(),
            broker: parent.broker.clone(),
            symbol: leg.symbol.clone(),
            side: side_text(leg.side).into(),
            intent: "exit".into(),
            quantity: leg.quantity,
            order_type: if leg.client_order_id.ends_with("-sl") { "stop".into() } else { "limit".into() },
            limit_price: None,
            stop_loss: None,
            take_profit: None,
            signal_id: parent.signal_id,
            risk_decision: None,
            created_at: now,
        };
        // The `trades_audit_insert` trigger records it as a `bracket_leg` event.
        trades::insert_intent(conn, &order).await?;
        trades::by_client_order_id(conn, &order.client_order_id).await?.ok_or_else(|| {
            StoreError::Corrupt {
                what: format!("trades ({})", order.client_order_id),
                detail: "the bracket leg just inserted is not there".into(),
            }
            .into()
        })
    }

    /// The order monitor: polls every open order, applies fills, registers
    /// bracket legs, then brings positions in line with the broker, all in
    /// one transaction.
    pub async fn monitor(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let mut conn = self.store.acquire().await?;
        let open = trades::open_orders(&mut conn).await?;
        drop(conn);
        let mut states = Vec::new();
        let mut never_arrived = Vec::new();
        for row in open {
            match self.broker.order_status(&row.client_order_id).await? {
                Some(state) => states.push((row, state)),
                // A placement that failed and that the broker does not have, past a grace
                // period: it never arrived. It is closed, not sent again (the signal is old).
                None if row.status == OrderStatus::Intent && now - row.created_at >= INTENT_GRACE => {
                    never_arrived.push(row)
                }
                None => {}
            }
        }
        let held = self.broker.positions().await?;
        let mut tx = self.store.begin().await?;
        let mut events = Vec::new();
        for row in &never_arrived {
            close_never_sent(&mut tx, &row.client_order_id, now).await?;
            audit::append(&mut tx, now, "intent_never_sent", ACTOR, &json!({"client_order_id": row.client_order_id}))
                .await?;
            let reason = NEVER_SENT.to_string();
            events.push(EngineEvent::OrderRejected { client_order_id: row.client_order_id.clone(), reason });
        }
        for (row, state) in &states {
            for leg in &state.legs {
                // A leg already tracked is an open order of its own, handled on its turn.
                if states.iter().any(|(r, _)| r.client_order_id == leg.client_order_id) {
                    continue;
                }
                events.extend(self.apply_leg(&mut tx, row, leg, now).await?);
            }
            events.extend(self.apply_known(&mut tx, row, state, now).await?);
        }
        events.extend(self.sync_positions_in(&mut tx, &held, now).await?);
        tx.commit().await.map_err(StoreError::from)?;
        Ok(events)
    }

    /// Broker positions are the truth: see [`Self::sync_positions_in`].
    pub async fn sync_positions(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let held = self.broker.positions().await?;
        let mut tx = self.store.begin().await?;
        let events = self.sync_positions_in(&mut tx, &held, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(events)
    }

    /// The positions table follows the broker's; whatever shrank or vanished
    /// is a closed round trip (into `trade_history`, and the risk state).
    async fn sync_positions_in(
        &mut self,
        tx: &mut SqliteConnection,
        held: &[noise_broker::BrokerPosition],
        now: DateTime<Utc>,
    ) -> Result<Vec<EngineEvent>, EngineError> {
        let mut events = Vec::new();
        let ours = positions::all(tx).await?;
        for p in &ours {
            let theirs = held.iter().find(|b| b.symbol == p.symbol);
            let remaining = match theirs {
                Some(b) if b.quantity.is_sign_positive() == p.quantity.is_sign_positive() => {
                    b.quantity.abs().min(p.quantity.abs())
                }
                _ => Decimal::ZERO,
            };
            let closed = p.quantity.abs() - remaining;
            if closed.is_zero() {
                continue;
            }
            let Some(instrument) = self.instruments.get(&p.symbol) else { continue };
            let fill = self.last_fills.get(&p.symbol).cloned();
            let (exit_price, exit_time) =
                fill.map_or_else(|| (theirs.map_or(p.average_price, |b| b.market_price), now), |f| (f.price, f.at));
            let direction = if p.quantity.is_sign_positive() { Decimal::ONE } else { -Decimal::ONE };
            let fees = if remaining.is_zero() {
                self.fees_since_open.remove(&p.symbol).unwrap_or_default()
            } else {
                Decimal::ZERO
            };
            let pnl = noise_core::order::round_trip_pnl(
                p.average_price,
                exit_price,
                closed,
                direction.is_sign_positive(),
                instrument.point_value,
                fees,
            );
            let row = ClosedTradeRow {
                symbol: p.symbol.clone(),
                side: if direction.is_sign_positive() { "LONG".into() } else { "SHORT".into() },
                quantity: closed,
                entry_price: p.average_price,
                exit_price,
                entry_time: p.opened_at,
                exit_time,
                realized_pnl: pnl,
                fees,
            };
            records::insert_closed_trade(tx, &row).await?;
            let trade = ClosedTrade {
                symbol: p.symbol.clone(),
                asset_class: instrument.asset_class,
                opened_at: p.opened_at,
                closed_at: exit_time,
                pnl,
            };
            let risk_events = self.risk.update_on_close(&trade, now, &self.config.risk);
            audit::append(tx, now, "position_closed", ACTOR, &row).await?;
            for e in &risk_events {
                audit::append(tx, now, "risk_event", ACTOR, e).await?;
            }
            events.push(EngineEvent::Closed(Box::new(row)));
        }
        for b in held {
            let existing = ours.iter().find(|p| p.symbol == b.symbol);
            let same_side = existing.is_some_and(|p| p.quantity.is_sign_positive() == b.quantity.is_sign_positive());
            let row = PositionRow {
                symbol: b.symbol.clone(),
                broker: format!("{:?}", self.broker.broker_for(&b.symbol)).to_lowercase(),
                quantity: b.quantity,
                average_price: b.average_price,
                opened_at: existing.filter(|_| same_side).map_or(now, |p| p.opened_at),
                updated_at: now,
            };
            if existing.map(|p| (p.quantity, p.average_price)) != Some((b.quantity, b.average_price)) {
                audit::append(tx, now, "position_changed", ACTOR, &row).await?;
                positions::upsert(tx, &row).await?;
            }
        }
        for p in ours.iter().filter(|p| !held.iter().any(|b| b.symbol == p.symbol)) {
            positions::upsert(tx, &PositionRow { quantity: Decimal::ZERO, ..p.clone() }).await?;
        }
        if !events.is_empty() {
            risk_state::save(tx, &self.risk, now).await?;
        }
        Ok(events)
    }

    /// At start (and on request): intents the broker never received are
    /// cancelled (their moment has passed), the rest follow the broker, and
    /// positions are corrected to the broker's. Audited.
    pub async fn reconcile(&mut self, now: DateTime<Utc>) -> Result<serde_json::Value, EngineError> {
        let mut conn = self.store.acquire().await?;
        let open = trades::open_orders(&mut conn).await?;
        drop(conn);
        let mut answers = Vec::new();
        for row in open {
            let state = self.broker.order_status(&row.client_order_id).await?;
            answers.push((row, state));
        }
        let held = self.broker.positions().await?;
        let (mut never_sent, mut updated) = (Vec::new(), 0usize);
        let mut tx = self.store.begin().await?;
        for (row, state) in &answers {
            match state {
                None if row.status == OrderStatus::Intent => {
                    close_never_sent(&mut tx, &row.client_order_id, now).await?;
                    never_sent.push(row.client_order_id.clone());
                }
                None => {}
                Some(state) => {
                    for leg in &state.legs {
                        self.apply_leg(&mut tx, row, leg, now).await?;
                    }
                    if self.apply_order_state(&mut tx, state, now).await?.is_some() || row.status != state.status {
                        updated += 1;
                    }
                }
            }
        }
        let closed = self.sync_positions_in(&mut tx, &held, now).await?;
        let report = json!({
            "intents_never_sent": never_sent,
            "orders_updated": updated,
            "round_trips_closed": closed.len(),
            "broker_positions": held,
        });
        audit::append(&mut tx, now, "reconciliation", ACTOR, &report).await?;
        risk_state::save(&mut tx, &self.risk, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(report)
    }

    /// Marks the risk state at the account's equity (breakers may trip).
    async fn mark_equity(
        &mut self,
        account: &AccountInfo,
        now: DateTime<Utc>,
    ) -> Result<Vec<EngineEvent>, EngineError> {
        let events = self.risk.mark_equity(account.equity, now, &self.config.risk);
        let mut tx = self.store.begin().await?;
        record_risk_events(&mut tx, &events, now).await?;
        risk_state::save(&mut tx, &self.risk, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(events.into_iter().map(EngineEvent::Risk).collect())
    }

    async fn save_risk(&self, events: &[RiskEvent], now: DateTime<Utc>) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        record_risk_events(&mut tx, events, now).await?;
        risk_state::save(&mut tx, &self.risk, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// Hourly: an equity snapshot.
    pub async fn equity_snapshot(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let account = self.broker.account().await?;
        let mut events = self.mark_equity(&account, now).await?;
        let held = self.broker.positions().await?;
        let unrealized: Decimal = held
            .iter()
            .filter_map(|p| {
                Some((p.market_price - p.average_price) * p.quantity * self.instruments.get(&p.symbol)?.point_value)
            })
            .sum();
        let unrealized = unrealized.round_dp(2).normalize();
        let snap = EquitySnapshot { time: now, equity: account.equity, cash: account.cash, unrealized_pnl: unrealized };
        let mut conn = self.store.acquire().await?;
        records::insert_equity(&mut conn, &snap).await?;
        events.push(EngineEvent::Equity(snap));
        Ok(events)
    }

    /// End of day (17:00 New York): the day's metrics from its closed round
    /// trips, and an equity snapshot.
    pub async fn end_of_day(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let mut events = self.equity_snapshot(now).await?;
        let date = now.with_timezone(&chrono_tz::America::New_York).date_naive();
        let account = self.broker.account().await?;
        let mut conn = self.store.acquire().await?;
        let today: Vec<ClosedTradeRow> = records::closed_trades(&mut conn, records::MAX_PAGE)
            .await?
            .into_iter()
            .filter(|t| t.exit_time.with_timezone(&chrono_tz::America::New_York).date_naive() == date)
            .collect();
        let metrics = records::DailyMetrics {
            date,
            starting_equity: self.risk.day_start_equity,
            ending_equity: account.equity,
            realized_pnl: today.iter().map(|t| t.realized_pnl).sum(),
            trades: today.len() as i64,
            wins: today.iter().filter(|t| t.realized_pnl > Decimal::ZERO).count() as i64,
            losses: today.iter().filter(|t| t.realized_pnl < Decimal::ZERO).count() as i64,
            fees: today.iter().map(|t| t.fees).sum(),
        };
        records::upsert_daily(&mut conn, &metrics).await?;
        audit::append(&mut conn, now, "end_of_day", ACTOR, &metrics).await?;
        events.push(EngineEvent::Daily(metrics));
        Ok(events)
    }

    /// A control from outside (the API), applied between minutes. Each is
    /// audited with `by` and saved with the risk state. `Err(Refused)` when
    /// the state forbids it (nothing to resume, no breaker to reset).
    pub async fn control(
        &mut self,
        control: Control,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Result<Vec<EngineEvent>, ControlRefused>, EngineError> {
        let refuse = |why: &str| Ok(Err(ControlRefused(why.to_string())));
        let events = match control {
            Control::Pause if self.risk.halted_manually => return refuse("trading is already paused"),
            Control::Pause => self.risk.halt(now, &format!("paused by {by}")),
            Control::Resume if !self.risk.halted_manually => return refuse("trading is not paused"),
            Control::Resume => self.risk.resume(now, &format!("resumed by {by}")),
            Control::ResetCircuitBreaker if self.risk.breakers.is_empty() => {
                return refuse("no circuit breaker is tripped");
            }
            Control::ResetCircuitBreaker => {
                let equity = self.broker.account().await?.equity;
                self.risk.manual_reset(equity, now, by)
            }
            Control::SyncPositions => {
                let events = self.sync_positions(now).await?;
                self.audit(now, "positions_synced", json!({"by": by, "round_trips_closed": events.len()})).await?;
                return Ok(Ok(events));
            }
            Control::Flatten => return Ok(Ok(self.flatten(now, by).await?)),
        };
        self.save_risk(&events, now).await?;
        self.audit(now, "control", json!({"control": control, "by": by, "trading_state": self.risk.trading_state}))
            .await?;
        Ok(Ok(events.into_iter().map(EngineEvent::Risk).collect()))
    }

    /// The kill switch: every open order cancelled at the broker, every
    /// position closed with a market order (write-ahead like any order,
    /// client order id `<minute>-<SYMBOL>-flatten`), then trading paused.
    async fn flatten(&mut self, now: DateTime<Utc>, by: &str) -> Result<Vec<EngineEvent>, EngineError> {
        let mut events = Vec::new();
        let mut conn = self.store.acquire().await?;
        let open = trades::open_orders(&mut conn).await?;
        drop(conn);
        let mut cancelled = Vec::new();
        for row in open.iter().filter(|r| r.status != OrderStatus::Intent) {
            match self.broker.cancel_order(&row.client_order_id).await {
                Ok(state) => {
                    let mut tx = self.store.begin().await?;
                    events.extend(self.apply_order_state(&mut tx, &state, now).await?);
                    tx.commit().await.map_err(StoreError::from)?;
                    cancelled.push(row.client_order_id.clone());
                }
                Err(BrokerError::NotFound { .. }) => {}
                // The kill switch goes on: one broker's refusal must not keep the rest open.
                Err(other) => {
                    let details = json!({"client_order_id": row.client_order_id, "error": other.to_string()});
                    self.audit(now, "cancel_failed", details).await?;
                }
            }
        }
        let held = self.broker.positions().await?;
        let (_, positions) = self.snapshots(&self.broker.account().await?, &held);
        let mut to_send = Vec::new();
        let mut tx = self.store.begin().await?;
        for position in positions.iter().filter(|p| !p.quantity.is_zero()) {
            let decision = risk::kill_switch_exit(position, now);
            let Some(approval) = decision.approval() else { continue };
            let client_order_id = format!("{}-flatten", client_order_id(now, &position.symbol));
            let request = OrderRequest::from_approval(approval, client_order_id.clone());
            let order = NewOrder {
                client_order_id,
                broker: format!("{:?}", self.broker.broker_for(&position.symbol)).to_lowercase(),
                symbol: position.symbol.clone(),
                side: side_text(request.side()).into(),
                intent: "exit".into(),
                quantity: request.quantity(),
                order_type: "market".into(),
                limit_price: None,
                stop_loss: None,
                take_profit: None,
                signal_id: None,
                risk_decision: Some(serde_json::to_string(&decision).unwrap_or_default()),
                created_at: now,
            };
            if trades::insert_intent_once(&mut tx, &order).await? {
                to_send.push(request);
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        let mut placed = Vec::new();
        for request in to_send {
            let state = self.broker.place_order(&request).await?;
            let mut tx = self.store.begin().await?;
            self.apply_order_state(&mut tx, &state, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            placed.push(request.client_order_id().to_string());
            events.push(EngineEvent::OrderPlaced {
                client_order_id: request.client_order_id().to_string(),
                symbol: request.symbol().to_string(),
                side: request.side(),
                quantity: request.quantity(),
            });
        }
        let risk_events =
            if self.risk.halted_manually { Vec::new() } else { self.risk.halt(now, &format!("flattened by {by}")) };
        self.save_risk(&risk_events, now).await?;
        self.audit(now, "flatten", json!({"by": by, "cancelled": cancelled, "closing_orders": placed})).await?;
        events.extend(risk_events.into_iter().map(EngineEvent::Risk));
        Ok(events)
    }

    pub async fn daily_reset(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let equity = self.broker.account().await?.equity;
        let events = self.risk.daily_reset(equity, now);
        self.save_risk(&events, now).await?;
        self.audit(now, "daily_reset", json!({"equity": equity})).await?;
        Ok(events.into_iter().map(EngineEvent::Risk).collect())
    }

    pub async fn weekly_reset(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let equity = self.broker.account().await?.equity;
        let events = self.risk.weekly_reset(equity, now);
        self.save_risk(&events, now).await?;
        self.audit(now, "weekly_reset", json!({"equity": equity})).await?;
        Ok(events.into_iter().map(EngineEvent::Risk).collect())
    }
}

/// Stores an evaluation with its audit event; returns the signal's id.
/// Audits risk transitions (the caller commits, with the state saved).
async fn record_risk_events(
    conn: &mut SqliteConnection,
    events: &[RiskEvent],
    now: DateTime<Utc>,
) -> Result<(), EngineError> {
    for e in events {
        let kind = match e {
            RiskEvent::BreakerTripped(_) => "breaker_tripped",
            RiskEvent::BreakerReset { .. } => "breaker_reset",
            RiskEvent::StateChanged { .. } => "mode_change",
            _ => "risk_event",
        };
        audit::append(conn, now, kind, ACTOR, e).await?;
    }
    Ok(())
}

fn side_text(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}
