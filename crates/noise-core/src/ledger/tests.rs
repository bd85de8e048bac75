use chrono::TimeDelta;
use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;

fn instrument(symbol: &str) -> Instrument {
    Instrument::defaults()
        .into_iter()
        .find(|i| i.symbol == symbol)
        .unwrap_or_else(|| Instrument::generic_equity(symbol))
}

fn fill(id: &str, symbol: &str, side: Side, quantity: Decimal, price: Decimal, fee: Decimal, minute: i64) -> Fill {
    Fill {
        broker: BrokerKind::Sim,
        fill_id: id.into(),
        client_order_id: Some(compact_str::format_compact!("order-{id}")),
        protects: None,
        symbol: symbol.into(),
        side,
        quantity,
        price,
        fee,
        time: DateTime::UNIX_EPOCH + TimeDelta::minutes(minute),
        reconciled: false,
    }
}

fn booked(applied: Applied) -> Vec<RoundTrip> {
    match applied {
        Applied::Booked { round_trips } => round_trips,
        Applied::Duplicate { .. } => panic!("a new fill was taken for a duplicate"),
    }
}

#[test]
fn a_long_round_trip_by_hand() {
    let spy = instrument("SPY");
    let mut ledger = Ledger::new();
    let open = fill("1", "SPY", Side::Buy, dec!(100), dec!(10.00), dec!(1), 1);
    assert!(booked(ledger.apply(&open, &spy).unwrap()).is_empty());
    assert_eq!(ledger.position("SPY"), dec!(100));
    let trips = booked(ledger.apply(&fill("2", "SPY", Side::Sell, dec!(100), dec!(10.50), dec!(1), 5), &spy).unwrap());
    let t = &trips[0];
    assert_eq!(
        (t.side, t.quantity, t.gross_pnl, t.fees, t.net_pnl),
        (Direction::Long, dec!(100), dec!(50), dec!(2), dec!(48))
    );
    assert_eq!((t.entry_fill_id.as_str(), t.exit_fill_id.as_str()), ("1", "2"));
    assert_eq!(t.exit_time - t.entry_time, TimeDelta::minutes(4));
    assert!(ledger.book("SPY").unwrap().is_flat());
}

#[test]
fn a_flip_closes_the_position_and_opens_the_rest_with_its_share_of_the_fee() {
    let mnq = instrument("MNQ");
    let mut ledger = Ledger::new();
    ledger.apply(&fill("1", "MNQ", Side::Sell, dec!(2), dec!(20000), dec!(1.24), 1), &mnq).unwrap();
    let trips = booked(ledger.apply(&fill("2", "MNQ", Side::Buy, dec!(3), dec!(19990), dec!(1.86), 2), &mnq).unwrap());
    // Short 2 from 20,000 to 19,990 at $2 a point: +40, less 1.24 and 2/3 of 1.86.
    assert_eq!(
        (trips[0].side, trips[0].quantity, trips[0].fees, trips[0].net_pnl),
        (Direction::Short, dec!(2), dec!(2.48), dec!(37.52))
    );
    let book = ledger.book("MNQ").unwrap();
    assert_eq!(book.quantity(), dec!(1));
    let lot = book.lots().next().unwrap();
    assert_eq!((lot.direction, lot.price, lot.fees), (Direction::Long, dec!(19990), dec!(0.62)));
    assert_eq!(lot.unrealized_pnl(dec!(19995), mnq.point_value), dec!(9.38));
}

