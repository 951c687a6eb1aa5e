import { afterAll, expect, it } from 'vitest';
import { killAll, removeTempDirs } from '../src/procs.js';
import { renderTable } from '../src/report.js';
import { SOAK_SHORT, runSoak } from '../src/soak.js';

afterAll(async () => {
  await killAll();
  removeTempDirs();
});

it('soak (short form): the stated behaviour holds', async () => {
  const result = await runSoak(SOAK_SHORT);
  console.log(renderTable([result]));
  expect(result.failed).toEqual([]);
});
