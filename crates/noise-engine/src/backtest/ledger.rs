//! Round trips from fills: what the trade list of a backtest records.

use chrono::{DateTime, Utc};
use noise_core::instrument::Instrument;
use noise_core::order::round_trip_pnl;
use noise_core::risk::Side;
use rust_decimal::Decimal;
use serde::Serialize;

/// A closed round trip. Times are the open times of the bars the entry and
/// the exit filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeRecord {
    pub symbol: String,
    /// LONG or SHORT.
    pub side: &'static str,
    pub qty: Decimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: Decimal,
    pub exit_time: DateTime<Utc>,
    pub exit_price: Decimal,
    /// Net of fees, to the cent.
    pub pnl: Decimal,
    pub fees: Decimal,
}

/// A position still open when the data ended, marked to the last close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenPosition {
    pub symbol: String,
    pub side: &'static str,
    pub qty: Decimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: Decimal,
    pub mark_price: Decimal,
    /// At the mark, net of the entry's fees.
    pub unrealized_pnl: Decimal,
}

/// One entry fill still (partly) open: a lot.
#[derive(Debug, Clone, PartialEq)]
struct Lot {
    quantity: Decimal,
    price: Decimal,
    time: DateTime<Utc>,
    /// Entry fees not yet charged to a closed trade.
    fees: Decimal,
}

/// A symbol's open position as its entry fills built it, lot by lot: each
/// entry is its own round trip, closed first in, first out (the total P&L
/// is the same as the broker's average-price accounting once flat).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpenTrade {
    long: bool,
    lots: std::collections::VecDeque<Lot>,
}

/// One fill as the ledger needs it.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fees: Decimal,
    pub time: DateTime<Utc>,
}

/// Applies a fill to the symbol's lots; returns the round trips it closed.
/// A fill in the direction held (or when flat) opens a lot; an opposite fill
/// closes lots oldest first, and what is left of it opens a lot the other
/// way. Fees are shared in proportion to the quantity they cover.
pub fn apply_fill(open: &mut OpenTrade, fill: Fill, instrument: &Instrument) -> Vec<TradeRecord> {
    let buying = fill.side == Side::Buy;
    if open.lots.is_empty() {
        open.long = buying;
    }
    if open.long == buying {
        open.lots.push_back(Lot { quantity: fill.quantity, price: fill.price, time: fill.time, fees: fill.fees });
        return Vec::new();
    }
    let mut closed = Vec::new();
    let mut remaining = fill.quantity;
    while remaining > Decimal::ZERO {
        let Some(lot) = open.lots.front_mut() else { break };
        let quantity = lot.quantity.min(remaining);
        let entry_fees = share(lot.fees, quantity, lot.quantity);
        let fees = entry_fees + share(fill.fees, quantity, fill.quantity);
        closed.push(TradeRecord {
            symbol: instrument.symbol.clone(),
            side: if open.long { "LONG" } else { "SHORT" },
            qty: quantity,
            entry_time: lot.time,
            entry_price: lot.price,
            exit_time: fill.time,
            exit_price: fill.price,
            pnl: round_trip_pnl(lot.price, fill.price, quantity, open.long, instrument.point_value, fees),
            fees: fees.normalize(),
        });
        lot.quantity -= quantity;
        lot.fees -= entry_fees;
        remaining -= quantity;
        if lot.quantity.is_zero() {
            open.lots.pop_front();
        }
    }
    if remaining > Decimal::ZERO {
        // Flipped through flat: the rest opens the other way, with its share of the fees.
        open.long = buying;
        let fees = share(fill.fees, remaining, fill.quantity);
        open.lots.push_back(Lot { quantity: remaining, price: fill.price, time: fill.time, fees });
    }
    closed
}

fn share(fees: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if part == whole || whole.is_zero() { fees } else { fees * part / whole }
}

