import { afterAll, expect, it } from 'vitest';
import { killAll, removeTempDirs } from '../src/procs.js';
import { renderTable } from '../src/report.js';
import { FAULTS_SHORT, runFaults } from '../src/faults.js';

afterAll(async () => {
  await killAll();
  removeTempDirs();
});

it('faults (short form): the stated behaviour holds', async () => {
  const result = await runFaults(FAULTS_SHORT);
  console.log(renderTable([result]));
  expect(result.failed).toEqual([]);
});
