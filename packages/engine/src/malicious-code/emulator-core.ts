/// <reference path="./webassembly.d.ts" />
/**
 * The emulator's hot loop as WebAssembly (assembly/emulator-core.ts): one instance per Emulator,
 * whose memory also holds that emulator's memory images, registers and stamps (Emulator keeps
 * views of them). The instruction formats it may decode come from the TypeScript decoder.
 */
import { EMULATOR_CORE_WASM } from './emulator-core.wasm.js';
import { decode, F_MEM, F_MODRM, Insn } from './x86-decoder.js';

/** Byte offsets in the instance's memory (the AssemblyScript source declares the same layout). */
export const FORMAT_AT = 0;
export const ST_AT = 256;
export const LO_AT = 384;
export const HI_AT = 448;
export const MEM_AT = 512;
export const STK_AT = 18176;
export const WSTAMP_AT = 26368;
export const XSTAMP_AT = 97024;
export const SWSTAMP_AT = 167680;
export const SXSTAMP_AT = 200448;
export const MEMUNDO_AT = 233216;
export const STKUNDO_AT = 303872;
export const VISITED_AT = 336640;

/** Slots of the state block (i32 at ST_AT), in the source's order. */
export const enum Slot {
  Eip, Steps, MaxSteps, LastWrite, Undef, Cf, Zf, Sf, Of, Pfb, Df, MemUndoN, StkUndoN, Gen, VisitGen,
  Streak, Wx, WxFirst, WxRun, BackJumps, LoopAt, MemSize, ArgEnd, Syscalls,
}

/** run() results besides a Stop code. */
export const HAND_BACK = -1;
export const BUDGET = -2;

export interface EmulatorCore {
  memory: WebAssembly.Memory;
  /** Whether run() executes one-byte opcode `op` (formats are filled for those only). */
  executes(op: number): number;
  /** Execute from the state block: a Stop code, BUDGET, or HAND_BACK (the instruction at eip is emulator.ts's). */
  run(): number;
}

const FMT_MODRM = 8;
const FMT_REG_FORMS = 16;
const FMT_DECODED = 32;
let compiled: WebAssembly.Module | undefined;
let formats: Uint8Array | undefined;

export function emulatorCore(): EmulatorCore {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(EMULATOR_CORE_WASM), (c) => c.charCodeAt(0)));
  const core = new WebAssembly.Instance(compiled).exports as unknown as EmulatorCore;
  formats ??= decodedFormats(core);
  new Uint8Array(core.memory.buffer, FORMAT_AT, 256).set(formats);
  return core;
}

/** Length of the ModRM, SIB and displacement bytes of a 32-bit address form. */
function modrmBytes(modrm: number, sib: number): number {
  const mod = modrm >> 6, rm = modrm & 7;
  if (mod === 3) return 1;
  let n = 1 + (mod === 1 ? 1 : mod === 2 ? 4 : 0);
  if (rm === 4) { n++; if (mod === 0 && (sib & 7) === 5) n += 4; }
  else if (rm === 5 && mod === 0) n += 4;
  return n;
}

/**
 * For each one-byte opcode the core executes, its i386 format as the decoder decodes it
 * without prefix: immediate size, ModRM, and whether the register forms decode like the memory
 * forms (8D, bound: invalid), and FMT_DECODED. 0 when any ModRM/SIB byte makes the decoder
 * disagree with that plain format; the core then leaves the opcode to emulator.ts.
 */
function decodedFormats(core: EmulatorCore): Uint8Array {
  const out = new Uint8Array(256);
  const ins = new Insn();
  const buf = new Uint8Array(16);
  for (let op = 0; op < 256; op++) {
    if (!core.executes(op)) continue;
    buf.fill(0x11);
    buf[0] = op;
    const n = decode(buf, 0, buf.length, false, ins);
    if (n === 0 || ins.op !== op) continue;
    const immSize = ins.immSize;
    if ((ins.flags & F_MODRM) === 0) {
      if (ins.flags === 0 && n === 1 + immSize) out[op] = immSize | FMT_DECODED;
      continue;
    }
    let format = immSize | FMT_MODRM | FMT_REG_FORMS | FMT_DECODED;
    for (let modrm = 0; modrm < 256 && format !== 0; modrm++) {
      for (const sib of [0x11, 0x25]) {
        buf[1] = modrm;
        buf[2] = sib;
        const len = decode(buf, 0, buf.length, false, ins);
        const plain = len === 1 + modrmBytes(modrm, sib) + immSize && ins.op === op && ins.immSize === immSize && (ins.flags & ~(F_MODRM | F_MEM)) === 0;
        if (!plain) format = modrm >= 0xc0 ? format & ~FMT_REG_FORMS : 0;
      }
    }
    out[op] = format;
  }
  return out;
}
