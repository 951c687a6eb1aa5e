import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../lib/api.js';
import { useCanEdit, useDraft, useInstalls, usePolicyMutation, useRevisions } from '../../lib/queries.js';
import { formatTime } from '../../lib/format.js';
import { DiffView } from '../../components/DiffView.js';
import { ErrorText, Loading, ReadOnlyNote } from '../../components/common.js';
import { InstallDialog } from './InstallDialog.js';
import type { DiffResponse, DraftResponse } from '../../types.js';

export function Revisions() {
  const canEdit = useCanEdit();
  const draft = useDraft();
  const revisions = useRevisions();
  const installs = useInstalls();
  const [selected, setSelected] = useState<number | null>(null);
  const [against, setAgainst] = useState<string>('');
  const [rollback, setRollback] = useState<number | null>(null);
  const discard = usePolicyMutation(() => api<DraftResponse>('POST', '/api/draft/discard'));
  const current = selected ?? revisions.data?.[0]?.number ?? null;
  const diff = useQuery({
    queryKey: ['diff', current, against],
    enabled: current !== null,
    queryFn: () => api<DiffResponse>('GET', `/api/revisions/${current}/diff${against ? `?against=${against}` : ''}`),
  });

  return (
    <div className="policy-screen">
      {!canEdit && <ReadOnlyNote />}
      <section aria-labelledby="draft-h" className="panel">
        <h2 id="draft-h">Changes not installed</h2>
        {draft.isPending ? (
          <Loading what="draft" />
        ) : draft.isError ? (
          <ErrorText error={draft.error} />
        ) : (
          <>
            <p className="muted">
              Draft based on {draft.data.basedOnRevision ? `revision ${draft.data.basedOnRevision}` : 'no revision yet'}
              {draft.data.updatedAt ? `, last edited ${formatTime(draft.data.updatedAt)} by ${draft.data.updatedBy ?? 'unknown'}` : ''}.
            </p>
            <DiffView changes={draft.data.changes} label="Draft changes" />
            {canEdit && draft.data.changes.length > 0 && draft.data.basedOnRevision !== null && (
              <div className="form-actions">
                <button type="button" className="danger" onClick={() => discard.mutate(undefined)} disabled={discard.isPending}>
                  Discard changes
                </button>
                <ErrorText error={discard.error} />
              </div>
            )}
          </>
        )}
      </section>

      <section aria-labelledby="rev-h" className="panel">
        <h2 id="rev-h">Revisions</h2>
        {revisions.isPending ? (
          <Loading what="revisions" />
        ) : revisions.isError ? (
          <ErrorText error={revisions.error} />
        ) : revisions.data.length === 0 ? (
          <p className="muted">No revision yet: the first Install Policy creates revision 1.</p>
        ) : (
          <div className="rev-layout">
            <table className="grid compact" aria-label="Revisions">
              <thead>
                <tr>
                  <th scope="col">Revision</th>
                  <th scope="col">Created</th>
                  <th scope="col">By</th>
                  <th scope="col">Comment</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {revisions.data.map((r) => (
                  <tr key={r.number} className={r.number === current ? 'selected' : undefined} aria-selected={r.number === current}>
                    <td>
                      <button type="button" className="link" onClick={() => setSelected(r.number)} aria-label={`Show changes of revision ${r.number}`}>
                        {r.number}
                      </button>
                    </td>
                    <td>{formatTime(r.createdAt)}</td>
                    <td>{r.createdBy}</td>
                    <td>
                      {r.comment}
                      {r.rollbackOf ? <span className="tag">rollback of {r.rollbackOf}</span> : null}
                    </td>
                    <td>
                      <button
                        type="button"
                        disabled={!canEdit}
                        onClick={() => setRollback(r.number)}
                        aria-label={`Roll back to revision ${r.number}`}
                        title={canEdit ? undefined : 'Administrators only'}
                      >
                        Roll back
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="diff-pane">
              <div className="toolbar">
                <h3>Revision {current}</h3>
                <label>
                  compared with
                  <select value={against} onChange={(e) => setAgainst(e.target.value)}>
                    <option value="">the previous revision</option>
                    <option value="0">nothing (all content)</option>
                    {revisions.data
                      .filter((r) => r.number !== current)
                      .map((r) => (
                        <option key={r.number} value={r.number}>
                          revision {r.number}
                        </option>
                      ))}
                  </select>
                </label>
              </div>
              {diff.isPending ? <Loading what="differences" /> : diff.isError ? <ErrorText error={diff.error} /> : <DiffView changes={diff.data.changes} label={`Changes in revision ${current}`} />}
            </div>
          </div>
        )}
      </section>

      <section aria-labelledby="inst-h" className="panel">
        <h2 id="inst-h">Install history</h2>
        <ErrorText error={installs.error} />
        {installs.data && installs.data.length > 0 ? (
          <table className="grid compact" aria-label="Install history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Revision</th>
                <th scope="col">By</th>
                <th scope="col">Comment</th>
                <th scope="col">Results</th>
              </tr>
            </thead>
            <tbody>
              {installs.data.map((i) => (
                <tr key={i.id}>
                  <td>{formatTime(i.createdAt)}</td>
                  <td>{i.revision}</td>
                  <td>{i.createdBy}</td>
                  <td>{i.comment}</td>
                  <td>
                    {i.results.map((r) => (
                      <span key={r.gatewayId} className={`chip result-${r.status}`} title={r.reason ?? undefined}>
                        {r.gateway}: {r.status}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No install yet.</p>
        )}
      </section>
      {rollback !== null && <InstallDialog rollbackOf={rollback} onClose={() => setRollback(null)} />}
    </div>
  );
}