#[test]
fn each_entry_fill_is_a_lot_closed_first_in_first_out() {
    let spy = instrument("SPY");
    let mut ledger = Ledger::new();
    ledger.apply(&fill("1", "SPY", Side::Buy, dec!(1), dec!(10), dec!(0), 1), &spy).unwrap();
    ledger.apply(&fill("2", "SPY", Side::Buy, dec!(3), dec!(12), dec!(0), 2), &spy).unwrap();
    let trips = booked(ledger.apply(&fill("3", "SPY", Side::Sell, dec!(2), dec!(13), dec!(0), 3), &spy).unwrap());
    let got: Vec<_> = trips.iter().map(|t| (t.quantity, t.entry_price, t.net_pnl)).collect();
    assert_eq!(got, [(dec!(1), dec!(10), dec!(3)), (dec!(1), dec!(12), dec!(1))]);
    let book = ledger.book("SPY").unwrap();
    assert_eq!((book.quantity(), book.average_price()), (dec!(2), Some(dec!(12))));
}

#[test]
fn a_bracket_legs_fill_closes_the_lot_it_protects() {
    let spy = instrument("SPY");
    let mut ledger = Ledger::new();
    let mut first = fill("1", "SPY", Side::Buy, dec!(5), dec!(10), dec!(0), 1);
    first.client_order_id = Some("entry-a".into());
    let mut second = fill("2", "SPY", Side::Buy, dec!(5), dec!(20), dec!(0), 2);
    second.client_order_id = Some("entry-b".into());
    ledger.apply(&first, &spy).unwrap();
    ledger.apply(&second, &spy).unwrap();
    let mut stop = fill("3", "SPY", Side::Sell, dec!(5), dec!(19), dec!(0), 3);
    stop.client_order_id = Some("entry-b-sl".into());
    stop.protects = Some("entry-b".into());
    let trips = booked(ledger.apply(&stop, &spy).unwrap());
    assert_eq!((trips[0].entry_price, trips[0].net_pnl), (dec!(20), dec!(-5)), "the newer, protected lot");
    assert_eq!(ledger.book("SPY").unwrap().lots().next().unwrap().client_order_id.as_deref(), Some("entry-a"));
}

#[test]
fn the_same_fill_twice_changes_nothing() {
    let spy = instrument("SPY");
    let mut ledger = Ledger::new();
    let f = fill("7", "SPY", Side::Buy, dec!(3), dec!(10), dec!(0.01), 1);
    ledger.apply(&f, &spy).unwrap();
    assert_eq!(ledger.apply(&f, &spy).unwrap(), Applied::Duplicate { same: true });
    let mut changed = f.clone();
    changed.price = dec!(11);
    assert_eq!(ledger.apply(&changed, &spy).unwrap(), Applied::Duplicate { same: false });
    assert_eq!(ledger.position("SPY"), dec!(3));
    // The same id from another broker is another fill.
    let mut other = f.clone();
    other.broker = BrokerKind::Alpaca;
    assert!(matches!(ledger.apply(&other, &spy).unwrap(), Applied::Booked { .. }));
    assert_eq!(ledger.position("SPY"), dec!(6));
}

#[test]
fn bad_fills_are_refused_by_name() {
    let spy = instrument("SPY");
    let mut ledger = Ledger::new();
    let cases: [(Fill, &str); 4] = [
        (fill("1", "SPY", Side::Buy, dec!(0), dec!(10), dec!(0), 1), "quantity 0 is not positive"),
        (fill("2", "SPY", Side::Buy, dec!(-1), dec!(10), dec!(0), 1), "quantity -1 is not positive"),
        (fill(" ", "SPY", Side::Buy, dec!(1), dec!(10), dec!(0), 1), "no fill id"),
        (fill("4", "QQQ", Side::Buy, dec!(1), dec!(10), dec!(0), 1), "is for QQQ, applied as SPY"),
    ];
    for (f, message) in cases {
        let error = ledger.apply(&f, &spy).unwrap_err().to_string();
        assert!(error.contains(message), "{error}");
    }
    assert_eq!(ledger.fills_applied(), 0);
}

