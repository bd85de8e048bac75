//! Time helpers shared by the unit tests.

use chrono::{DateTime, TimeZone, Utc};

/// A UTC instant to the minute; panics on an impossible date (tests only).
pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}
