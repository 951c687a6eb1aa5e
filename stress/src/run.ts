/**
 * `pnpm test:stress`: every scenario in its full form (STRESS_SHORT=1: the short CI form),
 * then one figures table. Exit code 1 if any behaviour check failed.
 * STRESS_ONLY=soak,faults runs a subset; STRESS_SOAK_MINUTES overrides the soak length.
 */
import { BAD_FULL, BAD_SHORT, runBadInput } from './bad-input.js';
import { FAULTS_FULL, FAULTS_SHORT, runFaults } from './faults.js';
import { killAll, removeTempDirs } from './procs.js';
import { isShort, renderTable, ScenarioResult } from './report.js';
import { runSlowClients, SLOW_FULL, SLOW_SHORT } from './slow-clients.js';
import { runSoak, SOAK_FULL, SOAK_SHORT } from './soak.js';

const short = isShort();
const soakMinutes = Number(process.env.STRESS_SOAK_MINUTES);
const scenarios: Array<[string, () => Promise<ScenarioResult>]> = [
  ['soak', () => runSoak({ ...(short ? SOAK_SHORT : SOAK_FULL), ...(soakMinutes > 0 ? { durationMs: Math.min(soakMinutes, 120) * 60_000 } : {}) })],
  ['slow-clients', () => runSlowClients(short ? SLOW_SHORT : SLOW_FULL)],
  ['faults', () => runFaults(short ? FAULTS_SHORT : FAULTS_FULL)],
  ['bad-input', () => runBadInput(short ? BAD_SHORT : BAD_FULL)],
];
const only = process.env.STRESS_ONLY?.split(',').filter(Boolean);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void killAll().finally(() => process.exit(130));
  });
}

const results: ScenarioResult[] = [];
const t0 = Date.now();
try {
  for (const [name, run] of scenarios) {
    if (only && !only.includes(name)) continue;
    const started = Date.now();
    process.stdout.write(`== ${name} (${short ? 'short' : 'full'} form) ...\n`);
    try {
      const r = await run();
      r.figure('scenario wall time s', (Date.now() - started) / 1000);
      results.push(r);
      process.stdout.write(`== ${name}: ${r.failed.length === 0 ? 'PASS' : `FAIL (${r.failed.map((c) => c.name).join('; ')})`}\n`);
    } catch (err) {
      const r = new ScenarioResult(name);
      r.check('scenario ran to the end', false, (err as Error).stack ?? String(err));
      results.push(r);
      process.stdout.write(`== ${name}: ERROR ${(err as Error).message}\n`);
    } finally {
      await killAll();
    }
  }
} finally {
  await killAll();
  removeTempDirs();
}
process.stdout.write(`\n${renderTable(results)}\n\nstress (${short ? 'short' : 'full'} form): ${((Date.now() - t0) / 1000).toFixed(0)} s, ${results.reduce((a, r) => a + r.checks.filter((c) => c.ok).length, 0)} checks passed, ${results.reduce((a, r) => a + r.failed.length, 0)} failed\n`);
process.exit(results.some((r) => r.failed.length > 0) ? 1 : 0);
