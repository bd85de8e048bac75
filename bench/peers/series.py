"""The deterministic synthetic minute series every engine backtests on.

A random walk in whole cents with intrabar ranges and volume, drawn from
splitmix64 (pure Python, so the series is the same on every machine and every
numpy version). Minutes are contiguous (no sessions, no gaps) so the peers need
no calendar. Prices stay positive: the walk reflects off a floor.

    python3 bench/peers/series.py --bars 1000000 --out target/peers/series-1m.csv
"""

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        """A uniform integer in [0, n) (n far below 2**64, so the bias is negligible)."""
        return self.next() % n


def bars(count, seed=20260101):
    """Yields (time, open, high, low, close, volume) with prices in cents."""
    rng = SplitMix64(seed)
    close = 10_000  # $100.00
    drift_left, drift = 0, 0
    for i in range(count):
        # Regimes of a few hundred minutes with a small drift make crosses of
        # both the choppy and the trending kind.
        if drift_left == 0:
            drift_left = 200 + rng.below(800)
            drift = rng.below(5) - 2
        drift_left -= 1
        open_ = max(100, close + rng.below(7) - 3)
        step = rng.below(41) - 20 + drift
        close = max(100, open_ + step)
        high = max(open_, close) + rng.below(6)
        low = max(1, min(open_, close) - rng.below(6))
        volume = 100 + rng.below(5_000)
        yield START + timedelta(minutes=i), open_, high, low, close, volume


def cents(value):
    return f"{value // 100}.{value % 100:02d}"


def write(count, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    with temp.open("w") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        for time, o, h, l, c, v in bars(count):
            out.write(f"{time:%Y-%m-%dT%H:%M:%SZ},{cents(o)},{cents(h)},{cents(l)},{cents(c)},{v}\n")
    temp.replace(path)  # never leave half a series behind


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.bars < 1:
        sys.exit("--bars must be at least 1")
    write(args.bars, args.out)


if __name__ == "__main__":
    main()
