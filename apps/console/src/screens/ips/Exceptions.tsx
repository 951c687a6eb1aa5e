import { useState, type FormEvent } from 'react';
import { api } from '../../lib/api.js';
import { useCanEdit, useExceptions, useGateways, usePolicyMutation, useProtections } from '../../lib/queries.js';
import { actionLabel } from '../../lib/format.js';
import { ErrorText, Loading, ProtectionSelect, ReadOnlyNote } from '../../components/common.js';
import type { ExceptionInput, ExceptionView, ProtectionId } from '../../types.js';

/** The Network Exceptions screen: every exception, for every protection. */
export function Exceptions() {
  const canEdit = useCanEdit();
  return (
    <div>
      <h2 className="pane-title">Network Exceptions</h2>
      <p className="muted">
        Connections that match an exception get the exception's action (Inactive or Detect) instead of Prevent, e.g. XEXCH50 between two
        Exchange servers.
      </p>
      {!canEdit && <ReadOnlyNote />}
      <ExceptionsEditor />
    </div>
  );
}

/** Exceptions of one protection (with those that apply to all), or all of them. */
export function ExceptionsEditor({ protection }: { protection?: ProtectionId }) {
  const canEdit = useCanEdit();
  const exceptions = useExceptions();
  const protections = useProtections();
  const nameOf = (id: string) => (id === '*' ? 'All protections' : (protections.data?.find((p) => p.id === id)?.name ?? id));
  const remove = usePolicyMutation((id: number) => api('DELETE', `/api/exceptions/${id}`));
  if (exceptions.isPending) return <Loading what="exceptions" />;
  if (exceptions.isError) return <ErrorText error={exceptions.error} />;
  const list = exceptions.data.filter((e) => !protection || e.protection === protection || e.protection === '*');
  return (
    <div className="exceptions">
      {list.length === 0 ? (
        <p className="muted">No network exceptions{protection ? ' apply to this protection' : ''}.</p>
      ) : (
        <table className="grid compact" aria-label="Network exceptions">
          <thead>
            <tr>
              {!protection && <th scope="col">Protection</th>}
              {protection && <th scope="col">Applies to</th>}
              <th scope="col">Source</th>
              <th scope="col">Destination</th>
              <th scope="col">Gateway</th>
              <th scope="col">Action</th>
              <th scope="col">Comment</th>
              {canEdit && <th scope="col"><span className="sr-only">Remove</span></th>}
            </tr>
          </thead>
          <tbody>
            {list.map((e: ExceptionView) => (
              <tr key={e.id}>
                <td>{protection ? (e.protection === '*' ? 'All protections' : 'This protection') : nameOf(e.protection)}</td>
                <td>{e.source ?? 'Any'}</td>
                <td>{e.destination ?? 'Any'}</td>
                <td>{e.gateway ?? 'All gateways'}</td>
                <td>{actionLabel(e.action)}</td>
                <td>{e.comment ?? ''}</td>
                {canEdit && (
                  <td>
                    <button
                      type="button"
                      className="link danger"
                      aria-label={`Remove exception ${e.id}`}
                      onClick={() => remove.mutate(e.id)}
                      disabled={remove.isPending}
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorText error={remove.error} />
      {canEdit && <AddException protection={protection} />}
    </div>
  );
}

function AddException({ protection }: { protection?: ProtectionId | undefined }) {
  const gateways = useGateways(false);
  const empty = { protection: protection ?? '*', source: '', destination: '', gateway: '', action: 'inactive', comment: '' };
  const [form, setForm] = useState(empty);
  const add = usePolicyMutation((body: ExceptionInput) => api('POST', '/api/exceptions', body), () => setForm(empty));
  const set = (k: keyof typeof empty) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: ExceptionInput = {
      protection: form.protection as ExceptionInput['protection'],
      action: form.action as 'inactive' | 'detect',
      ...(form.source.trim() ? { source: form.source.trim() } : {}),
      ...(form.destination.trim() ? { destination: form.destination.trim() } : {}),
      ...(form.gateway ? { gateway: form.gateway } : {}),
      ...(form.comment.trim() ? { comment: form.comment.trim() } : {}),
    };
    add.mutate(body);
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add network exception">
      {!protection && (
        <ProtectionSelect value={form.protection} anyValue="*" onChange={(value) => set('protection')({ target: { value } })} />
      )}
      <label>
        Source
        <input value={form.source} onChange={set('source')} placeholder="any, or 10.0.0.0/8" size={16} />
      </label>
      <label>
        Destination
        <input value={form.destination} onChange={set('destination')} placeholder="any, or 192.0.2.25" size={16} />
      </label>
      <label>
        Gateway
        <select value={form.gateway} onChange={set('gateway')}>
          <option value="">All gateways</option>
          {gateways.data?.map((g) => (
            <option key={g.id} value={g.name}>
              {g.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Exception action
        <select value={form.action} onChange={set('action')}>
          <option value="inactive">Inactive</option>
          <option value="detect">Detect</option>
        </select>
      </label>
      <label>
        Comment
        <input value={form.comment} onChange={set('comment')} size={18} />
      </label>
      <button type="submit" disabled={add.isPending}>
        Add exception
      </button>
      <ErrorText error={add.error} />
    </form>
  );
}
