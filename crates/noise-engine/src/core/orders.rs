//! The orders the engine is still waiting on: open at a broker, or final
//! with filled units whose fills the ledger has not booked yet.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use compact_str::CompactString;
use noise_broker::OrderState;
use noise_core::instrument::BrokerKind;
use noise_core::order::{OrderStatus, OrderType};
use noise_core::risk::{Intent, Side};
use rust_decimal::Decimal;

/// One order as the engine tracks it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedOrder {
    pub client_order_id: CompactString,
    pub broker: BrokerKind,
    pub broker_order_id: Option<CompactString>,
    pub symbol: CompactString,
    pub side: Side,
    pub intent: Intent,
    pub order_type: OrderType,
    pub quantity: Decimal,
    pub status: OrderStatus,
    /// Cumulative, as the broker last reported it.
    pub filled: Decimal,
    /// Units whose fills the ledger has booked.
    pub booked: Decimal,
    /// A bracket leg's entry order.
    pub parent: Option<CompactString>,
    pub created_at: DateTime<Utc>,
}

impl TrackedOrder {
    /// Final, and every filled unit booked: nothing more can come of it.
    pub fn is_settled(&self) -> bool {
        self.status.is_final() && self.booked >= self.filled
    }

    /// Still working at the broker (or about to be).
    pub fn is_working(&self) -> bool {
        !self.status.is_final()
    }

    /// Units still to fill, as far as anyone knows.
    pub fn remaining(&self) -> Decimal {
        (self.quantity - self.filled.max(self.booked)).max(Decimal::ZERO)
    }

    /// Whether the broker says units filled that the ledger has not booked.
    pub fn misses_fills(&self) -> bool {
        self.filled > self.booked
    }
}

/// Tracked orders by client order id.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    orders: BTreeMap<CompactString, TrackedOrder>,
}

/// How far back a fill may be stamped before the last read of fills ended
/// (brokers publish executions with a delay).
const FILL_OVERLAP: TimeDelta = TimeDelta::minutes(10);

impl OrderBook {
    pub fn get(&self, client_order_id: &str) -> Option<&TrackedOrder> {
        self.orders.get(client_order_id)
    }

    pub fn get_mut(&mut self, client_order_id: &str) -> Option<&mut TrackedOrder> {
        self.orders.get_mut(client_order_id)
    }

    pub fn contains(&self, client_order_id: &str) -> bool {
        self.orders.contains_key(client_order_id)
    }

    pub fn insert(&mut self, order: TrackedOrder) {
        self.orders.insert(order.client_order_id.clone(), order);
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Every tracked order, by client order id.
    pub fn iter(&self) -> impl Iterator<Item = &TrackedOrder> {
        self.orders.values()
    }

    /// The order a broker's report is about: by our id, else by the broker's.
    pub fn find(
        &self,
        client_order_id: Option<&str>,
        broker: BrokerKind,
        broker_order_id: &str,
    ) -> Option<&TrackedOrder> {
        if let Some(order) = client_order_id.and_then(|id| self.orders.get(id)) {
            return Some(order);
        }
        self.orders.values().find(|o| o.broker == broker && o.broker_order_id.as_deref() == Some(broker_order_id))
    }

    /// Drops `client_order_id` once it is settled; returns whether it was.
    pub fn forget_if_settled(&mut self, client_order_id: &str) -> bool {
        let settled = self.orders.get(client_order_id).is_some_and(TrackedOrder::is_settled);
        if settled {
            self.orders.remove(client_order_id);
        }
        settled
    }

    /// Sets an order's booked units; drops it once that settles it (one
    /// lookup when it does not).
    pub fn book(&mut self, client_order_id: &str, booked: Decimal) {
        self.update_booked(client_order_id, |units| *units = booked);
    }

    /// Adds units the ledger just booked for an order; drops it once that
    /// settles it (the common case of a fill: no lookup in the ledger).
    pub fn add_booked(&mut self, client_order_id: &str, units: Decimal) {
        self.update_booked(client_order_id, |booked| *booked += units);
    }

    fn update_booked(&mut self, client_order_id: &str, update: impl FnOnce(&mut Decimal)) {
        let Some(order) = self.orders.get_mut(client_order_id) else { return };
        update(&mut order.booked);
        if order.is_settled() {
            self.orders.remove(client_order_id);
        }
    }

    /// Entry orders still to fill, with the units left.
    pub fn pending_entries(&self) -> impl Iterator<Item = (&TrackedOrder, Decimal)> {
        self.orders
            .values()
            .filter(|o| o.intent == Intent::Entry && o.is_working())
            .map(|o| (o, o.remaining()))
            .filter(|(_, left)| *left > Decimal::ZERO)
    }

    /// The bracket legs (and other resting exits) still working for `symbol`.
    pub fn protecting(&self, symbol: &str) -> impl Iterator<Item = &TrackedOrder> {
        self.orders.values().filter(move |o| {
            o.symbol == symbol
                && o.intent == Intent::Exit
                && o.order_type != OrderType::Market
                && o.is_working()
                && o.status != OrderStatus::Intent
        })
    }

    /// From when fills must be read so that none of an unsettled order's is
    /// missed: its creation when fills are known to be missing (or nothing
    /// has been read yet), else shortly before the last read. `None` when
    /// no order can fill.
    pub fn fills_window(&self, last_read: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        self.orders
            .values()
            .filter(|o| !o.is_settled() && o.status != OrderStatus::Intent || o.misses_fills())
            .map(|o| match last_read {
                Some(read) if !o.misses_fills() => o.created_at.max(read - FILL_OVERLAP),
                _ => o.created_at,
            })
            .min()
            .map(|t| t - TimeDelta::minutes(1))
    }
}

/// A broker's order state as a tracked order (a bracket leg registered
/// from its parent's state carries the parent's id and creation time).
pub fn tracked_from_state(
    state: &OrderState,
    broker: BrokerKind,
    intent: Intent,
    parent: Option<&TrackedOrder>,
) -> TrackedOrder {
    TrackedOrder {
        client_order_id: state.client_order_id.clone(),
        broker,
        broker_order_id: Some(state.broker_order_id.clone()),
        symbol: state.symbol.clone(),
        side: state.side,
        intent,
        order_type: state.order_type,
        quantity: state.quantity,
        status: state.status,
        filled: state.filled_quantity,
        booked: Decimal::ZERO,
        parent: parent.map(|p| p.client_order_id.clone()),
        // A leg exists since its entry was placed: its fills are read from then.
        created_at: parent.map_or(state.updated_at, |p| p.created_at),
    }
}
