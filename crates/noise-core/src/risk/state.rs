//! `RiskState`: what the risk manager remembers, and its pure transitions.
//!
//! The engine persists it as the `risk_state` row. Every transition takes
//! `now` and returns the events it caused (a breaker tripping, the state
//! changing), which the engine writes to the audit log.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::America::New_York;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::Venue;
use crate::instrument::AssetClass;
use crate::ledger::RoundTrip;

use super::config::RiskConfig;

/// What may trade, above every check.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradingState {
    Active,
    /// Only orders that shrink positions pass (a breaker tripped).
    Reducing,
    /// Nothing but cancels passes (the kill switch, or a manual halt).
    Halted,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerKind {
    DailyLoss,
    WeeklyLoss,
    Drawdown,
}

/// A tripped breaker: when, and the figures that tripped it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    pub kind: BreakerKind,
    pub at: DateTime<Utc>,
    /// The loss or drawdown, % (positive).
    pub measured_pct: f64,
    pub limit_pct: f64,
    pub equity: Decimal,
    /// The equity it was measured from (day start, week start, high-water mark).
    pub reference_equity: Decimal,
}

/// What a transition did, for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RiskEvent {
    BreakerTripped(Trip),
    BreakerReset { kind: BreakerKind, at: DateTime<Utc>, by: String },
    StateChanged { from: TradingState, to: TradingState, at: DateTime<Utc>, why: String },
    CooldownStarted { until: DateTime<Utc>, losses_in_a_row: u32 },
    DayTradeRecorded { symbol: String, date: NaiveDate, count_in_window: usize },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskState {
    pub trading_state: TradingState,
    /// A halt set by hand (kill switch) stays until resumed by hand.
    pub halted_manually: bool,
    pub breakers: Vec<Trip>,
    pub high_water_mark: Decimal,
    pub day_start_equity: Decimal,
    pub week_start_equity: Decimal,
    pub losses_in_a_row: u32,
    pub cooldown_until: Option<DateTime<Utc>>,
    /// The streak that started the current cooldown: a win during the
    /// cooldown resets `losses_in_a_row` but not the cooldown, and a denial
    /// must name its real cause. (Defaulted so older saved states load.)
    #[serde(default)]
    pub cooldown_after_losses: u32,
    /// Equity round trips opened and closed on the same trading day, by date.
    pub day_trades: Vec<(NaiveDate, String)>,
    /// Realized P&L of the most recent closed trades (for Kelly), oldest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub recent_results: VecDeque<Decimal>,
    /// When each symbol's last round trip closed (the position policy's
    /// re-entry cooldown). Defaulted so older saved states load.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub last_exits: BTreeMap<String, DateTime<Utc>>,
}

impl RiskState {
    /// A fresh state for an account with this equity.
    pub fn new(equity: Decimal) -> Self {
        Self {
            trading_state: TradingState::Active,
            halted_manually: false,
            breakers: Vec::new(),
            high_water_mark: equity,
            day_start_equity: equity,
            week_start_equity: equity,
            losses_in_a_row: 0,
            cooldown_until: None,
            cooldown_after_losses: 0,
            day_trades: Vec::new(),
            recent_results: VecDeque::new(),
            last_exits: BTreeMap::new(),
        }
    }

    /// When `symbol`'s last round trip closed, if one did.
    pub fn last_exit(&self, symbol: &str) -> Option<DateTime<Utc>> {
        self.last_exits.get(symbol).copied()
    }

    pub fn tripped(&self, kind: BreakerKind) -> Option<&Trip> {
        self.breakers.iter().find(|t| t.kind == kind)
    }

    pub fn in_cooldown(&self, now: DateTime<Utc>) -> bool {
        self.cooldown_until.is_some_and(|until| now < until)
    }

    /// Marks the account at `equity`: raises the high-water mark and trips
    /// any breaker whose limit the loss has reached.
    pub fn mark_equity(&mut self, equity: Decimal, now: DateTime<Utc>, config: &RiskConfig) -> Vec<RiskEvent> {
        if equity > self.high_water_mark {
            self.high_water_mark = equity;
        }
        let mut events = Vec::new();
        for (kind, reference, limit) in [
            (BreakerKind::DailyLoss, self.day_start_equity, config.daily_loss_pct),
            (BreakerKind::WeeklyLoss, self.week_start_equity, config.weekly_loss_pct),
            (BreakerKind::Drawdown, self.high_water_mark, config.max_drawdown_pct),
        ] {
            let measured = loss_pct(reference, equity);
            if measured >= limit && self.tripped(kind).is_none() {
                let trip = Trip {
                    kind,
                    at: now,
                    measured_pct: measured,
                    limit_pct: limit,
                    equity,
                    reference_equity: reference,
                };
                self.breakers.push(trip.clone());
                events.push(RiskEvent::BreakerTripped(trip));
            }
        }
        events.extend(self.settle_state(now, "circuit breaker tripped"));
        events
    }

