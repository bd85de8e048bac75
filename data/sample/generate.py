#!/usr/bin/env python3
"""Generate the bundled sample series (deterministic; re-running gives the same files).

spy-1m.csv: ten regular sessions (09:30-16:00 New York, DST-correct UTC stamps)
of SPY-like 1-minute bars around $600, with trending, ranging and volatile
days and a U-shaped intraday volume.
mnq-1m.csv: three CME Globex sessions (18:00-17:00 New York) of MNQ-like bars
around 21,000 on the 0.25 tick.

    python3 generate.py
"""
import csv
import math
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).parent
NY = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")


def sessions(start, days, open_t, minutes, skip_weekends=True, open_prev_day=False):
    d = start
    out = []
    while len(out) < days:
        if not skip_weekends or d.weekday() < 5:
            day = d - timedelta(days=1) if open_prev_day else d
            t0 = datetime.combine(day, open_t, NY)
            out.append([(t0 + timedelta(minutes=m)).astimezone(UTC) for m in range(minutes)])
        d += timedelta(days=1)
    return out


def series(seed, start_price, tick, vol, days):
    rng = random.Random(seed)
    price, rows = start_price, []
    styles = ["trend_up", "range", "volatile", "trend_down", "trend_up", "range", "trend_down", "volatile", "trend_up", "range"]
    for d, stamps in enumerate(days):
        style = styles[d % len(styles)]
        anchor = price
        n = len(stamps)
        for i, t in enumerate(stamps):
            sigma = vol * (2.5 if style == "volatile" else 1.0)
            drift = {"trend_up": 0.25, "trend_down": -0.25}.get(style, 0.0) * vol
            if style == "range":
                drift = (anchor - price) * 0.05
            o = price
            c = max(tick, o + drift + rng.gauss(0, sigma))
            h = max(o, c) + abs(rng.gauss(0, sigma * 0.6))
            l = max(tick, min(o, c) - abs(rng.gauss(0, sigma * 0.6)))
            q = lambda x: round(round(x / tick) * tick, 2)
            o, h, l, c = q(o), q(h), q(l), q(c)
            h, l = max(h, o, c), min(l, o, c)
            x = i / max(1, n - 1)
            u_shape = 1.0 + 3.0 * (2 * x - 1) ** 2  # heavy at the open and the close
            volume = int(rng.lognormvariate(math.log(800 * u_shape), 0.4))
            rows.append((t.strftime("%Y-%m-%dT%H:%M:%SZ"), o, h, l, c, volume))
            price = c
    return rows


def write(name, rows):
    with open(HERE / name, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for t, o, h, l, c, v in rows:
            w.writerow([t, f"{o:.2f}", f"{h:.2f}", f"{l:.2f}", f"{c:.2f}", v])


if __name__ == "__main__":
    spy_days = sessions(date(2026, 3, 2), 10, time(9, 30), 390)  # spans the 2026-03-08 DST switch
    write("spy-1m.csv", series(2026, 600.0, 0.01, 0.12, spy_days))
    mnq_days = sessions(date(2026, 3, 3), 3, time(18, 0), 23 * 60, open_prev_day=True)
    write("mnq-1m.csv", series(2027, 21000.0, 0.25, 4.0, mnq_days))
    print("wrote spy-1m.csv and mnq-1m.csv")
