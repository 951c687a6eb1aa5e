import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildDecoderTables, TABLES_TS } from '../../scripts/tables.js';
import { compileModule, ENGINE_DIR, WASM_MODULES } from '../../scripts/wasm.js';
import { unpackTable } from '../../src/malicious-code/packed-tables.js';
import * as embeddedTables from '../../src/malicious-code/tables.generated.js';

const embedded: Record<string, string> = embeddedTables;

describe('embedded WebAssembly', () => {
  for (const m of WASM_MODULES) {
    it(`${m.ts} is ${m.source} compiled (run \`pnpm --filter @smtpguard/engine wasm\` after editing it)`, async () => {
      const embedded = new RegExp(`export const ${m.name} = '([A-Za-z0-9+/=]+)'`).exec(readFileSync(ENGINE_DIR + m.ts, 'utf8'))?.[1];
      const compiled = Buffer.from(await compileModule(m.source)).toString('base64');
      expect(embedded).toBe(compiled);
    });
  }
});

describe('embedded decoder tables', () => {
  it(`${TABLES_TS} holds the tables the decoders build (run \`pnpm --filter @smtpguard/engine wasm\` after editing x86-decoder.ts, x86-quick.ts, the table builders or assembly/emulator-core.ts)`, () => {
    const tables = buildDecoderTables();
    expect(Object.keys(embedded).sort()).toEqual(tables.map((t) => t.name).sort());
    // Compared as bytes: a string diff of the packed text would take minutes to print.
    for (const { name, bytes } of tables) expect(Buffer.compare(unpackTable(embedded[name]!), bytes), name).toBe(0);
  });

});
