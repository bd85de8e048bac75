use chrono::{TimeDelta, TimeZone};
use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::signal::{Candidate, Regime, TrendState, VolatilityState};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap()
}

fn instrument(symbol: &str) -> Instrument {
    Instrument::defaults().into_iter().find(|i| i.symbol == symbol).unwrap()
}

fn candidate(symbol: &str, direction: Direction, entry: Decimal, stop: Decimal, target: Decimal) -> Candidate {
    Candidate {
        time: now(),
        symbol: symbol.into(),
        timeframe: crate::market::Timeframe::M1,
        direction,
        strength: 0.8,
        entry,
        stop_loss: stop,
        take_profit: target,
        atr: 1.0,
        regime: Regime {
            trend: TrendState::TrendingUp,
            volatility: VolatilityState::Normal,
            adx: 30.0,
            plus_di: 25.0,
            minus_di: 15.0,
            atr_percentile: 50.0,
        },
        components: vec![],
        filters: vec![],
    }
}

fn spy_long() -> Candidate {
    candidate("SPY", Direction::Long, dec!(600), dec!(598), dec!(603))
}

fn account(equity: Decimal) -> AccountSnapshot {
    AccountSnapshot {
        equity,
        cash: equity,
        buying_power: equity * dec!(2),
        available_margin: equity,
        margin_account: true,
        broker_day_trades: None,
    }
}

fn position(symbol: &str, quantity: Decimal, price: Decimal) -> PositionSnapshot {
    PositionSnapshot::new(&instrument(symbol), quantity, price, price)
}

struct Case {
    name: &'static str,
    signal: Candidate,
    account: AccountSnapshot,
    positions: Vec<PositionSnapshot>,
    state: RiskState,
    config: RiskConfig,
}

impl Case {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            signal: spy_long(),
            account: account(dec!(100000)),
            positions: vec![],
            state: RiskState::new(dec!(100000)),
            // The caps' own tests: any cut size goes through (the sliver rule
            // has its table in `position_policy_table`).
            config: RiskConfig {
                positions: PositionsConfig { min_order_fraction: 0.0, ..Default::default() },
                ..Default::default()
            },
        }
    }
    fn run(&self) -> RiskDecision {
        let instrument = instrument(&self.signal.symbol);
        evaluate_candidate(&self.signal, &self.account, &self.positions, &self.state, &instrument, now(), &self.config)
    }
}

fn blocked(decision: &RiskDecision) -> Option<&DenialReason> {
    match &decision.verdict {
        Verdict::Block { reason } => Some(reason),
        _ => None,
    }
}

#[test]
fn sizing_is_fixed_fractional_by_stop_distance() {
    // 1 % of 100,000 = 1,000 at risk; 2.00 a share to the stop → 500 shares;
    // the 50 % symbol cap (50,000 at 600) then allows 83.
    let d = Case::new("spy").run();
    assert_eq!(d.requested, Some(dec!(500)));
    assert_eq!(d.approval().unwrap().quantity(), dec!(83));
    assert_eq!(d.verdict, Verdict::Reduce { reasons: vec![ReduceReason::Cap(Cap::Symbol)] });

    // MNQ: 10 points × $2 = $20 a contract to the stop → 50 contracts; the
    // margin ($3,500 each of 100,000) allows 28, the 50 % symbol cap ($40,000 a contract) only 1.
    let mut c = Case::new("mnq");
    c.signal = candidate("MNQ", Direction::Long, dec!(20000), dec!(19990), dec!(20015));
    let d = c.run();
    assert_eq!(d.requested, Some(dec!(50)));
    assert_eq!(d.approval().unwrap().quantity(), dec!(1));
}

