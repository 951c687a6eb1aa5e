import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileWat } from '../../scripts/wat.js';
import { WASM_MODULES } from '../../scripts/wasm.js';

const dir = fileURLToPath(new URL('../../src/malicious-code/', import.meta.url));

describe('embedded WebAssembly', () => {
  for (const m of WASM_MODULES) {
    it(`${m.ts} is ${m.wat} compiled (run \`pnpm --filter @smtpguard/engine wasm\` after editing the .wat)`, async () => {
      const embedded = new RegExp(`export const ${m.name} = '([A-Za-z0-9+/=]+)'`).exec(readFileSync(dir + m.ts, 'utf8'))?.[1];
      const compiled = Buffer.from(await compileWat(dir + m.wat)).toString('base64');
      expect(embedded).toBe(compiled);
    });
  }
});
