-- What the risk manager decided about each signal that passed the filters:
-- `allow`, `reduce` or `block`, and for a block its reason (code and
-- sentence), so the Signals tab shows a signal the position policy or a
-- check refused next to the ones that traded.
ALTER TABLE signals ADD COLUMN risk_verdict TEXT CHECK (risk_verdict IN ('allow', 'reduce', 'block'));
ALTER TABLE signals ADD COLUMN risk_reason TEXT;