#[test]
fn check_table() {
    type Expectation = Box<dyn Fn(&RiskDecision) -> bool>;
    let mut cases: Vec<(Case, Expectation)> = Vec::new();

    let mut c = Case::new("halted blocks even exits");
    c.state.halt(now(), "kill switch");
    c.positions = vec![position("SPY", dec!(-10), dec!(600))];
    cases.push((c, Box::new(|d| blocked(d) == Some(&DenialReason::TradingHalted))));

    let mut c = Case::new("reducing blocks entries");
    c.state.mark_equity(dec!(97000), now(), &RiskConfig::default());
    cases.push((c, Box::new(|d| blocked(d) == Some(&DenialReason::ReducingOnly))));

    let mut c = Case::new("reducing lets an exit close the position");
    c.state.mark_equity(dec!(97000), now(), &RiskConfig::default());
    c.signal = candidate("SPY", Direction::Short, dec!(600), dec!(602), dec!(597));
    c.positions = vec![position("SPY", dec!(40), dec!(590))];
    cases.push((
        c,
        Box::new(|d| {
            let a = d.approval().unwrap();
            d.verdict == Verdict::Allow
                && a.intent() == Intent::Exit
                && a.quantity() == dec!(40)
                && a.side() == Side::Sell
        }),
    ));

    let mut c = Case::new("stop on the wrong side");
    c.signal = candidate("SPY", Direction::Long, dec!(600), dec!(601), dec!(603));
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::InvalidSignal { .. })))));

    let mut c = Case::new("zero price");
    c.signal = candidate("SPY", Direction::Short, dec!(0), dec!(1), dec!(0));
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::InvalidSignal { .. })))));

    let mut c = Case::new("an unmarked loss past the daily limit blocks");
    c.account = account(dec!(97900));
    cases.push((
        c,
        Box::new(|d| matches!(blocked(d), Some(DenialReason::CircuitBreaker { kind: BreakerKind::DailyLoss, .. }))),
    ));

    let mut c = Case::new("cooldown after three losses");
    let trip = |pnl| {
        [crate::ledger::round_trip_for_tests(
            "SPY",
            crate::instrument::AssetClass::Equity,
            pnl,
            now() - TimeDelta::days(1),
            now() - TimeDelta::minutes(10),
        )]
    };
    let loss = trip(dec!(-50));
    for _ in 0..3 {
        c.state.update_on_close(&loss, now() - TimeDelta::minutes(10), &RiskConfig::default());
    }
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::Cooldown { losses_in_a_row: 3, .. })))));

    // A win and a loss inside the cooldown: still blocked, and for its real
    // cause (three losses), not the current streak of one.
    let mut c = Case::new("cooldown names its cause after a win inside it");
    for _ in 0..3 {
        c.state.update_on_close(&loss, now() - TimeDelta::minutes(10), &RiskConfig::default());
    }
    let win = trip(dec!(80));
    c.state.update_on_close(&win, now() - TimeDelta::minutes(6), &RiskConfig::default());
    c.state.update_on_close(&loss, now() - TimeDelta::minutes(3), &RiskConfig::default());
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::Cooldown { losses_in_a_row: 3, .. })))));

    let mut c = Case::new("PDT enforced below 25k with 3 day trades");
    c.config.pdt.enforce = true;
    c.account = account(dec!(20000));
    c.state = RiskState::new(dec!(20000));
    c.account.broker_day_trades = Some(3);
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::PatternDayTrader { day_trades: 3, .. })))));

    let mut c = Case::new("PDT counted but not enforced by default");
    c.account = account(dec!(20000));
    c.state = RiskState::new(dec!(20000));
    c.account.broker_day_trades = Some(3);
    cases.push((
        c,
        Box::new(|d| {
            let pdt = d.checks.iter().find(|r| r.name == "pattern_day_trader").unwrap();
            !d.is_blocked() && pdt.measured == Some(Figure::Count(3))
        }),
    ));

    let mut c = Case::new("a size that rounds to zero blocks");
    c.account = account(dec!(100));
    c.state = RiskState::new(dec!(100));
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::SizeRoundsToZero { .. })))));

    let mut c = Case::new("max open positions");
    c.positions = ["MNQ", "MES", "M2K", "MCL", "MGC"].iter().map(|s| position(s, dec!(1), dec!(100))).collect();
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::MaxOpenPositions { open: 5, limit: 5 })))));

    // A held position and a pending entry that adds to it are one position:
    // counting rows instead of symbols read "6 positions open" in a live run.
    let mut c = Case::new("a pending add to a held symbol is not a second position");
    c.positions = ["MNQ", "MNQ", "MES", "M2K", "MCL"].iter().map(|s| position(s, dec!(1), dec!(100))).collect();
    cases.push((
        c,
        Box::new(|d| {
            let check = d.checks.iter().find(|r| r.name == "max_open_positions").unwrap();
            check.measured == Some(Figure::Count(4))
                && !matches!(blocked(d), Some(DenialReason::MaxOpenPositions { .. }))
        }),
    ));

    let mut c = Case::new("the group cap reduces");
    c.config.exposure.max_symbol_pct = 1000.0;
    c.positions = vec![position("QQQ", dec!(200), dec!(500))]; // 100,000 of the 150,000 equity-index cap
    cases.push((
        c,
        Box::new(|d| {
            d.approval().unwrap().quantity() == dec!(83)
                && d.verdict == Verdict::Reduce { reasons: vec![ReduceReason::Cap(Cap::Group("equity_index".into()))] }
        }),
    ));

    let mut c = Case::new("a full gross cap blocks");
    c.config.exposure.max_symbol_pct = 1000.0;
    c.positions = vec![position("MCL", dec!(30), dec!(70))]; // 210,000 of 200,000 gross
    cases.push((c, Box::new(|d| matches!(blocked(d), Some(DenialReason::CapFull { cap: Cap::Gross, .. })))));

    let mut c = Case::new("buying power reduces");
    c.config.exposure.max_symbol_pct = 1000.0;
    c.account.buying_power = dec!(30000);
    cases.push((c, Box::new(|d| d.approval().unwrap().quantity() == dec!(50))));

    let mut c = Case::new("a future without margin facts blocks");
    c.signal = candidate("MNQ", Direction::Long, dec!(20000), dec!(19990), dec!(20015));
    c.config.exposure.max_symbol_pct = 1000.0;
    c.config.exposure.group_caps_pct.insert("equity_index".into(), 1000.0);
    c.config.exposure.max_gross_pct = 1000.0;
    let d = {
        let mut mnq = instrument("MNQ");
        mnq.initial_margin = None;
        evaluate_candidate(&c.signal, &c.account, &c.positions, &c.state, &mnq, now(), &c.config)
    };
    assert_eq!(blocked(&d), Some(&DenialReason::MissingInstrumentFacts { field: "initial_margin" }), "{d:#?}");

    for (case, ok) in cases {
        let d = case.run();
        assert!(ok(&d), "{}: {d:#?}", case.name);
        assert_eq!(d.approval().is_some(), !d.is_blocked(), "{}", case.name);
    }
}

