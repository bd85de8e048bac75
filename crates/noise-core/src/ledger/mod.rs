//! The ledger: positions, open lots and closed round trips, from fills only.
//!
//! A fill is the one money fact a broker reports: this many units of this
//! symbol changed hands at this price, for this fee, at this time. The
//! ledger applies fills one at a time, in the order given, and answers what
//! they did:
//!
//! - a fill in the direction held (or when flat) opens a **lot** of its own;
//! - a fill against the position closes lots: first the lots of the entry
//!   order it protects (a bracket leg's fill), then the oldest first (first
//!   in, first out); each lot closed, whole or in part, is a **round trip**;
//! - a fill larger than the position closes all of it and opens a lot the
//!   other way with the remainder (a flip);
//! - a fill already applied (same broker, same fill id) changes nothing.
//!
//! Arithmetic is exact (`Decimal`): a round trip's gross P&L is
//! `(exit − entry) × quantity × point value` (negated for a short), its fees
//! are its share of the entry fill's fee and of the exit fill's fee, and its
//! net P&L is gross minus fees. Fees are shared in proportion to quantity,
//! rounded to the cent (or to the fee's own precision when finer), and the
//! last piece of a fee takes what is left of it, so no fraction of a cent is
//! created or lost. Hence, for every symbol that is flat again:
//!
//! - Σ round-trip gross = Σ over its fills of (sold − bought) × price × point value,
//! - Σ round-trip fees = Σ fill fees, so Σ net = the cash its fills moved,
//! - Σ round-trip quantity = the quantity bought = the quantity sold.
//!
//! Property tests hold the ledger to these identities on random fills.

mod register;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::instrument::{AssetClass, BrokerKind, Instrument};
use crate::risk::Side;
use crate::signal::Direction;
use register::Register;

#[cfg(test)]
mod tests;

/// One execution, as the broker reported it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub broker: BrokerKind,
    /// The broker's id of this execution; unique per broker.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub fill_id: CompactString,
    /// Our client order id of the order that filled (absent for a
    /// reconciliation fill, which no order made).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub client_order_id: Option<CompactString>,
    /// For a bracket leg's fill: the client order id of the entry whose lots
    /// it protects (and closes first).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub protects: Option<CompactString>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub symbol: CompactString,
    pub side: Side,
    /// Units (shares, contracts) that changed hands; always positive.
    pub quantity: Decimal,
    pub price: Decimal,
    /// What the broker charged for this fill (negative for a rebate).
    pub fee: Decimal,
    /// When it executed (a market order filled at a bar's open: that open).
    pub time: DateTime<Utc>,
    /// Booked by reconciliation to make the ledger agree with the broker,
    /// not reported as an execution.
    #[serde(default)]
    pub reconciled: bool,
}

impl Fill {
    /// Units signed by side: positive bought, negative sold.
    pub fn signed_quantity(&self) -> Decimal {
        match self.side {
            Side::Buy => self.quantity,
            Side::Sell => -self.quantity,
        }
    }

    /// The cash this fill moved at `point_value`, fee included: a sale
    /// brings in its notional, a purchase pays it.
    pub fn cash_moved(&self, point_value: Decimal) -> Decimal {
        -self.signed_quantity() * self.price * point_value - self.fee
    }
}

/// What a fill's key (broker, fill id) identifies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FillKey {
    broker: BrokerKind,
    fill_id: CompactString,
}

/// The figures of an applied fill, to tell a repeated report from a
/// conflicting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    side: Side,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    time: DateTime<Utc>,
}

impl Figures {
    fn of(fill: &Fill) -> Self {
        Self { side: fill.side, quantity: fill.quantity, price: fill.price, fee: fill.fee, time: fill.time }
    }
}

/// An entry fill still (partly) open.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub direction: Direction,
    /// The fill that opened it.
    pub broker: BrokerKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub fill_id: CompactString,
    /// The entry order it came from.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub client_order_id: Option<CompactString>,
    /// Units still open.
    pub quantity: Decimal,
    pub price: Decimal,
    pub time: DateTime<Utc>,
    /// The part of the entry fill's fee not yet charged to a round trip.
    pub fees: Decimal,
    pub reconciled: bool,
}

impl Lot {
    /// The P&L of closing this lot at `mark`, net of its remaining entry fee.
    pub fn unrealized_pnl(&self, mark: Decimal, point_value: Decimal) -> Decimal {
        gross_pnl(self.direction, self.price, mark, self.quantity, point_value) - self.fees
    }
}

