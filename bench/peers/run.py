"""SMA-cross 10/30 in NOISE and in every peer engine on one series: trade-list parity and bars/s.

Generates the deterministic series (bench/peers/series.py) once under
target/peers/ (named syn-<bars>.csv, so NOISE reads its symbol as SYN), runs
each engine in its own process (so memory and import costs do not leak between
them), checks that every engine produced the same trade list and prints a
side-by-side table. NOISE runs `noise backtest` (the release build, made
first) twice: SMA-cross on the peers' terms (--risk off --qty 100
--long-only, no costs), and the full weighted pipeline with every risk check;
each NOISE run is repeated and its median taken. backtrader and backtesting.py
are installed from PyPI into ./.venv when missing.

    python3 bench/peers/run.py              # 1,000,000 bars (backtrader takes about a minute)
    python3 bench/peers/run.py --bars 20000 # a quick look
"""

import argparse
from decimal import Decimal
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT / ".venv"
PEERS = ["backtesting", "backtrader"]


def venv_python():
    """A Python that has the peers, installing them into ./.venv when missing."""
    probe = "import backtrader, backtesting, pandas"
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0:
        return sys.executable
    python = VENV / "bin" / "python3"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
    if subprocess.run([str(python), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "backtrader", "backtesting", "pandas"], check=True)
    return str(python)


def series(bars):
    path = ROOT / "target" / "peers" / f"syn-{bars}.csv"
    if not path.exists():
        print(f"generating {bars:,} bars into {path.relative_to(ROOT)} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "series.py"), "--bars", str(bars), "--out", str(path)], check=True)
    return path


def run_peer(python, engine, data):
    """The engine's JSON report, with its peak memory from /usr/bin/time when available."""
    command = [python, "-W", "ignore", str(HERE / "sma_cross.py"), engine, str(data)]
    timed = Path("/usr/bin/time").exists()
    if timed:
        command = ["/usr/bin/time", "-f", "maxrss_kb=%M", *command]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if done.returncode != 0:
        sys.exit(f"{engine} failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    rss = [line for line in done.stderr.splitlines() if line.startswith("maxrss_kb=")]
    report["peak_mb"] = int(rss[-1].split("=")[1]) / 1024 if rss else None
    return report


NOISE = ROOT / "target" / "release" / "noise"
SMA_CROSS = [
    "--strategy", "sma-cross --fast 10 --slow 30", "--qty", "100", "--risk", "off", "--long-only",
    "--slippage-ticks", "0", "--commission-per-share", "0",
]


def build_noise():
    print("building noise (release) ...", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "noise-cli"], cwd=ROOT, check=True)


def run_noise(name, data, flags, runs):
    """The median of `runs` runs of `noise backtest` (by simulation time), with the largest peak RSS."""
    out = ROOT / "target" / "peers" / f"{name}.json"
    reports = []
    for _ in range(runs):
        command = [str(NOISE), "backtest", "--data", str(data), *flags, "--json", str(out), "--no-store", "--quiet"]
        if Path("/usr/bin/time").exists():
            command = ["/usr/bin/time", "-f", "maxrss_kb=%M", *command]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{name} failed:\n{done.stdout}\n{done.stderr}")
        report = json.loads(out.read_text())
        rss = [line for line in done.stderr.splitlines() if line.startswith("maxrss_kb=")]
        report["peak_mb"] = int(rss[-1].split("=")[1]) / 1024 if rss else None
        del report["equity_curve"]  # a million points: not needed here
        reports.append(report)
    reports.sort(key=lambda r: r["elapsed_ms"])
    median = reports[len(reports) // 2]
    peaks = [r["peak_mb"] for r in reports if r["peak_mb"] is not None]
    median["peak_mb"] = max(peaks) if peaks else None
    median["engine"] = name
    median["runs"] = runs
    return median


def normalised(trades):
    """Trades with exact decimals (NOISE writes strings, the peers floats rounded to cents)."""
    fields = ["entry_time", "exit_time", "side"]
    numbers = ["qty", "entry_price", "exit_price", "pnl", "fees"]
    return [
        {**{f: t[f] for f in fields}, **{n: Decimal(str(t[n])) for n in numbers}}
        for t in trades
    ]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"trade {i}: {x} vs {y}"
    return f"lengths {len(a)} vs {len(b)}" if len(a) != len(b) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="NOISE runs per mode (the median is shown)")
    args = parser.parse_args()
    python = venv_python()
    data = series(args.bars)
    build_noise()
    reports = []
    print("running noise sma-cross ...", file=sys.stderr)
    reports.append(run_noise("noise sma-cross", data, SMA_CROSS, args.runs))
    print("running noise full pipeline ...", file=sys.stderr)
    full = run_noise("noise full pipeline", data, ["--qty", "100"], args.runs)
    for engine in PEERS:
        print(f"running {engine} ...", file=sys.stderr)
        reports.append(run_peer(python, engine, data))

    print(f"SMA-cross 10/30, long only, 100 units, next-open fills, no costs; {args.bars:,} bars")
    print(f"(NOISE: median of {args.runs} runs; the full pipeline runs every risk check, fixed 100 units)\n")
    print("| engine | trades | simulation ms | bars/s | vs backtrader | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    baseline = next(r for r in reports if r["engine"] == "backtrader")["bars_per_sec"]
    for r in [*reports[:1], full, *reports[1:]]:
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] is not None else "n/a"
        ratio = r["bars_per_sec"] / baseline if baseline else float("nan")
        print(
            f"| {r['engine']} | {len(r['trades'])} | {r['elapsed_ms']:,.1f} | {r['bars_per_sec']:,.0f} "
            f"| {ratio:,.1f}× | {peak} |"
        )
    reference = reports[0]
    mismatches = [
        f"{r['engine']} differs from {reference['engine']}: {diff}"
        for r in reports[1:]
        if (diff := first_difference(normalised(reference["trades"]), normalised(r["trades"])))
    ]
    if mismatches:
        sys.exit("\n".join(mismatches))
    print(f"\ntrade lists identical across {', '.join(r['engine'] for r in reports)}")


if __name__ == "__main__":
    main()
