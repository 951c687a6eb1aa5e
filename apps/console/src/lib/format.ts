import type { Action, Confidence, PerformanceImpact, Severity } from '../types.js';

// Orderings for sorting, checked against the contract's unions (a missing or extra level fails typecheck).
export const SEVERITY_RANK: Record<Severity, number> = { Low: 0, Medium: 1, High: 2, Critical: 3 };
export const CONFIDENCE_RANK: Record<Confidence, number> = { Low: 0, 'Medium-Low': 1, Medium: 2, 'Medium-High': 3, High: 4 };
export const IMPACT_RANK: Record<PerformanceImpact, number> = { 'Very Low': 0, Low: 1, Medium: 2, High: 3, Critical: 4 };
export const ACTION_RANK: Record<Action, number> = { inactive: 0, detect: 1, prevent: 2 };
export const SEVERITIES = Object.keys(SEVERITY_RANK) as Severity[];
export const CONFIDENCES = Object.keys(CONFIDENCE_RANK) as Confidence[];
export const IMPACTS = Object.keys(IMPACT_RANK) as PerformanceImpact[];
export const ACTIONS = Object.keys(ACTION_RANK).reverse() as Action[];

export function actionLabel(a: string): string {
  return a ? a[0]!.toUpperCase() + a.slice(1) : a;
}

/** Local time "2024-05-01 13:04:05" (the tracker's Time column). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}

export function endpoint(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
