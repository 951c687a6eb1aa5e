import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../lib/api.js';
import { useCanEdit, useDraft, useGateways, usePolicyMutation, useProfiles, useProtections } from '../../lib/queries.js';
import { CONFIDENCES, IMPACTS, SEVERITIES, actionLabel } from '../../lib/format.js';
import { ErrorText, Loading, ReadOnlyNote } from '../../components/common.js';
import type { Profile, Thresholds } from '../../types.js';

export function Profiles() {
  const profiles = useProfiles();
  const canEdit = useCanEdit();
  if (profiles.isPending) return <Loading what="profiles" />;
  if (profiles.isError) return <ErrorText error={profiles.error} />;
  return (
    <div>
      <h2 className="pane-title">Profiles</h2>
      <p className="muted">
        A profile activates each protection automatically when it meets all three thresholds (never beyond the protection's catalog default); an
        override in Protection Details beats the thresholds. Each gateway uses one profile.
      </p>
      {!canEdit && <ReadOnlyNote />}
      <div className="cards">
        {profiles.data.map((p) => (
          <ProfileCard key={p.id} profile={p} canEdit={canEdit} />
        ))}
      </div>
      {canEdit && <NewProfile profiles={profiles.data} />}
    </div>
  );
}

function ProfileCard({ profile, canEdit }: { profile: Profile; canEdit: boolean }) {
  const gateways = useGateways(false);
  const draft = useDraft();
  const protections = useProtections();
  const [t, setT] = useState<Thresholds>(profile.thresholds);
  const [comment, setComment] = useState(profile.comment);
  useEffect(() => {
    setT(profile.thresholds);
    setComment(profile.comment);
  }, [profile]);
  const save = usePolicyMutation(() => api('PATCH', `/api/profiles/${profile.id}`, { thresholds: t, comment }));
  const del = usePolicyMutation(() => api('DELETE', `/api/profiles/${profile.id}`));
  const isDefault = draft.data?.document.defaultProfileId === profile.id;
  // A gateway's profileId is its assignment, or the default profile when it has none.
  const users = (gateways.data ?? []).filter(
    (g) => g.status !== 'revoked' && (profile.gateways.includes(g.id) || g.profileId === profile.id || (g.profileId === null && isDefault)),
  );
  const dirty = JSON.stringify(t) !== JSON.stringify(profile.thresholds) || comment !== profile.comment;
  const overrides = Object.entries(profile.overrides);
  const counts = { prevent: 0, detect: 0, inactive: 0 };
  for (const pr of protections.data ?? []) {
    const a = pr.profiles.find((x) => x.profileId === profile.id)?.action;
    if (a) counts[a]++;
  }
  const sel = <K extends keyof Thresholds>(k: K, label: string, options: readonly string[]) => (
    <label>
      {label}
      <select value={t[k]} disabled={!canEdit} onChange={(e) => setT({ ...t, [k]: e.target.value })}>
        {options.map((o) => (
          <option key={o} value={o}>
            {k === 'mode' ? actionLabel(o) : o}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="card" aria-label={`Profile ${profile.name}`}>
      <h3>
        {profile.name} {isDefault && <span className="tag">default for new gateways</span>}
      </h3>
      <form
        className="thresholds"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          save.mutate(undefined);
        }}
      >
        {sel('mode', 'Activation mode', ['prevent', 'detect'])}
        {sel('minSeverity', 'Severity at least', SEVERITIES)}
        {sel('minConfidence', 'Confidence at least', CONFIDENCES)}
        {sel('maxPerformanceImpact', 'Performance impact at most', IMPACTS)}
        <label className="wide">
          Comment
          <input value={comment} disabled={!canEdit} onChange={(e) => setComment(e.target.value)} />
        </label>
        {canEdit && (
          <div className="form-actions">
            <button type="submit" className="primary" disabled={!dirty || save.isPending}>
              Save profile
            </button>
            <button type="button" className="danger" disabled={del.isPending || isDefault} onClick={() => del.mutate(undefined)} title={isDefault ? 'The default profile cannot be deleted' : undefined}>
              Delete profile
            </button>
          </div>
        )}
        <ErrorText error={save.error ?? del.error} />
      </form>
      <p>
        Result: <strong>{counts.prevent}</strong> Prevent, <strong>{counts.detect}</strong> Detect, <strong>{counts.inactive}</strong> Inactive
        {overrides.length > 0 && ` (${overrides.length} override${overrides.length === 1 ? '' : 's'})`}
      </p>
      <p>
        Used by: {users.length === 0 ? <span className="muted">no gateway</span> : users.map((g) => g.name).join(', ')}
      </p>
    </section>
  );
}

function NewProfile({ profiles }: { profiles: Profile[] }) {
  const [name, setName] = useState('');
  const [copyFrom, setCopyFrom] = useState('');
  const create = usePolicyMutation(
    () => api('POST', '/api/profiles', { name: name.trim(), ...(copyFrom ? { copyFrom: Number(copyFrom) } : {}) }),
    () => setName(''),
  );
  return (
    <form
      className="inline-form"
      aria-label="New profile"
      onSubmit={(e) => {
        e.preventDefault();
        if (name.trim()) create.mutate(undefined);
      }}
    >
      <label>
        New profile name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Copy from
        <select value={copyFrom} onChange={(e) => setCopyFrom(e.target.value)}>
          <option value="">(catalog thresholds)</option>
          {profiles.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={create.isPending}>
        Create profile
      </button>
      <ErrorText error={create.error} />
    </form>
  );
}
