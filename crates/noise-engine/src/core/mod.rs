//! The engine core: one synchronous state machine for `noise run` and
//! `noise backtest`.
//!
//! It holds what the engine knows (pipelines, the ledger, the risk state,
//! the orders it waits on) and takes events one at a time: a minute begins
//! (scheduled jobs), a bar closed, a broker reported an order's state or a
//! fill, a minute closed (decisions), a control. Each handler appends the
//! [`Effect`]s it caused: records to store, orders to send or cancel,
//! events to show. It performs none of them and never reads a clock: the
//! live shell stores and sends, the backtest's shell hands orders to the
//! simulator's book. Both drive this same code, so they cannot diverge.

mod effects;
mod jobs;
mod orders;
#[cfg(test)]
mod tests;

use compact_str::{CompactString, format_compact};
use std::collections::{BTreeMap, HashMap, HashSet};

use foldhash::fast::RandomState;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::America::New_York;
use noise_broker::{AccountInfo, BrokerPosition, FillReport, OrderRequest, OrderState};
use noise_core::config::NoiseConfig;
use noise_core::instrument::{BrokerKind, Instrument};
use noise_core::ledger::{Applied, Fill, Ledger, RoundTrip};
use noise_core::market::Bar;
use noise_core::order::OrderStatus;
use noise_core::risk::{
    self, AccountSnapshot, Intent, OppositeSignal, PositionSnapshot, RiskConfig, RiskState, Side, Verdict,
};
use noise_core::schedule::{Job, Schedule};
use noise_core::signal::{Direction, Evaluation, Signal, SignalError, SymbolPipeline};
use noise_store::records::{DailyMetrics, EquitySnapshot};
use rust_decimal::Decimal;
use serde_json::json;

pub use effects::Effect;
pub use orders::{OrderBook, TrackedOrder};

use crate::decide::{RiskMode, client_order_id, decide, reserve};
use crate::{Control, ControlRefused, EngineEvent};

/// Why an intent is closed when the broker has no order under its id.
pub const NEVER_SENT: &str = "never reached the broker (no order with this client order id); not re-sent";

/// How a core trades and what it records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoreOptions {
    pub risk: RiskMode,
    /// Short signals only close longs; they never open a short.
    pub long_only: bool,
    /// Produce the records and events a store and a log want (every
    /// evaluation, decision and order state, snapshots, daily metrics). A
    /// backtest wants only its orders and round trips, and skips building them.
    pub records: bool,
}

impl CoreOptions {
    /// What `noise run` uses: every check, everything recorded.
    pub fn live() -> Self {
        Self { risk: RiskMode::Checked, long_only: false, records: true }
    }
}

/// The account as the core needs it when a minute closes. `snapshot` is
/// asked for only when a signal is to be decided.
pub trait AccountSource {
    /// Equity to the cent.
    fn equity(&self) -> Decimal;
    fn cash(&self) -> Decimal;
    fn snapshot(&self) -> AccountSnapshot;
}

impl AccountSource for AccountInfo {
    fn equity(&self) -> Decimal {
        self.equity
    }
    fn cash(&self) -> Decimal {
        self.cash
    }
    fn snapshot(&self) -> AccountSnapshot {
        crate::decide::account_snapshot(self)
    }
}

/// Signals and what became of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionStats {
    pub signals: u64,
    pub orders: u64,
    /// Signals the risk manager blocked (or long-only skipped).
    pub not_traded: u64,
    /// Why, counted by reason (`long_only` for shorts skipped by that rule).
    pub not_traded_by: BTreeMap<&'static str, u64>,
}

/// A symbol's instrument, its pipeline, who trades it, its last close.
struct SymbolState {
    instrument: Instrument,
    pipeline: SymbolPipeline,
    broker: BrokerKind,
    last_close: Option<Decimal>,
}

/// Why positions are closed out wholesale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseOut {
    /// The kill switch (the flatten control).
    KillSwitch,
    /// The position policy's flatten before the session's close.
    SessionClose,
}

impl CloseOut {
    /// The closing order's client order id ends with this.
    fn suffix(self) -> &'static str {
        match self {
            CloseOut::KillSwitch => "flatten",
            CloseOut::SessionClose => "session",
        }
    }
}

/// Whether placing an exit cancels its symbol's bracket legs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Legs {
    Cancel,
    CancelledAlready,
}

/// A signal waiting for the minute's close to be decided.
struct Pending {
    symbol: usize,
    tag: Option<u64>,
    signal: Signal,
}

/// One New York day's closed round trips.
#[derive(Debug, Clone, Default)]
struct DayTally {
    trades: i64,
    wins: i64,
    losses: i64,
    realized: Decimal,
    fees: Decimal,
}

/// What rebuilding the ledger from stored fills found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Rebuilt {
    pub fills: usize,
    pub round_trips: usize,
    /// Fills of symbols no longer configured (their positions are not traded).
    pub unknown_symbols: Vec<String>,
}

pub struct EngineCore {
    risk_config: RiskConfig,
    options: CoreOptions,
    symbols: Vec<SymbolState>,
    index: HashMap<String, usize, RandomState>,
    risk: RiskState,
    ledger: Ledger,
    orders: OrderBook,
    /// Fills reported for orders that are not ours (audited once each).
    ignored: HashSet<(BrokerKind, CompactString), RandomState>,
    pending: Vec<Pending>,
    /// The scheduled jobs, once [`Self::start`] set the clock going.
    schedule: Option<Schedule>,
    jobs: Option<jobs::JobClock>,
    equity: Option<Decimal>,
    cash: Option<Decimal>,
    /// The equity last marked on the risk state: an unchanged equity cannot trip a breaker.
    marked: Option<Decimal>,
    fills_read: Option<DateTime<Utc>>,
    next_tag: u64,
    days: BTreeMap<NaiveDate, DayTally>,
    stats: DecisionStats,
}