#[test]
fn kelly_and_volatility_scale_the_risk() {
    let mut c = Case::new("kelly");
    c.config.exposure.max_symbol_pct = 1000.0;
    c.account.buying_power = dec!(10000000);
    // 60 % winners at 2:1: Kelly 0.4, a quarter is 10 %, capped at 2 % → 2,000 at risk → 1,000 shares.
    for i in 0..40 {
        c.state.recent_results.push_back(if i % 5 < 3 { dec!(200) } else { dec!(-100) });
    }
    assert_eq!(c.run().requested, Some(dec!(1000)));
    // Losing record: no edge, no trade.
    c.state.recent_results = (0..40).map(|i| if i % 5 < 1 { dec!(100) } else { dec!(-100) }).collect();
    assert!(matches!(blocked(&c.run()), Some(DenialReason::NegativeEdge { .. })));
    // High volatility halves the size at the 100th percentile.
    let mut c = Case::new("volatility");
    c.config.exposure.max_symbol_pct = 1000.0;
    c.signal.regime.atr_percentile = 100.0;
    assert_eq!(c.run().requested, Some(dec!(250)));
}

fn any_direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Long), Just(Direction::Short)]
}

proptest! {
    /// A tripped breaker never lets an entry through; caps and buying power
    /// are never exceeded; REDUCE is smaller than requested and positive.
    #[test]
    fn decisions_respect_every_limit(
        equity in 1_000i64..2_000_000,
        price_cents in 100i64..100_000,
        stop_ticks in 1i64..500,
        direction in any_direction(),
        held in proptest::collection::vec((0usize..9, -50i64..50), 0..6),
        loss_pct in 0u32..15,
        buying_power_pct in 0i64..300,
        symbol in 0usize..9,
    ) {
        let instruments = Instrument::defaults();
        let inst = &instruments[symbol];
        let entry = Decimal::new(price_cents, 2).max(inst.tick_size);
        let stop_distance = inst.tick_size * Decimal::from(stop_ticks);
        let (stop, target) = match direction {
            Direction::Long => (entry - stop_distance, entry + stop_distance),
            Direction::Short => (entry + stop_distance, entry - stop_distance),
        };
        let signal = candidate(&inst.symbol, direction, entry, stop, target);
        let equity = Decimal::from(equity);
        let mut acct = account(equity);
        acct.buying_power = equity * Decimal::from(buying_power_pct) / dec!(100);
        acct.available_margin = acct.buying_power;
        let positions: Vec<PositionSnapshot> = held
            .iter()
            .filter(|(i, q)| *i != symbol && *q != 0)
            .map(|(i, q)| PositionSnapshot::new(&instruments[*i], Decimal::from(*q), entry, entry))
            .collect();
        let config = RiskConfig::default();
        let mut state = RiskState::new(equity);
        state.mark_equity(equity * (dec!(100) - Decimal::from(loss_pct)) / dec!(100), now(), &config);
        let d = evaluate_candidate(&signal, &acct, &positions, &state, inst, now(), &config);

        if !state.breakers.is_empty() {
            prop_assert!(d.approval().is_none(), "breaker tripped yet approved: {d:?}");
        }
        prop_assert_eq!(d.approval().is_some(), !d.is_blocked());
        if let Some(a) = d.approval() {
            let q = a.quantity();
            prop_assert!(q >= Decimal::ONE && q.fract().is_zero());
            let unit = entry * inst.point_value;
            let cap = |pct: f64| equity * Decimal::try_from(pct / 100.0).unwrap();
            let held_notional = |keep: &dyn Fn(&PositionSnapshot) -> bool| -> Decimal {
                positions.iter().filter(|p| keep(p)).map(PositionSnapshot::notional).sum()
            };
            let e = &config.exposure;
            prop_assert!(q * unit <= cap(e.max_symbol_pct));
            prop_assert!(held_notional(&|p| p.correlation_group == inst.correlation_group) + q * unit <= cap(e.group_caps_pct[&inst.correlation_group]));
            prop_assert!(held_notional(&|_| true) + q * unit <= cap(e.max_gross_pct));
            let per_unit = match inst.asset_class {
                crate::instrument::AssetClass::Equity => entry,
                crate::instrument::AssetClass::Future => inst.initial_margin.unwrap(),
            };
            prop_assert!(q * per_unit <= acct.buying_power);
            match &d.verdict {
                Verdict::Reduce { reasons } => {
                    prop_assert!(!reasons.is_empty());
                    prop_assert!(q < d.requested.unwrap());
                }
                Verdict::Allow => prop_assert_eq!(Some(q), d.requested),
                Verdict::Block { .. } => prop_assert!(false),
            }
        }
    }

    /// The rolling five-trading-day count equals a count by definition.
    /// Trades arrive in time order and `today` is never before the last one,
    /// as in the engine (pruning relies on it).
    #[test]
    fn day_trade_window_matches_its_definition(mut days in proptest::collection::vec(0i64..120, 0..25), ahead in 0i64..12) {
        days.sort_unstable();
        let today = days.last().copied().unwrap_or(0) + ahead;
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let config = RiskConfig::default();
        let mut state = RiskState::new(dec!(10000));
        let mut dates = Vec::new();
        for d in days {
            let date = start + TimeDelta::days(d);
            let Some(session) = crate::calendar::Venue::UsEquities.session_for(date) else { continue };
            // A round trip inside one session, recorded through the transition.
            let closed_at = session.open + TimeDelta::minutes(90);
            let trade = crate::ledger::round_trip_for_tests(
                "SPY",
                crate::instrument::AssetClass::Equity,
                dec!(1),
                session.open + TimeDelta::minutes(30),
                closed_at,
            );
            state.update_on_close(&[trade], closed_at, &config);
            dates.push(date);
        }
        let today = start + TimeDelta::days(today);
        // By definition: the last five trading days up to today.
        let mut window = Vec::new();
        let mut day = today;
        while window.len() < 5 {
            if crate::calendar::Venue::UsEquities.is_trading_day(day) { window.push(day); }
            day = day.pred_opt().unwrap();
        }
        let expected = dates.iter().filter(|d| window.contains(d)).count();
        prop_assert_eq!(state.day_trades_in_window(today), expected);
    }
}