/// A closed round trip: (part of) one entry fill closed by (part of) one
/// exit fill.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrip {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub symbol: CompactString,
    pub asset_class: AssetClass,
    /// LONG (bought, then sold) or SHORT (sold, then bought back).
    pub side: Direction,
    pub quantity: Decimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: Decimal,
    pub exit_time: DateTime<Utc>,
    pub exit_price: Decimal,
    /// Before fees.
    pub gross_pnl: Decimal,
    /// Its share of the entry fill's fee plus its share of the exit fill's.
    pub fees: Decimal,
    /// Gross less fees: the realized P&L.
    pub net_pnl: Decimal,
    pub broker: BrokerKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub entry_fill_id: CompactString,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub exit_fill_id: CompactString,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub entry_order: Option<CompactString>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub exit_order: Option<CompactString>,
    /// Either side was a reconciliation fill (its price is the broker's
    /// figure or the market's, not an execution's).
    pub reconciled: bool,
}

/// One symbol's position as the ledger holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Book {
    lots: VecDeque<Lot>,
    /// Units in the lots and what they cost (Σ quantity × price), kept as
    /// lots open and close: a position built of many partial fills is read
    /// without summing its lots.
    units: Decimal,
    cost: Decimal,
}

impl Book {
    /// Open lots, oldest first.
    pub fn lots(&self) -> impl ExactSizeIterator<Item = &Lot> {
        self.lots.iter()
    }

    /// The direction held, or `None` when flat.
    /// The entries its open lots came from: lots of one entry order (its
    /// partial fills) count once; a lot without an order (reconciled) is
    /// one entry of its own.
    pub fn entries(&self) -> u32 {
        // A lot counts unless an earlier lot came from the same order (a book
        // holds a handful of lots: no set needed, nothing allocated per decision).
        let first_of_its_order = |(i, lot): &(usize, &Lot)| {
            lot.client_order_id.is_none()
                || !self.lots.iter().take(*i).any(|earlier| earlier.client_order_id == lot.client_order_id)
        };
        self.lots.iter().enumerate().filter(first_of_its_order).count() as u32
    }

    pub fn direction(&self) -> Option<Direction> {
        self.lots.front().map(|l| l.direction)
    }

    /// Signed units held: positive long, negative short.
    pub fn quantity(&self) -> Decimal {
        match self.direction() {
            Some(Direction::Short) => -self.units,
            _ => self.units,
        }
    }

    /// What the open lots cost: Σ quantity × entry price.
    pub fn cost(&self) -> Decimal {
        self.cost
    }

    /// The quantity-weighted entry price of the open lots (8 decimals).
    pub fn average_price(&self) -> Option<Decimal> {
        if self.units.is_zero() {
            return None;
        }
        Some((self.cost / self.units).round_dp(8).normalize())
    }

    /// When the oldest open lot was opened.
    pub fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.lots.iter().map(|l| l.time).min()
    }

    pub fn is_flat(&self) -> bool {
        self.lots.is_empty()
    }
}

/// Why a fill cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("fill {fill_id}: quantity {quantity} is not positive")]
    NonPositiveQuantity { fill_id: String, quantity: Decimal },
    #[error("fill {fill_id}: it has no symbol")]
    NoSymbol { fill_id: String },
    #[error("fill {fill_id}: it has no fill id")]
    NoFillId { fill_id: String },
    #[error("fill {fill_id} is for {fill_symbol}, applied as {instrument}")]
    WrongInstrument { fill_id: String, fill_symbol: String, instrument: String },
}

/// What applying a fill did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// It changed the position; these round trips closed (none for an entry).
    Booked { round_trips: Vec<RoundTrip> },
    /// A fill with this broker and id was applied before: nothing changed.
    /// `same` says whether the report repeats the first one's figures (side,
    /// quantity, price, fee, time): a broker that reports an execution twice
    /// with different figures is worth an alert).
    Duplicate { same: bool },
}

