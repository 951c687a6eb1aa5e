/// <reference path="./webassembly.d.ts" />
/**
 * The printable scan's loop as WebAssembly (printable-scan.wat): one instance per StaticScan,
 * whose memory also holds that scan's `chain` and `ilen` arrays (JavaScript views).
 */
import { PRINTABLE_SCAN_WASM } from './printable-scan.wasm.js';

/** Byte offsets in the instance's memory (the .wat header describes the same layout). */
export const PTAB_AT = 0;
export const ARG_AT = 131072;
export const CHAIN_AT = 147520;
export const ILEN_AT = 180608;

export interface PrintableScanModule {
  memory: WebAssembly.Memory;
  /** Start a scan of `len` argument bytes (already copied to ARG_AT). */
  begin(len: number): void;
  /** Go on: the longest chain, -1 (give up) or -2 (the offset `at()` needs the full decoder). */
  run(entry: number, rel: number): number;
  at(): number;
}

let compiled: WebAssembly.Module | undefined;

export function printableScanModule(): PrintableScanModule {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(PRINTABLE_SCAN_WASM), (c) => c.charCodeAt(0)));
  return new WebAssembly.Instance(compiled).exports as unknown as PrintableScanModule;
}
