//! The live shell around the engine core: the store, the broker, and the
//! order in which the core's effects happen.
//!
//! A minute: the scheduled jobs due; the order monitor (every unsettled
//! order's state, then the fills since the oldest of them) into the core;
//! the minute's bars into the pipelines; the account; the decisions. Then
//! one transaction stores everything the core produced (evaluations,
//! decisions, order intents, fills, round trips, positions, the risk state,
//! audit events) *before* any broker call, so every order is written ahead
//! of being sent; then the broker calls; then one transaction with their
//! answers.

use compact_str::CompactString;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use noise_broker::{BrokerAdapter, BrokerError, OrderRequest};
use noise_core::config::NoiseConfig;
use noise_core::instrument::BrokerKind;
use noise_core::market::Bar;
use noise_core::order::OrderStatus;
use noise_core::risk::{RiskEvent, RiskState, Verdict};
use noise_core::signal::{Evaluation, SymbolPipeline};
use noise_store::trades::NewOrder;
use noise_store::{Store, StoreError, audit, fills, positions, records, risk_state, signals, trades};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::SqliteConnection;

use crate::core::{CoreOptions, Effect, EngineCore, TrackedOrder};
use crate::{Control, ControlRefused, EngineError, EngineEvent};

const ACTOR: &str = "engine";

/// How long an intent whose placement failed may stay unseen at the broker
/// before the monitor closes it as never sent.
const INTENT_GRACE: TimeDelta = TimeDelta::minutes(2);

/// Fills read back per query when the ledger is rebuilt.
const REBUILD_BATCH: u32 = 10_000;

/// A broker call the core asked for, made after its intent is stored.
enum Command {
    Place(OrderRequest),
    Cancel(CompactString),
}

pub struct Engine {
    core: EngineCore,
    store: Store,
    broker: Arc<dyn BrokerAdapter>,
    /// What rebuilding the ledger found at start (reported with the reconciliation).
    rebuilt: serde_json::Value,
    /// Each symbol's lots as stored, so a commit writes only what changed.
    lots: HashMap<String, positions::WrittenLots>,
}

impl Engine {
    /// The engine from what the store holds: the risk state (or a fresh one
    /// at the broker's equity), the ledger rebuilt from every stored fill,
    /// and the orders it still waits on.
    pub async fn new(config: NoiseConfig, store: Store, broker: Arc<dyn BrokerAdapter>) -> Result<Self, EngineError> {
        let mut symbols = Vec::new();
        for instrument in &config.instruments {
            let pipeline = SymbolPipeline::new(instrument.clone(), &config.signals, &config.indicators)?;
            symbols.push((instrument.clone(), pipeline, broker.broker_for(&instrument.symbol)));
        }
        let mut conn = store.acquire().await?;
        let risk = match risk_state::load(&mut conn).await? {
            Some(state) => state,
            None => RiskState::new(broker.account().await?.equity),
        };
        let mut core = EngineCore::new(&config, symbols, CoreOptions::live(), risk).map_err(EngineError::Schedule)?;
        let mut stored = Vec::new();
        let mut last = 0;
        loop {
            let batch = fills::after(&mut conn, last, REBUILD_BATCH).await?;
            let Some(newest) = batch.last() else { break };
            last = newest.id;
            stored.extend(batch.into_iter().map(|row| row.fill));
        }
        let rebuilt = core.rebuild(stored);
        let recorded = records::round_trip_count(&mut conn).await?;
        let unsettled = trades::unsettled(&mut conn).await?;
        for row in &unsettled {
            core.track(tracked(row));
        }
        let lots = positions::written_lots(&mut conn).await?;
        drop(conn);
        let rebuilt = json!({
            "fills": rebuilt.fills,
            "round_trips": rebuilt.round_trips,
            "round_trips_recorded": recorded,
            "unknown_symbols": rebuilt.unknown_symbols,
            "unsettled_orders": unsettled.len(),
        });
        Ok(Self { core, store, broker, rebuilt, lots })
    }

    pub fn risk_state(&self) -> &RiskState {
        self.core.risk_state()
    }

