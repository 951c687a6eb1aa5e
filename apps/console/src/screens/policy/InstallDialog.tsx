import { useMemo, useRef, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api.js';
import { invalidatePolicy, keys, useDraft, useGateways, useInstalls } from '../../lib/queries.js';
import { Dialog, ErrorText, StatusDot } from '../../components/common.js';
import type { Install } from '../../types.js';

export function InstallDialog({ onClose, rollbackOf }: { onClose: () => void; rollbackOf?: number }) {
  const qc = useQueryClient();
  const gateways = useGateways();
  const draft = useDraft();
  const eligible = useMemo(() => (gateways.data ?? []).filter((g) => g.status !== 'revoked' && g.status !== 'pending-enrollment'), [gateways.data]);
  const [unchecked, setUnchecked] = useState<Set<string>>(new Set());
  const [comment, setComment] = useState('');
  const knownMax = useRef<number | null>(null);
  const [polling, setPolling] = useState(false);
  const installs = useInstalls(polling);

  const install = useMutation({
    mutationFn: () => {
      const chosen = eligible.filter((g) => !unchecked.has(g.id)).map((g) => g.id);
      const body = {
        ...(comment.trim() ? { comment: comment.trim() } : {}),
        ...(unchecked.size > 0 ? { gateways: chosen } : {}),
      };
      return rollbackOf ? api<Install>('POST', `/api/revisions/${rollbackOf}/rollback`, body) : api<Install>('POST', '/api/install', body);
    },
    onMutate: () => {
      knownMax.current = Math.max(0, ...(installs.data ?? []).map((i) => i.id));
      setPolling(true);
    },
    onSettled: async () => {
      setPolling(false);
      await invalidatePolicy(qc);
      await Promise.all([qc.invalidateQueries({ queryKey: keys.revisions }), qc.invalidateQueries({ queryKey: keys.installs })]);
    },
  });

  // While the request runs, the newest install record shows per-gateway progress.
  const live = install.isPending ? (installs.data ?? []).find((i) => knownMax.current !== null && i.id > knownMax.current) : undefined;
  const result = install.data ?? live;
  const chosenCount = eligible.filter((g) => !unchecked.has(g.id)).length;
  const allChecked = unchecked.size === 0;
  const started = install.isPending || install.isSuccess;

  return (
    <Dialog
      title={rollbackOf ? `Roll back to revision ${rollbackOf}` : 'Install Policy'}
      onClose={onClose}
      footer={
        <>
          {!install.isSuccess && (
            <button
              type="button"
              className="primary"
              disabled={install.isPending || chosenCount === 0}
              onClick={() => install.mutate()}
            >
              {install.isPending ? 'Installing…' : rollbackOf ? 'Roll back and install' : 'Install'}
            </button>
          )}
          <button type="button" onClick={onClose}>
            {install.isSuccess ? 'Close' : 'Cancel'}
          </button>
        </>
      }
    >
      {!started && (
        <>
          <p>
            {rollbackOf
              ? `A new revision with the content of revision ${rollbackOf} is created and installed; the draft becomes that content too.`
              : `Compile the draft${draft.data?.changes.length ? ` (${draft.data.changes.length} changes)` : ''} into a new revision and install it.`}
          </p>
          <fieldset className="targets">
            <legend>Install on</legend>
            {gateways.isPending && <p className="muted">Loading gateways…</p>}
            <ErrorText error={gateways.error} />
            {eligible.length === 0 && !gateways.isPending ? (
              <p className="error-text">No enrolled gateway to install on. Add one on the Gateways screen and start it with its key.</p>
            ) : (
              <>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={allChecked}
                    onChange={(e) => setUnchecked(e.target.checked ? new Set() : new Set(eligible.map((g) => g.id)))}
                  />
                  All gateways ({eligible.length})
                </label>
                <ul className="target-list">
                  {eligible.map((g) => (
                    <li key={g.id}>
                      <label className="check">
                        <input
                          type="checkbox"
                          checked={!unchecked.has(g.id)}
                          onChange={(e) =>
                            setUnchecked((s) => {
                              const n = new Set(s);
                              if (e.target.checked) n.delete(g.id);
                              else n.add(g.id);
                              return n;
                            })
                          }
                        />
                        <StatusDot status={g.status} /> {g.name} <span className="muted">({g.status})</span>
                      </label>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </fieldset>
          <label className="block">
            Comment
            <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={500} placeholder="What changed and why" />
          </label>
        </>
      )}
      {started && <InstallProgress install={result} pending={install.isPending} />}
      <ErrorText error={install.error} />
    </Dialog>
  );
}

const RESULT_WORDS: Record<string, string> = {
  pending: 'Installing…',
  installed: 'Installed',
  failed: 'Failed',
  unreachable: 'Unreachable (gets it when it reconnects)',
};

export function InstallProgress({ install, pending }: { install: Install | undefined; pending: boolean }) {
  if (!install) return <p role="status">Creating the revision and sending it to the gateways…</p>;
  const counts = { installed: 0, failed: 0, unreachable: 0, pending: 0 };
  for (const r of install.results) counts[r.status]++;
  const summary = pending
    ? `Installing revision ${install.revision}: ${counts.installed} of ${install.results.length} done`
    : counts.installed === install.results.length
      ? `Policy installed: revision ${install.revision} on ${install.results.length} gateway${install.results.length === 1 ? '' : 's'}`
      : `Revision ${install.revision}: installed on ${counts.installed}, failed on ${counts.failed}, unreachable ${counts.unreachable}, pending ${counts.pending}`;
  return (
    <div className="install-progress">
      <p role="status" className={!pending && counts.installed === install.results.length ? 'ok-text' : undefined}>
        {summary}
      </p>
      <table className="grid compact" aria-label="Install results">
        <thead>
          <tr>
            <th scope="col">Gateway</th>
            <th scope="col">Profile</th>
            <th scope="col">Result</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {install.results.map((r) => (
            <tr key={r.gatewayId}>
              <td>{r.gateway}</td>
              <td>{r.profile}</td>
              <td className={`result-${r.status}`}>{RESULT_WORDS[r.status] ?? r.status}</td>
              <td>{r.reason ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