#[test]
fn fee_shares_never_create_or_lose_a_fraction_of_a_cent() {
    let spy = instrument("SPY");
    let mut ledger = Ledger::new();
    ledger.apply(&fill("1", "SPY", Side::Buy, dec!(3), dec!(10), dec!(1.00), 1), &spy).unwrap();
    let mut fees = Decimal::ZERO;
    for (i, q) in [dec!(1), dec!(1), dec!(1)].into_iter().enumerate() {
        let id = format!("x{i}");
        for t in booked(ledger.apply(&fill(&id, "SPY", Side::Sell, q, dec!(10), dec!(0), 2), &spy).unwrap()) {
            fees += t.fees;
        }
    }
    // 0.33 + 0.33 + 0.34: every share is whole cents and they add up.
    assert_eq!(fees, dec!(1.00));
}

/// One step of a random fill sequence.
#[derive(Debug, Clone)]
struct Step {
    symbol: usize,
    buy: bool,
    quantity: u32,
    /// Ticks from 100.
    ticks: i32,
    fee_cents: u32,
    /// Sub-cent fees (per-share commissions).
    fee_mils: bool,
    /// Repeat an earlier fill (a broker reporting it twice).
    duplicate_of: Option<usize>,
    /// A bracket leg protecting an earlier entry.
    protects: Option<usize>,
    /// Minutes earlier than the previous fill (reports out of order).
    earlier: i64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0usize..3,
        any::<bool>(),
        1u32..40,
        -400i32..400,
        0u32..300,
        any::<bool>(),
        prop::option::weighted(0.15, 0usize..64),
        prop::option::weighted(0.2, 0usize..64),
        0i64..30,
    )
        .prop_map(|(symbol, buy, quantity, ticks, fee_cents, fee_mils, duplicate_of, protects, earlier)| Step {
            symbol,
            buy,
            quantity,
            ticks,
            fee_cents,
            fee_mils,
            duplicate_of,
            protects,
            earlier,
        })
}

