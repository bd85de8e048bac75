# The two commands a newcomer needs: `make run` and `make test`.
CARGO ?= cargo
NOISE := target/release/noise

.PHONY: run test build fmt lint unit bench clean

## run: build NOISE and run the main job (for now: indicators on the bundled sample).
run: build
	@mkdir -p var
	$(NOISE) indicators --input data/sample/spy-1m.csv --output var/spy-indicators.csv
	@echo "Wrote var/spy-indicators.csv ($$(($$(wc -l < var/spy-indicators.csv) - 1)) rows). First values after warm-up:"
	@sed -n '1p;36,38p' var/spy-indicators.csv
	$(NOISE) config check

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
