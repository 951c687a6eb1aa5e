import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { BUDGET_KB, initialJs } from '../../apps/console/scripts/bundle-size.mjs';

test(`the built console loads under ${BUDGET_KB} KB of JavaScript gzipped before its first screen`, () => {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'apps', 'console', 'dist');
  const r = initialJs(dist);
  const kb = r.gzip / 1024;
  console.log(`console initial JavaScript: ${kb.toFixed(1)} KB gzipped in ${r.files.length} files`);
  test.info().annotations.push({ type: 'bundle-gzip-kb', description: kb.toFixed(1) });
  expect(r.files.length).toBeGreaterThan(0);
  expect(kb).toBeLessThan(BUDGET_KB);
});