/// `[risk.positions]`, rule by rule, with the reason each refusal names.
#[test]
fn position_policy_table() {
    type Expect = Box<dyn Fn(&RiskDecision) -> bool>;
    let with_policy = |name: &'static str, edit: &dyn Fn(&mut Case)| {
        let mut c = Case::new(name);
        c.config.positions = PositionsConfig::default();
        edit(&mut c);
        c
    };
    let exit_at = now() - chrono::TimeDelta::minutes(5);
    let cases: Vec<(Case, Expect)> = vec![
        (
            with_policy("held on the same side: not traded", &|c| {
                c.positions = vec![position("SPY", dec!(10), dec!(600))]
            }),
            Box::new(|d| {
                matches!(blocked(d), Some(DenialReason::AlreadyHeld { entries: 1, max: 1, .. }))
                    && blocked(d).unwrap().to_string() == "already long SPY (1 entry of 1)"
            }),
        ),
        (
            with_policy("a pending entry counts as held", &|c| {
                c.positions = vec![position("SPY", dec!(5), dec!(600)), position("SPY", dec!(5), dec!(600))];
                c.config.positions.max_entries_per_symbol = 2;
            }),
            Box::new(|d| blocked(d).unwrap().to_string() == "already long SPY (2 entries of 2)"),
        ),
        (
            with_policy("scaling in below the entry count", &|c| {
                c.positions = vec![position("SPY", dec!(10), dec!(600))];
                c.config.positions.max_entries_per_symbol = 3;
                c.config.positions.min_order_fraction = 0.0;
            }),
            Box::new(|d| d.approval().is_some_and(|a| a.intent() == Intent::Entry)),
        ),
        (
            with_policy("entries of a multi-lot position count", &|c| {
                c.positions = vec![position("SPY", dec!(30), dec!(600)).with_entries(3)];
                c.config.positions.max_entries_per_symbol = 3;
            }),
            Box::new(|d| blocked(d).map(ToString::to_string).as_deref() == Some("already long SPY (3 entries of 3)")),
        ),
        (
            // A position built before the policy (or by hand) may hold more than the limit.
            with_policy("more entries than allowed, said as they are", &|c| {
                c.positions = vec![position("SPY", dec!(40), dec!(600)).with_entries(4)];
            }),
            Box::new(|d| blocked(d).map(ToString::to_string).as_deref() == Some("already long SPY (4 entries of 1)")),
        ),
        (
            with_policy("a short position does not count against a long entry", &|c| {
                c.positions = vec![position("QQQ", dec!(-10), dec!(500))];
                c.config.positions.min_order_fraction = 0.0;
            }),
            Box::new(|d| d.approval().is_some()),
        ),
        (
            // Sized 500, the symbol cap alone leaves 83: what a flat book allows, not a sliver.
            with_policy("a cap that binds on a flat book is no sliver", &|_| {}),
            Box::new(|d| {
                d.approval().is_some_and(|a| a.quantity() == dec!(83))
                    && d.checks.iter().any(|c| c.name == "min_order_fraction" && c.status == CheckStatus::Passed)
            }),
        ),
        (
            // QQQ holds 140,000 of the equity_index group's 150,000: room for 16 SPY, 19 % of 83.
            with_policy("room taken by what is held makes a sliver", &|c| {
                c.positions = vec![position("QQQ", dec!(280), dec!(500))];
            }),
            Box::new(|d| {
                blocked(d).map(ToString::to_string).as_deref()
                    == Some("would be a sliver: 16 of 83 (below 25% of the order on a flat book)")
                    && d.checks.iter().any(|c| c.name == "min_order_fraction" && c.status == CheckStatus::Blocked)
            }),
        ),
        (
            with_policy("a squeeze above the fraction passes", &|c| {
                c.positions = vec![position("QQQ", dec!(280), dec!(500))];
                c.config.positions.min_order_fraction = 0.15;
            }),
            Box::new(|d| d.approval().is_some_and(|a| a.quantity() == dec!(16))),
        ),
        (
            with_policy("an uncut order never meets the sliver rule", &|c| {
                c.config.exposure.max_symbol_pct = 1000.0;
                c.config.exposure.group_caps_pct.insert("equity_index".into(), 1000.0);
                c.config.exposure.max_gross_pct = 1000.0;
                c.account.buying_power = dec!(1000000);
                c.config.positions.min_order_fraction = 1.0;
            }),
            Box::new(|d| d.approval().is_some_and(|a| a.quantity() == dec!(500))),
        ),
        (
            with_policy("an opposite signal closes by default", &|c| {
                c.positions = vec![position("SPY", dec!(-40), dec!(600))]
            }),
            Box::new(|d| d.approval().is_some_and(|a| a.intent() == Intent::Exit && a.quantity() == dec!(40))),
        ),
        (
            with_policy("an opposite signal ignored", &|c| {
                c.positions = vec![position("SPY", dec!(-40), dec!(600))];
                c.config.positions.on_opposite_signal = OppositeSignal::Ignore;
            }),
            Box::new(|d| {
                blocked(d).map(ToString::to_string).as_deref()
                    == Some("long signal against the short position: ignored by the position policy")
            }),
        ),
        (
            with_policy("re-entry waits out the cooldown", &|c| {
                c.config.positions.reentry_cooldown_minutes = 10;
                c.config.positions.min_order_fraction = 0.0;
                c.state.last_exits.insert("SPY".into(), exit_at);
            }),
            Box::new(move |d| {
                blocked(d) == Some(&DenialReason::ReentryCooldown { until: exit_at + chrono::TimeDelta::minutes(10) })
            }),
        ),
        (
            with_policy("re-entry after the cooldown", &|c| {
                c.config.positions.reentry_cooldown_minutes = 5;
                c.config.positions.min_order_fraction = 0.0;
                c.state.last_exits.insert("SPY".into(), exit_at);
            }),
            Box::new(|d| d.approval().is_some()),
        ),
        (
            with_policy("another symbol's exit starts no cooldown", &|c| {
                c.config.positions.reentry_cooldown_minutes = 60;
                c.config.positions.min_order_fraction = 0.0;
                c.state.last_exits.insert("QQQ".into(), exit_at);
            }),
            Box::new(|d| d.approval().is_some()),
        ),
    ];
    for (case, ok) in cases {
        let d = case.run();
        assert!(ok(&d), "{}: {d:#?}", case.name);
        assert_eq!(d.approval().is_some(), !d.is_blocked(), "{}", case.name);
    }
}

