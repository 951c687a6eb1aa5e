import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileModule, ENGINE_DIR, WASM_MODULES } from '../../scripts/wasm.js';

describe('embedded WebAssembly', () => {
  for (const m of WASM_MODULES) {
    it(`${m.ts} is ${m.source} compiled (run \`pnpm --filter @smtpguard/engine wasm\` after editing it)`, async () => {
      const embedded = new RegExp(`export const ${m.name} = '([A-Za-z0-9+/=]+)'`).exec(readFileSync(ENGINE_DIR + m.ts, 'utf8'))?.[1];
      const compiled = Buffer.from(await compileModule(m.source)).toString('base64');
      expect(embedded).toBe(compiled);
    });
  }
});
