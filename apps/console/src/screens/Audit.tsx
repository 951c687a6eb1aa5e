import { useState } from 'react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { showValue } from '../lib/diff.js';
import { ErrorText, Loading } from '../components/common.js';
import type { AuditEntry } from '../types.js';

export function Audit() {
  const [q, setQ] = useState('');
  const [open, setOpen] = useState<number | null>(null);
  const audit = useInfiniteQuery({
    queryKey: ['audit'],
    initialPageParam: '',
    queryFn: ({ pageParam }) =>
      api<{ entries: AuditEntry[]; nextCursor: string | null }>('GET', `/api/audit?limit=200${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (audit.isPending) return <Loading what="audit log" />;
  if (audit.isError) return <ErrorText error={audit.error} />;
  const all = audit.data.pages.flatMap((p) => p.entries);
  const needle = q.trim().toLowerCase();
  const rows = needle ? all.filter((e) => `${e.user} ${e.action} ${e.target}`.toLowerCase().includes(needle)) : all;
  return (
    <div className="audit">
      <div className="toolbar">
        <h2 className="pane-title">Audit log</h2>
        <input type="search" aria-label="Filter audit log" placeholder="Filter by user, action, target" value={q} onChange={(e) => setQ(e.target.value)} />
        <span className="muted" role="status">
          {rows.length} entries
        </span>
      </div>
      <table className="grid compact" aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">User</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>{formatTime(e.time)}</td>
              <td>{e.user}</td>
              <td>{e.action}</td>
              <td className="mono">{e.target}</td>
              <td>
                {open === e.id ? (
                  <div className="audit-detail">
                    <div>
                      <strong>Before</strong>
                      <pre>{JSON.stringify(e.before, null, 2) ?? 'none'}</pre>
                    </div>
                    <div>
                      <strong>After</strong>
                      <pre>{JSON.stringify(e.after, null, 2) ?? 'none'}</pre>
                    </div>
                    <button type="button" className="link" onClick={() => setOpen(null)}>
                      Hide
                    </button>
                  </div>
                ) : (
                  <button type="button" className="link" onClick={() => setOpen(e.id)} aria-label={`Show change ${e.id}`}>
                    {summary(e)}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {audit.hasNextPage && (
        <button type="button" onClick={() => void audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>
          Load older entries
        </button>
      )}
    </div>
  );
}

function summary(e: AuditEntry): string {
  if (e.before === null && e.after !== null) return `created ${showValue(e.after)}`.slice(0, 120);
  if (e.after === null && e.before !== null) return `removed ${showValue(e.before)}`.slice(0, 120);
  return `${showValue(e.before)} → ${showValue(e.after)}`.slice(0, 160);
}
