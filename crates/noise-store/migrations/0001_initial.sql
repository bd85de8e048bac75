-- NOISE schema v1: the seed's tables. Money and quantities are exact decimal
-- TEXT; times are RFC 3339 UTC TEXT; provenance is JSON TEXT.

CREATE TABLE signals (
    id           INTEGER PRIMARY KEY,
    time         TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    timeframe    TEXT NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
    strength     REAL NOT NULL,
    entry        TEXT NOT NULL,
    stop_loss    TEXT NOT NULL,
    take_profit  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('signal', 'rejected')),
    reason       TEXT,
    regime       TEXT NOT NULL,
    components   TEXT NOT NULL,
    filters      TEXT NOT NULL
);
CREATE INDEX signals_time ON signals (time);
CREATE INDEX signals_symbol_time ON signals (symbol, time);

-- Every order, written before the broker is called (write-ahead).
CREATE TABLE trades (
    id                  INTEGER PRIMARY KEY,
    client_order_id     TEXT NOT NULL UNIQUE,
    broker              TEXT NOT NULL,
    broker_order_id     TEXT,
    symbol              TEXT NOT NULL,
    side                TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    intent              TEXT NOT NULL CHECK (intent IN ('entry', 'exit')),
    quantity            TEXT NOT NULL,
    order_type          TEXT NOT NULL,
    limit_price         TEXT,
    stop_loss           TEXT,
    take_profit         TEXT,
    status              TEXT NOT NULL,
    filled_quantity     TEXT NOT NULL DEFAULT '0',
    average_fill_price  TEXT,
    fees                TEXT NOT NULL DEFAULT '0',
    signal_id           INTEGER REFERENCES signals (id),
    risk_decision       TEXT,
    error               TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX trades_created ON trades (created_at);
CREATE INDEX trades_symbol_created ON trades (symbol, created_at);
CREATE INDEX trades_status ON trades (status);

CREATE TABLE positions (
    symbol          TEXT PRIMARY KEY,
    broker          TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    average_price   TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Closed round trips.
CREATE TABLE trade_history (
    id                INTEGER PRIMARY KEY,
    symbol            TEXT NOT NULL,
    side              TEXT NOT NULL CHECK (side IN ('LONG', 'SHORT')),
    quantity          TEXT NOT NULL,
    entry_price       TEXT NOT NULL,
    exit_price        TEXT NOT NULL,
    entry_time        TEXT NOT NULL,
    exit_time         TEXT NOT NULL,
    realized_pnl      TEXT NOT NULL,
    fees              TEXT NOT NULL,
    duration_seconds  INTEGER NOT NULL
);
CREATE INDEX trade_history_exit ON trade_history (exit_time);

-- The single row of risk state (the serialized RiskState).
CREATE TABLE risk_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE daily_metrics (
    date              TEXT PRIMARY KEY,
    starting_equity   TEXT NOT NULL,
    ending_equity     TEXT NOT NULL,
    realized_pnl      TEXT NOT NULL,
    trades            INTEGER NOT NULL,
    wins              INTEGER NOT NULL,
    losses            INTEGER NOT NULL,
    fees              TEXT NOT NULL
);

CREATE TABLE equity_curve (
    time            TEXT PRIMARY KEY,
    equity          TEXT NOT NULL,
    cash            TEXT NOT NULL,
    unrealized_pnl  TEXT NOT NULL
);

-- Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_type ON audit_log (event_type, time);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
