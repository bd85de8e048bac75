# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
NOISE := target/release/noise

.PHONY: run replay test build dashboard fmt lint unit conformance e2e bench bench-peers bench-api clean

# The dashboard's build is redone only when its sources change; its packages
# only when the lock file does.
DASHBOARD_DEPS := dashboard/node_modules/.package-lock.json
DASHBOARD_BUILD := dashboard/dist/index.html
DASHBOARD_SOURCES := $(shell find dashboard/src dashboard/public -type f 2>/dev/null) \
	dashboard/index.html dashboard/vite.config.ts dashboard/tsconfig.json dashboard/package.json

## run: build NOISE and its dashboard and start paper trading: the engine with the simulated
## broker and the built-in market at 60x real time (one simulated minute a second), the
## dashboard at http://127.0.0.1:8080/ (the token is printed once). Ctrl-C stops it cleanly.
run: build dashboard
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

## dashboard: the web dashboard (React + TypeScript + Vite) into dashboard/dist.
dashboard: $(DASHBOARD_BUILD)

$(DASHBOARD_DEPS): dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	@touch $@

$(DASHBOARD_BUILD): $(DASHBOARD_DEPS) $(DASHBOARD_SOURCES)
	cd dashboard && npm run build

## test: formatting, lints and every test the project has (the browser tests need
## Chromium at /usr/bin/chromium: `apt-get install -y chromium`; .ci/run installs it).
test: fmt lint unit conformance e2e

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

## conformance: the broker adapters against Prism mocks of the brokers' OpenAPI documents
## (specs/), which validate every request (Prism is installed into .cache/ by npm).
conformance:
	CARGO=$(CARGO) bash tests/conformance/brokers.sh

## e2e: the dashboard's unit tests, then the browser tests: headless Chromium against
## `noise run` serving the built dashboard while the simulated market trades.
e2e: dashboard
	$(CARGO) build -p noise-cli
	cd dashboard && NOISE_BIN=../target/debug/noise npm test

## bench: indicator throughput, side by side with TA-Lib (needs Python; installs ta-lib into .venv).
bench:
	python3 bench/indicators_vs_talib.py

## bench-peers: noise backtest next to backtrader and backtesting.py on one 1M-bar series: parity and bars/s.
bench-peers:
	python3 bench/peers/run.py

## bench-api: /api/positions and /api/trades under 1,000 requests/s with wrk while the engine
## trades, on a database of a million trades (needs wrk: apt-get install -y wrk).
bench-api:
	python3 bench/api/run.py

clean:
	$(CARGO) clean
	rm -rf var dashboard/dist dashboard/node_modules
