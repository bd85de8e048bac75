-- The ledger: fills are the one source of positions, lots, round trips, fees
-- and realized P&L.

-- Every execution a broker reported (or reconciliation booked), once: the
-- same broker and fill id cannot be recorded twice. Facts are never
-- rewritten: the triggers refuse UPDATE and DELETE.
CREATE TABLE fills (
    id               INTEGER PRIMARY KEY,
    broker           TEXT NOT NULL CHECK (broker IN ('sim', 'alpaca', 'tradovate')),
    fill_id          TEXT NOT NULL,
    client_order_id  TEXT,
    -- A bracket leg's fill: the entry order whose lots it closes first.
    protects         TEXT,
    symbol           TEXT NOT NULL,
    side             TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity         TEXT NOT NULL,
    price            TEXT NOT NULL,
    fee              TEXT NOT NULL,
    time             TEXT NOT NULL,
    -- 1: booked by reconciliation to make the ledger agree with the broker.
    reconciled       INTEGER NOT NULL DEFAULT 0 CHECK (reconciled IN (0, 1)),
    recorded_at      TEXT NOT NULL,
    UNIQUE (broker, fill_id)
);
CREATE INDEX fills_order ON fills (client_order_id);
CREATE INDEX fills_symbol_time ON fills (symbol, time);
CREATE TRIGGER fills_no_update BEFORE UPDATE ON fills
BEGIN
    SELECT RAISE(ABORT, 'fills are facts: UPDATE refused');
END;
CREATE TRIGGER fills_no_delete BEFORE DELETE ON fills
BEGIN
    SELECT RAISE(ABORT, 'fills are facts: DELETE refused');
END;
CREATE TRIGGER fills_audit AFTER INSERT ON fills
BEGIN
    INSERT INTO audit_log (time, event_type, actor, details) VALUES (
        NEW.recorded_at,
        CASE NEW.reconciled WHEN 1 THEN 'fill_reconciled' ELSE 'fill' END,
        'engine',
        json_object('broker', NEW.broker, 'fill_id', NEW.fill_id, 'client_order_id', NEW.client_order_id,
                    'symbol', NEW.symbol, 'side', NEW.side, 'quantity', NEW.quantity, 'price', NEW.price,
                    'fee', NEW.fee, 'time', NEW.time));
END;

-- Round trips recorded before the ledger were inferred from position
-- snapshots and priced at the symbol's last fill: kept for reference under
-- another name, not counted.
DROP INDEX trade_history_exit;
DROP INDEX trade_history_symbol_exit;
DROP INDEX trade_history_symbol;
ALTER TABLE trade_history RENAME TO trade_history_before_ledger;

-- Closed round trips, each (part of) one entry fill closed by (part of) one
-- exit fill, as the ledger computed them.
CREATE TABLE trade_history (
    id                INTEGER PRIMARY KEY,
    symbol            TEXT NOT NULL,
    asset_class       TEXT NOT NULL CHECK (asset_class IN ('equity', 'future')),
    side              TEXT NOT NULL CHECK (side IN ('LONG', 'SHORT')),
    quantity          TEXT NOT NULL,
    entry_price       TEXT NOT NULL,
    exit_price        TEXT NOT NULL,
    entry_time        TEXT NOT NULL,
    exit_time         TEXT NOT NULL,
    gross_pnl         TEXT NOT NULL,
    fees              TEXT NOT NULL,
    -- Net of fees: gross_pnl - fees.
    realized_pnl      TEXT NOT NULL,
    duration_seconds  INTEGER NOT NULL,
    broker            TEXT NOT NULL CHECK (broker IN ('sim', 'alpaca', 'tradovate')),
    entry_fill_id     TEXT NOT NULL,
    exit_fill_id      TEXT NOT NULL,
    entry_order       TEXT,
    exit_order        TEXT,
    reconciled        INTEGER NOT NULL DEFAULT 0 CHECK (reconciled IN (0, 1))
);
CREATE INDEX trade_history_exit ON trade_history (exit_time);
CREATE INDEX trade_history_symbol_exit ON trade_history (symbol, exit_time);
CREATE INDEX trade_history_symbol ON trade_history (symbol);

-- The open lots behind each position, one per entry fill, in the order they
-- opened (rowid): inserted when a fill opens one, updated as exits shrink it,
-- deleted when it is closed.
CREATE TABLE lots (
    id               INTEGER PRIMARY KEY,
    symbol           TEXT NOT NULL,
    direction        TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
    broker           TEXT NOT NULL,
    fill_id          TEXT NOT NULL,
    client_order_id  TEXT,
    quantity         TEXT NOT NULL,
    price            TEXT NOT NULL,
    time             TEXT NOT NULL,
    fees             TEXT NOT NULL,
    reconciled       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (broker, fill_id)
);
CREATE INDEX lots_symbol ON lots (symbol);

-- Orders: the quantity whose fills the ledger has booked (an order is done
-- when it is final and every filled unit is booked), and a bracket leg's
-- entry order.
ALTER TABLE trades ADD COLUMN booked_quantity TEXT NOT NULL DEFAULT '0';
ALTER TABLE trades ADD COLUMN parent TEXT;
-- Orders from before the ledger: their fills were never reported one by one.
UPDATE trades SET booked_quantity = filled_quantity;
UPDATE trades SET parent = substr(client_order_id, 1, length(client_order_id) - 3)
 WHERE client_order_id LIKE '%-sl' OR client_order_id LIKE '%-tp';