impl EngineCore {
    /// A core over `symbols` (each instrument with its pipeline and the
    /// broker that trades it), from the risk state `risk`, with the
    /// scheduled jobs of `config` (they run once [`Self::start`] is called).
    pub fn new(
        config: &NoiseConfig,
        symbols: Vec<(Instrument, SymbolPipeline, BrokerKind)>,
        options: CoreOptions,
        risk: RiskState,
    ) -> Result<Self, String> {
        let schedule = Schedule::new(&config.schedule)?;
        let index = symbols.iter().enumerate().map(|(i, (instrument, _, _))| (instrument.symbol.clone(), i)).collect();
        let symbols = symbols
            .into_iter()
            .map(|(instrument, pipeline, broker)| SymbolState { instrument, pipeline, broker, last_close: None })
            .collect();
        Ok(Self {
            risk_config: config.risk.clone(),
            options,
            symbols,
            index,
            risk,
            ledger: Ledger::new(),
            orders: OrderBook::default(),
            ignored: HashSet::default(),
            pending: Vec::new(),
            schedule: Some(schedule),
            jobs: None,
            equity: None,
            cash: None,
            marked: None,
            fills_read: None,
            next_tag: 1,
            days: BTreeMap::new(),
            stats: DecisionStats::default(),
        })
    }

    pub fn risk_state(&self) -> &RiskState {
        &self.risk
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn orders(&self) -> &OrderBook {
        &self.orders
    }

    pub fn stats(&self) -> &DecisionStats {
        &self.stats
    }

    /// The index of `symbol` in the core (bars are fed by index).
    pub fn symbol_index(&self, symbol: &str) -> Option<usize> {
        self.index.get(symbol).copied()
    }

    pub fn instrument(&self, symbol: &str) -> Option<&Instrument> {
        self.symbol_index(symbol).map(|i| &self.symbols[i].instrument)
    }

    /// The broker that trades `symbol`.
    pub fn broker_of(&self, symbol: &str) -> Option<BrokerKind> {
        self.symbol_index(symbol).map(|i| self.symbols[i].broker)
    }

    pub fn last_close(&self, symbol: &str) -> Option<Decimal> {
        self.symbol_index(symbol).and_then(|i| self.symbols[i].last_close)
    }

    /// Units of `order` the ledger has booked.
    fn booked(&self, client_order_id: &str) -> Decimal {
        self.ledger.booked(client_order_id)
    }

    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    // ---------------------------------------------------------------- restart

    /// Applies stored fills in the order they were recorded: the ledger as
    /// it was, with no effect (their round trips and risk updates are stored).
    pub fn rebuild(&mut self, fills: impl IntoIterator<Item = Fill>) -> Rebuilt {
        let mut report = Rebuilt::default();
        for fill in fills {
            let Some(index) = self.symbol_index(&fill.symbol) else {
                if !report.unknown_symbols.iter().any(|s| *s == fill.symbol) {
                    report.unknown_symbols.push(fill.symbol.to_string());
                }
                continue;
            };
            if let Ok(Applied::Booked { round_trips }) = self.ledger.apply(&fill, &self.symbols[index].instrument) {
                report.fills += 1;
                report.round_trips += round_trips.len();
                self.tally(&round_trips);
            }
        }
        report
    }

    /// The scheduled jobs fire from after `start` on (once: a second call
    /// changes nothing).
    pub fn start(&mut self, start: DateTime<Utc>) {
        if let Some(schedule) = self.schedule.take() {
            // Without records, only the jobs that change what trades: the breaker resets.
            let jobs: &[Job] = if self.options.records { &jobs::ALL } else { &jobs::RESETS };
            self.jobs = Some(jobs::JobClock::new(schedule, jobs, start));
        }
    }

    /// Stops waiting on an order (its intent turned out to exist already).
    pub fn forget(&mut self, client_order_id: &str) {
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.status = OrderStatus::Cancelled;
            order.filled = order.booked;
        }
        self.orders.forget_if_settled(client_order_id);
    }

    /// Drops the minute's signals undecided (the account could not be
    /// read); returns how many.
    pub fn drop_pending(&mut self) -> usize {
        std::mem::take(&mut self.pending).len()
    }

    /// Tracks an order read back from the store at start.
    pub fn track(&mut self, mut order: TrackedOrder) {
        order.booked = self.booked(&order.client_order_id);
        if !order.is_settled() {
            self.orders.insert(order);
        }
    }

    /// The account's figures, known without a minute closing (at start, or
    /// before a control that needs the equity).
    pub fn observe_account(&mut self, account: &dyn AccountSource) {
        self.equity = Some(account.equity());
        self.cash = Some(account.cash());
    }

    /// History for the indicators only: nothing is decided.
    pub fn warm_up(&mut self, index: usize, bar: &Bar) -> Result<(), SignalError> {
        let symbol = &mut self.symbols[index];
        symbol.last_close = Some(bar.close);
        symbol.pipeline.on_bar(bar, noise_core::market::one_minute_after(bar.time))?;
        Ok(())
    }

    // ---------------------------------------------------------------- a minute

    /// A minute begins at `at` (its open): jobs whose time came while no
    /// minute closed (a gap in the data, a stopped engine) run now.
    #[inline]
    pub fn begin_minute(&mut self, at: DateTime<Utc>, out: &mut Vec<Effect>) {
        if self.jobs.as_ref().is_some_and(|jobs| jobs.any_due(at)) {
            self.run_due_jobs(at, out);
        }
    }

