// Runs every suite through turbo, then prints one closing line "N passed, N failed"
// summed over all vitest/Playwright JSON reports (CI reads that line).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

function reportFiles() {
  const dirs = ['e2e', 'stress'];
  for (const parent of ['apps', 'packages']) {
    if (existsSync(parent)) for (const name of readdirSync(parent)) dirs.push(join(parent, name));
  }
  return dirs
    .map((dir) => join(dir, '.reports'))
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => join(dir, f)));
}
for (const file of reportFiles()) rmSync(file);

const run = spawnSync('pnpm', ['exec', 'turbo', 'run', 'typecheck', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});

let passed = 0;
let failed = 0;
const seen = [];
{
  for (const file of reportFiles()) {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    if (report.stats && typeof report.stats.expected === 'number') {
      // Playwright JSON reporter
      passed += report.stats.expected + (report.stats.flaky ?? 0);
      failed += report.stats.unexpected;
      seen.push(`${file}: ${report.stats.expected} passed, ${report.stats.unexpected} failed`);
    } else {
      // vitest JSON reporter
      passed += report.numPassedTests ?? 0;
      failed += (report.numFailedTests ?? 0) + (report.numTodoTests ?? 0) + (report.numPendingTests ?? 0);
      seen.push(`${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
    }
  }
}
for (const line of seen) console.log(line);
if (run.status !== 0 && failed === 0) failed = 1; // typecheck or a crashed suite counts as a failure
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
