#!/usr/bin/env python3
"""NOISE's indicators against TA-Lib's C code, on the same 1,000,000 bars, in one run.

Runs `cargo bench -p noise-core --bench indicators` (divan), rebuilds the bench's
deterministic series bit for bit in Python, times the TA-Lib functions on it
(`ta-lib` from PyPI, which bundles TA-Lib's C library; median of 15 runs, output
allocation included, as in our batch path), and prints a Markdown table of
ns per bar. With --write, also stores it in docs/BENCHMARKS.md.

    python3 bench/indicators_vs_talib.py [--write]

Installs ta-lib and numpy into ./.venv when they are missing.

Both processes run with the same glibc malloc tunables, which keep the
8-40 MB buffers on the heap: otherwise each fresh output array is mmapped
and page-faulted anew, a cost that depends on the allocator's history rather
than on either library (numpy happens to reach the heap state on its own).
"""
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARS = 1_000_000
VENV = ROOT / ".venv"


TUNABLES = "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=536870912"


def ensure_environment():
    """Re-executes under the shared malloc tunables (and the venv if needed)."""
    if os.environ.get("GLIBC_TUNABLES") != TUNABLES:
        os.environ["GLIBC_TUNABLES"] = TUNABLES
        os.execv(sys.executable, [sys.executable, *sys.argv])


def ensure_talib():
    try:
        import numpy  # noqa: F401
        import talib  # noqa: F401
        return
    except ImportError:
        pass
    python = VENV / "bin" / "python3"
    if os.environ.get("NOISE_BENCH_IN_VENV") != "1":
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "ta-lib", "numpy"], check=True)
        os.environ["NOISE_BENCH_IN_VENV"] = "1"
        os.execv(str(python), [str(python), *sys.argv])
    sys.exit("ta-lib could not be installed")


def series():
    """The bench's xorshift walk (crates/noise-core/benches/indicators.rs), bit for bit."""
    mask = (1 << 64) - 1
    state = 0x9E3779B97F4A7C15
    two53 = float(1 << 53)

    def uniform():
        nonlocal state
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        return (state >> 11) / two53

    o, h, l, c, v = [], [], [], [], []
    close = 100.0
    for _ in range(BARS):
        op = close
        close = max(1.0, op + (uniform() - 0.5) * 2.0)
        hi = max(op, close) + uniform()
        lo = max(0.5, min(op, close) - uniform())
        vol = float(int(uniform() * 1000.0))
        o.append(op), h.append(hi), l.append(lo), c.append(close), v.append(vol)
    return o, h, l, c, v


UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_divan():
    env = dict(os.environ)
    out = subprocess.run(
        ["cargo", "bench", "-p", "noise-core", "--bench", "indicators"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout
    results, group = {}, None
    for line in out.splitlines():
        m = re.match(r"^[├╰]─ (\S+)\s+(?:([\d.]+) (\S+)\s+│\s+[\d.]+ \S+\s+│\s+([\d.]+) (\S+))?", line)
        if m:
            group = m.group(1)
            if m.group(4):
                results[(group, "streaming")] = float(m.group(4)) * UNITS[m.group(5)]
            continue
        m = re.match(r"^│?\s+[├╰]─ (batch|streaming)\s+[\d.]+ \S+\s+│\s+[\d.]+ \S+\s+│\s+([\d.]+) (\S+)", line)
        if m and group:
            results[(group, m.group(1))] = float(m.group(2)) * UNITS[m.group(3)]
    return results


def time_talib(fn, runs=15):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) * 1e-9


def main():
    ensure_environment()
    ensure_talib()
    import numpy as np
    import talib

    print("building and running cargo bench (divan)...", file=sys.stderr)
    ours = run_divan()
    print("timing TA-Lib on the same series...", file=sys.stderr)
    o, h, l, c, v = (np.array(x) for x in series())
    talib_fns = {
        "sma_20": lambda: talib.SMA(c, 20),
        "ema_20": lambda: talib.EMA(c, 20),
        "rsi_14": lambda: talib.RSI(c, 14),
        "macd_12_26_9": lambda: talib.MACD(c, 12, 26, 9),
        "bbands_20_2": lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0),
        "atr_14": lambda: talib.ATR(h, l, c, 14),
        "adx_14": lambda: talib.ADX(h, l, c, 14),
        "plus_minus_di_14": lambda: (talib.PLUS_DI(h, l, c, 14), talib.MINUS_DI(h, l, c, 14)),
        "obv": lambda: talib.OBV(c, v),
    }
    rows = []
    for name in [
        "sma_20", "ema_20", "rsi_14", "macd_12_26_9", "bbands_20_2", "atr_14", "adx_14",
        "plus_minus_di_14", "obv", "volume_ratio_20", "atr_percentile_14_100",
    ]:
        theirs = time_talib(talib_fns[name]) if name in talib_fns else None
        s, b = ours.get((name, "streaming")), ours.get((name, "batch"))
        ns = lambda secs: f"{secs / BARS * 1e9:.2f}" if secs is not None else "n/a"
        ratio = f"{theirs / b:.2f}×" if (theirs and b) else "n/a (not in TA-Lib)"
        rows.append(f"| {name} | {ns(s)} | {ns(b)} | {ns(theirs)} | {ratio} |")
    set_ns = ours.get(("indicator_set_streaming", "streaming"))

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(x.split(":", 1)[1].strip() for x in open("/proc/cpuinfo") if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    table = "\n".join([
        "| indicator | NOISE streaming ns/bar | NOISE batch ns/bar | TA-Lib ns/bar | TA-Lib time ÷ NOISE batch |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ])
    report = (
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu} ({os.cpu_count()} cores), {BARS:,} bars, "
        f"median of 15 runs each; TA-Lib {talib.__ta_version__.decode().split()[0]} via ta-lib {talib.__version__} "
        f"(PyPI), called from Python with the arrays prepared (output allocation included on both sides).\n\n"
        f"{table}\n\n"
        f"All indicators together (`IndicatorSet`, streaming, as the signal pipeline uses them): "
        f"{set_ns / BARS * 1e9:.1f} ns/bar.\n" if set_ns else f"{table}\n"
    )
    print(report)
    if "--write" in sys.argv:
        doc = ROOT / "docs" / "BENCHMARKS.md"
        text = doc.read_text() if doc.exists() else "# Benchmarks\n"
        start, end = "<!-- indicators:start -->", "<!-- indicators:end -->"
        block = f"{start}\n{report}{end}"
        if start in text:
            text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
        else:
            text += f"\n## Indicators vs TA-Lib\n\nReproduce with `make bench` (`bench/indicators_vs_talib.py`).\n\n{block}\n"
        doc.write_text(text)
        print(f"wrote {doc}", file=sys.stderr)


if __name__ == "__main__":
    main()