/// Every symbol's lots, and the fills already applied.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    books: BTreeMap<CompactString, Book>,
    /// Registers, as ids grow with time at every broker (ours and theirs):
    /// a new one is a push, not an insertion into a tree.
    applied: Register<FillKey, Figures>,
    /// Units booked per order (client order id).
    booked: Register<CompactString, Decimal>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `fill` of `instrument` (its point value and asset class
    /// price the round trips). See the module documentation.
    pub fn apply(&mut self, fill: &Fill, instrument: &Instrument) -> Result<Applied, LedgerError> {
        validate(fill, instrument)?;
        let key = FillKey { broker: fill.broker, fill_id: fill.fill_id.clone() };
        // One lookup: a new fill is booked below and cannot fail once validated.
        let (first, new) = self.applied.get_or_insert_with(key, || Figures::of(fill));
        if !new {
            return Ok(Applied::Duplicate { same: *first == Figures::of(fill) });
        }
        let book = match self.books.get_mut(&fill.symbol) {
            Some(book) => book,
            None => self.books.entry(fill.symbol.clone()).or_default(),
        };
        let round_trips = book.apply(fill, instrument);
        if let Some(order) = &fill.client_order_id {
            *self.booked.get_or_insert_with(order.clone(), Decimal::default).0 += fill.quantity;
        }
        Ok(Applied::Booked { round_trips })
    }

    /// Whether a fill with this broker and id has been applied.
    pub fn has_applied(&self, broker: BrokerKind, fill_id: &str) -> bool {
        self.applied.get(&FillKey { broker, fill_id: fill_id.into() }).is_some()
    }

    /// Units of the order `client_order_id` booked so far.
    pub fn booked(&self, client_order_id: &str) -> Decimal {
        self.booked.get(client_order_id).copied().unwrap_or_default()
    }

    /// How many distinct fills have been applied.
    pub fn fills_applied(&self) -> usize {
        self.applied.len()
    }

    pub fn book(&self, symbol: &str) -> Option<&Book> {
        self.books.get(symbol)
    }

    /// Signed units held in `symbol` (zero when flat or unknown).
    pub fn position(&self, symbol: &str) -> Decimal {
        self.books.get(symbol).map_or(Decimal::ZERO, Book::quantity)
    }

    /// Symbols with open lots, with their books, by symbol.
    pub fn open_positions(&self) -> impl Iterator<Item = (&str, &Book)> {
        self.books.iter().filter(|(_, b)| !b.is_flat()).map(|(s, b)| (s.as_str(), b))
    }
}

fn validate(fill: &Fill, instrument: &Instrument) -> Result<(), LedgerError> {
    let fill_id = || fill.fill_id.to_string();
    if fill.fill_id.trim().is_empty() {
        return Err(LedgerError::NoFillId { fill_id: fill_id() });
    }
    if fill.symbol.is_empty() {
        return Err(LedgerError::NoSymbol { fill_id: fill_id() });
    }
    if fill.symbol != instrument.symbol {
        let (fill_symbol, instrument) = (fill.symbol.to_string(), instrument.symbol.clone());
        return Err(LedgerError::WrongInstrument { fill_id: fill_id(), fill_symbol, instrument });
    }
    if fill.quantity <= Decimal::ZERO {
        return Err(LedgerError::NonPositiveQuantity { fill_id: fill_id(), quantity: fill.quantity });
    }
    Ok(())
}

impl Book {
    fn apply(&mut self, fill: &Fill, instrument: &Instrument) -> Vec<RoundTrip> {
        let direction = match fill.side {
            Side::Buy => Direction::Long,
            Side::Sell => Direction::Short,
        };
        if self.direction().is_none_or(|held| held == direction) {
            self.open(fill, direction, fill.quantity, fill.fee);
            return Vec::new();
        }
        let mut exit = Remainder { quantity: fill.quantity, fee: fill.fee };
        let mut closed = Vec::new();
        while !exit.quantity.is_zero() {
            let Some(index) = self.next_lot_to_close(fill.protects.as_deref()) else { break };
            let lot = &mut self.lots[index];
            let quantity = lot.quantity.min(exit.quantity);
            let entry_fee = take_share(&mut lot.fees, quantity, lot.quantity);
            lot.quantity -= quantity;
            self.units -= quantity;
            self.cost -= quantity * lot.price;
            let exit_fee = exit.take(quantity);
            let gross = gross_pnl(lot.direction, lot.price, fill.price, quantity, instrument.point_value);
            let fees = entry_fee + exit_fee;
            let (direction, price, time, reconciled) = (lot.direction, lot.price, lot.time, lot.reconciled);
            // A lot closed whole gives its ids to the round trip; a part copies them.
            let (entry_fill_id, entry_order) = if lot.quantity.is_zero() {
                let lot = self.lots.remove(index).unwrap_or_else(|| unreachable!("the lot was just read"));
                (lot.fill_id, lot.client_order_id)
            } else {
                (lot.fill_id.clone(), lot.client_order_id.clone())
            };
            closed.push(RoundTrip {
                symbol: fill.symbol.clone(),
                asset_class: instrument.asset_class,
                side: direction,
                quantity,
                entry_time: time,
                entry_price: price,
                exit_time: fill.time,
                exit_price: fill.price,
                // Exact, as computed: whoever shows or stores them normalizes.
                gross_pnl: gross,
                fees,
                net_pnl: gross - fees,
                broker: fill.broker,
                entry_fill_id,
                exit_fill_id: fill.fill_id.clone(),
                entry_order,
                exit_order: fill.client_order_id.clone(),
                reconciled: reconciled || fill.reconciled,
            });
        }
        if !exit.quantity.is_zero() {
            // Through flat: what is left opens the other way, with the rest of the fee.
            let (quantity, fee) = (exit.quantity, exit.fee);
            self.open(fill, direction, quantity, fee);
        }
        closed
    }

