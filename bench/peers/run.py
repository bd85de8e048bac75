"""SMA-cross 10/30 in every peer engine on one series: trade-list parity and bars/s.

Generates the deterministic series (bench/peers/series.py) once under
target/peers/, runs each engine in its own process (so memory and import costs
do not leak between them), checks that every engine produced the same trade
list and prints a side-by-side table. backtrader and backtesting.py are
installed from PyPI into ./.venv when missing.

    python3 bench/peers/run.py              # 1,000,000 bars (backtrader takes about a minute)
    python3 bench/peers/run.py --bars 20000 # a quick look

`noise backtest --strategy sma-cross` joins this table with issue 6's command.
"""

import argparse
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
    path = ROOT / "target" / "peers" / f"series-{bars}.csv"
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


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"trade {i}: {x} vs {y}"
    return f"lengths {len(a)} vs {len(b)}" if len(a) != len(b) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args()
    python = venv_python()
    data = series(args.bars)
    reports = []
    for engine in PEERS:
        print(f"running {engine} ...", file=sys.stderr)
        reports.append(run_peer(python, engine, data))

    print(f"SMA-cross 10/30, long only, 100 units, next-open fills, no costs; {args.bars:,} bars\n")
    print("| engine | trades | simulation ms | bars/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for r in reports:
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] is not None else "n/a"
        print(f"| {r['engine']} | {len(r['trades'])} | {r['elapsed_ms']:,.0f} | {r['bars_per_sec']:,} | {peak} |")
    reference = reports[0]
    mismatches = [
        f"{r['engine']} differs from {reference['engine']}: {diff}"
        for r in reports[1:]
        if (diff := first_difference(reference["trades"], r["trades"]))
    ]
    if mismatches:
        sys.exit("\n".join(mismatches))
    print(f"\ntrade lists identical across {', '.join(r['engine'] for r in reports)}")


if __name__ == "__main__":
    main()
