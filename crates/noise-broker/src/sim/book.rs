//! The simulator's books: cash, positions, orders, and the fill logic.

use compact_str::{CompactString, format_compact};
use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use noise_core::instrument::{AssetClass, BrokerKind, Instrument, TickRounding};
use noise_core::market::Bar;
use noise_core::order::{OrderStatus, OrderType};
use noise_core::risk::Side;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{SimConfig, bar_close};
use crate::{AccountInfo, BrokerPosition, FillReport, OrderRequest, OrderState};

const KEPT_BARS: usize = 600;

fn kept_bars() -> usize {
    KEPT_BARS
}

fn finished_orders_kept() -> chrono::TimeDelta {
    chrono::TimeDelta::days(3)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimPosition {
    pub quantity: Decimal,
    pub average_price: Decimal,
    pub last_price: Decimal,
    pub point_value: Decimal,
    pub asset_class: AssetClass,
    pub initial_margin: Decimal,
    /// The entry whose bracket legs protect this position.
    pub bracket_parent: Option<CompactString>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimOrder {
    pub state: OrderState,
    pub placed_at: DateTime<Utc>,
    /// For an entry: its bracket levels; for a leg: its trigger price.
    pub stop_loss: Option<Decimal>,
    pub take_profit: Option<Decimal>,
    pub trigger: Option<Decimal>,
    pub parent: Option<CompactString>,
    /// Market, limit or stop (entries and exits the engine sends).
    #[serde(default = "market")]
    pub kind: crate::OrderKind,
    /// An entry whose bracket is done (a leg fired, or the legs were
    /// cancelled): what is left of it is cancelled rather than filled, so a
    /// partly filled entry never adds exposure its protection no longer covers.
    #[serde(default)]
    pub bracket_closed: bool,
}

fn market() -> crate::OrderKind {
    crate::OrderKind::Market
}

/// `SIM-<n>`, written without the formatting machinery (one per order).
fn broker_order_id(n: u64) -> CompactString {
    numbered("SIM-", n, 1)
}

/// `prefix` and `n` in decimal, zero-padded to `width` digits (at most 20).
fn numbered(prefix: &'static str, n: u64, width: usize) -> CompactString {
    // Written backwards into a buffer, then copied once: this runs for every order and fill.
    let mut buffer = [b'0'; 32];
    let mut start = buffer.len();
    let mut rest = n;
    loop {
        start -= 1;
        buffer[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    start = start.min(buffer.len() - width.min(20));
    let prefix = &prefix.as_bytes()[..prefix.len().min(start)];
    start -= prefix.len();
    buffer[start..start + prefix.len()].copy_from_slice(prefix);
    // ASCII throughout (the prefixes are ours).
    CompactString::from(std::str::from_utf8(&buffer[start..]).unwrap_or_default())
}

#[cfg(test)]
#[test]
fn ids_count() {
    assert_eq!([broker_order_id(1), broker_order_id(10), broker_order_id(9_087)], ["SIM-1", "SIM-10", "SIM-9087"]);
    assert_eq!(sim_fill_id(42), "SIMF-0000000042");
    assert!(sim_fill_id(9) < sim_fill_id(10), "fill ids sort in the order they were made");
}

/// Everything the simulated broker remembers (serialised to its file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    pub cash: Decimal,
    pub positions: BTreeMap<CompactString, SimPosition>,
    pub orders: BTreeMap<CompactString, SimOrder>,
    pub next_order: u64,
    pub last_bar_close: Option<DateTime<Utc>>,
    /// Every execution, each with its own id, kept as long as finished orders
    /// are (so the engine can read what filled while it was down).
    #[serde(default)]
    pub fills: VecDeque<FillReport>,
    #[serde(default = "first_fill")]
    pub next_fill: u64,
    /// Recent bars per symbol: a cache of market data, not account state, so
    /// it is not written to the state file (which is rewritten on every change).
    #[serde(skip)]
    pub bars: BTreeMap<String, VecDeque<Bar>>,
    /// How many recent bars per symbol to keep for `recent_bars` (a
    /// backtest asks for none).
    #[serde(skip, default = "kept_bars")]
    pub bars_kept: usize,
    /// How long finished orders stay queryable (a backtest reads each fill
    /// as it happens, so it keeps them one bar only).
    #[serde(skip, default = "finished_orders_kept")]
    pub finished_kept: chrono::TimeDelta,
    /// Whether executions are kept in `fills` (a backtest takes each bar's
    /// fills as they happen and keeps none).
    #[serde(skip, default = "yes")]
    pub keep_fills: bool,
    /// Client order ids whose state changed since the reader last emptied
    /// the list (a backtest reads them; the simulated broker's engine polls
    /// instead).
    #[serde(skip)]
    pub changed: Vec<CompactString>,
    #[serde(skip)]
    pub track_changes: bool,
}

fn first_fill() -> u64 {
    1
}

fn yes() -> bool {
    true
}

impl SimState {
    pub fn new(cash: Decimal) -> Self {
        Self {
            cash,
            positions: BTreeMap::new(),
            orders: BTreeMap::new(),
            next_order: 1,
            last_bar_close: None,
            fills: VecDeque::new(),
            next_fill: 1,
            bars: BTreeMap::new(),
            bars_kept: KEPT_BARS,
            finished_kept: finished_orders_kept(),
            keep_fills: true,
            changed: Vec::new(),
            track_changes: false,
        }
    }

    /// A book for a backtest: no bar cache, finished orders forgotten at the
    /// next bar (the backtest has read them by then).
    pub fn for_backtest(cash: Decimal) -> Self {
        Self {
            bars_kept: 0,
            finished_kept: chrono::TimeDelta::zero(),
            keep_fills: false,
            track_changes: true,
            ..Self::new(cash)
        }
    }

    /// Executions at or after `since`, oldest first.
    pub fn fills_since(&self, since: DateTime<Utc>) -> Vec<FillReport> {
        self.fills.iter().filter(|f| f.time >= since).cloned().collect()
    }

    fn touched(&mut self, client_order_id: &str) {
        if self.track_changes {
            self.changed.push(client_order_id.into());
        }
    }

    pub(crate) fn clock(&self) -> DateTime<Utc> {
        self.last_bar_close.unwrap_or(DateTime::UNIX_EPOCH)
    }

    pub fn order(&self, client_order_id: &str) -> Option<OrderState> {
        let order = self.orders.get(client_order_id)?;
        let mut state = order.state.clone();
        if order.stop_loss.is_none() && order.take_profit.is_none() {
            return Some(state); // no bracket, no legs to look for
        }
        state.legs = ["sl", "tp"]
            .iter()
            .filter_map(|leg| self.orders.get(&format_compact!("{client_order_id}-{leg}")))
            .map(|o| o.state.clone())
            .collect();
        Some(state)
    }

    /// A new order's state as the broker first reports it, numbered in turn.
    fn submitted(
        &mut self,
        client_order_id: &str,
        symbol: &str,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        at: DateTime<Utc>,
    ) -> OrderState {
        let broker_order_id = broker_order_id(self.next_order);
        self.next_order += 1;
        OrderState {
            client_order_id: client_order_id.into(),
            broker_order_id,
            symbol: symbol.into(),
            side,
            order_type,
            quantity,
            status: OrderStatus::Submitted,
            filled_quantity: Decimal::ZERO,
            average_fill_price: None,
            fees: Decimal::ZERO,
            updated_at: at,
            legs: Vec::new(),
        }
    }

    pub fn accept(&mut self, request: &OrderRequest, instrument: &Instrument, at: DateTime<Utc>) -> OrderState {
        self.accept_in_place(request, instrument, at).clone()
    }

    /// [`Self::accept`] without a copy of the new order's state.
    pub fn accept_in_place(
        &mut self,
        request: &OrderRequest,
        _instrument: &Instrument,
        at: DateTime<Utc>,
    ) -> &OrderState {
        let kind = request.kind().order_type();
        let state =
            self.submitted(request.client_order_id(), request.symbol(), request.side(), kind, request.quantity(), at);
        let id = state.client_order_id.clone();
        let order = SimOrder {
            state,
            placed_at: at,
            stop_loss: request.stop_loss(),
            take_profit: request.take_profit(),
            trigger: None,
            parent: None,
            kind: request.kind(),
            bracket_closed: false,
        };
        match self.orders.entry(id) {
            std::collections::btree_map::Entry::Vacant(new) => &new.insert(order).state,
            std::collections::btree_map::Entry::Occupied(mut old) => {
                old.insert(order);
                &old.into_mut().state
            }
        }
    }

    /// A plain order (no bracket, not a leg) that is final and whose state
    /// the engine has heard is forgotten at once when finished orders are
    /// not kept (a backtest), not at the next bar: that bar then takes the
    /// nothing-to-fill path.
    pub fn forget_heard(&mut self, client_order_id: &str) {
        if !self.finished_kept.is_zero() {
            return;
        }
        let plain_and_final = |o: &SimOrder| {
            o.state.status.is_final() && o.parent.is_none() && o.stop_loss.is_none() && o.take_profit.is_none()
        };
        if self.orders.get(client_order_id).is_some_and(plain_and_final) {
            self.orders.remove(client_order_id);
        }
    }

    pub fn cancel(&mut self, client_order_id: &str) -> Option<OrderState> {
        let order = self.orders.get_mut(client_order_id)?;
        if !order.state.status.is_final() {
            order.state.status = OrderStatus::Cancelled;
            let state = order.state.clone();
            let parent = order.parent.clone();
            self.touched(client_order_id);
            if let Some(parent) = parent {
                self.close_bracket(&parent);
            }
            return Some(state);
        }
        Some(order.state.clone())
    }

    /// `parent`'s bracket is done: the rest of the entry will not fill.
    fn close_bracket(&mut self, parent: &str) {
        if let Some(entry) = self.orders.get_mut(parent) {
            entry.bracket_closed = true;
        }
    }

    pub(crate) fn recent_bars(&self, symbol: &str, limit: usize) -> Vec<Bar> {
        let Some(bars) = self.bars.get(symbol) else { return Vec::new() };
        bars.iter().skip(bars.len().saturating_sub(limit)).cloned().collect()
    }

    pub fn positions(&self) -> Vec<BrokerPosition> {
        self.positions
            .iter()
            .map(|(symbol, p)| BrokerPosition {
                symbol: symbol.to_string(),
                quantity: p.quantity,
                average_price: p.average_price,
                market_price: p.last_price,
            })
            .collect()
    }

    /// Equity: cash plus the market value of shares (cash paid for them) and
    /// the open profit of futures (no cash changes hands on a futures entry).
    /// Unrounded; [`Self::account`] rounds to cents.
    #[inline]
    pub fn equity(&self) -> Decimal {
        let mut equity = self.cash;
        for p in self.positions.values() {
            equity += match p.asset_class {
                AssetClass::Equity => p.quantity * p.last_price,
                AssetClass::Future => (p.last_price - p.average_price) * p.quantity * p.point_value,
            };
        }
        equity
    }

    pub fn account(&self, _instruments: &BTreeMap<String, Instrument>) -> AccountInfo {
        let equity = self.equity();
        let (mut share_value, mut margin_used) = (Decimal::ZERO, Decimal::ZERO);
        for p in self.positions.values() {
            match p.asset_class {
                AssetClass::Equity => share_value += (p.quantity * p.last_price).abs(),
                AssetClass::Future => margin_used += p.quantity.abs() * p.initial_margin,
            }
        }
        // Reg T: twice the equity, less what is already held.
        let buying_power = (equity * Decimal::TWO - share_value - margin_used).max(Decimal::ZERO);
        let money = |d: Decimal| d.round_dp(2).normalize();
        AccountInfo {
            broker: BrokerKind::Sim,
            equity: money(equity),
            cash: money(self.cash),
            buying_power: money(buying_power),
            available_margin: money((equity - margin_used).max(Decimal::ZERO)),
            // A Reg T margin account that counts no day trades of its own (ours are counted by the risk state).
            day_trade_count: None,
            margin_account: true,
        }
    }

    /// A completed bar: fills the orders placed before it opened, then
    /// honours bracket legs intrabar (stop first). Returns its executions.
    pub fn on_bar(&mut self, instrument: &Instrument, bar: &Bar, config: &SimConfig) -> Vec<FillReport> {
        self.on_bar_closed_at(instrument, bar, bar_close(bar), config)
    }

    /// [`Self::on_bar`] with the bar's close time given (`now`, one minute
    /// after its open): a backtest has it already, and time arithmetic is a
    /// noticeable part of a bar's cost.
    #[inline]
    pub fn on_bar_closed_at(
        &mut self,
        instrument: &Instrument,
        bar: &Bar,
        now: DateTime<Utc>,
        config: &SimConfig,
    ) -> Vec<FillReport> {
        // Nothing to fill or cache, a bar in time order: only the mark moves
        // (most of a backtest's bars; kept small enough to inline).
        if self.bars_kept == 0 && self.orders.is_empty() && self.last_bar_close.is_none_or(|t| t <= now) {
            self.last_bar_close = Some(now);
            self.mark(&instrument.symbol, bar.close);
            return Vec::new();
        }
        self.fill_on_bar(instrument, bar, now, config)
    }

    /// [`Self::on_bar_closed_at`] in full.
    fn fill_on_bar(
        &mut self,
        instrument: &Instrument,
        bar: &Bar,
        now: DateTime<Utc>,
        config: &SimConfig,
    ) -> Vec<FillReport> {
        let symbol = &instrument.symbol;
        if self.bars_kept > 0 {
            let bars = self.bars.entry(symbol.clone()).or_default();
            if bars.back().is_some_and(|b| b.time >= bar.time) {
                return Vec::new(); // already seen: replays after a restart are harmless
            }
            bars.push_back(bar.clone());
            while bars.len() > self.bars_kept {
                bars.pop_front();
            }
        } else if self.last_bar_close.is_some_and(|t| t > now) {
            return Vec::new(); // a backtest feeds bars in time order; an older one was seen
        }
        self.last_bar_close = Some(self.last_bar_close.map_or(now, |t| t.max(now)));
        if self.orders.is_empty() {
            self.mark(symbol, bar.close); // nothing to fill: the common case of a backtest's bar
            return Vec::new();
        }
        self.forget_old(now);
        let mut fills = Vec::new();
        // What one order may take of this bar's volume.
        let cap = (config.max_volume_share > Decimal::ZERO).then(|| (config.max_volume_share * bar.volume).floor());

        let due: Vec<CompactString> = self
            .orders
            .iter()
            .filter(|(_, o)| {
                o.state.symbol == *symbol
                    && o.parent.is_none()
                    && matches!(o.state.status, OrderStatus::Submitted | OrderStatus::PartiallyFilled)
                    && o.placed_at <= bar.time
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let order = &self.orders[&id];
            if order.bracket_closed {
                self.expire_rest(&id, bar.time);
                continue;
            }
            let slip = instrument.tick_size * Decimal::from(config.slippage_ticks);
            let side = order.state.side;
            // Market: the open, slipped. Limit: the level or better, once traded
            // through. Stop: triggered when traded through, then filled like a
            // market order at the worse of the open and the level, slipped.
            let price = match (order.kind, side) {
                (crate::OrderKind::Market, Side::Buy) => Some(bar.open + slip),
                (crate::OrderKind::Market, Side::Sell) => Some(bar.open - slip),
                (crate::OrderKind::Limit(p), Side::Buy) => (bar.low <= p).then(|| bar.open.min(p)),
                (crate::OrderKind::Limit(p), Side::Sell) => (bar.high >= p).then(|| bar.open.max(p)),
                (crate::OrderKind::Stop(p), Side::Buy) => (bar.high >= p).then(|| bar.open.max(p) + slip),
                (crate::OrderKind::Stop(p), Side::Sell) => (bar.low <= p).then(|| bar.open.min(p) - slip),
            };
            let Some(price) = price else { continue }; // resting: good until cancelled
            let remaining = order.state.quantity - order.state.filled_quantity;
            let quantity = cap.map_or(remaining, |cap| remaining.min(cap));
            if quantity <= Decimal::ZERO {
                continue; // the bar traded too little: the rest waits for the next one
            }
            let price = instrument.round_to_tick(price.max(instrument.tick_size), TickRounding::Nearest);
            let (stop, target) = (order.stop_loss, order.take_profit);
            if stop.is_some() || target.is_some() {
                let fill = self.fill(instrument, id.clone(), side, quantity, price, bar.time, config);
                fills.push(fill);
                self.protect(instrument, &id, side, quantity, stop, target, bar.time);
            } else {
                fills.push(self.fill(instrument, id, side, quantity, price, bar.time, config));
            }
        }
        self.mark(symbol, bar.close);
        fills.extend(self.trigger_legs(instrument, bar, config));
        if self.keep_fills {
            self.fills.extend(fills.iter().cloned());
        }
        fills
    }

    /// What is left of an entry whose bracket is done is cancelled.
    fn expire_rest(&mut self, id: &str, at: DateTime<Utc>) {
        if let Some(order) = self.orders.get_mut(id)
            && !order.state.status.is_final()
        {
            order.state.status = OrderStatus::Cancelled;
            order.state.updated_at = at;
            self.touched(id);
        }
    }

    /// Finished orders (and their fills) are kept three days by default
    /// (the engine has long reconciled them by then), so the state file
    /// stays small on long runs.
    fn forget_old(&mut self, now: DateTime<Utc>) {
        let horizon = now - self.finished_kept;
        self.orders.retain(|_, o| !o.state.status.is_final() || o.state.updated_at >= horizon);
        while self.fills.front().is_some_and(|f| f.time < horizon) {
            self.fills.pop_front();
        }
    }

    #[inline]
    fn mark(&mut self, symbol: &str, price: Decimal) {
        if let Some(p) = self.positions.get_mut(symbol) {
            p.last_price = price;
        }
    }

    /// Bracket legs for `quantity` more units of an entry: created with its
    /// first fill, grown by each later one while they are still working.
    #[allow(clippy::too_many_arguments)]
    fn protect(
        &mut self,
        instrument: &Instrument,
        parent: &str,
        side: Side,
        quantity: Decimal,
        stop: Option<Decimal>,
        target: Option<Decimal>,
        at: DateTime<Utc>,
    ) {
        let exit_side = match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let mut changed = false;
        for (leg, kind, trigger) in [("sl", OrderType::Stop, stop), ("tp", OrderType::Limit, target)] {
            let Some(trigger) = trigger else { continue };
            let id = format_compact!("{parent}-{leg}");
            match self.orders.get_mut(&id) {
                Some(existing) if existing.state.status == OrderStatus::Submitted => {
                    existing.state.quantity += quantity;
                    existing.state.updated_at = at;
                    changed = true;
                }
                Some(_) => {} // fired or cancelled: an entry still filling is not protected again
                None => {
                    let state = self.submitted(&id, &instrument.symbol, exit_side, kind, quantity, at);
                    self.orders.insert(
                        id,
                        SimOrder {
                            state,
                            placed_at: at,
                            stop_loss: None,
                            take_profit: None,
                            trigger: Some(trigger),
                            parent: Some(parent.into()),
                            kind: crate::OrderKind::Market,
                            bracket_closed: false,
                        },
                    );
                    changed = true;
                }
            }
        }
        if changed {
            // The legs travel with the parent's state.
            self.touched(parent);
        }
        if let Some(p) = self.positions.get_mut(instrument.symbol.as_str()) {
            p.bracket_parent = Some(parent.into());
        }
    }

    /// Live bracket legs of this symbol: the stop first when a bar touches both.
    fn trigger_legs(&mut self, instrument: &Instrument, bar: &Bar, config: &SimConfig) -> Vec<FillReport> {
        let mut fills = Vec::new();
        let has_legs = self.orders.values().any(|o| o.parent.is_some() && o.state.status == OrderStatus::Submitted);
        if !has_legs {
            return fills;
        }
        let parents: Vec<CompactString> = self
            .orders
            .values()
            .filter(|o| {
                o.state.symbol == instrument.symbol && o.parent.is_some() && o.state.status == OrderStatus::Submitted
            })
            .filter_map(|o| o.parent.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for parent in parents {
            for leg in ["sl", "tp"] {
                let id = format_compact!("{parent}-{leg}");
                let Some(order) = self.orders.get(&id) else { continue };
                if order.state.status != OrderStatus::Submitted {
                    continue;
                }
                let (Some(trigger), side, qty) = (order.trigger, order.state.side, order.state.quantity) else {
                    continue;
                };
                // A sell leg protects a long: the stop triggers at or below, the target at or above.
                let is_stop = leg == "sl";
                let price = match (side, is_stop) {
                    (Side::Sell, true) if bar.low <= trigger => Some(bar.open.min(trigger)),
                    (Side::Sell, false) if bar.high >= trigger => Some(bar.open.max(trigger)),
                    (Side::Buy, true) if bar.high >= trigger => Some(bar.open.max(trigger)),
                    (Side::Buy, false) if bar.low <= trigger => Some(bar.open.min(trigger)),
                    _ => None,
                };
                let Some(price) = price else { continue };
                fills.push(self.fill(instrument, id, side, qty, price, bar.time, config));
                self.close_bracket(&parent);
                let other = format_compact!("{parent}-{}", if is_stop { "tp" } else { "sl" });
                if let Some(o) = self.orders.get_mut(&other)
                    && !o.state.status.is_final()
                {
                    o.state.status = OrderStatus::Cancelled;
                    o.state.updated_at = bar.time;
                    self.touched(&other);
                }
                break;
            }
        }
        fills
    }

    /// Applies an execution of `qty` units of order `id` at `price` to the
    /// order, the position and the cash; returns it as the broker reports it.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        instrument: &Instrument,
        id: CompactString,
        side: Side,
        qty: Decimal,
        price: Decimal,
        at: DateTime<Utc>,
        config: &SimConfig,
    ) -> FillReport {
        let fee = match instrument.asset_class {
            AssetClass::Equity => config.commission_per_share * qty,
            AssetClass::Future => config.commission_per_contract * qty,
        };
        let fill_id = sim_fill_id(self.next_fill);
        self.next_fill += 1;
        let mut broker_order_id = CompactString::default();
        if let Some(order) = self.orders.get_mut(&id) {
            let state = &mut order.state;
            let before = state.filled_quantity;
            state.filled_quantity += qty;
            // The average of every execution so far (eight places: far finer than any tick).
            let average = match state.average_fill_price {
                Some(avg) if !before.is_zero() => {
                    ((avg * before + price * qty) / state.filled_quantity).round_dp(8).normalize()
                }
                _ => price.normalize(),
            };
            state.average_fill_price = Some(average);
            state.fees += fee;
            state.status = if state.filled_quantity >= state.quantity {
                OrderStatus::Filled
            } else {
                OrderStatus::PartiallyFilled
            };
            state.updated_at = at;
            broker_order_id = state.broker_order_id.clone();
        }
        self.touched(&id);
        self.book_position(instrument, &id, side, qty, price, fee, at);
        FillReport {
            broker: BrokerKind::Sim,
            fill_id,
            broker_order_id,
            client_order_id: Some(id),
            symbol: instrument.symbol.as_str().into(),
            side,
            quantity: qty,
            price,
            fee,
            time: at,
        }
    }

    /// The position and the cash after a fill (the broker's own
    /// average-price book, as a real broker keeps it).
    #[allow(clippy::too_many_arguments)]
    fn book_position(
        &mut self,
        instrument: &Instrument,
        id: &str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fees: Decimal,
        at: DateTime<Utc>,
    ) {
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        // Looked up before inserting: the symbol is cloned only for a new position.
        if !self.positions.contains_key(instrument.symbol.as_str()) {
            let flat = SimPosition {
                quantity: Decimal::ZERO,
                average_price: price,
                last_price: price,
                point_value: instrument.point_value,
                asset_class: instrument.asset_class,
                initial_margin: instrument.initial_margin.unwrap_or_default(),
                bracket_parent: None,
            };
            self.positions.insert(instrument.symbol.as_str().into(), flat);
        }
        let Some(position) = self.positions.get_mut(instrument.symbol.as_str()) else { return };
        let old = position.quantity;
        let new = old + signed;
        // Realized P&L on the part that closes.
        let closing = if old.is_sign_positive() != signed.is_sign_positive() && !old.is_zero() {
            old.abs().min(qty)
        } else {
            Decimal::ZERO
        };
        let direction = if old.is_sign_negative() { -Decimal::ONE } else { Decimal::ONE };
        let realized = (price - position.average_price) * closing * direction * position.point_value;
        match instrument.asset_class {
            AssetClass::Equity => self.cash -= signed * price + fees,
            AssetClass::Future => self.cash += realized - fees,
        }
        if new.is_zero() {
            self.positions.remove(instrument.symbol.as_str());
            self.cancel_legs_of(instrument, id, at);
            return;
        }
        if old.is_zero() || old.is_sign_positive() == new.is_sign_positive() && closing.is_zero() {
            // Eight decimals are far finer than any tick; unbounded scales only grow.
            position.average_price =
                ((old.abs() * position.average_price + qty * price) / new.abs()).round_dp(8).normalize();
        } else if old.is_sign_positive() != new.is_sign_positive() {
            position.average_price = price; // flipped through zero: the rest opens at this price
        }
        position.quantity = new;
        position.last_price = price;
    }

    /// A position closed by another order: its bracket legs must not fire later.
    fn cancel_legs_of(&mut self, instrument: &Instrument, filled: &str, at: DateTime<Utc>) {
        let mut cancelled = Vec::new();
        for order in self.orders.values_mut() {
            if order.state.symbol == instrument.symbol
                && order.parent.is_some()
                && order.state.client_order_id != filled
                && !order.state.status.is_final()
            {
                order.state.status = OrderStatus::Cancelled;
                order.state.updated_at = at;
                cancelled.push((order.state.client_order_id.clone(), order.parent.clone()));
            }
        }
        for (id, parent) in cancelled {
            self.touched(&id);
            if let Some(parent) = parent {
                self.close_bracket(&parent);
            }
        }
    }
}

/// `SIMF-<n>`: the simulator's execution ids, numbered in turn, ten digits
/// wide so that they sort in the order they were made (the ledger's
/// record of applied fills is fastest for ids that grow).
fn sim_fill_id(n: u64) -> CompactString {
    numbered("SIMF-", n, 10)
}
