import { useEffect, useId, useRef, type ReactNode } from 'react';
import { errorMessage } from '../lib/api.js';
import { actionLabel } from '../lib/format.js';
import { useProtections } from '../lib/queries.js';

/** An API error in plain words, placed next to what caused it. */
export function ErrorText({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  return (
    <p className="error-text" role="alert" id={id}>
      {errorMessage(error)}
    </p>
  );
}

export function ActionBadge({ action, title }: { action: string; title?: string }) {
  return (
    <span className={`badge action-${action}`} title={title}>
      {actionLabel(action)}
    </span>
  );
}

export function StatusDot({ status }: { status: string }) {
  return <span className={`dot status-${status}`} aria-hidden="true" />;
}

/** A modal window on the native <dialog>: focus kept inside, Escape closes. */
export function Dialog({
  title,
  onClose,
  children,
  wide,
  footer,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  wide?: boolean;
  footer?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <header className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="icon" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="dialog-body">{children}</div>
      {footer ? <footer className="dialog-foot">{footer}</footer> : null}
    </dialog>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ReadOnlyNote() {
  return <p className="readonly-note">Read-only: your role is operator. Administrators make changes.</p>;
}

/** The labelled protection picker of forms and filters; `anyValue` stands for "all protections". */
export function ProtectionSelect({ value, anyValue, onChange }: { value: string; anyValue: string; onChange: (value: string) => void }) {
  const protections = useProtections();
  return (
    <label>
      Protection
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value={anyValue}>All protections</option>
        {protections.data?.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}
