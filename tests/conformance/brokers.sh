#!/usr/bin/env bash
# The broker adapters against mock servers generated from the brokers' OpenAPI
# documents (specs/: Alpaca's official trading and market-data specs, the
# Tradovate excerpt), which validate every request (Prism: a request that
# breaks the spec is answered 4xx/422 and fails the test).
set -euo pipefail
cd "$(dirname "$0")/../.."
PRISM=.cache/prism/node_modules/.bin/prism
if [ ! -x "$PRISM" ]; then
  echo "conformance: installing Prism into .cache/prism (npm)"
  mkdir -p .cache/prism
  (cd .cache/prism && { [ -f package.json ] || npm init -y >/dev/null; } && npm i --no-audit --no-fund @stoplight/prism-cli@5.14.2 >/dev/null)
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TRADING_PORT=$(free_port)
DATA_PORT=$(free_port)
TRADOVATE_PORT=$(free_port)
LOGS=$(mktemp -d)
"$PRISM" mock -h 127.0.0.1 -p "$TRADING_PORT" specs/alpaca-trading-api.json > "$LOGS/trading.log" 2>&1 &
TRADING_PID=$!
"$PRISM" mock -h 127.0.0.1 -p "$DATA_PORT" specs/alpaca-market-data-api.json > "$LOGS/data.log" 2>&1 &
DATA_PID=$!
"$PRISM" mock -h 127.0.0.1 -p "$TRADOVATE_PORT" specs/tradovate-openapi-excerpt.json > "$LOGS/tradovate.log" 2>&1 &
TRADOVATE_PID=$!
trap 'kill $TRADING_PID $DATA_PID $TRADOVATE_PID 2>/dev/null || true; rm -rf "$LOGS"' EXIT
for log in trading data tradovate; do
  for _ in $(seq 1 120); do
    grep -q "Prism is listening" "$LOGS/$log.log" && break
    sleep 0.5
  done
  grep -q "Prism is listening" "$LOGS/$log.log" || { echo "Prism ($log) did not start:"; cat "$LOGS/$log.log"; exit 1; }
done
export PRISM_TRADING_URL="http://127.0.0.1:$TRADING_PORT" PRISM_DATA_URL="http://127.0.0.1:$DATA_PORT"
export PRISM_TRADOVATE_URL="http://127.0.0.1:$TRADOVATE_PORT"
# --workspace: the same features as `cargo test --workspace`, so nothing is built twice.
${CARGO:-cargo} test --workspace --test alpaca_prism --test tradovate_prism -- --ignored --test-threads 1
