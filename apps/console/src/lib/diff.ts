import type { Change } from '../types.js';

export interface ChangeGroup {
  section: string;
  title: string;
  changes: Change[];
}

const SECTIONS: Array<[prefix: string, title: string]> = [
  ['profiles', 'Profiles and actions'],
  ['settings', 'Additional settings'],
  ['exceptions', 'Network exceptions'],
  ['assignments', 'Gateway profiles'],
  ['defaultProfileId', 'Default profile'],
];

/** Group a diff by what it touches, in a fixed order; unknown paths go last under "Other". */
export function groupChanges(changes: readonly Change[]): ChangeGroup[] {
  const groups = new Map<string, ChangeGroup>();
  for (const [section, title] of SECTIONS) groups.set(section, { section, title, changes: [] });
  const other: ChangeGroup = { section: 'other', title: 'Other', changes: [] };
  for (const c of changes) {
    const head = c.path.split('.')[0] ?? '';
    (groups.get(head) ?? other).changes.push(c);
  }
  return [...groups.values(), other].filter((g) => g.changes.length > 0);
}

/** A before/after value as one short line of text. */
export function showValue(v: unknown): string {
  if (v === undefined) return '—';
  if (v === null) return 'none';
  if (typeof v === 'string') return v.length > 0 ? capitalizeAction(v) : '""';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return v.length ? v.join(', ') : '(empty)';
  const s = JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}

function capitalizeAction(s: string): string {
  return s === 'prevent' || s === 'detect' || s === 'inactive' ? s[0]!.toUpperCase() + s.slice(1) : s;
}

export function changeSymbol(kind: Change['kind']): string {
  return kind === 'added' ? '+' : kind === 'removed' ? '−' : '~';
}
