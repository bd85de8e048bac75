# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
NOISE := target/release/noise

.PHONY: run test build fmt lint unit bench clean

## run: build NOISE and run the main job (for now: indicators and signals on the bundled sample).
run: build
	@mkdir -p var
	$(NOISE) config check > var/effective-config.toml
	@echo "Effective configuration (defaults filled in): var/effective-config.toml"
	$(NOISE) indicators --input data/sample/spy-1m.csv --output var/spy-indicators.csv
	@echo "Wrote var/spy-indicators.csv ($$(($$(wc -l < var/spy-indicators.csv) - 1)) rows). First values after warm-up:"
	@sed -n '1p;36,38p' var/spy-indicators.csv
	$(NOISE) signals --input data/sample/spy-1m.csv --symbol SPY --rejected > var/spy-signals.txt
	$(NOISE) signals --input data/sample/mnq-1m.csv --symbol MNQ --json > var/mnq-signals.jsonl
	@echo "Signals with provenance: var/spy-signals.txt (with rejected candidates), var/mnq-signals.jsonl. The first SPY signals:"
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

clean:
	$(CARGO) clean
	rm -rf var
