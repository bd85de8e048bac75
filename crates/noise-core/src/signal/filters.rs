//! Filters a candidate must pass, each leaving a verdict.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::calendar::Session;
use crate::market::Timeframe;

use super::Direction;
use super::config::{MtfConfig, MtfMode, SignalConfig, TimeFilterConfig};
use super::reason::FilterDetail;
use super::regime::{Regime, TrendState};

/// One filter's verdict on a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterVerdict {
    pub name: &'static str,
    pub passed: bool,
    pub detail: FilterDetail,
}

impl FilterVerdict {
    fn new(name: &'static str, passed: bool, detail: FilterDetail) -> Self {
        Self { name, passed, detail }
    }
}

/// The trend of a higher timeframe, from its completed bars only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HigherTrend {
    Up,
    Down,
    Flat,
}

pub(crate) fn strength(strength: f64, config: &SignalConfig) -> FilterVerdict {
    let passed = strength >= config.min_strength;
    FilterVerdict::new("strength", passed, FilterDetail::Strength { strength, minimum: config.min_strength })
}

/// Inside the instrument's session (the one open just before `now`: a bar
/// closing at the session close belongs to it), past its first
/// `skip_open_minutes` and before its last `skip_close_minutes` (early
/// closes included).
pub(crate) fn time_of_day(session: Option<Session>, now: DateTime<Utc>, config: &TimeFilterConfig) -> FilterVerdict {
    const NAME: &str = "time_of_day";
    if !config.enabled {
        return FilterVerdict::new(NAME, true, FilterDetail::Disabled);
    }
    let Some(session) = session else {
        return FilterVerdict::new(NAME, false, FilterDetail::MarketClosed { at: now });
    };
    if now < session.open + TimeDelta::minutes(i64::from(config.skip_open_minutes)) {
        let detail = FilterDetail::SessionOpening { minutes: config.skip_open_minutes, opened: session.open };
        return FilterVerdict::new(NAME, false, detail);
    }
    if now >= session.close - TimeDelta::minutes(i64::from(config.skip_close_minutes)) {
        let detail = FilterDetail::SessionClosing { minutes: config.skip_close_minutes, closes: session.close };
        return FilterVerdict::new(NAME, false, detail);
    }
    FilterVerdict::new(NAME, true, FilterDetail::InsideWindow { at: now })
}

/// Refuses a direction against a trending regime.
pub(crate) fn regime(direction: Direction, regime: &Regime, enabled: bool) -> FilterVerdict {
    const NAME: &str = "regime";
    if !enabled {
        return FilterVerdict::new(NAME, true, FilterDetail::Disabled);
    }
    let against = matches!(
        (direction, regime.trend),
        (Direction::Long, TrendState::TrendingDown) | (Direction::Short, TrendState::TrendingUp)
    );
    FilterVerdict::new(NAME, !against, FilterDetail::Regime { direction, regime: *regime, against })
}