    /// Records the round trips one exit fill closed (the ledger's answer to
    /// that fill), as one closed trade: their net P&L summed, opened when the
    /// oldest of them was. It moves the loss streak and the cooldown, the
    /// Kelly statistics, and counts a day trade when an equity position
    /// opened and closed on the same trading day. Closes arrive in time
    /// order (the window forgets day trades older than the latest one's).
    pub fn update_on_close(&mut self, closed: &[RoundTrip], now: DateTime<Utc>, config: &RiskConfig) -> Vec<RiskEvent> {
        let Some(last) = closed.last() else { return Vec::new() };
        for trip in closed {
            let at = self.last_exits.entry(trip.symbol.to_string()).or_insert(trip.exit_time);
            *at = (*at).max(trip.exit_time);
        }
        let pnl: Decimal = closed.iter().map(|t| t.net_pnl).sum();
        let opened_at = closed.iter().map(|t| t.entry_time).min().unwrap_or(last.entry_time);
        let mut events = Vec::new();
        if pnl < Decimal::ZERO {
            self.losses_in_a_row += 1;
            if self.losses_in_a_row >= config.max_consecutive_losses {
                let until = now + TimeDelta::minutes(i64::from(config.cooldown_minutes));
                self.cooldown_until = Some(until);
                self.cooldown_after_losses = self.losses_in_a_row;
                events.push(RiskEvent::CooldownStarted { until, losses_in_a_row: self.losses_in_a_row });
            }
        } else if pnl > Decimal::ZERO {
            self.losses_in_a_row = 0;
        }
        self.recent_results.push_back(pnl);
        while self.recent_results.len() > config.sizing.kelly_lookback.max(1) {
            self.recent_results.pop_front();
        }
        let (opened, closed_on) = (trading_date(opened_at), trading_date(last.exit_time));
        if last.asset_class == AssetClass::Equity && opened == closed_on {
            self.day_trades.push((closed_on, last.symbol.to_string()));
            self.prune_day_trades(closed_on);
            let count_in_window = self.day_trades_in_window(closed_on);
            events.push(RiskEvent::DayTradeRecorded {
                symbol: last.symbol.to_string(),
                date: closed_on,
                count_in_window,
            });
        }
        events
    }

    /// The scheduled daily reset (09:00 New York): a new day's reference
    /// equity, and the daily breaker cleared.
    pub fn daily_reset(&mut self, equity: Decimal, now: DateTime<Utc>) -> Vec<RiskEvent> {
        self.day_start_equity = equity;
        let mut events = self.clear(&[BreakerKind::DailyLoss], now, "daily reset");
        events.extend(self.settle_state(now, "daily reset"));
        events
    }

    /// The scheduled weekly reset (Monday 06:00 New York).
    pub fn weekly_reset(&mut self, equity: Decimal, now: DateTime<Utc>) -> Vec<RiskEvent> {
        self.week_start_equity = equity;
        let mut events = self.clear(&[BreakerKind::WeeklyLoss], now, "weekly reset");
        events.extend(self.settle_state(now, "weekly reset"));
        events
    }

    /// A manual reset of every breaker (the drawdown breaker resets only
    /// this way) and of the loss streak; the high-water mark restarts at
    /// `equity` so a drawdown is not re-tripped at once. An explicit event.
    pub fn manual_reset(&mut self, equity: Decimal, now: DateTime<Utc>, by: &str) -> Vec<RiskEvent> {
        self.high_water_mark = equity;
        self.day_start_equity = equity;
        self.week_start_equity = equity;
        self.losses_in_a_row = 0;
        self.cooldown_until = None;
        self.cooldown_after_losses = 0;
        let mut events = self.clear(&[BreakerKind::DailyLoss, BreakerKind::WeeklyLoss, BreakerKind::Drawdown], now, by);
        events.extend(self.settle_state(now, "manual circuit-breaker reset"));
        events
    }

    /// The kill switch: nothing but cancels until `resume`.
    pub fn halt(&mut self, now: DateTime<Utc>, why: &str) -> Vec<RiskEvent> {
        self.halted_manually = true;
        self.settle_state(now, why)
    }

