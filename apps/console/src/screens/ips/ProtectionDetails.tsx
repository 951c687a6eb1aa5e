import { useState } from 'react';
import { api } from '../../lib/api.js';
import { useCanEdit, usePolicyMutation, useProtections } from '../../lib/queries.js';
import { actionLabel } from '../../lib/format.js';
import { Dialog, ErrorText, ReadOnlyNote } from '../../components/common.js';
import { SettingsForm } from './SettingsForm.js';
import { ExceptionsEditor } from './Exceptions.js';
import type { Action, ProtectionId, ProtectionView } from '../../types.js';

const SOURCE_WORDS: Record<string, string> = {
  override: 'override',
  threshold: 'meets the profile thresholds',
  'catalog-default': 'capped at the catalog default',
  'below-threshold': 'below the profile thresholds',
};

export function ProtectionDetails({ id, onClose }: { id: ProtectionId; onClose: () => void }) {
  const protections = useProtections();
  const canEdit = useCanEdit();
  const p = protections.data?.find((x) => x.id === id);
  return (
    <Dialog title={p ? p.name : 'Protection'} onClose={onClose} wide footer={<button type="button" onClick={onClose}>Close</button>}>
      {!p ? (
        <ErrorText error={protections.error ?? new Error('This protection is not in the catalog.')} />
      ) : (
        <div className="details">
          {!canEdit && <ReadOnlyNote />}
          <section aria-labelledby="pd-general">
            <h3 id="pd-general">General</h3>
            <dl className="facts">
              <dt>Attack Name</dt>
              <dd>{p.attackName}</dd>
              <dt>Attack Information</dt>
              <dd>{p.attackInfo}</dd>
              <dt>Severity</dt>
              <dd>{p.severity}</dd>
              <dt>Confidence Level</dt>
              <dd>{p.confidence}</dd>
              <dt>Performance Impact</dt>
              <dd>{p.performanceImpact}</dd>
              <dt>Industry Reference</dt>
              <dd>{p.industryReference.join(', ') || '—'}</dd>
              <dt>Catalog default</dt>
              <dd>{actionLabel(p.defaultAction)}</dd>
            </dl>
            <p className="description">{p.description}</p>
          </section>
          <section aria-labelledby="pd-action">
            <h3 id="pd-action">Action</h3>
            <div className="action-grid">
              {p.profiles.map((pp) => (
                <ProfileAction key={pp.profileId} protection={p} pp={pp} canEdit={canEdit} />
              ))}
            </div>
          </section>
          <section aria-labelledby="pd-settings">
            <h3 id="pd-settings">Additional Settings</h3>
            {p.limit && (
              <p className="limit-doc">
                Limit in {p.limit.unit}. Exceeded by {p.limit.exceeded}. {p.limit.then}.{p.limit.zeroDisables ? ' 0 turns the limit off.' : ''}
              </p>
            )}
            <SettingsForm protection={p} canEdit={canEdit} />
          </section>
          <section aria-labelledby="pd-exceptions">
            <h3 id="pd-exceptions">Network Exceptions</h3>
            <ExceptionsEditor protection={p.id} />
          </section>
        </div>
      )}
    </Dialog>
  );
}

function ProfileAction({ protection, pp, canEdit }: { protection: ProtectionView; pp: ProtectionView['profiles'][number]; canEdit: boolean }) {
  const [done, setDone] = useState(false);
  const change = usePolicyMutation(
    (value: 'profile' | Action) =>
      value === 'profile'
        ? api('DELETE', `/api/profiles/${pp.profileId}/overrides/${protection.id}`)
        : api('PUT', `/api/profiles/${pp.profileId}/overrides/${protection.id}`, { action: value }),
    () => setDone(true),
  );
  const id = `action-${pp.profileId}`;
  const current = pp.override ?? 'profile';
  return (
    <div className="field">
      <label htmlFor={id}>Action in {pp.profile}</label>
      <select
        id={id}
        value={current}
        disabled={!canEdit || change.isPending}
        onChange={(e) => {
          setDone(false);
          change.mutate(e.target.value as 'profile' | Action);
        }}
      >
        <option value="profile">According to profile ({actionLabel(pp.automaticAction)})</option>
        <option value="prevent">Override: Prevent</option>
        <option value="detect">Override: Detect</option>
        <option value="inactive">Override: Inactive</option>
      </select>
      <p className="help">
        Effective: <strong>{actionLabel(pp.action)}</strong> ({SOURCE_WORDS[pp.source] ?? pp.source})
        {done && !change.isPending && <span role="status" className="ok-text"> Saved to the draft.</span>}
      </p>
      <ErrorText error={change.error} />
    </div>
  );
}
