// `pnpm bench`: every package's benchmark, one after another (they would skew each
// other on a 2-core machine), each printing its own figures.
import { spawnSync } from 'node:child_process';

const run = spawnSync('pnpm', ['-r', '--workspace-concurrency=1', '--if-present', '--reporter=append-only', 'run', 'bench'], {
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});
process.exit(run.status ?? 1);