    pub fn resume(&mut self, now: DateTime<Utc>, why: &str) -> Vec<RiskEvent> {
        self.halted_manually = false;
        self.settle_state(now, why)
    }

    /// Day trades in the five trading days ending `today` (US equities
    /// calendar: weekends and holidays are not trading days).
    pub fn day_trades_in_window(&self, today: NaiveDate) -> usize {
        if self.day_trades.is_empty() {
            return 0;
        }
        let start = five_trading_days_ending(today);
        self.day_trades.iter().filter(|(d, _)| *d >= start && *d <= today).count()
    }

    fn prune_day_trades(&mut self, today: NaiveDate) {
        let start = five_trading_days_ending(today);
        self.day_trades.retain(|(d, _)| *d >= start);
    }

    fn clear(&mut self, kinds: &[BreakerKind], now: DateTime<Utc>, by: &str) -> Vec<RiskEvent> {
        let mut events = Vec::new();
        self.breakers.retain(|t| {
            let cleared = kinds.contains(&t.kind);
            if cleared {
                events.push(RiskEvent::BreakerReset { kind: t.kind, at: now, by: by.to_string() });
            }
            !cleared
        });
        events
    }

    /// Derives the trading state from the halt flag and the breakers.
    fn settle_state(&mut self, now: DateTime<Utc>, why: &str) -> Vec<RiskEvent> {
        let to = if self.halted_manually {
            TradingState::Halted
        } else if !self.breakers.is_empty() {
            TradingState::Reducing
        } else {
            TradingState::Active
        };
        let from = self.trading_state;
        self.trading_state = to;
        if from == to { Vec::new() } else { vec![RiskEvent::StateChanged { from, to, at: now, why: why.to_string() }] }
    }
}

/// Loss from `reference` to `equity` in % of `reference` (0 when up).
pub(crate) fn loss_pct(reference: Decimal, equity: Decimal) -> f64 {
    if reference <= Decimal::ZERO || equity >= reference {
        return 0.0;
    }
    crate::num::decimal_to_f64((reference - equity) / reference * Decimal::ONE_HUNDRED)
}

/// The US equities trading date of an instant (New York calendar date).
pub(crate) fn trading_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&New_York).date_naive()
}