impl OpenTrade {
    /// The lots still open at `mark`, one position row each.
    pub fn marked(&self, instrument: &Instrument, mark: Decimal) -> Vec<OpenPosition> {
        self.lots
            .iter()
            .map(|lot| OpenPosition {
                symbol: instrument.symbol.clone(),
                side: if self.long { "LONG" } else { "SHORT" },
                qty: lot.quantity,
                entry_time: lot.time,
                entry_price: lot.price,
                mark_price: mark,
                unrealized_pnl: round_trip_pnl(
                    lot.price,
                    mark,
                    lot.quantity,
                    self.long,
                    instrument.point_value,
                    lot.fees,
                ),
            })
            .collect()
    }

    pub fn is_long(&self) -> bool {
        self.long && !self.lots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn fill(side: Side, quantity: Decimal, price: Decimal, fees: Decimal, minute: i64) -> Fill {
        let time = DateTime::UNIX_EPOCH + chrono::TimeDelta::minutes(minute);
        Fill { side, quantity, price, fees, time }
    }

    #[test]
    fn a_long_round_trip() {
        let spy = Instrument::generic_equity("SPY");
        let mut open = OpenTrade::default();
        assert!(apply_fill(&mut open, fill(Side::Buy, dec!(100), dec!(10.00), dec!(1), 1), &spy).is_empty());
        let trades = apply_fill(&mut open, fill(Side::Sell, dec!(100), dec!(10.50), dec!(1), 5), &spy);
        let trade = &trades[0];
        assert_eq!((trade.side, trade.qty, trade.pnl, trade.fees), ("LONG", dec!(100), dec!(48), dec!(2)));
        assert_eq!(trade.exit_time - trade.entry_time, chrono::TimeDelta::minutes(4));
        assert_eq!(open, OpenTrade { long: true, lots: Default::default() });
        assert!(!open.is_long());
    }

    #[test]
    fn a_flip_closes_then_opens_the_rest() {
        let mnq = Instrument::defaults().into_iter().find(|i| i.symbol == "MNQ").unwrap();
        let mut open = OpenTrade::default();
        apply_fill(&mut open, fill(Side::Sell, dec!(2), dec!(20000), dec!(1.24), 1), &mnq);
        let trades = apply_fill(&mut open, fill(Side::Buy, dec!(3), dec!(19990), dec!(1.86), 2), &mnq);
        // Short 2 from 20,000 to 19,990 at $2 a point: +40, less 1.24 + 2/3 of 1.86.
        assert_eq!((trades[0].side, trades[0].qty, trades[0].pnl), ("SHORT", dec!(2), dec!(37.52)));
        assert!(open.is_long());
        let rest = open.marked(&mnq, dec!(19995));
        assert_eq!((rest[0].qty, rest[0].entry_price, rest[0].unrealized_pnl), (dec!(1), dec!(19990), dec!(9.38)));
    }

    #[test]
    fn each_entry_is_its_own_round_trip_first_in_first_out() {
        let spy = Instrument::generic_equity("SPY");
        let mut open = OpenTrade::default();
        apply_fill(&mut open, fill(Side::Buy, dec!(1), dec!(10), dec!(0), 1), &spy);
        apply_fill(&mut open, fill(Side::Buy, dec!(3), dec!(12), dec!(0), 2), &spy);
        let trades = apply_fill(&mut open, fill(Side::Sell, dec!(2), dec!(13), dec!(0), 3), &spy);
        let got: Vec<_> = trades.iter().map(|t| (t.qty, t.entry_price, t.pnl)).collect();
        assert_eq!(got, [(dec!(1), dec!(10), dec!(3)), (dec!(1), dec!(12), dec!(1))]);
        let left = open.marked(&spy, dec!(11));
        assert_eq!(
            (left.len(), left[0].qty, left[0].entry_price, left[0].unrealized_pnl),
            (1, dec!(2), dec!(12), dec!(-2))
        );
    }
}
