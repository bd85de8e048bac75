"""SMA-cross 10/30, long only, in the peer engines, for parity and speed.

The rule, the same in every engine (and in `noise backtest --strategy sma-cross`):
- at a bar's close, with d = SMA(fast) - SMA(slow) on closes, a cross up is
  d(previous bar) <= 0 < d(this bar); a cross down is d(previous) >= 0 > d(this);
- |d| below 1e-9 of the slow average counts as zero: a true non-zero d is at
  least one tick / lcm(fast, slow) (a cent / 30 for 10/30), far above that,
  while each engine's summation order leaves float noise around 1e-15 of the
  price, which otherwise turns exact ties into crosses in one engine and not
  in another;
- flat and a cross up: buy 100 units; long and a cross down: sell them;
- market orders fill at the next bar's open, no slippage, no commission; an
  order placed on the last bar never fills; a position open when the data
  ends stays open (it is not in the trade list).

Each engine prints one JSON object: engine, bars, load_ms, elapsed_ms (the
simulation, not the loading), bars_per_sec and the trades as
{symbol, side, qty, entry_time, entry_price, exit_time, exit_price, pnl, fees}
with times the open time of the bar the order filled in.

    python3 bench/peers/sma_cross.py backtrader target/peers/series-1m.csv
    python3 bench/peers/sma_cross.py backtesting target/peers/series-1m.csv
"""

import argparse
import json
import sys
import time
from pathlib import Path

QTY = 100
TIE = 1e-9  # of the slow average
SYMBOL = "SYN"


def load(path):
    import pandas as pd

    frame = pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")
    frame.index = frame.index.tz_convert(None)  # the peers want naive UTC
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    return frame


def iso(stamp):
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def trade(entry_time, entry_price, exit_time, exit_price):
    return {
        "symbol": SYMBOL,
        "side": "LONG",
        "qty": QTY,
        "entry_time": iso(entry_time),
        "entry_price": round(entry_price, 2),
        "exit_time": iso(exit_time),
        "exit_price": round(exit_price, 2),
        "pnl": round((exit_price - entry_price) * QTY, 2),
        "fees": 0.0,
    }


def snapped(difference, slow):
    """0 within TIE of the slow average: a tie (see the module doc)."""
    return 0.0 if abs(difference) < TIE * abs(slow) else difference


def cross(previous, current, previous_slow, slow):
    """+1 up, -1 down, 0 none (see the module doc)."""
    previous, current = snapped(previous, previous_slow), snapped(current, slow)
    if previous <= 0 < current:
        return 1
    if previous >= 0 > current:
        return -1
    return 0


def run_backtrader(frame, fast, slow):
    import backtrader as bt

    fills = []

    class SmaCross(bt.Strategy):
        def __init__(self):
            self.fast = bt.indicators.SMA(self.data.close, period=fast)
            self.slow = bt.indicators.SMA(self.data.close, period=slow)

        def next(self):
            if len(self) <= slow:  # the previous difference needs both averages
                return
            direction = cross(
                self.fast[-1] - self.slow[-1], self.fast[0] - self.slow[0], self.slow[-1], self.slow[0]
            )
            if direction > 0 and not self.position:
                self.buy(size=QTY)
            elif direction < 0 and self.position:
                self.sell(size=QTY)

        def notify_order(self, order):
            if order.status == order.Completed:
                when = bt.num2date(order.executed.dt)
                fills.append((when, order.executed.price, order.isbuy()))

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(1e12)
    cerebro.broker.setcommission(commission=0.0)
    started = time.perf_counter()
    cerebro.run()
    elapsed = time.perf_counter() - started
    trades = []
    for (entry_time, entry_price, is_buy), (exit_time, exit_price, _) in zip(fills[::2], fills[1::2]):
        assert is_buy, "long only: every round trip starts with a buy"
        trades.append(trade(entry_time, entry_price, exit_time, exit_price))
    return elapsed, trades


def run_backtesting(frame, fast, slow):
    import pandas as pd
    from backtesting import Backtest, Strategy

    def sma(values, period):
        return pd.Series(values).rolling(period).mean().to_numpy()

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self):
            if len(self.data) <= slow:
                return
            direction = cross(
                self.fast[-2] - self.slow[-2], self.fast[-1] - self.slow[-1], self.slow[-2], self.slow[-1]
            )
            if direction > 0 and not self.position:
                self.buy(size=QTY)
            elif direction < 0 and self.position:
                self.position.close()

    backtest = Backtest(frame, SmaCross, cash=1e12, commission=0.0, trade_on_close=False, finalize_trades=False)
    started = time.perf_counter()
    stats = backtest.run()
    elapsed = time.perf_counter() - started
    trades = [
        trade(row.EntryTime, row.EntryPrice, row.ExitTime, row.ExitPrice)
        for row in stats["_trades"].itertuples()
    ]
    return elapsed, trades


ENGINES = {"backtrader": run_backtrader, "backtesting": run_backtesting}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("data", type=Path)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data}: no such file (make one with bench/peers/series.py)")
    started = time.perf_counter()
    frame = load(args.data)
    load_ms = (time.perf_counter() - started) * 1e3
    elapsed, trades = ENGINES[args.engine](frame, args.fast, args.slow)
    json.dump(
        {
            "engine": args.engine,
            "bars": len(frame),
            "load_ms": round(load_ms, 1),
            "elapsed_ms": round(elapsed * 1e3, 1),
            "bars_per_sec": round(len(frame) / elapsed),
            "trades": trades,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
