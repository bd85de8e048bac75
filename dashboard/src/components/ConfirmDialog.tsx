import { useEffect, useRef, type ReactNode } from 'react';

/** A modal asking to confirm an action; Escape or the backdrop cancels. */
export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancelRef = useRef<HTMLButtonElement | null>(null);
  const confirmRef = useRef<HTMLButtonElement | null>(null);
  const { onCancel, danger } = props;

  useEffect(() => {
    // a dangerous action starts with Cancel focused, so Enter does not fire it
    (danger ? cancelRef.current : confirmRef.current)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onCancel();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onCancel, danger]);

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && !props.busy && props.onCancel()}>
      <div
        className={`modal ${props.danger ? 'modal-danger' : ''}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        data-testid="confirm-dialog"
      >
        <h3 id="confirm-title">{props.title}</h3>
        <div className="modal-body">{props.children}</div>
        <div className="modal-actions">
          <button type="button" ref={cancelRef} onClick={props.onCancel} disabled={props.busy} data-testid="confirm-no">
            Cancel
          </button>
          <button
            type="button"
            ref={confirmRef}
            className={props.danger ? 'danger' : 'primary'}
            onClick={props.onConfirm}
            disabled={props.busy}
            data-testid="confirm-yes"
          >
            {props.busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
