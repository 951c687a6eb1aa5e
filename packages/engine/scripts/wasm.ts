// Writes the embedded WebAssembly modules from their sources: WebAssembly text (scripts/wat.ts)
// or AssemblyScript (scripts/asc.ts); then the tables built from the decoders (scripts/tables.ts).
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileAs } from './asc.js';
import { compileWat, embedModule } from './wat.js';

/** Sources and outputs, relative to the engine package. */
export const WASM_MODULES = [
  { source: 'src/malicious-code/scan-loops.wat', ts: 'src/malicious-code/scan-loops.wasm.ts', name: 'SCAN_LOOPS_WASM' },
  { source: 'assembly/emulator-core.ts', ts: 'src/malicious-code/emulator-core.wasm.ts', name: 'EMULATOR_CORE_WASM' },
];
export const ENGINE_DIR = fileURLToPath(new URL('../', import.meta.url));

export function compileModule(source: string): Promise<Uint8Array> {
  return source.endsWith('.wat') ? compileWat(ENGINE_DIR + source) : compileAs(ENGINE_DIR + source);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const m of WASM_MODULES) {
    const bytes = await compileModule(m.source);
    writeFileSync(ENGINE_DIR + m.ts, embedModule(basename(m.source), m.name, bytes));
    console.log(`${m.ts}: ${bytes.length} bytes`);
  }
  // Imported only now: the emulator core's tables depend on what the core just written executes.
  const { buildDecoderTables, tablesModule, TABLES_TS } = await import('./tables.js');
  const text = tablesModule(buildDecoderTables());
  writeFileSync(ENGINE_DIR + TABLES_TS, text);
  console.log(`${TABLES_TS}: ${text.length} characters`);
}
