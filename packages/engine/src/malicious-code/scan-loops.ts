/// <reference path="./webassembly.d.ts" />
/**
 * The static scan's loops as WebAssembly (scan-loops.wat): one instance per StaticScan,
 * whose memory also holds that scan's per-offset arrays (StaticScan keeps views of them).
 */
import { SCAN_LOOPS_WASM } from './scan-loops.wasm.js';

/** Byte offsets in the instance's memory (the .wat header describes the same layout). */
export const PTAB_AT = 0;
export const ARG_AT = 131072;
export const CHAIN_AT = 147520;
export const ILEN_AT = 180608;
export const KIND_AT = 196992;
export const TGT_AT = 213376;
export const LINEND_AT = 278912;
export const RING_AT = 344464;
export const RING_TYPE_AT = 344720;
export const MAYBE_TRIG_AT = 344784;
export const FAST32_AT = 345088;
export const FAST64_AT = 476160;
export const HEADS_AT = 607232;
/** A scan's results (i32): longest chain, its offset, triggers seen, longest sled-offset run. */
export const SCAN_RESULT_AT = 607264;
/** Candidate starts (272 x i32), then the sled landings `candidates` takes (4 x i32). */
export const CAND_AT = 705632;
export const LANDINGS_AT = 706720;
/** PTAB's prefix page for 66 and 67 both (it does not fit before ARG_AT). */
export const PTAB_BOTH_AT = 720896;

export interface ScanLoops {
  memory: WebAssembly.Memory;
  /**
   * The printable scan of `len` argument bytes (already copied to ARG_AT), then `heads(len,
   * minChain)`: -3 (nothing done) when one of the first 16 bytes is not printable, else as `printableRun`.
   */
  printableScan(len: number, minChain: number): number;
  /** Resume with the entry `quick` gave for `at()`: 0 when done, -1 (give up) or -2 (the offset `at()` needs `quick`). */
  printableRun(entry: number): number;
  /** Start a full scan of `len` argument bytes (already copied to ARG_AT). */
  scanBegin(len: number, mode64: number): void;
  /** Go on (`trigger`: the trigger type found at `at()`): 0 when done (results at SCAN_RESULT_AT) or -2 (see the .wat). */
  scanRun(trigger: number): number;
  at(): number;
  /** The 4 longest chains from heads into HEADS_AT (see the .wat). */
  heads(len: number, minChain: number): void;
  /** Start entry-path work on the last full scan of `len` bytes. */
  pathsBegin(len: number): void;
  /** StaticScan.candidates into CAND_AT (see the .wat); returns how many. */
  candidates(nLandings: number, nTrig: number, max: number, triggerRoom: number, entryTypes: number): number;
  /** The class of `len` argument bytes (already copied to ARG_AT): 0 binary, 1 UTF-8 text, 2 printable ASCII. */
  textClass(len: number): number;
}

let compiled: WebAssembly.Module | undefined;

export function scanLoops(): ScanLoops {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(SCAN_LOOPS_WASM), (c) => c.charCodeAt(0)));
  return new WebAssembly.Instance(compiled).exports as unknown as ScanLoops;
}
