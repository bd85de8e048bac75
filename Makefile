# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
NOISE := target/release/noise

.PHONY: run replay test build fmt lint unit bench bench-peers clean

## run: build NOISE and start paper trading: the engine with the simulated broker and the
## built-in market at 60x real time (one simulated minute a second). Ctrl-C stops it cleanly.
run: build
	@mkdir -p var
	$(NOISE) run --speed 60

## replay: the offline tools on the bundled samples (indicators and signals with provenance).
replay: build
	@mkdir -p var
	$(NOISE) indicators --input data/sample/spy-1m.csv --output var/spy-indicators.csv
	$(NOISE) signals --input data/sample/spy-1m.csv --symbol SPY --rejected > var/spy-signals.txt
	$(NOISE) signals --input data/sample/mnq-1m.csv --symbol MNQ --json > var/mnq-signals.jsonl
	@echo "Wrote var/spy-indicators.csv, var/spy-signals.txt and var/mnq-signals.jsonl. The first SPY signals:"
	@grep -A3 -m2 ' SIGNAL ' var/spy-signals.txt

build:
	$(CARGO) build --release -p noise-cli

## test: formatting, lints and every test the project has.
test: fmt lint unit

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

## bench: indicator throughput, side by side with TA-Lib (needs Python; installs ta-lib into .venv).
bench:
	python3 bench/indicators_vs_talib.py

## bench-peers: noise backtest next to backtrader and backtesting.py on one 1M-bar series: parity and bars/s.
bench-peers:
	python3 bench/peers/run.py

clean:
	$(CARGO) clean
	rm -rf var
