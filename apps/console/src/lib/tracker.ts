import type { StoredEvent } from '../types.js';

/** Newest first: event time, then id (ids grow with arrival). */
export function compareEvents(a: StoredEvent, b: StoredEvent): number {
  if (a.time !== b.time) return a.time < b.time ? 1 : -1;
  return b.id - a.id;
}

/**
 * Merge `incoming` into `current` (newest first), dropping duplicates by id and keeping at
 * most `cap` rows. The common case — live events newer than everything shown — is a prepend.
 */
export function mergeEvents(current: readonly StoredEvent[], incoming: readonly StoredEvent[], cap = 50_000): StoredEvent[] {
  if (incoming.length === 0) return current as StoredEvent[];
  const seen = new Set<number>();
  for (const e of current) seen.add(e.id);
  const fresh: StoredEvent[] = [];
  for (const e of incoming) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    fresh.push(e);
  }
  if (fresh.length === 0) return current as StoredEvent[];
  fresh.sort(compareEvents);
  const head = current[0];
  let out: StoredEvent[];
  if (!head || compareEvents(fresh[fresh.length - 1]!, head) < 0) out = fresh.concat(current);
  else out = current.concat(fresh).sort(compareEvents);
  return out.length > cap ? out.slice(0, cap) : out;
}

export type RangeKey = '15m' | '1h' | '24h' | '7d' | '30d' | 'all' | 'custom';
export const RANGES: Array<{ key: RangeKey; label: string; ms: number | null }> = [
  { key: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { key: '1h', label: 'Last hour', ms: 3600_000 },
  { key: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { key: 'all', label: 'All time', ms: null },
  { key: 'custom', label: 'Custom range', ms: null },
];

export interface TrackerFilters {
  range: RangeKey;
  /** datetime-local values (local time) for the custom range. */
  from: string;
  to: string;
  protection: string;
  action: '' | 'detect' | 'prevent';
  gateway: string;
  q: string;
}

export const DEFAULT_FILTERS: TrackerFilters = { range: '24h', from: '', to: '', protection: '', action: '', gateway: '', q: '' };

/** Query parameters for /api/events, /stats and /export; `live` leaves the time bounds out. */
export function apiFilters(f: TrackerFilters, now: number, live = false): Record<string, string> {
  const out: Record<string, string> = {};
  if (!live) {
    const r = RANGES.find((x) => x.key === f.range);
    if (r?.ms) out.from = new Date(now - r.ms).toISOString();
    if (f.range === 'custom') {
      const from = localToIso(f.from);
      const to = localToIso(f.to);
      if (from) out.from = from;
      if (to) out.to = to;
    }
  }
  if (f.protection) out.protection = f.protection;
  if (f.action) out.action = f.action;
  if (f.gateway) out.gateway = f.gateway;
  const q = f.q.trim();
  if (q) out.q = q;
  return out;
}

export function localToIso(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Does a live event fall inside the chosen time range (custom ranges may end in the past)? */
export function inRange(e: StoredEvent, f: TrackerFilters): boolean {
  if (f.range !== 'custom') return true;
  const from = localToIso(f.from);
  const to = localToIso(f.to);
  const t = new Date(e.time).toISOString();
  return (!from || t >= from) && (!to || t < to);
}

export interface Buckets {
  start: number;
  size: number;
  /** Protection ids, most frequent first. */
  series: string[];
  names: Record<string, string>;
  counts: Array<Record<string, number>>;
  max: number;
  total: number;
}

/** Events per time bucket per protection (the tracker's chart), `n` buckets ending at `end`. */
export function bucketize(events: readonly StoredEvent[], n: number, end: number, span: number | null): Buckets {
  let start: number;
  if (span !== null) start = end - span;
  else if (events.length) start = Math.min(...events.slice(-1).map((e) => Date.parse(e.time)));
  else start = end - 3600_000;
  if (end <= start) start = end - 60_000;
  const size = Math.max(1000, Math.ceil((end - start) / n));
  start = end - size * n;
  const counts: Array<Record<string, number>> = Array.from({ length: n }, () => ({}));
  const totals: Record<string, number> = {};
  const names: Record<string, string> = {};
  let total = 0;
  for (const e of events) {
    const t = Date.parse(e.time);
    const i = Math.floor((t - start) / size);
    if (i < 0 || i >= n) continue;
    const c = counts[i]!;
    c[e.protectionId] = (c[e.protectionId] ?? 0) + 1;
    totals[e.protectionId] = (totals[e.protectionId] ?? 0) + 1;
    names[e.protectionId] = e.protectionName;
    total++;
  }
  const series = Object.keys(totals).sort((a, b) => totals[b]! - totals[a]!);
  let max = 0;
  for (const c of counts) {
    let s = 0;
    for (const v of Object.values(c)) s += v;
    if (s > max) max = s;
  }
  return { start, size, series, names, counts, max, total };
}

export interface Column {
  id: string;
  label: string;
  width: number;
  get: (e: StoredEvent) => string;
}

export function toCsvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
