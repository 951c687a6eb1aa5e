/**
 * Compiles the engine's AssemblyScript (`assembly/*.ts`) to WebAssembly. Used by `pnpm wasm`,
 * which writes the embedded binaries, and by the test that checks they match their source.
 * No runtime (nothing is allocated), no assertions (the code bounds its own memory accesses).
 */
import asc from 'assemblyscript/asc';

export async function compileAs(path: string): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  let errors = '';
  const { error } = await asc.main([path, '--optimizeLevel', '3', '--runtime', 'stub', '--noAssert', '--initialMemory', '8', '--outFile', 'out.wasm'], {
    writeFile: (name, contents) => {
      if (name === 'out.wasm' && typeof contents !== 'string') binary = contents;
    },
    stderr: { write: (text: string | Uint8Array) => { errors += String(text); return true; } },
  });
  if (error || !binary) throw new Error(`asc ${path}: ${error?.message ?? 'no output'}\n${errors}`);
  return binary;
}