/// The first of the five trading days ending `today` (today counted if it is one).
fn five_trading_days_ending(today: NaiveDate) -> NaiveDate {
    let mut day = today;
    let mut found = 0;
    for _ in 0..30 {
        if Venue::UsEquities.is_trading_day(day) {
            found += 1;
            if found == 5 {
                return day;
            }
        }
        match day.pred_opt() {
            Some(previous) => day = previous,
            None => break,
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn trade(pnl: Decimal, opened: DateTime<Utc>, closed: DateTime<Utc>) -> [RoundTrip; 1] {
        [crate::ledger::round_trip_for_tests("SPY", AssetClass::Equity, pnl, opened, closed)]
    }

    #[test]
    fn breakers_trip_once_and_reset_on_schedule() {
        let cfg = RiskConfig::default();
        let mut s = RiskState::new(dec!(100000));
        assert!(s.mark_equity(dec!(98500), at(2026, 3, 9, 15), &cfg).is_empty());
        let events = s.mark_equity(dec!(98000), at(2026, 3, 9, 16), &cfg);
        assert!(
            matches!(&events[0], RiskEvent::BreakerTripped(t) if t.kind == BreakerKind::DailyLoss && t.measured_pct == 2.0)
        );
        assert_eq!(s.trading_state, TradingState::Reducing);
        assert!(s.mark_equity(dec!(97900), at(2026, 3, 9, 17), &cfg).is_empty(), "trips once");
        let events = s.daily_reset(dec!(97900), at(2026, 3, 10, 13));
        assert!(events.iter().any(|e| matches!(e, RiskEvent::BreakerReset { kind: BreakerKind::DailyLoss, .. })));
        assert_eq!(s.trading_state, TradingState::Active);
    }

    #[test]
    fn drawdown_breaker_needs_a_manual_reset() {
        let cfg = RiskConfig::default();
        let mut s = RiskState::new(dec!(100000));
        s.mark_equity(dec!(120000), at(2026, 3, 9, 15), &cfg);
        s.daily_reset(dec!(120000), at(2026, 3, 10, 13));
        s.weekly_reset(dec!(120000), at(2026, 3, 16, 10));
        s.mark_equity(dec!(107000), at(2026, 3, 16, 15), &cfg); // -10.8 % from the 120k high
        assert!(s.tripped(BreakerKind::Drawdown).is_some());
        s.daily_reset(dec!(107000), at(2026, 3, 17, 13));
        s.weekly_reset(dec!(107000), at(2026, 3, 23, 10));
        assert_eq!(s.trading_state, TradingState::Reducing, "drawdown survives scheduled resets");
        let events = s.manual_reset(dec!(107000), at(2026, 3, 23, 14), "api");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, RiskEvent::BreakerReset { kind: BreakerKind::Drawdown, by, .. } if by == "api"))
        );
        assert_eq!(s.trading_state, TradingState::Active);
    }

    #[test]
    fn loss_streak_starts_a_cooldown_and_a_win_resets_it() {
        let cfg = RiskConfig::default();
        let mut s = RiskState::new(dec!(100000));
        let t = at(2026, 3, 9, 15);
        s.update_on_close(&trade(dec!(-10), t, t), t, &cfg);
        s.update_on_close(&trade(dec!(-10), t, t), t, &cfg);
        assert!(!s.in_cooldown(t));
        let events = s.update_on_close(&trade(dec!(-10), t, t), t, &cfg);
        assert!(events.iter().any(|e| matches!(e, RiskEvent::CooldownStarted { losses_in_a_row: 3, .. })));
        assert!(s.in_cooldown(t + TimeDelta::minutes(29)));
        assert!(!s.in_cooldown(t + TimeDelta::minutes(30)));
        s.update_on_close(&trade(dec!(5), t, t), t, &cfg);
        assert_eq!(s.losses_in_a_row, 0);
        // A loss after the win, still inside the cooldown: the cooldown keeps
        // its cause (three losses), it is not restarted by a streak of one.
        s.update_on_close(&trade(dec!(-10), t, t), t + TimeDelta::minutes(5), &cfg);
        assert_eq!((s.losses_in_a_row, s.cooldown_after_losses), (1, 3));
        assert_eq!(s.cooldown_until, Some(t + TimeDelta::minutes(30)));
    }

    #[test]
    fn a_state_saved_before_cooldown_after_losses_existed_still_loads() {
        let mut json = serde_json::to_value(RiskState::new(dec!(100000))).unwrap();
        json.as_object_mut().unwrap().remove("cooldown_after_losses");
        let s: RiskState = serde_json::from_value(json).unwrap();
        assert_eq!(s.cooldown_after_losses, 0);
    }

    #[test]
    fn day_trades_count_over_five_trading_days_skipping_weekends_and_holidays() {
        let cfg = RiskConfig::default();
        let mut s = RiskState::new(dec!(20000));
        // Round trips on Tue 2026-03-31, Wed 04-01, Thu 04-02; Fri 04-03 is Good Friday.
        for day in [31, 1, 2] {
            let month = if day == 31 { 3 } else { 4 };
            let open = at(2026, month, day, 14);
            s.update_on_close(&trade(dec!(1), open, open + TimeDelta::hours(2)), open + TimeDelta::hours(2), &cfg);
        }
        // An overnight hold is not a day trade.
        s.update_on_close(&trade(dec!(1), at(2026, 4, 2, 15), at(2026, 4, 6, 15)), at(2026, 4, 6, 15), &cfg);
        let monday = NaiveDate::from_ymd_opt(2026, 4, 6).unwrap();
        // Window ending Mon 04-06: 04-06, 04-02, 04-01, 03-31, 03-30 (Good Friday and the weekend skipped).
        assert_eq!(s.day_trades_in_window(monday), 3);
        let friday_after = NaiveDate::from_ymd_opt(2026, 4, 10).unwrap();
        // Ending Fri 04-10: 04-06..04-10: all three have left the window.
        assert_eq!(s.day_trades_in_window(friday_after), 0);
        let tuesday = NaiveDate::from_ymd_opt(2026, 4, 7).unwrap();
        // Ending Tue 04-07: 04-07, 04-06, 04-02, 04-01, 03-31: still all three.
        assert_eq!(s.day_trades_in_window(tuesday), 3);
    }

    #[test]
    fn halt_overrides_everything_until_resumed() {
        let cfg = RiskConfig::default();
        let mut s = RiskState::new(dec!(100000));
        s.halt(at(2026, 3, 9, 15), "kill switch");
        s.mark_equity(dec!(97000), at(2026, 3, 9, 16), &cfg);
        assert_eq!(s.trading_state, TradingState::Halted);
        s.resume(at(2026, 3, 9, 17), "resume");
        assert_eq!(s.trading_state, TradingState::Reducing, "the tripped breaker still stands");
    }
}
