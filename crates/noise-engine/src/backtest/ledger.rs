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

/// The open part of a symbol's position as the fills built it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTrade {
    long: bool,
    quantity: Decimal,
    entry_price: Decimal,
    entry_time: DateTime<Utc>,
    /// Entry fees not yet charged to a closed trade.
    fees: Decimal,
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

/// Applies a fill to `open`; returns the round trip it closed, if any. A
/// fill larger than the open position closes it and opens the rest the
/// other way; fees are shared in proportion to the quantity they cover.
pub fn apply_fill(open: &mut Option<OpenTrade>, fill: Fill, instrument: &Instrument) -> Option<TradeRecord> {
    let buying = fill.side == Side::Buy;
    let Some(trade) = open.as_mut() else {
        *open = Some(OpenTrade::new(buying, fill.quantity, fill.price, fill.time, fill.fees));
        return None;
    };
    if trade.long == buying {
        let total = trade.quantity + fill.quantity;
        trade.entry_price = ((trade.entry_price * trade.quantity + fill.price * fill.quantity) / total).round_dp(8);
        trade.quantity = total;
        trade.fees += fill.fees;
        return None;
    }
    let closed = trade.quantity.min(fill.quantity);
    let entry_fees = share(trade.fees, closed, trade.quantity);
    let exit_fees = share(fill.fees, closed, fill.quantity);
    let fees = entry_fees + exit_fees;
    let record = TradeRecord {
        symbol: instrument.symbol.clone(),
        side: if trade.long { "LONG" } else { "SHORT" },
        qty: closed,
        entry_time: trade.entry_time,
        entry_price: trade.entry_price.normalize(),
        exit_time: fill.time,
        exit_price: fill.price,
        pnl: round_trip_pnl(trade.entry_price, fill.price, closed, trade.long, instrument.point_value, fees),
        fees: fees.normalize(),
    };
    trade.quantity -= closed;
    trade.fees -= entry_fees;
    let rest = fill.quantity - closed;
    if trade.quantity.is_zero() {
        *open = (!rest.is_zero()).then(|| OpenTrade::new(buying, rest, fill.price, fill.time, fill.fees - exit_fees));
    }
    Some(record)
}

fn share(fees: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if part == whole || whole.is_zero() { fees } else { fees * part / whole }
}

impl OpenTrade {
    fn new(long: bool, quantity: Decimal, price: Decimal, time: DateTime<Utc>, fees: Decimal) -> Self {
        Self { long, quantity, entry_price: price, entry_time: time, fees }
    }

    /// The position as still open at `mark`.
    pub fn marked(&self, instrument: &Instrument, mark: Decimal) -> OpenPosition {
        OpenPosition {
            symbol: instrument.symbol.clone(),
            side: if self.long { "LONG" } else { "SHORT" },
            qty: self.quantity,
            entry_time: self.entry_time,
            entry_price: self.entry_price.normalize(),
            mark_price: mark,
            unrealized_pnl: round_trip_pnl(
                self.entry_price,
                mark,
                self.quantity,
                self.long,
                instrument.point_value,
                self.fees,
            ),
        }
    }

    pub fn is_long(&self) -> bool {
        self.long
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
        let mut open = None;
        assert_eq!(apply_fill(&mut open, fill(Side::Buy, dec!(100), dec!(10.00), dec!(1), 1), &spy), None);
        let trade = apply_fill(&mut open, fill(Side::Sell, dec!(100), dec!(10.50), dec!(1), 5), &spy).unwrap();
        assert_eq!((trade.side, trade.qty, trade.pnl, trade.fees), ("LONG", dec!(100), dec!(48), dec!(2)));
        assert_eq!(trade.exit_time - trade.entry_time, chrono::TimeDelta::minutes(4));
        assert_eq!(open, None);
    }

    #[test]
    fn a_flip_closes_then_opens_the_rest() {
        let mnq = Instrument::defaults().into_iter().find(|i| i.symbol == "MNQ").unwrap();
        let mut open = None;
        apply_fill(&mut open, fill(Side::Sell, dec!(2), dec!(20000), dec!(1.24), 1), &mnq);
        let trade = apply_fill(&mut open, fill(Side::Buy, dec!(3), dec!(19990), dec!(1.86), 2), &mnq).unwrap();
        // Short 2 from 20,000 to 19,990 at $2 a point: +40, less 1.24 + 2/3 of 1.86.
        assert_eq!((trade.side, trade.qty, trade.pnl), ("SHORT", dec!(2), dec!(37.52)));
        let rest = open.unwrap();
        assert!(rest.is_long());
        assert_eq!((rest.quantity, rest.entry_price), (dec!(1), dec!(19990)));
    }

    #[test]
    fn adding_averages_the_entry() {
        let spy = Instrument::generic_equity("SPY");
        let mut open = None;
        apply_fill(&mut open, fill(Side::Buy, dec!(1), dec!(10), dec!(0), 1), &spy);
        apply_fill(&mut open, fill(Side::Buy, dec!(3), dec!(12), dec!(0), 2), &spy);
        let trade = apply_fill(&mut open, fill(Side::Sell, dec!(4), dec!(12), dec!(0), 3), &spy).unwrap();
        assert_eq!((trade.entry_price, trade.pnl), (dec!(11.5), dec!(2)));
    }
}
