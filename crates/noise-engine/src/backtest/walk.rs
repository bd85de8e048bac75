//! The deterministic synthetic minute series of `bench/peers/series.py`,
//! bar for bar: a random walk in whole cents with drifting regimes, drawn
//! from splitmix64, contiguous minutes from 2024-01-01 00:00 UTC. Tests and
//! benchmarks use it to run on the peers' data without a file.

use chrono::{DateTime, TimeDelta, Utc};
use noise_core::market::Bar;
use rust_decimal::Decimal;

/// The seed series.py uses by default.
pub const PEERS_SEED: u64 = 20_260_101;

struct SplitMix64(u64);

impl SplitMix64 {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// `count` bars of the walk drawn from `seed`.
pub fn random_walk(count: usize, seed: u64) -> Vec<Bar> {
    let mut rng = SplitMix64(seed);
    let start = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(19_723); // 2024-01-01
    let (mut close, mut left, mut drift) = (10_000i64, 0u64, 0i64);
    let cents = |c: i64| Decimal::new(c, 2);
    (0..count)
        .map(|i| {
            if left == 0 {
                left = 200 + rng.below(800);
                drift = rng.below(5) as i64 - 2;
            }
            left -= 1;
            let open = (close + rng.below(7) as i64 - 3).max(100);
            close = (open + rng.below(41) as i64 - 20 + drift).max(100);
            let high = open.max(close) + rng.below(6) as i64;
            let low = (open.min(close) - rng.below(6) as i64).max(1);
            Bar {
                time: start + TimeDelta::minutes(i as i64),
                open: cents(open),
                high: cents(high),
                low: cents(low),
                close: cents(close),
                volume: Decimal::from(100 + rng.below(5000)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_the_peers_series() {
        let ours: Vec<String> = random_walk(2_000, PEERS_SEED)
            .iter()
            .map(|b| {
                format!(
                    "{},{},{},{},{},{}",
                    b.time.format("%Y-%m-%dT%H:%M:%SZ"),
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume
                )
            })
            .collect();
        let script = concat!(
            "import sys; sys.path.insert(0, sys.argv[1]); from series import bars, cents\n",
            "for t, o, h, l, c, v in bars(2000): print(f'{t:%Y-%m-%dT%H:%M:%SZ},{cents(o)},{cents(h)},{cents(l)},{cents(c)},{v}')"
        );
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/peers");
        let output = std::process::Command::new("python3").args(["-c", script, folder]).output();
        let output = output.expect("python3 runs (the README lists it as required)");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let theirs: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
        assert_eq!(ours, theirs);
    }
}