    /// The scheduled jobs due by `now`, each once, in time order.
    pub fn run_due_jobs(&mut self, now: DateTime<Utc>, out: &mut Vec<Effect>) {
        let Some(jobs) = self.jobs.as_mut() else { return };
        let due = jobs.due(now);
        for (job, when) in due {
            self.run_job(job, when, out);
        }
    }

    /// The 1-minute bar of symbol `index` closed at `now`: its pipeline
    /// evaluates it; a signal waits for the minute's close.
    #[inline]
    pub fn on_bar(
        &mut self,
        index: usize,
        bar: &Bar,
        now: DateTime<Utc>,
        out: &mut Vec<Effect>,
    ) -> Result<(), SignalError> {
        let symbol = &mut self.symbols[index];
        symbol.last_close = Some(bar.close);
        // Matched in place, not through `?`: the result is large and most bars
        // have none, so only its tag should be read (a backtest's hottest line).
        match symbol.pipeline.on_bar(bar, now) {
            Ok(None) => {}
            Ok(Some(Evaluation::Rejected(candidate))) if self.options.records => {
                let tag = self.tag();
                out.push(Effect::Evaluation { tag, evaluation: Box::new(Evaluation::Rejected(candidate)) });
            }
            Ok(Some(Evaluation::Rejected(_))) => {}
            Ok(Some(Evaluation::Signal(signal))) => {
                self.stats.signals += 1;
                let tag = self.options.records.then(|| self.tag());
                if let Some(tag) = tag {
                    out.push(Effect::Evaluation { tag, evaluation: Box::new(Evaluation::Signal(signal.clone())) });
                }
                self.pending.push(Pending { symbol: index, tag, signal });
            }
            Err(error) => return Err(error),
        }
        Ok(())
    }

    /// The minute closed at `now` with the account as `account` says: the
    /// risk state is marked at its equity (breakers may trip), every signal
    /// of the minute goes through the risk chain to its order, then the
    /// scheduled jobs due by `now` run (at the account's figures).
    #[inline]
    pub fn close_minute<A: AccountSource + ?Sized>(&mut self, now: DateTime<Utc>, account: &A, out: &mut Vec<Effect>) {
        // Most minutes of a backtest: nothing to mark, decide or run; kept small to inline.
        if matches!(self.options.risk, RiskMode::Checked) {
            let equity = account.equity();
            self.equity = Some(equity);
            if self.marked != Some(equity) {
                self.mark_equity(equity, now, out);
            }
        }
        if !self.pending.is_empty() {
            self.decide_pending(now, account, out);
        }
        if self.risk_config.positions.flatten_before_close_minutes > 0 {
            self.flatten_before_close(now, out);
        }
        if self.jobs.as_ref().is_some_and(|jobs| jobs.any_due(now)) {
            self.cash = Some(account.cash());
            self.run_due_jobs(now, out);
        }
    }

    fn mark_equity(&mut self, equity: Decimal, now: DateTime<Utc>, out: &mut Vec<Effect>) {
        let events = self.risk.mark_equity(equity, now, &self.risk_config);
        self.marked = Some(equity);
        if !events.is_empty() {
            out.push(Effect::Risk(events));
        }
    }

    /// Every signal of the minute through the risk chain to its order.
    #[inline(never)]
    fn decide_pending<A: AccountSource + ?Sized>(&mut self, now: DateTime<Utc>, account: &A, out: &mut Vec<Effect>) {
        self.cash = Some(account.cash());
        let checked = matches!(self.options.risk, RiskMode::Checked);
        let mut snapshot = if checked { account.snapshot() } else { zero_account() };
        let mut positions = self.position_snapshots();
        // Taken and given back, so the buffer keeps its capacity from minute to minute.
        let mut pending = std::mem::take(&mut self.pending);
        for Pending { symbol, tag, signal } in pending.drain(..) {
            self.decide_one(symbol, tag, &signal, now, &mut snapshot, &mut positions, out);
        }
        self.pending = pending;
    }

    #[allow(clippy::too_many_arguments)]
    fn decide_one(
        &mut self,
        index: usize,
        signal_tag: Option<u64>,
        signal: &Signal,
        now: DateTime<Utc>,
        account: &mut AccountSnapshot,
        positions: &mut Vec<PositionSnapshot>,
        out: &mut Vec<Effect>,
    ) {
        let symbol = &self.symbols[index];
        let holds_long =
            self.ledger.book(&symbol.instrument.symbol).and_then(|b| b.direction()) == Some(Direction::Long);
        if self.options.long_only && signal.direction == Direction::Short && !holds_long {
            self.stats.not_traded += 1;
            *self.stats.not_traded_by.entry("long_only").or_default() += 1;
            return;
        }
        let (decision, order) = self.decide_signal(index, signal, now, account, positions);
        if let Verdict::Block { reason } = &decision.verdict {
            self.stats.not_traded += 1;
            *self.stats.not_traded_by.entry(reason.code()).or_default() += 1;
        }
        // An order for this minute and symbol exists (a restart re-processed the
        // minute): never a second one. The store's UNIQUE client order id is the
        // final word for one that is settled already.
        let order = order.filter(|request| !self.orders.contains(request.client_order_id()));
        let placed = self.submit(index, signal_tag, decision, order, now, account, positions, out);
        let reverse = self.risk_config.positions.on_opposite_signal == OppositeSignal::Reverse;
        if placed == Some(Intent::Exit) && reverse && self.options.risk == RiskMode::Checked && !self.options.long_only
        {
            self.reverse(index, signal_tag, signal, now, account, positions, out);
        }
    }

