import { afterAll, expect, it } from 'vitest';
import { killAll, removeTempDirs } from '../src/procs.js';
import { renderTable } from '../src/report.js';
import { SLOW_SHORT, runSlowClients } from '../src/slow-clients.js';

afterAll(async () => {
  await killAll();
  removeTempDirs();
});

it('slow-clients (short form): the stated behaviour holds', async () => {
  const result = await runSlowClients(SLOW_SHORT);
  console.log(renderTable([result]));
  expect(result.failed).toEqual([]);
});