#[test]
fn position_policy_settings_are_validated() {
    let mut config = RiskConfig::default();
    config.positions.max_entries_per_symbol = 0;
    config.positions.min_order_fraction = 1.5;
    config.positions.reentry_cooldown_minutes = 20_000;
    config.positions.flatten_before_close_minutes = 241;
    let keys: Vec<String> = config.problems(["equity_index", "energy", "metals"]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "positions.max_entries_per_symbol",
            "positions.min_order_fraction",
            "positions.reentry_cooldown_minutes",
            "positions.flatten_before_close_minutes"
        ]
    );
}

#[test]
fn no_entry_in_the_window_before_the_close() {
    let mut c = Case::new("flatten window");
    c.config.positions.flatten_before_close_minutes = 15;
    let spy = instrument("SPY");
    // now() is 11:00 in New York; the NYSE closes at 16:00 (20:00 UTC in March 2026).
    let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap();
    let decide = |t| evaluate_candidate(&c.signal, &c.account, &c.positions, &c.state, &spy, t, &c.config);
    assert!(decide(at(19, 44)).approval().is_some(), "16 minutes before the close");
    let d = decide(at(19, 45));
    assert_eq!(blocked(&d), Some(&DenialReason::SessionClosing { close: at(20, 0), minutes: 15 }), "{d:#?}");
    // An exit still passes: closing only lowers risk.
    c.positions = vec![position("SPY", dec!(-40), dec!(600))];
    let d = evaluate_candidate(&c.signal, &c.account, &c.positions, &c.state, &spy, at(19, 50), &c.config);
    assert!(d.approval().is_some_and(|a| a.intent() == Intent::Exit), "{d:#?}");
    // Off by default.
    c.config.positions.flatten_before_close_minutes = 0;
    c.positions.clear();
    let d = evaluate_candidate(&c.signal, &c.account, &c.positions, &c.state, &spy, at(19, 59), &c.config);
    assert!(d.approval().is_some());
}