/// Each configured higher timeframe's trend must agree (or, in
/// `not_opposed` mode, not disagree); an unknown trend (still warming up)
/// fails.
pub(crate) fn multi_timeframe(
    direction: Direction,
    trends: impl Iterator<Item = (Timeframe, Option<HigherTrend>)>,
    config: &MtfConfig,
) -> FilterVerdict {
    const NAME: &str = "multi_timeframe";
    if !config.enabled {
        return FilterVerdict::new(NAME, true, FilterDetail::Disabled);
    }
    let wanted = match direction {
        Direction::Long => HigherTrend::Up,
        Direction::Short => HigherTrend::Down,
    };
    let judged: Vec<_> = trends
        .map(|(tf, trend)| {
            let ok = match (trend, config.mode) {
                (None, _) => false,
                (Some(t), MtfMode::Agree) => t == wanted,
                (Some(t), MtfMode::NotOpposed) => t == wanted || t == HigherTrend::Flat,
            };
            (tf, trend, ok)
        })
        .collect();
    let passed = judged.iter().all(|&(_, _, ok)| ok);
    FilterVerdict::new(NAME, passed, FilterDetail::Trends { direction, mode: config.mode, trends: judged })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Venue;
    use crate::test_time::utc as at;

    #[test]
    fn equity_time_filter_across_dst_and_special_days() {
        let cfg = TimeFilterConfig::default();
        // (when the bar closes, UTC; passes?)
        let cases = [
            // 2026-03-06 (EST): the window is 14:45Z-20:45Z.
            (at(2026, 3, 6, 14, 44), false),
            (at(2026, 3, 6, 14, 45), true),
            (at(2026, 3, 6, 20, 44), true),
            (at(2026, 3, 6, 20, 45), false),
            // 2026-03-09 (EDT after the March switch): one hour earlier in UTC.
            (at(2026, 3, 9, 13, 44), false),
            (at(2026, 3, 9, 13, 45), true),
            (at(2026, 3, 9, 14, 45), true),
            (at(2026, 3, 9, 19, 44), true),
            (at(2026, 3, 9, 19, 45), false),
            // 2026-11-02 (EST after the November switch).
            (at(2026, 11, 2, 13, 45), false),
            (at(2026, 11, 2, 14, 45), true),
            // 2027 switches: March 15 (EDT), November 8 (EST).
            (at(2027, 3, 15, 13, 45), true),
            (at(2027, 3, 12, 13, 45), false),
            (at(2027, 11, 8, 14, 44), false),
            (at(2027, 11, 5, 19, 44), true),
            // Early close 2026-11-27 at 13:00 EST = 18:00Z: nothing after 17:45Z.
            (at(2026, 11, 27, 17, 44), true),
            (at(2026, 11, 27, 17, 45), false),
            (at(2026, 11, 27, 19, 0), false),
            // Holiday: Good Friday 2026-04-03.
            (at(2026, 4, 3, 15, 0), false),
        ];
        for (now, want) in cases {
            let v = time_of_day(Venue::UsEquities.session_at(now - TimeDelta::seconds(1)), now, &cfg);
            assert_eq!(v.passed, want, "{now}: {}", v.detail);
        }
    }

    #[test]
    fn futures_time_filter_around_the_halt() {
        let cfg = TimeFilterConfig::default();
        let cases = [
            (at(2026, 3, 10, 20, 44), true),  // 16:44 EDT
            (at(2026, 3, 10, 20, 45), false), // last 15 minutes before the 17:00 halt
            (at(2026, 3, 10, 21, 30), false), // the halt
            (at(2026, 3, 10, 22, 10), false), // first 15 minutes after 18:00
            (at(2026, 3, 10, 22, 15), true),
            (at(2026, 3, 8, 22, 20), true),   // Sunday evening after the spring switch
            (at(2026, 12, 25, 15, 0), false), // Christmas
        ];
        for (now, want) in cases {
            let v = time_of_day(Venue::CmeGlobex.session_at(now - TimeDelta::seconds(1)), now, &cfg);
            assert_eq!(v.passed, want, "{now}: {}", v.detail);
        }
    }

    #[test]
    fn mtf_modes() {
        use crate::market::Timeframe::{M5, M15};
        let agree = MtfConfig::default();
        let not_opposed = MtfConfig { mode: MtfMode::NotOpposed, ..MtfConfig::default() };
        let up_up = [(M5, Some(HigherTrend::Up)), (M15, Some(HigherTrend::Up))];
        let up_flat = [(M5, Some(HigherTrend::Up)), (M15, Some(HigherTrend::Flat))];
        let warming = [(M5, Some(HigherTrend::Up)), (M15, None)];
        assert!(multi_timeframe(Direction::Long, up_up.iter().copied(), &agree).passed);
        assert!(!multi_timeframe(Direction::Short, up_up.iter().copied(), &agree).passed);
        assert!(!multi_timeframe(Direction::Long, up_flat.iter().copied(), &agree).passed);
        assert!(multi_timeframe(Direction::Long, up_flat.iter().copied(), &not_opposed).passed);
        assert!(!multi_timeframe(Direction::Short, up_flat.iter().copied(), &not_opposed).passed);
        assert!(!multi_timeframe(Direction::Long, warming.iter().copied(), &not_opposed).passed);
    }
}
