#!/usr/bin/env python3
"""Generate the TA-Lib golden fixtures for NOISE's indicator tests.

Makes deterministic bar series (committed as <name>.bars.csv), feeds them to
TA-Lib through the `ta-lib` package from PyPI, and writes the reference values:
  <name>.talib.csv      TA-Lib defaults, in exactly the columns of `noise indicators`
  <name>.talib-alt.csv  the same functions with other periods (see ALT below)
An empty cell is where TA-Lib returns NaN (its warm-up).

Prices are written as decimal text and TA-Lib is fed float(text), the same
values NOISE reads, so the comparison tests arithmetic, not parsing.

    pip install ta-lib numpy && python3 generate.py
"""
import csv
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import talib

HERE = Path(__file__).parent
N = 3000
ALT = dict(rsi=7, fast=5, slow=35, signal=5, bb=10, dev=1.5, atr=5, adx=9, sma=3, ema=50)


def walk(seed, n, start, tick, vol, decimals):
    """Random walk with trending, ranging and volatile stretches."""
    rng = random.Random(seed)
    rows, close = [], start
    for i in range(n):
        phase = (i // 250) % 4  # up-trend, range, volatile, down-trend
        drift = {0: 0.3, 1: 0.0, 2: 0.0, 3: -0.3}[phase] * vol
        sigma = vol * (3.0 if phase == 2 else 1.0)
        if phase == 1:
            drift = (start - close) * 0.02  # pulls back to the mean: a range
        open_ = close
        close = max(tick, open_ + drift + rng.gauss(0, sigma))
        high = max(open_, close) + abs(rng.gauss(0, sigma / 2))
        low = max(tick, min(open_, close) - abs(rng.gauss(0, sigma / 2)))
        q = lambda x: round(round(x / tick) * tick, decimals)
        o, h, l, c = q(open_), q(high), q(low), q(close)
        h, l = max(h, o, c), min(l, o, c)
        l = max(l, tick)
        volume = int(rng.lognormvariate(7, 0.6)) if rng.random() > 0.02 else 0
        rows.append((o, h, l, c, volume))
        close = c
    return rows


def edge_cases(n):
    """Flat stretches, constant bars, zero volume, a gap jump, tiny prices."""
    rng = random.Random(7)
    rows, price = [], 0.5
    for i in range(n):
        segment = i // 150
        if segment % 3 == 1:  # perfectly flat, no trading
            rows.append((price, price, price, price, 0))
            continue
        if i % 600 == 599:
            price *= 8  # a gap jump
        o = price
        c = max(0.0001, o + rng.choice([-1, 0, 0, 1]) * 0.0001 * rng.randint(0, 30))
        h = max(o, c) + 0.0001 * rng.randint(0, 5)
        l = max(0.0001, min(o, c) - 0.0001 * rng.randint(0, 5))
        rows.append((round(o, 4), round(h, 4), round(l, 4), round(c, 4), rng.choice([0, 0, 100, 2500])))
        price = round(c, 4)
    return rows


def stamps(kind, n):
    t0 = datetime(2026, 1, 5, 14, 30, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        t = t0 + timedelta(minutes=i + (i // 390) * (1440 - 390))  # sessions of 390 minutes
        if kind == "rfc3339":
            out.append(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif kind == "seconds":
            out.append(str(int(t.timestamp())))
        else:
            out.append(str(int(t.timestamp()) * 1000))
    return out


def fmt(x, decimals):
    return f"{x:.{decimals}f}"


def cell(v):
    return "" if math.isnan(v) else repr(float(v))


def write(name, rows, ts_kind, decimals):
    ts = stamps(ts_kind, len(rows))
    text_rows = [(fmt(o, decimals), fmt(h, decimals), fmt(l, decimals), fmt(c, decimals), str(v)) for o, h, l, c, v in rows]
    with open(HERE / f"{name}.bars.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for t, r in zip(ts, text_rows):
            w.writerow([t, *r])
    o, h, l, c, v = (np.array([float(r[i]) for r in text_rows]) for i in range(5))

    macd, signal, hist = talib.MACD(c, 12, 26, 9)
    up, mid, lo = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    columns = {
        "rsi_14": talib.RSI(c, 14), "macd": macd, "macd_signal": signal, "macd_hist": hist,
        "bb_upper": up, "bb_middle": mid, "bb_lower": lo, "atr_14": talib.ATR(h, l, c, 14),
        "adx_14": talib.ADX(h, l, c, 14), "plus_di_14": talib.PLUS_DI(h, l, c, 14),
        "minus_di_14": talib.MINUS_DI(h, l, c, 14), "obv": talib.OBV(c, v),
        "sma_20": talib.SMA(c, 20), "ema_20": talib.EMA(c, 20),
    }
    dump(HERE / f"{name}.talib.csv", ts, columns)

    a = ALT
    macd, signal, hist = talib.MACD(c, a["fast"], a["slow"], a["signal"])
    up, mid, lo = talib.BBANDS(c, a["bb"], a["dev"], a["dev"], 0)
    alt = {
        "rsi": talib.RSI(c, a["rsi"]), "macd": macd, "macd_signal": signal, "macd_hist": hist,
        "bb_upper": up, "bb_middle": mid, "bb_lower": lo, "atr": talib.ATR(h, l, c, a["atr"]),
        "adx": talib.ADX(h, l, c, a["adx"]), "plus_di": talib.PLUS_DI(h, l, c, a["adx"]),
        "minus_di": talib.MINUS_DI(h, l, c, a["adx"]), "sma": talib.SMA(c, a["sma"]),
        "ema": talib.EMA(c, a["ema"]), "trange": talib.TRANGE(h, l, c),
    }
    dump(HERE / f"{name}.talib-alt.csv", ts, alt)


def dump(path, ts, columns):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", *columns])
        for i, t in enumerate(ts):
            w.writerow([t, *(cell(col[i]) for col in columns.values())])


if __name__ == "__main__":
    write("mnq", walk(11, N, 20000.0, 0.25, 6.0, 2), "seconds", 2)
    write("spy", walk(23, N, 500.0, 0.01, 0.15, 2), "rfc3339", 2)
    write("edge", edge_cases(N), "millis", 4)
    (HERE / "TALIB_VERSION").write_text(f"ta-lib (PyPI) {talib.__version__}, TA-Lib C {talib.__ta_version__.decode()}\n")
    print("wrote", sorted(p.name for p in HERE.glob("*.csv")))