const SYMBOLS: [&str; 3] = ["SPY", "MNQ", "MCL"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Random fills (partials, duplicates, flips, bracket legs, reports out
    /// of time order), then each symbol brought flat: the identities hold
    /// exactly, per symbol.
    #[test]
    fn identities_hold_for_any_fill_sequence(steps in prop::collection::vec(step(), 1..64)) {
        let mut ledger = Ledger::new();
        let mut sent: Vec<Fill> = Vec::new();
        let mut trips: Vec<RoundTrip> = Vec::new();
        let mut minute = 10_000i64;
        for (i, s) in steps.iter().enumerate() {
            let f = match s.duplicate_of.filter(|d| *d < sent.len()) {
                Some(d) => sent[d].clone(),
                None => {
                    let symbol = SYMBOLS[s.symbol];
                    let inst = instrument(symbol);
                    minute += 1;
                    let fee = if s.fee_mils { Decimal::new(i64::from(s.fee_cents), 3) } else { Decimal::new(i64::from(s.fee_cents), 2) };
                    let mut f = fill(&format!("f{i}"), symbol, if s.buy { Side::Buy } else { Side::Sell },
                        Decimal::from(s.quantity), dec!(100) + inst.tick_size * Decimal::from(s.ticks), fee, minute - s.earlier);
                    f.protects = s.protects.filter(|p| *p < sent.len()).and_then(|p| sent[p].client_order_id.clone());
                    f
                }
            };
            let inst = instrument(&f.symbol);
            if let Applied::Booked { round_trips } = ledger.apply(&f, &inst).unwrap() {
                sent.push(f);
                trips.extend(round_trips);
            }
        }
        // Flatten every symbol with one last fill each.
        for symbol in SYMBOLS {
            let held = ledger.position(symbol);
            if held.is_zero() { continue; }
            let side = if held > Decimal::ZERO { Side::Sell } else { Side::Buy };
            let f = fill(&format!("flat-{symbol}"), symbol, side, held.abs(), dec!(101), dec!(0.07), minute + 1);
            trips.extend(booked(ledger.apply(&f, &instrument(symbol)).unwrap()));
            sent.push(f);
        }
        for symbol in SYMBOLS {
            let pv = instrument(symbol).point_value;
            let fills: Vec<&Fill> = sent.iter().filter(|f| f.symbol == symbol).collect();
            let closed: Vec<&RoundTrip> = trips.iter().filter(|t| t.symbol == symbol).collect();
            prop_assert!(ledger.book(symbol).is_none_or(Book::is_flat));
            let gross: Decimal = closed.iter().map(|t| t.gross_pnl).sum();
            let notional: Decimal = fills.iter().map(|f| -f.signed_quantity() * f.price * pv).sum();
            prop_assert_eq!(gross, notional, "{}: gross", symbol);
            let fees: Decimal = closed.iter().map(|t| t.fees).sum();
            prop_assert_eq!(fees, fills.iter().map(|f| f.fee).sum::<Decimal>(), "{}: fees", symbol);
            let net: Decimal = closed.iter().map(|t| t.net_pnl).sum();
            prop_assert_eq!(net, fills.iter().map(|f| f.cash_moved(pv)).sum::<Decimal>(), "{}: cash", symbol);
            let quantity: Decimal = closed.iter().map(|t| t.quantity).sum();
            let bought: Decimal = fills.iter().filter(|f| f.side == Side::Buy).map(|f| f.quantity).sum();
            let sold: Decimal = fills.iter().filter(|f| f.side == Side::Sell).map(|f| f.quantity).sum();
            prop_assert_eq!(quantity, bought, "{}: closed quantity", symbol);
            prop_assert_eq!(bought, sold);
            for t in &closed {
                prop_assert_eq!(t.net_pnl, t.gross_pnl - t.fees);
                prop_assert!(t.quantity > Decimal::ZERO);
                prop_assert!(t.fees.scale() <= 3, "a fee share with more places than its fee: {}", t.fees);
            }
        }
    }

    /// Applying the stored fills again, in the same order, rebuilds the
    /// same lots and the same round trips (what a restart does).
    #[test]
    fn replaying_the_fills_rebuilds_the_same_ledger(steps in prop::collection::vec(step(), 1..40)) {
        let mut first = Ledger::new();
        let mut fills = Vec::new();
        let mut trips = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let symbol = SYMBOLS[s.symbol];
            let f = fill(&format!("f{i}"), symbol, if s.buy { Side::Buy } else { Side::Sell },
                Decimal::from(s.quantity), dec!(50) + Decimal::from(s.ticks), Decimal::new(i64::from(s.fee_cents), 2), i as i64);
            trips.extend(booked(first.apply(&f, &instrument(symbol)).unwrap()));
            fills.push(f);
        }
        let mut again = Ledger::new();
        let mut replayed = Vec::new();
        for f in &fills {
            replayed.extend(booked(again.apply(f, &instrument(&f.symbol)).unwrap()));
        }
        prop_assert_eq!(replayed, trips);
        for symbol in SYMBOLS {
            prop_assert_eq!(first.book(symbol), again.book(symbol));
            // The running totals are the lots' own.
            if let Some(book) = first.book(symbol) {
                let units: Decimal = book.lots().map(|l| l.quantity).sum();
                let cost: Decimal = book.lots().map(|l| l.quantity * l.price).sum();
                prop_assert_eq!(book.quantity().abs(), units);
                prop_assert_eq!(book.cost(), cost);
            }
        }
    }
}

#[test]
fn a_book_counts_its_entry_orders_not_its_lots() {
    let mes = instrument("MES");
    let mut ledger = Ledger::new();
    let of_order = |id: &str, order: Option<&str>| Fill {
        client_order_id: order.map(Into::into),
        ..fill(id, "MES", Side::Buy, dec!(1), dec!(5000), dec!(0), 0)
    };
    // Two partial fills of one entry, one fill of another, one reconciled lot without an order.
    for f in [of_order("1", Some("a")), of_order("2", Some("b")), of_order("3", Some("a")), of_order("4", None)] {
        ledger.apply(&f, &mes).unwrap();
    }
    let book = ledger.book("MES").unwrap();
    assert_eq!((book.lots().len(), book.entries()), (4, 3));
}
