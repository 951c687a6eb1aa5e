import { useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useProfiles, useProtections } from '../../lib/queries.js';
import { ACTION_RANK, CONFIDENCE_RANK, IMPACT_RANK, SEVERITY_RANK, actionLabel } from '../../lib/format.js';
import { ActionBadge, ErrorText, Loading } from '../../components/common.js';
import { ProtectionDetails } from './ProtectionDetails.js';
import type { ProtectionId, ProtectionView } from '../../types.js';

type SortKey = 'name' | 'ref' | 'severity' | 'confidence' | 'impact' | `profile:${number}`;

function sortValue(p: ProtectionView, key: SortKey): string | number {
  switch (key) {
    case 'name':
      return p.name.toLowerCase();
    case 'ref':
      return p.industryReference.join(' ').toLowerCase();
    case 'severity':
      return SEVERITY_RANK[p.severity];
    case 'confidence':
      return CONFIDENCE_RANK[p.confidence];
    case 'impact':
      return IMPACT_RANK[p.performanceImpact];
    default: {
      const id = Number(key.slice('profile:'.length));
      const a = p.profiles.find((x) => x.profileId === id)?.action;
      return a ? ACTION_RANK[a] : -1;
    }
  }
}

export function matchesSearch(p: ProtectionView, q: string): boolean {
  if (!q) return true;
  const hay = [p.id, p.name, p.attackName, p.attackInfo, p.severity, p.confidence, p.performanceImpact, ...p.industryReference]
    .join('\n')
    .toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

export function ProtectionsTable() {
  const protections = useProtections();
  const profiles = useProfiles();
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'name', dir: 1 });
  const [focused, setFocused] = useState(0);
  const [open, setOpen] = useState<ProtectionId | null>(null);
  const rowRefs = useRef<Array<HTMLTableRowElement | null>>([]);

  const rows = useMemo(() => {
    const list = (protections.data ?? []).filter((p) => matchesSearch(p, search.trim()));
    return list.sort((a, b) => {
      const x = sortValue(a, sort.key);
      const y = sortValue(b, sort.key);
      return (x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name)) * sort.dir;
    });
  }, [protections.data, search, sort]);

  if (protections.isPending) return <Loading what="protections" />;
  if (protections.isError) return <ErrorText error={protections.error} />;
  const profileCols = protections.data[0]?.profiles ?? [];

  const header = (key: SortKey, label: string) => {
    const active = sort.key === key;
    return (
      <th key={key} scope="col" aria-sort={active ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
        <button
          type="button"
          className="sort"
          onClick={() => setSort(active ? { key, dir: sort.dir === 1 ? -1 : 1 } : { key, dir: 1 })}
        >
          {label}
          <span aria-hidden="true">{active ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}</span>
        </button>
      </th>
    );
  };

  const moveTo = (i: number) => {
    const n = Math.max(0, Math.min(rows.length - 1, i));
    setFocused(n);
    rowRefs.current[n]?.focus();
  };
  const onRowKey = (e: KeyboardEvent, i: number, id: ProtectionId) => {
    if (e.key === 'ArrowDown') moveTo(i + 1);
    else if (e.key === 'ArrowUp') moveTo(i - 1);
    else if (e.key === 'Home') moveTo(0);
    else if (e.key === 'End') moveTo(rows.length - 1);
    else if (e.key === 'Enter' || e.key === ' ') setOpen(id);
    else return;
    e.preventDefault();
  };

  return (
    <div className="protections">
      <div className="toolbar">
        <label className="search">
          <span className="sr-only">Search protections</span>
          <input
            type="search"
            placeholder="Search protections, attack names, CVEs…"
            aria-label="Search protections"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setFocused(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'ArrowDown' && rows.length) {
                e.preventDefault();
                moveTo(0);
              }
            }}
          />
        </label>
        <span className="muted" role="status">
          {rows.length} of {protections.data.length} protections
        </span>
        <span className="spacer" />
        <span className="muted hint">Double-click or Enter opens a protection</span>
      </div>
      <ErrorText error={profiles.error} />
      <div className="table-wrap">
        <table className="grid" aria-label="SMTP protections">
          <thead>
            <tr>
              {header('name', 'Protection')}
              {header('ref', 'Industry Reference')}
              {header('severity', 'Severity')}
              {header('confidence', 'Confidence Level')}
              {header('impact', 'Performance Impact')}
              {profileCols.map((pc) => header(`profile:${pc.profileId}`, pc.profile))}
            </tr>
          </thead>
          <tbody>
            {rows.map((p, i) => (
              <tr
                key={p.id}
                ref={(el) => {
                  rowRefs.current[i] = el;
                }}
                tabIndex={i === focused ? 0 : -1}
                className={i === focused ? 'focused' : undefined}
                onFocus={() => setFocused(i)}
                onClick={() => setFocused(i)}
                onDoubleClick={() => setOpen(p.id)}
                onKeyDown={(e) => onRowKey(e, i, p.id)}
                aria-label={p.name}
              >
                <td className="name">{p.name}</td>
                <td className="refs">{p.industryReference.join(', ') || '—'}</td>
                <td>
                  <span className={`sev sev-${p.severity.toLowerCase()}`}>{p.severity}</span>
                </td>
                <td>{p.confidence}</td>
                <td>{p.performanceImpact}</td>
                {p.profiles.map((pp) => (
                  <td key={pp.profileId}>
                    <ActionBadge
                      action={pp.action}
                      title={pp.override ? `Override (profile would use ${actionLabel(pp.automaticAction)})` : `According to profile (${pp.source})`}
                    />
                    {pp.override ? <span className="override-mark"> (override)</span> : null}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p className="muted empty">No protection matches “{search}”.</p>}
      </div>
      {open && <ProtectionDetails id={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
