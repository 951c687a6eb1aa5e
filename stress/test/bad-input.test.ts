import { afterAll, expect, it } from 'vitest';
import { killAll, removeTempDirs } from '../src/procs.js';
import { renderTable } from '../src/report.js';
import { BAD_SHORT, runBadInput } from '../src/bad-input.js';

afterAll(async () => {
  await killAll();
  removeTempDirs();
});

it('bad-input (short form): the stated behaviour holds', async () => {
  const result = await runBadInput(BAD_SHORT);
  console.log(renderTable([result]));
  expect(result.failed).toEqual([]);
});
