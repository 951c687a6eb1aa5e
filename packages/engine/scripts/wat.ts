/**
 * Compiles the engine's WebAssembly text (`*.wat`) with wabt. Used by `pnpm wasm`, which writes
 * the embedded binaries, and by the test that checks they match their source.
 */
import { readFileSync } from 'node:fs';
import wabt from 'wabt';

export async function compileWat(path: string): Promise<Uint8Array> {
  const w = await wabt();
  const mod = w.parseWat(path, readFileSync(path, 'utf8'));
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** The TypeScript module that embeds `bytes` (base64) under `name`. */
export function embedModule(sourceName: string, name: string, bytes: Uint8Array): string {
  return `// Generated from ${sourceName} by \`pnpm --filter @smtpguard/engine wasm\`: edit the source and rerun.\nexport const ${name} = '${Buffer.from(bytes).toString('base64')}';\n`;
}
