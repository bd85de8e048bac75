#!/usr/bin/env python3
"""Load benchmark of the API while the engine trades (issue 7).

Builds the release binary, seeds a database with a million closed trades,
starts `noise run` on it (the simulated market at 60x: the engine trades
every simulated minute), then drives each endpoint with wrk from loopback at
a fixed rate (default 1,000 requests/s: 20 connections, each pausing 19 ms
between requests) and reports the latency percentiles wrk measured. Checks
that every answer was a 200 and that the engine kept trading meanwhile.

    python3 bench/api/run.py [--seconds 30] [--trades 1000000] [--rate 1000]

Needs wrk (Debian: apt-get install -y wrk).
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOISE = ROOT / "target" / "release" / "noise"
ENDPOINTS = ["/api/positions", "/api/trades?limit=100"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_trades(db, count):
    """A million closed round trips, as the engine writes them, before the run."""
    conn = sqlite3.connect(db)
    start = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
    rng = random.Random(7)
    symbols = ["SPY", "QQQ", "TQQQ", "SOXL", "MNQ", "MES", "M2K", "MCL", "MGC"]

    futures = {"MNQ", "MES", "M2K", "MCL", "MGC"}

    def rows():
        for i in range(count):
            entry = start + timedelta(minutes=i)
            exit_ = entry + timedelta(minutes=rng.randint(1, 30))
            pnl = rng.randint(-50_000, 60_000) / 100
            symbol = symbols[i % len(symbols)]
            yield (
                symbol, "future" if symbol in futures else "equity", "LONG" if i % 2 else "SHORT",
                str(rng.randint(1, 200)), "100.25", "101.50",
                entry.strftime("%Y-%m-%dT%H:%M:%S.000Z"), exit_.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                f"{pnl + 1.24:.2f}", "1.24", f"{pnl:.2f}", int((exit_ - entry).total_seconds()),
                "sim", f"BENCH-IN-{i}", f"BENCH-OUT-{i}",
            )

    with conn:
        conn.executemany(
            "INSERT INTO trade_history (symbol, asset_class, side, quantity, entry_price, exit_price, entry_time,"
            " exit_time, gross_pnl, fees, realized_pnl, duration_seconds, broker, entry_fill_id, exit_fill_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows(),
        )
    conn.close()


def api(port, token, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    return body, (time.perf_counter() - started) * 1000


def wrk(port, token, path, seconds, connections, delay_ms):
    env = dict(os.environ, NOISE_API_TOKEN=token, NOISE_DELAY_MS=str(delay_ms))
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "2s",
         "-s", str(ROOT / "bench" / "api" / "load.lua"), f"http://127.0.0.1:{port}{path}"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    line = next(l for l in out.splitlines() if l.startswith("NOISE "))
    figures = dict(kv.split("=") for kv in line.split()[1:])
    return {k: int(v) for k, v in figures.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="per endpoint")
    parser.add_argument("--trades", type=int, default=1_000_000, help="closed trades seeded")
    parser.add_argument("--rate", type=int, default=1000, help="requests per second")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "noise-cli"], cwd=ROOT, check=True)

    work = Path(tempfile.mkdtemp(prefix="noise-bench-api-"))
    db = work / "noise.db"
    subprocess.run([NOISE, "migrate", "--db", db], check=True, capture_output=True)
    started = time.perf_counter()
    seed_trades(db, args.trades)
    print(f"seeded {args.trades:,} closed trades in {time.perf_counter() - started:.1f} s ({db.stat().st_size / 1e6:.0f} MB)")

    port, token = free_port(), "bench-token-" + os.urandom(8).hex()
    engine = subprocess.Popen(
        [NOISE, "run", "--speed", "60", "--db", db, "--sim-state", work / "sim.json",
         "--api-addr", f"127.0.0.1:{port}", "--dashboard", work / "no-dashboard"],
        env=dict(os.environ, NOISE_API_TOKEN=token), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                api(port, token, "/api/status")
                break
            except OSError:
                time.sleep(0.1)
        _, first_summary_ms = api(port, token, "/api/metrics/summary")
        print(f"first /api/metrics/summary over {args.trades:,} trades: {first_summary_ms:.0f} ms (then incremental)")
        time.sleep(5)  # the engine opens positions within a few simulated minutes
        connections = 20
        delay_ms = max(1, round(connections * 1000 / args.rate) - 1)
        results = []
        for path in ENDPOINTS:
            before, _ = api(port, token, "/api/metrics/summary")
            audit_before, _ = api(port, token, "/api/audit?limit=1")
            figures = wrk(port, token, path, args.seconds, connections, delay_ms)
            after, _ = api(port, token, "/api/metrics/summary")
            audit_after, _ = api(port, token, "/api/audit?limit=1")
            events = audit_after["items"][0]["id"] - audit_before["items"][0]["id"]
            closed = after["trades"] - before["trades"]
            rate = figures["requests"] / args.seconds
            results.append((path, rate, figures, events, closed))
        if engine.poll() is not None:
            sys.exit("the engine stopped during the benchmark: " + engine.stderr.read().decode())
    finally:
        engine.send_signal(signal.SIGINT)
        try:
            engine.wait(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nwrk, {connections} connections at a fixed pace, {args.seconds} s per endpoint, "
          f"engine trading at 60x on a DB of {args.trades:,} trades:")
    print(f"{'endpoint':<24} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'non-200':>8} "
          f"{'audit events':>13} {'trades closed':>14}")
    failed = False
    for path, rate, f, events, closed in results:
        print(f"{path:<24} {rate:>8.0f} {f['p50']/1000:>8.2f} {f['p90']/1000:>8.2f} {f['p99']/1000:>8.2f} "
              f"{f['max']/1000:>8.2f} {f['errors']:>8} {events:>13} {closed:>14}")
        failed |= f["errors"] > 0 or f["p99"] >= 5000 or rate < 0.95 * args.rate or events == 0
    print("\ntarget: p99 < 5 ms at", args.rate, "requests/s while the engine trades:", "MISSED" if failed else "met")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
