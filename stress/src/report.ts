/** What a scenario hands back: figures to print and behaviour checks to assert. */
export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export class ScenarioResult {
  readonly figures: Array<[string, string]> = [];
  readonly checks: Check[] = [];
  constructor(readonly name: string) {}

  figure(key: string, value: string | number): void {
    this.figures.push([key, typeof value === 'number' ? fmt(value) : value]);
  }

  check(name: string, ok: boolean, detail?: unknown): boolean {
    this.checks.push({ name, ok, ...(detail !== undefined ? { detail: typeof detail === 'string' ? detail : JSON.stringify(detail) } : {}) });
    return ok;
  }

  get failed(): Check[] {
    return this.checks.filter((c) => !c.ok);
  }
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function renderTable(results: ScenarioResult[]): string {
  const rows: Array<[string, string, string]> = [];
  for (const r of results) {
    for (const [k, v] of r.figures) rows.push([r.name, k, v]);
    for (const c of r.checks) rows.push([r.name, `check: ${c.name}`, c.ok ? 'PASS' : `FAIL ${c.detail ?? ''}`]);
  }
  const w0 = Math.max(8, ...rows.map((r) => r[0].length));
  const w1 = Math.max(6, ...rows.map((r) => r[1].length));
  const line = (a: string, b: string, c: string) => `| ${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c} |`;
  return [line('scenario', 'figure', 'value'), `|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|-------|`, ...rows.map((r) => line(...r))].join('\n');
}

/** Short (CI) or full form, from STRESS_SHORT. */
export const isShort = () => process.env.STRESS_SHORT === '1' || process.env.STRESS_SHORT === 'true';
