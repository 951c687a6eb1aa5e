// Writes the embedded WebAssembly modules from their .wat sources (see scripts/wat.ts).
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileWat, embedModule } from './wat.js';

export const WASM_MODULES = [{ wat: 'scan-loops.wat', ts: 'scan-loops.wasm.ts', name: 'SCAN_LOOPS_WASM' }];
const dir = fileURLToPath(new URL('../src/malicious-code/', import.meta.url));

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const m of WASM_MODULES) {
    const bytes = await compileWat(dir + m.wat);
    writeFileSync(dir + m.ts, embedModule(m.wat, m.name, bytes));
    console.log(`${m.ts}: ${bytes.length} bytes`);
  }
}
