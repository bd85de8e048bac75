//! Filters a candidate must pass, each leaving a verdict.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::America::New_York;
use serde::Serialize;

use crate::calendar::Venue;

use super::Direction;
use super::config::{MtfConfig, MtfMode, SignalConfig, TimeFilterConfig};
use super::regime::{Regime, TrendState};

/// One filter's verdict on a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterVerdict {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

impl FilterVerdict {
    fn new(name: &'static str, passed: bool, detail: String) -> Self {
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
    let op = if passed { "≥" } else { "<" };
    FilterVerdict::new("strength", passed, format!("strength {strength:.2} {op} minimum {:.2}", config.min_strength))
}

/// Inside the instrument's session, past its first `skip_open_minutes` and
/// before its last `skip_close_minutes` (early closes included).
pub(crate) fn time_of_day(venue: Venue, now: DateTime<Utc>, config: &TimeFilterConfig) -> FilterVerdict {
    const NAME: &str = "time_of_day";
    let local = |t: DateTime<Utc>| t.with_timezone(&New_York).format("%Y-%m-%d %H:%M ET").to_string();
    if !config.enabled {
        return FilterVerdict::new(NAME, true, "disabled".into());
    }
    // A bar closing exactly at the session close belongs to that session.
    let Some(session) = venue.session_at(now - TimeDelta::seconds(1)) else {
        return FilterVerdict::new(NAME, false, format!("market closed at {}", local(now)));
    };
    let earliest = session.open + TimeDelta::minutes(i64::from(config.skip_open_minutes));
    let latest = session.close - TimeDelta::minutes(i64::from(config.skip_close_minutes));
    if now < earliest {
        return FilterVerdict::new(
            NAME,
            false,
            format!(
                "within the first {} minutes of the session (opened {})",
                config.skip_open_minutes,
                local(session.open)
            ),
        );
    }
    if now >= latest {
        return FilterVerdict::new(
            NAME,
            false,
            format!(
                "within the last {} minutes of the session (closes {})",
                config.skip_close_minutes,
                local(session.close)
            ),
        );
    }
    FilterVerdict::new(NAME, true, format!("{} is inside the trading window", local(now)))
}

/// Refuses a direction against a trending regime.
pub(crate) fn regime(direction: Direction, regime: &Regime, enabled: bool) -> FilterVerdict {
    const NAME: &str = "regime";
    if !enabled {
        return FilterVerdict::new(NAME, true, "disabled".into());
    }
    let against = matches!(
        (direction, regime.trend),
        (Direction::Long, TrendState::TrendingDown) | (Direction::Short, TrendState::TrendingUp)
    );
    if against {
        FilterVerdict::new(NAME, false, format!("{direction} against the {regime} regime"))
    } else {
        FilterVerdict::new(NAME, true, format!("{direction} fits the {regime} regime"))
    }
}

/// Each configured higher timeframe's trend must agree (or, in
/// `not_opposed` mode, not disagree); an unknown trend (still warming up)
/// fails.
pub(crate) fn multi_timeframe(
    direction: Direction,
    trends: &[(crate::market::Timeframe, Option<HigherTrend>)],
    config: &MtfConfig,
) -> FilterVerdict {
    const NAME: &str = "multi_timeframe";
    if !config.enabled {
        return FilterVerdict::new(NAME, true, "disabled".into());
    }
    let wanted = match direction {
        Direction::Long => HigherTrend::Up,
        Direction::Short => HigherTrend::Down,
    };
    let mut passed = true;
    let mut parts = Vec::new();
    for (tf, trend) in trends {
        let ok = match (trend, config.mode) {
            (None, _) => false,
            (Some(t), MtfMode::Agree) => *t == wanted,
            (Some(t), MtfMode::NotOpposed) => *t == wanted || *t == HigherTrend::Flat,
        };
        passed &= ok;
        let described = match trend {
            None => "unknown (warming up)".to_string(),
            Some(t) => format!("{t:?}").to_lowercase(),
        };
        parts.push(format!("{tf} {described}{}", if ok { "" } else { " ✗" }));
    }
    FilterVerdict::new(NAME, passed, format!("{direction} needs {:?} trends: {}", config.mode, parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

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
            let v = time_of_day(Venue::UsEquities, now, &cfg);
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
            let v = time_of_day(Venue::CmeGlobex, now, &cfg);
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
        assert!(multi_timeframe(Direction::Long, &up_up, &agree).passed);
        assert!(!multi_timeframe(Direction::Short, &up_up, &agree).passed);
        assert!(!multi_timeframe(Direction::Long, &up_flat, &agree).passed);
        assert!(multi_timeframe(Direction::Long, &up_flat, &not_opposed).passed);
        assert!(!multi_timeframe(Direction::Short, &up_flat, &not_opposed).passed);
        assert!(!multi_timeframe(Direction::Long, &warming, &not_opposed).passed);
    }
}
