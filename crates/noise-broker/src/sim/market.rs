//! The built-in market: deterministic, seeded synthetic 1-minute bars for
//! the configured instruments, at realistic price levels, with trending,
//! ranging and volatile stretches, a U-shaped intraday volume, and only
//! while each instrument's venue is open.
//!
//! The market is a pure function of (seed, start, minutes elapsed): after a
//! restart it is rebuilt and fast-forwarded to where the broker's state
//! says it was, and produces the very same bars again.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use noise_core::calendar::Venue;
use noise_core::instrument::{Instrument, TickRounding};
use noise_core::market::Bar;
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

/// A typical price level and per-minute volatility (fraction of price).
fn profile(symbol: &str) -> (f64, f64, f64) {
    // (price, minute volatility, base volume)
    match symbol {
        "MNQ" => (21_000.0, 0.0006, 900.0),
        "MES" => (5_900.0, 0.0005, 1_200.0),
        "M2K" => (2_250.0, 0.0007, 400.0),
        "MCL" => (70.0, 0.0009, 600.0),
        "MGC" => (2_650.0, 0.0005, 300.0),
        "TQQQ" => (75.0, 0.0015, 40_000.0),
        "SOXL" => (30.0, 0.0020, 60_000.0),
        "SPY" => (600.0, 0.0005, 50_000.0),
        "QQQ" => (520.0, 0.0006, 30_000.0),
        _ => (100.0, 0.0008, 10_000.0),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stretch {
    TrendUp,
    TrendDown,
    Range,
    Volatile,
}

#[derive(Debug, Clone)]
struct Walk {
    instrument: Instrument,
    rng: u64,
    price: f64,
    anchor: f64,
    volatility: f64,
    base_volume: f64,
    stretch: Stretch,
    stretch_left: u32,
}

impl Walk {
    fn uniform(&mut self) -> f64 {
        // xorshift64*: deterministic and fast.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        // Box-Muller.
        let (u1, u2) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn next_stretch(&mut self) {
        self.stretch = match (self.uniform() * 4.0) as u32 {
            0 => Stretch::TrendUp,
            1 => Stretch::TrendDown,
            2 => Stretch::Range,
            _ => Stretch::Volatile,
        };
        self.stretch_left = 45 + (self.uniform() * 180.0) as u32;
        self.anchor = self.price;
    }

    /// The bar for the minute opening at `time`, `session_fraction` into the session.
    fn bar(&mut self, time: DateTime<Utc>, session_fraction: f64) -> Option<Bar> {
        if self.stretch_left == 0 {
            self.next_stretch();
        }
        self.stretch_left -= 1;
        let sigma = self.volatility * self.price * if self.stretch == Stretch::Volatile { 2.5 } else { 1.0 };
        let drift = match self.stretch {
            Stretch::TrendUp => 0.35 * sigma,
            Stretch::TrendDown => -0.35 * sigma,
            Stretch::Range => (self.anchor - self.price) * 0.05,
            Stretch::Volatile => 0.0,
        };
        let open = self.price;
        let close = (open + drift + sigma * self.normal()).max(open * 0.5);
        let high = open.max(close) + (sigma * 0.6 * self.normal()).abs();
        let low = (open.min(close) - (sigma * 0.6 * self.normal()).abs()).max(open * 0.4);
        self.price = close;
        // U-shaped: heavy at the open and the close of the session.
        let u = 1.0 + 3.0 * (2.0 * session_fraction - 1.0).powi(2);
        let volume = (self.base_volume * u * (0.6 + 0.8 * self.uniform())).round();
        let round = |x: f64| {
            let d = Decimal::from_f64(x).unwrap_or(Decimal::ONE);
            self.instrument.round_to_tick(d, TickRounding::Nearest).max(self.instrument.tick_size)
        };
        let (o, c) = (round(open), round(close));
        let (h, l) = (round(high).max(o).max(c), round(low).min(o).min(c));
        self.price = c.to_f64().unwrap_or(close);
        Some(Bar {
            time,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: Decimal::from_f64(volume).unwrap_or(Decimal::ONE),
        })
    }
}

/// The synthetic market for a set of instruments.
#[derive(Debug, Clone)]
pub struct SyntheticMarket {
    walks: BTreeMap<String, Walk>,
    /// Open time of the next minute to produce.
    next: DateTime<Utc>,
}

impl SyntheticMarket {
    pub fn new(seed: u64, instruments: &[Instrument], start: DateTime<Utc>) -> Self {
        let walks = instruments
            .iter()
            .map(|i| {
                let (price, volatility, base_volume) = profile(&i.symbol);
                let symbol_hash = i
                    .symbol
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
                let mut walk = Walk {
                    instrument: i.clone(),
                    rng: (seed ^ symbol_hash).max(1),
                    price,
                    anchor: price,
                    volatility,
                    base_volume,
                    stretch: Stretch::Range,
                    stretch_left: 0,
                };
                walk.next_stretch();
                (i.symbol.clone(), walk)
            })
            .collect();
        let start = DateTime::from_timestamp(start.timestamp() / 60 * 60, 0).unwrap_or(start);
        Self { walks, next: start }
    }

    /// The open time of the next minute the market will produce.
    pub fn next_minute(&self) -> DateTime<Utc> {
        self.next
    }

    /// Produces the minute opening at `next_minute()`: one bar per
    /// instrument whose venue trades then. Returns the minute's close time.
    pub fn advance(&mut self) -> (DateTime<Utc>, Vec<(String, Bar)>) {
        let time = self.next;
        let mut bars = Vec::new();
        for (symbol, walk) in &mut self.walks {
            let Some(session) = walk.instrument.venue.session_at(time) else { continue };
            let span = (session.close - session.open).num_seconds().max(1) as f64;
            let fraction = (time - session.open).num_seconds() as f64 / span;
            if let Some(bar) = walk.bar(time, fraction) {
                bars.push((symbol.clone(), bar));
            }
        }
        self.next = time + TimeDelta::minutes(1);
        (self.next, bars)
    }

    /// Skips ahead (producing and discarding bars) until the next minute
    /// opens at or after `time`: how a restart finds its place again.
    pub fn fast_forward(&mut self, time: DateTime<Utc>) {
        while self.next < time {
            self.advance();
        }
    }

    /// Whether any instrument trades in the minute opening at `time`.
    pub fn any_open(&self, time: DateTime<Utc>) -> bool {
        self.walks.values().any(|w| w.instrument.venue.is_open(time))
    }

    pub fn venues(&self) -> Vec<Venue> {
        self.walks.values().map(|w| w.instrument.venue).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use noise_core::instrument::Instrument;

    #[test]
    fn deterministic_valid_and_session_aware() {
        let instruments = Instrument::defaults();
        let start = Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap(); // 09:00 New York
        let mut a = SyntheticMarket::new(7, &instruments, start);
        let mut b = SyntheticMarket::new(7, &instruments, start);
        for _ in 0..120 {
            let (close_a, bars_a) = a.advance();
            let (close_b, bars_b) = b.advance();
            assert_eq!((close_a, &bars_a), (close_b, &bars_b));
            for (symbol, bar) in &bars_a {
                bar.validate().unwrap();
                let instrument = instruments.iter().find(|i| &i.symbol == symbol).unwrap();
                assert!(instrument.venue.is_open(bar.time), "{symbol} traded while closed at {}", bar.time);
                assert_eq!(bar.close % instrument.tick_size, Decimal::ZERO);
            }
        }
        // Before 09:30 only futures trade; after, equities too.
        let mut m = SyntheticMarket::new(7, &instruments, start);
        let (_, first) = m.advance();
        assert!(first.iter().all(|(s, _)| ["MNQ", "MES", "M2K", "MCL", "MGC"].contains(&s.as_str())));
        m.fast_forward(Utc.with_ymd_and_hms(2026, 3, 9, 13, 30, 0).unwrap());
        assert_eq!(m.advance().1.len(), 9);
    }

    #[test]
    fn fast_forward_reproduces_the_same_bars() {
        let instruments = Instrument::defaults();
        let start = Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap();
        let mut straight = SyntheticMarket::new(3, &instruments, start);
        for _ in 0..90 {
            straight.advance();
        }
        let mut restarted = SyntheticMarket::new(3, &instruments, start);
        restarted.fast_forward(start + TimeDelta::minutes(90));
        assert_eq!(straight.advance(), restarted.advance());
    }
}
