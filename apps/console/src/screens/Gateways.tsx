import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../lib/api.js';
import { invalidatePolicy, useCanEdit, useGateways, useProfiles } from '../lib/queries.js';
import { formatAgo, formatCount, formatTime } from '../lib/format.js';
import { ErrorText, Loading, ReadOnlyNote, StatusDot } from '../components/common.js';
import type { EnrollmentKeyResponse, Gateway } from '../types.js';

const STATUS_WORDS: Record<Gateway['status'], string> = {
  'pending-enrollment': 'Waiting for enrollment',
  online: 'Online',
  offline: 'Offline',
  revoked: 'Revoked',
};

export function Gateways() {
  const gateways = useGateways(true);
  const profiles = useProfiles();
  const canEdit = useCanEdit();
  const qc = useQueryClient();
  const [key, setKey] = useState<EnrollmentKeyResponse | null>(null);
  const [confirmRevoke, setConfirmRevoke] = useState<string | null>(null);
  const refresh = () => invalidatePolicy(qc);
  const revoke = useMutation({ mutationFn: (id: string) => api<Gateway>('POST', `/api/gateways/${id}/revoke`), onSuccess: refresh, onSettled: () => setConfirmRevoke(null) });
  const newKey = useMutation({ mutationFn: (id: string) => api<EnrollmentKeyResponse>('POST', `/api/gateways/${id}/enrollment-key`), onSuccess: (k) => setKey(k) });
  const assign = useMutation({
    mutationFn: ({ id, profileId }: { id: string; profileId: number | null }) => api<Gateway>('PATCH', `/api/gateways/${id}`, { profileId }),
    onSuccess: refresh,
  });
  const profileName = (id: number | null) => (id === null ? 'Default' : (profiles.data?.find((p) => p.id === id)?.name ?? `#${id}`));

  return (
    <div className="gateways">
      <div className="toolbar">
        <h2 className="pane-title">Gateways</h2>
        <span className="muted" role="status">
          {gateways.data ? `${gateways.data.filter((g) => g.status === 'online').length} of ${gateways.data.length} online` : ''}
        </span>
        <span className="spacer" />
        <span className="muted">Live: refreshed every 3 s{gateways.isFetching ? ' …' : ''}</span>
      </div>
      {!canEdit && <ReadOnlyNote />}
      {gateways.isPending ? (
        <Loading what="gateways" />
      ) : gateways.isError ? (
        <ErrorText error={gateways.error} />
      ) : gateways.data.length === 0 ? (
        <p className="muted">No gateway yet.{canEdit ? ' Add one below, then start it with the key shown.' : ''}</p>
      ) : (
        <div className="table-wrap">
          <table className="grid" aria-label="Gateways">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Address</th>
                <th scope="col">Status</th>
                <th scope="col">Profile</th>
                <th scope="col">Installed revision</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Connections</th>
                <th scope="col">Events</th>
                <th scope="col">Prevented</th>
                <th scope="col">Detected</th>
                <th scope="col">Spool</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {gateways.data.map((g) => {
                const outOfDate = g.targetRevision !== null && g.installedRevision !== g.targetRevision;
                return (
                  <tr key={g.id} aria-label={g.name}>
                    <td className="name">
                      {g.name}
                      {g.version && <span className="muted"> v{g.version}</span>}
                    </td>
                    <td className="mono">{g.address ?? '—'}</td>
                    <td>
                      <StatusDot status={g.status} /> {STATUS_WORDS[g.status]}
                      {g.health === 'degraded' && <span className="warn" title={g.detail ?? undefined}> (degraded{g.detail ? `: ${g.detail}` : ''})</span>}
                    </td>
                    <td>
                      {canEdit && g.status !== 'revoked' ? (
                        <select
                          aria-label={`Profile of ${g.name}`}
                          value={g.profileId ?? ''}
                          onChange={(e) => assign.mutate({ id: g.id, profileId: e.target.value ? Number(e.target.value) : null })}
                        >
                          <option value="">Default profile</option>
                          {profiles.data?.map((p) => (
                            <option key={p.id} value={p.id}>
                              {p.name}
                            </option>
                          ))}
                        </select>
                      ) : (
                        profileName(g.profileId)
                      )}
                    </td>
                    <td>
                      {g.installedRevision ?? '—'}
                      {outOfDate && <span className="warn"> (should run {g.targetRevision})</span>}
                    </td>
                    <td title={formatTime(g.lastSeenAt)}>{formatAgo(g.lastSeenAt)}</td>
                    <td className="num">
                      {formatCount(g.counters?.connections)}
                      {g.counters ? <span className="muted"> ({formatCount(g.counters.activeConnections)} active)</span> : null}
                    </td>
                    <td className="num">{formatCount(g.counters?.events)}</td>
                    <td className="num">{formatCount(g.counters?.prevented)}</td>
                    <td className="num">{formatCount(g.counters?.detected)}</td>
                    <td className="num">{formatCount(g.counters?.spoolPending)}</td>
                    <td className="actions">
                      {canEdit && g.status !== 'revoked' && (
                        <>
                          <button type="button" onClick={() => newKey.mutate(g.id)} aria-label={`New enrollment key for ${g.name}`}>
                            New key
                          </button>
                          {confirmRevoke === g.id ? (
                            <>
                              <button type="button" className="danger" onClick={() => revoke.mutate(g.id)} aria-label={`Confirm revoke ${g.name}`}>
                                Confirm revoke
                              </button>
                              <button type="button" onClick={() => setConfirmRevoke(null)}>
                                Keep
                              </button>
                            </>
                          ) : (
                            <button type="button" className="danger" onClick={() => setConfirmRevoke(g.id)} aria-label={`Revoke ${g.name}`}>
                              Revoke
                            </button>
                          )}
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ErrorText error={revoke.error ?? newKey.error ?? assign.error} />
      {canEdit && <AddGateway onKey={setKey} />}
      {key && <OneTimeKey k={key} onDone={() => setKey(null)} />}
      <p className="muted small">Profile changes take effect at the next Install Policy. Revoking refuses the gateway's credential at once and closes its link.</p>
    </div>
  );
}

function AddGateway({ onKey }: { onKey: (k: EnrollmentKeyResponse) => void }) {
  const qc = useQueryClient();
  const profiles = useProfiles();
  const [name, setName] = useState('');
  const [profileId, setProfileId] = useState('');
  const add = useMutation({
    mutationFn: () => api<EnrollmentKeyResponse>('POST', '/api/gateways', { name: name.trim(), ...(profileId ? { profileId: Number(profileId) } : {}) }),
    onSuccess: async (k) => {
      setName('');
      onKey(k);
      await invalidatePolicy(qc);
    },
  });
  return (
    <form
      className="inline-form"
      aria-label="Add gateway"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        if (name.trim()) add.mutate();
      }}
    >
      <label>
        Gateway name
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="gw-edge-1" required />
      </label>
      <label>
        Profile
        <select value={profileId} onChange={(e) => setProfileId(e.target.value)}>
          <option value="">Default profile</option>
          {profiles.data?.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary" disabled={add.isPending}>
        Add gateway
      </button>
      <ErrorText error={add.error} />
    </form>
  );
}

function OneTimeKey({ k, onDone }: { k: EnrollmentKeyResponse; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const command = `pnpm gateway --listen 0.0.0.0:25 --upstream MTA:25 --manager ${window.location.origin} --enroll-key ${k.enrollmentKey} --data ./data --name ${k.gateway.name}`;
  return (
    <section className="panel onetime" aria-label="Enrollment key" role="region">
      <h3>Enrollment key for {k.gateway.name}</h3>
      <p>
        Shown <strong>once</strong>; valid until {formatTime(k.expiresAt)}. The gateway trades it for its own credential at first start.
      </p>
      <label className="block">
        One-time key
        <input readOnly value={k.enrollmentKey} className="mono" onFocus={(e) => e.target.select()} />
      </label>
      <label className="block">
        Start command
        <textarea readOnly value={command} className="mono" rows={2} />
      </label>
      <div className="form-actions">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(k.enrollmentKey).then(() => setCopied(true), () => setCopied(false));
          }}
        >
          Copy key
        </button>
        <button type="button" onClick={onDone}>
          I saved it, hide the key
        </button>
        {copied && <span role="status">Copied.</span>}
      </div>
    </section>
  );
}