    pub fn core(&self) -> &EngineCore {
        &self.core
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Feeds history to a symbol's pipeline only (warm-up: nothing decided).
    pub fn warm_up(&mut self, symbol: &str, bar: &Bar) -> Result<(), EngineError> {
        if let Some(index) = self.core.symbol_index(symbol) {
            self.core.warm_up(index, bar)?;
        }
        Ok(())
    }

    /// Records an audit event on its own.
    pub async fn audit(&self, now: DateTime<Utc>, event: &str, details: serde_json::Value) -> Result<(), EngineError> {
        let mut conn = self.store.acquire().await?;
        audit::append(&mut conn, now, event, ACTOR, &details).await?;
        Ok(())
    }

    /// At start: the scheduled jobs run from `now` on; every unsettled order
    /// is looked up (an intent the broker never received is closed: its
    /// moment has passed), the fills since the oldest are booked, and the
    /// ledger's positions are compared with the broker's. Audited.
    pub async fn reconcile(&mut self, now: DateTime<Utc>) -> Result<serde_json::Value, EngineError> {
        // A job due at the very start fires in the first minute (as the backtest fires it).
        self.core.start(now - TimeDelta::seconds(1));
        let mut out = Vec::new();
        self.monitor_into(now, TimeDelta::zero(), &mut out).await?;
        let positions = self.reconcile_positions(now, &mut out).await?;
        let account = self.broker.account().await?;
        self.core.observe_account(&account);
        let report = json!({
            "ledger": self.rebuilt,
            "intents_never_sent": count(&out, |e| matches!(e, Effect::OrderClosed { status: OrderStatus::Cancelled, .. })),
            "orders_updated": count(&out, |e| matches!(e, Effect::OrderUpdated(_))),
            "fills_booked": count(&out, |e| matches!(e, Effect::Filled { fill: Some(fill), .. } if !fill.reconciled)),
            "positions": positions,
        });
        out.push(Effect::Audit { event: "reconciliation", details: report.clone() });
        self.execute(out, now).await?;
        Ok(report)
    }

    /// One minute that closed at `close`, with its bars: jobs, monitor,
    /// signals, risk, orders. A broker that fails the monitor or the account
    /// costs that part of the minute, never the loop (audited).
    pub async fn minute(
        &mut self,
        close: DateTime<Utc>,
        bars: &[(String, Bar)],
    ) -> Result<Vec<EngineEvent>, EngineError> {
        let mut out = Vec::new();
        self.core.begin_minute(close - TimeDelta::minutes(1), &mut out);
        if let Err(error) = self.monitor_into(close, INTENT_GRACE, &mut out).await {
            out.push(Effect::Audit { event: "monitor_failed", details: json!({"error": error.to_string()}) });
        }
        for (symbol, bar) in bars {
            if let Some(index) = self.core.symbol_index(symbol) {
                self.core.on_bar(index, bar, close, &mut out)?;
            }
        }
        match self.broker.account().await {
            Ok(account) => self.core.close_minute(close, &account, &mut out),
            Err(error) => {
                let dropped = self.core.drop_pending();
                let details = json!({"error": error.to_string(), "signals_not_decided": dropped});
                out.push(Effect::Audit { event: "account_unavailable", details });
                // The jobs still run (at the last figures known): the day's roll-ups and resets must not be lost.
                self.core.run_due_jobs(close, &mut out);
            }
        }
        self.execute(out, close).await
    }

    /// The order monitor on its own (tests): states and fills, stored.
    pub async fn monitor(&mut self, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let mut out = Vec::new();
        self.monitor_into(now, INTENT_GRACE, &mut out).await?;
        self.execute(out, now).await
    }

    /// Every unsettled order's state at its broker, then the fills since the
    /// oldest of them, into the core. `grace`: how old an intent the broker
    /// does not have must be to count as never sent.
    async fn monitor_into(
        &mut self,
        now: DateTime<Utc>,
        grace: TimeDelta,
        out: &mut Vec<Effect>,
    ) -> Result<(), EngineError> {
        let ids: Vec<CompactString> = self.core.orders().iter().map(|o| o.client_order_id.clone()).collect();
        for id in ids {
            match self.broker.order_status(&id).await? {
                Some(state) => self.core.on_order_state(&state, out),
                None => {
                    self.core.on_order_missing(&id, now, grace, out);
                }
            }
        }
        if let Some(since) = self.core.fills_window() {
            let reports = self.broker.fills_since(since).await?;
            for report in reports {
                self.core.on_fill(report, now, out);
            }
            self.core.fills_read_at(now);
        }
        Ok(())
    }

    /// The ledger against the broker's positions, read before and after the
    /// fills are read: when the two reads differ (a fill landed meanwhile),
    /// nothing is booked this time. Returns what was found.
    async fn reconcile_positions(
        &mut self,
        now: DateTime<Utc>,
        out: &mut Vec<Effect>,
    ) -> Result<serde_json::Value, EngineError> {
        let before = self.broker.fresh_positions().await?;
        self.monitor_into(now, TimeDelta::zero(), out).await?;
        let after = self.broker.fresh_positions().await?;
        if before != after {
            out.push(Effect::Audit {
                event: "reconciliation_deferred",
                details: json!({"why": "the broker's positions moved while they were read", "before": before, "after": after}),
            });
            return Ok(json!({"deferred": true, "broker_positions": after}));
        }
        let mismatched = self.core.reconcile_positions(&after, now, out);
        Ok(json!({"broker_positions": after, "mismatched": mismatched}))
    }

    /// A control from outside (the API), applied between minutes; audited.
    /// `Err(Refused)` when the state forbids it.
    pub async fn control(
        &mut self,
        control: Control,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Result<Vec<EngineEvent>, ControlRefused>, EngineError> {
        let mut out = Vec::new();
        match control {
            Control::SyncPositions => {
                let found = self.reconcile_positions(now, &mut out).await?;
                out.push(Effect::Audit { event: "positions_synced", details: json!({"by": by, "positions": found}) });
                return Ok(Ok(self.execute(out, now).await?));
            }
            // The kill switch closes what the broker holds: the ledger is brought in line first.
            Control::Flatten => {
                self.reconcile_positions(now, &mut out).await?;
            }
            Control::ResetCircuitBreaker => {
                let account = self.broker.account().await?;
                self.core.observe_account(&account);
            }
            Control::Pause | Control::Resume => {}
        }
        if let Err(refused) = self.core.control(control, now, by, &mut out) {
            return Ok(Err(refused));
        }
        Ok(Ok(self.execute(out, now).await?))
    }

    /// Stores the effects, makes the broker calls they ask for, and stores
    /// the answers; returns every event in order.
    async fn execute(&mut self, effects: Vec<Effect>, now: DateTime<Utc>) -> Result<Vec<EngineEvent>, EngineError> {
        let (commands, mut events) = self.commit(effects, now).await?;
        if commands.is_empty() {
            return Ok(events);
        }
        let mut answers = Vec::new();
        for command in commands {
            match command {
                Command::Place(request) => {
                    let id = request.client_order_id();
                    match self.broker.place_order(&request).await {
                        Ok(state) => self.core.on_order_placed(&state, &mut answers),
                        Err(BrokerError::Rejected { reason, .. }) => {
                            self.core.on_order_refused(id, &reason, &mut answers)
                        }
                        // Anything else leaves the intent for the monitor to settle with the broker.
                        Err(other) => self.core.on_order_unanswered(id, &other.to_string(), &mut answers),
                    }
                }
                Command::Cancel(id) => match self.broker.cancel_order(&id).await {
                    Ok(state) => self.core.on_order_state(&state, &mut answers),
                    Err(BrokerError::NotFound { .. }) => {}
                    // The rest goes on: a refused cancel must not keep the others (or an exit) from going out.
                    Err(other) => answers.push(Effect::Audit {
                        event: "cancel_failed",
                        details: json!({"client_order_id": id, "error": other.to_string()}),
                    }),
                },
            }
        }
        let (more, answered) = self.commit(answers, now).await?;
        debug_assert!(more.is_empty(), "answers never ask for broker calls");
        events.extend(answered);
        Ok(events)
    }

    /// One transaction for a batch of effects; returns the broker calls to
    /// make (their intents are in it) and the events to show.
    async fn commit(
        &mut self,
        effects: Vec<Effect>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Command>, Vec<EngineEvent>), EngineError> {
        let mut commands = Vec::new();
        let mut events = Vec::new();
        let mut signal_ids: HashMap<u64, i64> = HashMap::new();
        let mut decisions: HashMap<u64, String> = HashMap::new();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut tx = self.store.begin().await?;
        for effect in effects {
            match effect {
                Effect::Evaluation { tag, evaluation } => {
                    // The `signals_audit` trigger writes signal_generated / signal_rejected.
                    signal_ids.insert(tag, signals::insert(&mut tx, &evaluation).await?);
                    if let Evaluation::Signal(signal) = *evaluation {
                        events.push(EngineEvent::Signal(Box::new(signal)));
                    }
                }
                Effect::Decision { tag, signal, decision } => {
                    // Serialized once: the audit event and the order row carry the same text.
                    let text = serde_json::to_string(&decision).unwrap_or_default();
                    let stored_signal = signal.and_then(|t| signal_ids.get(&t)).copied();
                    if let Some(id) = stored_signal {
                        let (verdict, reason) = match &decision.verdict {
                            Verdict::Allow => ("allow", None),
                            Verdict::Reduce { .. } => ("reduce", None),
                            Verdict::Block { reason } => ("block", Some(format!("{}: {reason}", reason.code()))),
                        };
                        signals::set_risk(&mut tx, id, verdict, reason.as_deref()).await?;
                    }
                    let signal_id = stored_signal.map_or("null".to_string(), |id| id.to_string());
                    let details = format!("{{\"signal_id\":{signal_id},\"decision\":{text}}}");
                    audit::append_json(&mut tx, now, "risk_decision", ACTOR, &details).await?;
                    decisions.insert(tag, text);
                    events.push(EngineEvent::Decision(decision));
                }
                Effect::Place { decision, signal, broker, request } => {
                    let order = new_order(
                        &request,
                        broker,
                        signal.and_then(|t| signal_ids.get(&t).copied()),
                        decisions.remove(&decision),
                        now,
                    );
                    // The order_intent audit event comes from the database's trigger.
                    if trades::insert_intent_once(&mut tx, &order).await? {
                        commands.push(Command::Place(request));
                    } else {
                        // This minute was acted on already (a restart re-processed it): never a second order.
                        self.core.forget(&order.client_order_id);
                        let details = json!({"client_order_id": order.client_order_id});
                        audit::append(&mut tx, now, "duplicate_intent_skipped", ACTOR, &details).await?;
                    }
                }
                Effect::Cancel { client_order_id } => commands.push(Command::Cancel(client_order_id)),
                Effect::LegRegistered { parent, broker, leg } => {
                    let signal_id = trades::by_client_order_id(&mut tx, &parent).await?.and_then(|p| p.signal_id);
                    let order = NewOrder {
                        client_order_id: leg.client_order_id.to_string(),
                        broker,
                        symbol: leg.symbol.to_string(),
                        side: leg.side,
                        intent: noise_core::risk::Intent::Exit,
                        quantity: leg.quantity,
                        order_type: leg.order_type,
                        limit_price: None,
                        stop_loss: None,
                        take_profit: None,
                        parent: Some(parent.to_string()),
                        signal_id,
                        risk_decision: None,
                        created_at: leg.updated_at,
                    };
                    // The `trades_audit_insert` trigger records it as a `bracket_leg` event.
                    trades::insert_intent_once(&mut tx, &order).await?;
                }
                Effect::OrderUpdated(state) => {
                    trades::update_status(
                        &mut tx,
                        &state.client_order_id,
                        state.status,
                        Some(&state.broker_order_id),
                        state.quantity,
                        state.filled_quantity,
                        state.average_fill_price,
                        state.fees,
                        None,
                        now,
                    )
                    .await?;
                }
                Effect::OrderClosed { client_order_id, status, reason } => {
                    let row = trades::by_client_order_id(&mut tx, &client_order_id).await?;
                    let (quantity, filled) =
                        row.map_or((Decimal::ZERO, Decimal::ZERO), |r| (r.quantity, r.filled_quantity));
                    trades::update_status(
                        &mut tx,
                        &client_order_id,
                        status,
                        None,
                        quantity,
                        filled,
                        None,
                        Decimal::ZERO,
                        Some(&reason),
                        now,
                    )
                    .await?;
                }
                Effect::Filled { fill, round_trips } => {
                    let Some(fill) = fill else { continue }; // the live core always keeps records
                    if !fills::insert(&mut tx, &fill, now).await? {
                        let details = json!({"broker": fill.broker, "fill_id": fill.fill_id});
                        audit::append(&mut tx, now, "fill_already_recorded", ACTOR, &details).await?;
                    }
                    if let Some(order) = &fill.client_order_id {
                        trades::set_booked(&mut tx, order, self.core.ledger().booked(order)).await?;
                    }
                    touched.insert(fill.symbol.to_string());
                    events.push(EngineEvent::Fill(fill));
                    for trip in round_trips {
                        records::insert_round_trip(&mut tx, &trip).await?;
                        audit::append(&mut tx, now, "position_closed", ACTOR, &trip).await?;
                        events.push(EngineEvent::Closed(Box::new(trip)));
                    }
                }
                Effect::Risk(risk_events) => {
                    record_risk_events(&mut tx, &risk_events, now).await?;
                    events.extend(risk_events.into_iter().map(EngineEvent::Risk));
                }
                Effect::Audit { event, details } => {
                    audit::append(&mut tx, now, event, ACTOR, &details).await?;
                }
                Effect::EquitySnapshot(snapshot) => {
                    records::insert_equity(&mut tx, &snapshot).await?;
                    events.push(EngineEvent::Equity(snapshot));
                }
                Effect::DailyMetrics(metrics) => {
                    records::upsert_daily(&mut tx, &metrics).await?;
                    audit::append(&mut tx, now, "end_of_day", ACTOR, &metrics).await?;
                    events.push(EngineEvent::Daily(metrics));
                }
                Effect::Emit(event) => events.push(event),
            }
        }
        let mut written = Vec::with_capacity(touched.len());
        for symbol in touched {
            let broker = self.core.broker_of(&symbol).unwrap_or(BrokerKind::Sim);
            let before = self.lots.get(&symbol).cloned().unwrap_or_default();
            let book = self.core.ledger().book(&symbol);
            let lots = positions::write_book(&mut tx, &symbol, broker, book, &before, now).await?;
            written.push((symbol, lots));
        }
        risk_state::save(&mut tx, self.core.risk_state(), now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        // Only what is committed counts as written.
        self.lots.extend(written);
        Ok((commands, events))
    }
}

/// The order row written ahead of sending `request`.
fn new_order(
    request: &OrderRequest,
    broker: BrokerKind,
    signal_id: Option<i64>,
    risk_decision: Option<String>,
    now: DateTime<Utc>,
) -> NewOrder {
    NewOrder {
        client_order_id: request.client_order_id().to_string(),
        broker,
        symbol: request.symbol().to_string(),
        side: request.side(),
        intent: request.intent(),
        quantity: request.quantity(),
        order_type: request.kind().order_type(),
        limit_price: match request.kind() {
            noise_broker::OrderKind::Limit(p) | noise_broker::OrderKind::Stop(p) => Some(p),
            noise_broker::OrderKind::Market => None,
        },
        stop_loss: request.stop_loss(),
        take_profit: request.take_profit(),
        parent: None,
        signal_id,
        risk_decision,
        created_at: now,
    }
}

/// A stored order as the core tracks it.
fn tracked(row: &trades::OrderRow) -> TrackedOrder {
    TrackedOrder {
        client_order_id: row.client_order_id.as_str().into(),
        broker: row.broker,
        broker_order_id: row.broker_order_id.as_deref().map(Into::into),
        symbol: row.symbol.as_str().into(),
        side: row.side,
        intent: row.intent,
        order_type: row.order_type,
        quantity: row.quantity,
        status: row.status,
        filled: row.filled_quantity,
        booked: row.booked_quantity,
        parent: row.parent.as_deref().map(Into::into),
        created_at: row.created_at,
    }
}

fn count(effects: &[Effect], which: impl Fn(&Effect) -> bool) -> usize {
    effects.iter().filter(|e| which(e)).count()
}

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