    fn open(&mut self, fill: &Fill, direction: Direction, quantity: Decimal, fees: Decimal) {
        self.units += quantity;
        self.cost += quantity * fill.price;
        self.lots.push_back(Lot {
            direction,
            broker: fill.broker,
            fill_id: fill.fill_id.clone(),
            client_order_id: fill.client_order_id.clone(),
            quantity,
            price: fill.price,
            time: fill.time,
            fees,
            reconciled: fill.reconciled,
        });
    }

    /// The lot an exit closes next: the oldest lot of the entry order it
    /// protects, else the oldest lot.
    fn next_lot_to_close(&self, protects: Option<&str>) -> Option<usize> {
        if self.lots.is_empty() {
            return None;
        }
        let protected =
            protects.and_then(|order| self.lots.iter().position(|l| l.client_order_id.as_deref() == Some(order)));
        Some(protected.unwrap_or(0))
    }
}

/// What is left of an exit fill while it closes lots.
struct Remainder {
    quantity: Decimal,
    fee: Decimal,
}

impl Remainder {
    /// The fee share of `quantity` more units of the exit.
    fn take(&mut self, quantity: Decimal) -> Decimal {
        let fee = take_share(&mut self.fee, quantity, self.quantity);
        self.quantity -= quantity;
        fee
    }
}

/// Takes the share of `pot` that `part` of `whole` units carry, and leaves
/// the rest in `pot`. The share is rounded to the cent (or to the pot's own
/// precision when finer); the last part takes all that is left, so shares
/// always add up to the pot exactly.
fn take_share(pot: &mut Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if pot.is_zero() {
        return Decimal::ZERO; // no fee to share (most fills of a costless backtest)
    }
    let share =
        if part >= whole || whole.is_zero() { *pot } else { (*pot * part / whole).round_dp(pot.scale().max(2)) };
    *pot -= share;
    share
}

/// The P&L of `quantity` units opened at `entry` and closed at `exit`.
pub fn gross_pnl(
    direction: Direction,
    entry: Decimal,
    exit: Decimal,
    quantity: Decimal,
    point_value: Decimal,
) -> Decimal {
    let per_unit = match direction {
        Direction::Long => exit - entry,
        Direction::Short => entry - exit,
    };
    per_unit * quantity * point_value
}

/// A round trip with only what the risk state reads set (tests elsewhere in
/// the crate).
#[cfg(test)]
pub(crate) fn round_trip_for_tests(
    symbol: &str,
    asset_class: AssetClass,
    net_pnl: Decimal,
    entry_time: DateTime<Utc>,
    exit_time: DateTime<Utc>,
) -> RoundTrip {
    RoundTrip {
        symbol: symbol.into(),
        asset_class,
        side: Direction::Long,
        quantity: Decimal::ONE,
        entry_time,
        entry_price: Decimal::ONE,
        exit_time,
        exit_price: Decimal::ONE,
        gross_pnl: net_pnl,
        fees: Decimal::ZERO,
        net_pnl,
        broker: BrokerKind::Sim,
        entry_fill_id: "entry".into(),
        exit_fill_id: "exit".into(),
        entry_order: None,
        exit_order: None,
        reconciled: false,
    }
}