    fn decide_signal(
        &self,
        index: usize,
        signal: &Signal,
        now: DateTime<Utc>,
        account: &AccountSnapshot,
        positions: &[PositionSnapshot],
    ) -> (risk::RiskDecision, Option<OrderRequest>) {
        let instrument = &self.symbols[index].instrument;
        decide(signal, instrument, account, positions, &self.risk, &self.risk_config, self.options.risk, now)
    }

    /// Reserves an approved order's room, records its decision and places
    /// the order: the intent of the order placed, if one was.
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        index: usize,
        signal_tag: Option<u64>,
        decision: risk::RiskDecision,
        order: Option<OrderRequest>,
        now: DateTime<Utc>,
        account: &mut AccountSnapshot,
        positions: &mut Vec<PositionSnapshot>,
        out: &mut Vec<Effect>,
    ) -> Option<Intent> {
        if let (Some(_), Some(approval)) = (&order, decision.approval()) {
            reserve(approval, &self.symbols[index].instrument, account, positions);
        }
        let decision_tag = self.tag();
        if self.options.records {
            out.push(Effect::Decision { tag: decision_tag, signal: signal_tag, decision: Box::new(decision) });
        }
        let request = order?;
        let intent = request.intent();
        let broker = self.symbols[index].broker;
        self.place(decision_tag, signal_tag, broker, request, Legs::Cancel, now, out);
        Some(intent)
    }

    /// `on_opposite_signal = "reverse"`: after the exit, the same signal as an
    /// entry through the whole chain, on the positions without this symbol's
    /// (its exit fills first: the entry's client order id, `<minute>-<SYMBOL>-rev`,
    /// sorts after the exit's).
    #[allow(clippy::too_many_arguments)]
    fn reverse(
        &mut self,
        index: usize,
        signal_tag: Option<u64>,
        signal: &Signal,
        now: DateTime<Utc>,
        account: &mut AccountSnapshot,
        positions: &mut Vec<PositionSnapshot>,
        out: &mut Vec<Effect>,
    ) {
        let symbol = &self.symbols[index].instrument.symbol;
        positions.retain(|p| !p.symbol.eq_ignore_ascii_case(symbol));
        let id = format!("{}-rev", client_order_id(now, symbol));
        let (decision, _) = self.decide_signal(index, signal, now, account, positions);
        // The signal was traded (its exit): a refused entry is only in the decision.
        let order = decision
            .approval()
            .filter(|a| a.intent() == Intent::Entry && !self.orders.contains(&id))
            .map(|a| OrderRequest::from_approval(a, id));
        self.submit(index, signal_tag, decision, order, now, account, positions, out);
    }

    /// Tracks an approved order as an intent and asks for it to be sent;
    /// an exit first cancels the bracket legs still working for its symbol
    /// (a real broker keeps them after the position is gone, and Alpaca
    /// holds the shares for them, refusing the exit) unless `legs` says they
    /// are cancelled already.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        decision: u64,
        signal: Option<u64>,
        broker: BrokerKind,
        request: OrderRequest,
        legs: Legs,
        now: DateTime<Utc>,
        out: &mut Vec<Effect>,
    ) {
        if request.intent() == Intent::Exit && legs == Legs::Cancel {
            for leg in self.orders.protecting(request.symbol()) {
                out.push(Effect::Cancel { client_order_id: leg.client_order_id.clone() });
            }
        }
        self.stats.orders += 1;
        self.orders.insert(TrackedOrder {
            client_order_id: request.client_order_id().into(),
            broker,
            broker_order_id: None,
            symbol: request.symbol().into(),
            side: request.side(),
            intent: request.intent(),
            order_type: request.kind().order_type(),
            quantity: request.quantity(),
            status: OrderStatus::Intent,
            filled: Decimal::ZERO,
            booked: Decimal::ZERO,
            parent: None,
            created_at: now,
        });
        out.push(Effect::Place { decision, signal, broker, request });
    }

    /// Held positions from the ledger, marked at their last close.
    fn held_snapshots(&self) -> Vec<PositionSnapshot> {
        let mut positions = Vec::new();
        for (symbol, book) in self.ledger.open_positions() {
            let Some(index) = self.symbol_index(symbol) else { continue };
            let state = &self.symbols[index];
            let Some(average) = book.average_price() else { continue };
            let mark = state.last_close.unwrap_or(average);
            let held = PositionSnapshot::new(&state.instrument, book.quantity(), average, mark);
            positions.push(held.with_entries(book.entries()));
        }
        positions
    }

    /// Held positions, and entry orders not yet filled as positions too
    /// (exposure the chain must count before their fills arrive).
    fn position_snapshots(&self) -> Vec<PositionSnapshot> {
        let mut positions = self.held_snapshots();
        for (order, left) in self.orders.pending_entries() {
            let Some(index) = self.symbol_index(&order.symbol) else { continue };
            let state = &self.symbols[index];
            let Some(price) = state.last_close else { continue };
            let signed = if order.side == Side::Buy { left } else { -left };
            positions.push(PositionSnapshot::new(&state.instrument, signed, price, price));
        }
        positions
    }

    // ---------------------------------------------------------------- orders

    /// The broker accepted an order: its state, and the event that says so.
    pub fn on_order_placed(&mut self, state: &OrderState, out: &mut Vec<Effect>) {
        if self.options.records {
            out.push(Effect::Emit(EngineEvent::OrderPlaced {
                client_order_id: state.client_order_id.to_string(),
                symbol: state.symbol.to_string(),
                side: state.side,
                quantity: state.quantity,
            }));
        }
        self.on_order_state(state, out);
    }

    /// The broker refused an order: it is final, with why.
    pub fn on_order_refused(&mut self, client_order_id: &str, reason: &str, out: &mut Vec<Effect>) {
        self.close_order(client_order_id, OrderStatus::Rejected, reason, out);
        out.push(Effect::Audit {
            event: "order_rejected",
            details: json!({"client_order_id": client_order_id, "reason": reason}),
        });
        out.push(Effect::Emit(EngineEvent::OrderRejected {
            client_order_id: client_order_id.to_string(),
            reason: reason.to_string(),
        }));
    }

    /// A placement whose outcome is unknown: the intent stays, and the
    /// monitor settles it with the broker.
    pub fn on_order_unanswered(&mut self, client_order_id: &str, error: &str, out: &mut Vec<Effect>) {
        out.push(Effect::Audit {
            event: "order_error",
            details: json!({"client_order_id": client_order_id, "error": error}),
        });
    }

    /// The broker has no order under this id. An intent older than `grace`
    /// never arrived: it is closed, not sent again (its moment has passed).
    pub fn on_order_missing(
        &mut self,
        client_order_id: &str,
        now: DateTime<Utc>,
        grace: TimeDelta,
        out: &mut Vec<Effect>,
    ) -> bool {
        let Some(order) = self.orders.get(client_order_id) else { return false };
        if order.status != OrderStatus::Intent || now - order.created_at < grace {
            return false;
        }
        self.close_order(client_order_id, OrderStatus::Cancelled, NEVER_SENT, out);
        out.push(Effect::Audit { event: "intent_never_sent", details: json!({"client_order_id": client_order_id}) });
        out.push(Effect::Emit(EngineEvent::OrderRejected {
            client_order_id: client_order_id.to_string(),
            reason: NEVER_SENT.to_string(),
        }));
        true
    }

    fn close_order(&mut self, client_order_id: &str, status: OrderStatus, reason: &str, out: &mut Vec<Effect>) {
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.status = status;
        }
        self.orders.forget_if_settled(client_order_id);
        out.push(Effect::OrderClosed {
            client_order_id: client_order_id.to_string(),
            status,
            reason: reason.to_string(),
        });
    }

    /// What a broker says about an order (and its bracket legs, registered
    /// the first time they appear). Fills come as fills, not from here.
    pub fn on_order_state(&mut self, state: &OrderState, out: &mut Vec<Effect>) {
        if !self.orders.contains(&state.client_order_id) {
            return;
        }
        if !state.legs.is_empty() {
            self.register_legs(state, out);
        }
        self.apply_state(state, out);
    }

    /// A bracket's legs, registered the first time they appear, and their states.
    fn register_legs(&mut self, state: &OrderState, out: &mut Vec<Effect>) {
        let Some(parent) = self.orders.get(&state.client_order_id).cloned() else { return };
        for leg in &state.legs {
            // A leg seen again after it settled is registered again, harmlessly: the
            // ledger's booked units settle it at once, the store inserts it once.
            if !self.orders.contains(&leg.client_order_id) {
                let mut tracked = orders::tracked_from_state(leg, parent.broker, Intent::Exit, Some(&parent));
                // Recorded as a new row (status `intent`); the broker's state is applied just below.
                tracked.status = OrderStatus::Intent;
                tracked.filled = Decimal::ZERO;
                tracked.booked = self.booked(&leg.client_order_id);
                self.orders.insert(tracked);
                if self.options.records {
                    let mut registered = leg.clone();
                    registered.legs.clear();
                    registered.updated_at = parent.created_at;
                    out.push(Effect::LegRegistered {
                        parent: parent.client_order_id.clone(),
                        broker: parent.broker,
                        leg: Box::new(registered),
                    });
                }
            }
            self.apply_state(leg, out);
        }
    }

    fn apply_state(&mut self, state: &OrderState, out: &mut Vec<Effect>) {
        let Some(order) = self.orders.get_mut(&state.client_order_id) else { return };
        let changed = order.status != state.status
            || order.filled != state.filled_quantity
            || order.quantity != state.quantity
            || order.broker_order_id.as_deref() != Some(state.broker_order_id.as_str());
        if !changed {
            return;
        }
        order.status = state.status;
        order.filled = state.filled_quantity;
        order.quantity = state.quantity;
        if order.broker_order_id.as_deref() != Some(state.broker_order_id.as_str()) {
            order.broker_order_id = Some(state.broker_order_id.clone());
        }
        let settled = order.is_settled();
        if self.options.records {
            let mut recorded = state.clone();
            recorded.legs.clear();
            out.push(Effect::OrderUpdated(Box::new(recorded)));
        }
        if settled {
            self.orders.forget_if_settled(&state.client_order_id);
        }
    }

    // ---------------------------------------------------------------- fills

    /// From when the broker's fills must be read (`None`: no order can fill).
    pub fn fills_window(&self) -> Option<DateTime<Utc>> {
        self.orders.fills_window(self.fills_read)
    }

    /// The broker's fills were read up to `now`.
    pub fn fills_read_at(&mut self, now: DateTime<Utc>) {
        self.fills_read = Some(now);
    }

    /// A broker reported a fill: booked in the ledger once (by broker and
    /// fill id), with the round trips it closed, the risk state's update and
    /// the order's booked units. A fill of an order that is not ours is left
    /// to reconciliation (audited once).
    pub fn on_fill(&mut self, report: FillReport, now: DateTime<Utc>, out: &mut Vec<Effect>) {
        let order = self.orders.find(report.client_order_id.as_deref(), report.broker, &report.broker_order_id);
        // Only what the fill needs of its order (this runs for every fill of a backtest):
        // its id (the report's when it names it), the entry it protects, whether the symbols agree.
        let named = report.client_order_id.is_some();
        let mine =
            order.map(|o| ((!named).then(|| o.client_order_id.clone()), o.parent.clone(), o.symbol == report.symbol));
        let Some((known_id, protects, same_symbol)) = mine else {
            if !self.ledger.has_applied(report.broker, &report.fill_id)
                && self.ignored.insert((report.broker, report.fill_id.clone()))
            {
                out.push(Effect::Audit {
                    event: "fill_not_ours",
                    details: json!({"fill": report, "note": "no order of ours; reconciliation books any position it leaves"}),
                });
            }
            return;
        };
        if !same_symbol {
            if self.ignored.insert((report.broker, report.fill_id.clone())) {
                let why = "its order is for another symbol";
                out.push(Effect::Audit { event: "fill_refused", details: json!({"fill": report, "why": why}) });
            }
            return;
        }
        let fill = Fill {
            broker: report.broker,
            fill_id: report.fill_id,
            client_order_id: known_id.or(report.client_order_id),
            protects,
            symbol: report.symbol,
            side: report.side,
            quantity: report.quantity,
            price: report.price,
            fee: report.fee,
            time: report.time,
            reconciled: false,
        };
        self.book_fill(fill, now, out);
    }

    /// Books one fill in the ledger: its effects, the risk state's update,
    /// and its order's booked units (the order settles once all are).
    fn book_fill(&mut self, fill: Fill, now: DateTime<Utc>, out: &mut Vec<Effect>) {
        let Some(index) = self.symbol_index(&fill.symbol) else { return };
        let applied = self.ledger.apply(&fill, &self.symbols[index].instrument);
        if let Some(order) = fill.client_order_id.as_deref() {
            match applied {
                // What the ledger just booked for the order (its total was the tracked one's).
                Ok(Applied::Booked { .. }) => self.orders.add_booked(order, fill.quantity),
                _ => self.orders.book(order, self.ledger.booked(order)),
            }
        }
        match applied {
            Err(error) => {
                if self.ignored.insert((fill.broker, fill.fill_id.clone())) {
                    out.push(Effect::Audit {
                        event: "fill_refused",
                        details: json!({"fill": fill, "why": error.to_string()}),
                    });
                }
            }
            Ok(Applied::Duplicate { same: true }) => {}
            Ok(Applied::Duplicate { same: false }) => {
                if self.ignored.insert((fill.broker, fill.fill_id.clone())) {
                    out.push(Effect::Audit {
                        event: "fill_conflict",
                        details: json!({"fill": fill, "why": "reported again with other figures; the first report stands"}),
                    });
                }
            }
            Ok(Applied::Booked { round_trips }) => {
                // With the risk checks off (a backtest on the peers' terms) nothing reads the risk state.
                if !round_trips.is_empty() && self.options.risk == RiskMode::Checked {
                    let events = self.risk.update_on_close(&round_trips, now, &self.risk_config);
                    if !events.is_empty() {
                        out.push(Effect::Risk(events));
                    }
                }
                if self.options.records && !round_trips.is_empty() {
                    self.tally(&round_trips);
                }
                let fill = self.options.records.then(|| Box::new(fill));
                out.push(Effect::Filled { fill, round_trips });
            }
        }
    }

    fn tally(&mut self, round_trips: &[RoundTrip]) {
        for trip in round_trips {
            let day = self.days.entry(trip.exit_time.with_timezone(&New_York).date_naive()).or_default();
            day.trades += 1;
            day.wins += i64::from(trip.net_pnl > Decimal::ZERO);
            day.losses += i64::from(trip.net_pnl < Decimal::ZERO);
            day.realized += trip.net_pnl;
            day.fees += trip.fees;
        }
    }

    // ---------------------------------------------------------------- reconciliation

    /// Compares the ledger's positions with `held` (the broker's, read now).
    /// A difference is audited with both figures, booked as fills flagged
    /// `reconciled` so the books agree (a closing part at the market, an
    /// opening part at the price that gives the broker's average), and shown
    /// as an alert. Returns the symbols that differed.
    pub fn reconcile_positions(
        &mut self,
        held: &[BrokerPosition],
        now: DateTime<Utc>,
        out: &mut Vec<Effect>,
    ) -> Vec<String> {
        let mut symbols: Vec<String> = self.ledger.open_positions().map(|(s, _)| s.to_string()).collect();
        symbols.extend(held.iter().filter(|p| !p.quantity.is_zero()).map(|p| p.symbol.clone()));
        symbols.sort();
        symbols.dedup();
        let mut differed = Vec::new();
        for symbol in symbols {
            let Some(index) = self.symbol_index(&symbol) else {
                out.push(Effect::Audit {
                    event: "position_unknown_symbol",
                    details: json!({"symbol": symbol, "note": "held at the broker but not configured: not traded"}),
                });
                continue;
            };
            let ours = self.ledger.position(&symbol);
            let theirs = held.iter().find(|p| p.symbol == symbol);
            let their_quantity = theirs.map_or(Decimal::ZERO, |p| p.quantity);
            if ours == their_quantity {
                continue;
            }
            let fills = self.reconciling_fills(index, ours, theirs, now);
            out.push(Effect::Audit {
                event: "position_mismatch",
                details: json!({
                    "symbol": symbol,
                    "ledger": {"quantity": ours, "average_price": self.ledger.book(&symbol).and_then(|b| b.average_price())},
                    "broker": theirs,
                    "booked": fills,
                }),
            });
            out.push(Effect::Emit(EngineEvent::PositionMismatch {
                symbol: symbol.clone(),
                ledger: ours,
                broker: their_quantity,
                booked: fills.iter().map(|f| (f.side, f.quantity, f.price)).collect(),
            }));
            for fill in fills {
                self.book_fill(fill, now, out);
            }
            differed.push(symbol);
        }
        differed
    }

    /// The fills that take the ledger from `ours` to the broker's position.
    fn reconciling_fills(
        &self,
        index: usize,
        ours: Decimal,
        theirs: Option<&BrokerPosition>,
        now: DateTime<Utc>,
    ) -> Vec<Fill> {
        let state = &self.symbols[index];
        let symbol = &state.instrument.symbol;
        let target = theirs.map_or(Decimal::ZERO, |p| p.quantity);
        let book = self.ledger.book(symbol);
        let market = theirs
            .map(|p| p.market_price)
            .or(state.last_close)
            .or_else(|| book.and_then(|b| b.average_price()))
            .unwrap_or(Decimal::ONE);
        let same_side = ours.is_zero() || target.is_zero() || ours.is_sign_positive() == target.is_sign_positive();
        // What closes: everything held when the broker is flat or on the other
        // side, else what the broker holds less of.
        let closing =
            if !same_side || target.is_zero() { ours.abs() } else { (ours.abs() - target.abs()).max(Decimal::ZERO) };
        let opening =
            if same_side && !ours.is_zero() { (target.abs() - ours.abs()).max(Decimal::ZERO) } else { target.abs() };
        let mut fills = Vec::new();
        let fill = |n: usize, side: Side, quantity: Decimal, price: Decimal| Fill {
            broker: state.broker,
            fill_id: format_compact!("reconcile-{}-{symbol}-{n}", now.format("%Y%m%d%H%M%S")),
            client_order_id: None,
            protects: None,
            symbol: symbol.as_str().into(),
            side,
            quantity,
            price,
            fee: Decimal::ZERO,
            time: now,
            reconciled: true,
        };
        if closing > Decimal::ZERO {
            let side = if ours > Decimal::ZERO { Side::Sell } else { Side::Buy };
            fills.push(fill(1, side, closing, market));
        }
        if opening > Decimal::ZERO {
            let side = if target > Decimal::ZERO { Side::Buy } else { Side::Sell };
            let broker_average = theirs.map_or(market, |p| p.average_price);
            // Adding to a position we hold: the price that makes our average the broker's.
            let price = match book.filter(|_| same_side && !ours.is_zero()) {
                Some(book) => {
                    let cost = book.cost();
                    // Off the tick grid if need be: the point is that the averages agree.
                    let price = ((target.abs() * broker_average - cost) / opening).round_dp(10).normalize();
                    if price > Decimal::ZERO { price } else { broker_average }
                }
                None => broker_average,
            };
            fills.push(fill(2, side, opening, price));
        }
        fills
    }

    // ---------------------------------------------------------------- controls and jobs

    /// A control from outside (the API), between minutes. `Err` when the
    /// state forbids it. Position sync is the shell's (it reads the broker).
    pub fn control(
        &mut self,
        control: Control,
        now: DateTime<Utc>,
        by: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), ControlRefused> {
        let refuse = |why: &str| Err(ControlRefused(why.to_string()));
        let events = match control {
            Control::Pause if self.risk.halted_manually => return refuse("trading is already paused"),
            Control::Pause => self.risk.halt(now, &format!("paused by {by}")),
            Control::Resume if !self.risk.halted_manually => return refuse("trading is not paused"),
            Control::Resume => self.risk.resume(now, &format!("resumed by {by}")),
            Control::ResetCircuitBreaker if self.risk.breakers.is_empty() => {
                return refuse("no circuit breaker is tripped");
            }
            Control::ResetCircuitBreaker => {
                let equity = self.equity.unwrap_or(self.risk.high_water_mark);
                self.marked = None;
                self.risk.manual_reset(equity, now, by)
            }
            Control::Flatten => {
                self.flatten(now, by, out);
                return Ok(());
            }
            Control::SyncPositions => return refuse("position sync is done by the engine's shell"),
        };
        out.push(Effect::Risk(events));
        out.push(Effect::Audit {
            event: "control",
            details: json!({"control": control, "by": by, "trading_state": self.risk.trading_state}),
        });
        Ok(())
    }

    /// The kill switch: every working order cancelled, every position the
    /// ledger holds closed with a market order (client order id
    /// `<minute>-<SYMBOL>-flatten`), then trading paused.
    fn flatten(&mut self, now: DateTime<Utc>, by: &str, out: &mut Vec<Effect>) {
        let (working, closing) = self.close_out(now, |_| true, CloseOut::KillSwitch, out);
        let events =
            if self.risk.halted_manually { Vec::new() } else { self.risk.halt(now, &format!("flattened by {by}")) };
        out.push(Effect::Risk(events));
        out.push(Effect::Audit {
            event: "flatten",
            details: json!({"by": by, "cancelled": working, "closing_orders": closing}),
        });
    }

    /// Cancels the working orders of the symbols `which` accepts and closes
    /// their ledger positions at market (client order id
    /// `<minute>-<SYMBOL>-<why>`): the ids cancelled and the closing orders.
    fn close_out(
        &mut self,
        now: DateTime<Utc>,
        which: impl Fn(&str) -> bool,
        why: CloseOut,
        out: &mut Vec<Effect>,
    ) -> (Vec<CompactString>, Vec<String>) {
        let working: Vec<CompactString> = self
            .orders
            .iter()
            .filter(|o| o.is_working() && o.status != OrderStatus::Intent && which(&o.symbol))
            .map(|o| o.client_order_id.clone())
            .collect();
        for id in &working {
            out.push(Effect::Cancel { client_order_id: id.clone() });
        }
        let mut closing = Vec::new();
        for position in self.held_snapshots().iter().filter(|p| which(&p.symbol)) {
            let decision = match why {
                CloseOut::KillSwitch => risk::kill_switch_exit(position, now),
                CloseOut::SessionClose => risk::session_flatten_exit(position, now),
            };
            let Some(approval) = decision.approval() else { continue };
            let id = format!("{}-{}", client_order_id(now, &position.symbol), why.suffix());
            if self.orders.contains(&id) {
                continue;
            }
            let request = OrderRequest::from_approval(approval, id.clone());
            let Some(broker) = self.broker_of(&position.symbol) else { continue };
            let tag = self.tag();
            out.push(Effect::Decision { tag, signal: None, decision: Box::new(decision) });
            // The legs were cancelled above with every working order.
            self.place(tag, None, broker, request, Legs::CancelledAlready, now, out);
            closing.push(id);
        }
        (working, closing)
    }

    /// The position policy's flatten before the close: in the last
    /// `flatten_before_close_minutes` of a symbol's session, its position is
    /// closed and its working orders cancelled (audited as
    /// `session_flatten`). A symbol whose closing order is still on its way
    /// is left to it.
    fn flatten_before_close(&mut self, now: DateTime<Utc>, out: &mut Vec<Effect>) {
        let policy = &self.risk_config.positions;
        let due: Vec<CompactString> = self
            .symbols
            .iter()
            .filter(|s| policy.flatten_window(s.instrument.venue, now).is_some())
            .map(|s| s.instrument.symbol.as_str().into())
            .filter(|symbol: &CompactString| {
                let held = !self.ledger.position(symbol).is_zero();
                let working = self.orders.iter().any(|o| o.symbol == *symbol && o.is_working());
                let closing = self.orders.iter().any(|o| {
                    o.symbol == *symbol
                        && o.is_working()
                        && o.client_order_id.ends_with(CloseOut::SessionClose.suffix())
                });
                (held || working) && !closing
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let (cancelled, closing) =
            self.close_out(now, |symbol| due.iter().any(|d| d == symbol), CloseOut::SessionClose, out);
        out.push(Effect::Audit {
            event: "session_flatten",
            details: json!({
                "symbols": due,
                "minutes_before_close": self.risk_config.positions.flatten_before_close_minutes,
                "cancelled": cancelled,
                "closing_orders": closing,
            }),
        });
    }

    fn run_job(&mut self, job: Job, at: DateTime<Utc>, out: &mut Vec<Effect>) {
        let Some(equity) = self.equity else { return };
        match job {
            Job::SignalCycle => {}
            Job::EquitySnapshot => out.push(Effect::EquitySnapshot(self.equity_snapshot(at, equity))),
            Job::EndOfDay => {
                out.push(Effect::EquitySnapshot(self.equity_snapshot(at, equity)));
                let date = at.with_timezone(&New_York).date_naive();
                let day = self.days.get(&date).cloned().unwrap_or_default();
                out.push(Effect::DailyMetrics(DailyMetrics {
                    date,
                    starting_equity: self.risk.day_start_equity,
                    ending_equity: equity,
                    realized_pnl: day.realized.normalize(),
                    trades: day.trades,
                    wins: day.wins,
                    losses: day.losses,
                    fees: day.fees.normalize(),
                }));
                // Days before last week are reported; forget them.
                self.days.retain(|d, _| *d + TimeDelta::days(7) >= date);
            }
            Job::DailyReset | Job::WeeklyReset => {
                let (events, event) = if job == Job::DailyReset {
                    (self.risk.daily_reset(equity, at), "daily_reset")
                } else {
                    (self.risk.weekly_reset(equity, at), "weekly_reset")
                };
                // The references moved: mark again at the next close.
                self.marked = None;
                out.push(Effect::Risk(events));
                out.push(Effect::Audit { event, details: json!({"equity": equity}) });
            }
        }
    }

    /// Equity, cash and the open lots' P&L at their last close (before fees).
    fn equity_snapshot(&self, at: DateTime<Utc>, equity: Decimal) -> EquitySnapshot {
        let mut unrealized = Decimal::ZERO;
        for (symbol, book) in self.ledger.open_positions() {
            let Some(index) = self.symbol_index(symbol) else { continue };
            let state = &self.symbols[index];
            let Some(mark) = state.last_close else { continue };
            for lot in book.lots() {
                unrealized += noise_core::ledger::gross_pnl(
                    lot.direction,
                    lot.price,
                    mark,
                    lot.quantity,
                    state.instrument.point_value,
                );
            }
        }
        EquitySnapshot {
            time: at,
            equity,
            cash: self.cash.unwrap_or(equity),
            unrealized_pnl: unrealized.round_dp(2).normalize(),
        }
    }
}

/// An account of zeros: with the risk checks off only positions matter.
fn zero_account() -> AccountSnapshot {
    AccountSnapshot {
        equity: Decimal::ZERO,
        cash: Decimal::ZERO,
        buying_power: Decimal::ZERO,
        available_margin: Decimal::ZERO,
        margin_account: true,
        broker_day_trades: None,
    }
}
