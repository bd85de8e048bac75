-- Lists filtered by symbol come newest first (by id): an index on the symbol
-- alone serves that order directly (its entries are ordered by symbol, then
-- rowid); the (symbol, time) indexes would need a sort of every match.
CREATE INDEX trade_history_symbol ON trade_history (symbol);
CREATE INDEX signals_symbol ON signals (symbol);
