-- The API lists closed trades by symbol and time range; with a million of them
-- that needs an index.
CREATE INDEX trade_history_symbol_exit ON trade_history (symbol, exit_time);
