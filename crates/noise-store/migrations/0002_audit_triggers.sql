-- The database writes the audit events of signals and orders itself, in the
-- same statement's transaction as the change: none can be forgotten, and
-- each change costs one statement.

CREATE TRIGGER signals_audit AFTER INSERT ON signals
BEGIN
    INSERT INTO audit_log (time, event_type, actor, details) VALUES (
        NEW.time,
        CASE NEW.status WHEN 'signal' THEN 'signal_generated' ELSE 'signal_rejected' END,
        'engine',
        json_object('signal_id', NEW.id, 'symbol', NEW.symbol, 'direction', NEW.direction,
                    'strength', NEW.strength, 'entry', NEW.entry, 'reason', NEW.reason));
END;

CREATE TRIGGER trades_audit_insert AFTER INSERT ON trades
BEGIN
    INSERT INTO audit_log (time, event_type, actor, details) VALUES (
        NEW.created_at,
        -- Bracket legs are created by the broker, not decided by risk.
        CASE WHEN NEW.risk_decision IS NULL THEN 'bracket_leg' ELSE 'order_intent' END,
        'engine',
        json_object('client_order_id', NEW.client_order_id, 'broker', NEW.broker, 'symbol', NEW.symbol,
                    'side', NEW.side, 'intent', NEW.intent, 'quantity', NEW.quantity,
                    'order_type', NEW.order_type, 'stop_loss', NEW.stop_loss,
                    'take_profit', NEW.take_profit, 'signal_id', NEW.signal_id));
END;

CREATE TRIGGER trades_audit_update AFTER UPDATE ON trades
WHEN NEW.status IS NOT OLD.status OR NEW.filled_quantity IS NOT OLD.filled_quantity
BEGIN
    INSERT INTO audit_log (time, event_type, actor, details) VALUES (
        NEW.updated_at,
        CASE NEW.status
            WHEN 'submitted' THEN 'order_placed'
            WHEN 'partially_filled' THEN 'order_filled'
            WHEN 'filled' THEN 'order_filled'
            WHEN 'rejected' THEN 'order_rejected'
            ELSE 'order_cancelled'
        END,
        'engine',
        json_object('client_order_id', NEW.client_order_id, 'broker_order_id', NEW.broker_order_id,
                    'symbol', NEW.symbol, 'side', NEW.side, 'status', NEW.status,
                    'previous_status', OLD.status, 'quantity', NEW.quantity,
                    'filled_quantity', NEW.filled_quantity, 'average_fill_price', NEW.average_fill_price,
                    'fees', NEW.fees, 'error', NEW.error));
END;
