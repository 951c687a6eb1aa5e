/// <reference path="./webassembly.d.ts" />
/**
 * The emulator's hot loop as WebAssembly (assembly/emulator-core.ts): one instance per Emulator,
 * whose memory also holds that emulator's memory images, registers and stamps (Emulator keeps
 * views of them). The instruction formats it may decode come from the TypeScript decoder: tables
 * built here by running it (at `pnpm wasm` time: scripts/tables.ts embeds them in
 * tables.generated.ts, and a test checks they match).
 */
import { EMULATOR_CORE_WASM } from './emulator-core.wasm.js';
import { unpackTable } from './packed-tables.js';
import { ADDR16_TABLE, FORMAT_TABLE, LEFT_TABLE } from './tables.generated.js';
import { decode, F_ADDRSIZE, F_MEM, F_MODRM, F_MOFFS, F_OPSIZE, F_RIPREL, F_SEGFS, F_SEGOTHER, Insn, Kind, NO_REG } from './x86-decoder.js';

/** Slots of the state block (i32 at ST_AT), in the source's order. */
export const enum Slot {
  Eip, Steps, LastWrite, Undef, Cf, Zf, Sf, Of, Pfb, Df, MemUndoN, StkUndoN, Streak, Wx, WxFirst, WxRun,
  BackJumps, LoopAt, Syscalls, Gen, Next, Spent,
}

/** run() results besides a Stop code. */
export const HAND_BACK = -1;
export const BUDGET = -2;

/** Room for runEach's starts (i32 at STARTS_AT). */
export const MAX_STARTS = 256;

/** Where the instance keeps each array (byte offsets in its memory). */
export interface CoreLayout {
  FORMAT_AT: WebAssembly.Global; ST_AT: WebAssembly.Global; LO_AT: WebAssembly.Global; HI_AT: WebAssembly.Global;
  MEM_AT: WebAssembly.Global; STK_AT: WebAssembly.Global; WSTAMP_AT: WebAssembly.Global; XSTAMP_AT: WebAssembly.Global;
  SWSTAMP_AT: WebAssembly.Global; SXSTAMP_AT: WebAssembly.Global; MEMUNDO_AT: WebAssembly.Global;
  STKUNDO_AT: WebAssembly.Global; VISITED_AT: WebAssembly.Global; STARTS_AT: WebAssembly.Global; ADDR16_AT: WebAssembly.Global;
  LEFT_AT: WebAssembly.Global;
}

export interface EmulatorCore extends CoreLayout {
  memory: WebAssembly.Memory;
  /** Whether run() executes one-byte opcode `op` (after any prefixes it recognises; formats are filled for those only). */
  executes(op: number): number;
  /** Derive the loop's one-byte forms from the formats (once they are filled). */
  fillForms(): void;
  /** Continue from the state block: a Stop code, BUDGET, or HAND_BACK (the instruction at eip is emulator.ts's). */
  run(): number;
  /** Undo the last run's writes and take a new argument's sizes; returns the stamp generation. */
  begin(memUndoN: number, stkUndoN: number, memSize: number, argEnd: number, visitGen: number): number;
  /** Undo the last run's writes and advance the stamp generation (returned). */
  undo(memUndoN: number, stkUndoN: number): number;
  /**
   * Run from the offsets at STARTS_AT[from..count) in order (mode64: 1 for 64-bit), within
   * `budget` steps, until a run emulator.ts must see: its result, its index in Slot.Next (count
   * after the last) and the steps of the runs before it in Slot.Spent.
   */
  runEach(from: number, count: number, mode64: number, runSteps: number, budget: number, skipVisited: number, minWxRun: number, memUndoN: number, stkUndoN: number): number;
  /** Undo the last run's writes and run from address `at` as runEach runs each. */
  start(at: number, mode64: number, maxSteps: number, memUndoN: number, stkUndoN: number): number;
}

const FMT_MODRM = 8;
const FMT_REG_FORMS = 16;
const FMT_DECODED = 32;
const FMT_MEM_FORMS = 64;
/** An 8-byte immediate: a moffs64 address (the core reads its low 4 bytes, as emulator.ts does). */
const FMT_IMM8 = 128;
/** A prefix byte of each class the core recognises (bit i of the class number: SEG, FS/GS, operand size, address size). */
const PREFIX_BYTES = [0x2e, 0x64, 0x66, 0x67];
const PREFIX_FLAGS = F_SEGOTHER | F_SEGFS | F_OPSIZE | F_ADDRSIZE;
let compiled: WebAssembly.Module | undefined;

/** An instance without its tables: what building them needs (`decodedFormats`). */
export function bareEmulatorCore(): EmulatorCore {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(EMULATOR_CORE_WASM), (c) => c.charCodeAt(0)));
  return new WebAssembly.Instance(compiled).exports as unknown as EmulatorCore;
}

export function emulatorCore(): EmulatorCore {
  const core = bareEmulatorCore();
  const bytes = new Uint8Array(core.memory.buffer);
  bytes.set(unpackTable(ADDR16_TABLE), core.ADDR16_AT.value);
  bytes.set(unpackTable(FORMAT_TABLE), core.FORMAT_AT.value);
  bytes.set(unpackTable(LEFT_TABLE), core.LEFT_AT.value);
  core.fillForms();
  return core;
}

/**
 * For each ModRM byte, the 16-bit address form the decoder decodes in i386 (address-size
 * prefix): the registers it names (bit i for register i) | its displacement size << 8.
 */
export function addressForms16(): Uint16Array {
  const out = new Uint16Array(256);
  const ins = new Insn();
  const buf = new Uint8Array(8).fill(0x11);
  buf.set([0x67, 0x8b]); // mov r32, r/m32
  for (let modrm = 0; modrm < 0xc0; modrm++) {
    buf[2] = modrm;
    decode(buf, 0, buf.length, false, ins);
    out[modrm] = (ins.base === NO_REG ? 0 : 1 << ins.base) | (ins.index === NO_REG ? 0 : 1 << ins.index) | (ins.dispSize << 8);
  }
  return out;
}

/**
 * ModRM (and SIB) bytes to probe an opcode with, and the group each stands for (-1: all): every
 * group (reg) in a memory and a register form, and every addressing shape (mod 0-2 with a
 * base, SIB with and without base, disp32; in 16-bit addressing also disp16) and register. The
 * decoder reads reg for the group and mod/rm/SIB for the operand, independently.
 */
const MODRM_PROBES: [number, number, number][] = [];
for (let reg = 0; reg < 8; reg++) MODRM_PROBES.push([reg << 3, 0x11, reg], [0xc0 | (reg << 3), 0x11, reg]);
for (let mod = 0; mod < 3; mod++) for (const rm of [1, 4, 5, 6]) for (const sib of rm === 4 ? [0x11, 0x25] : [0x11]) MODRM_PROBES.push([(mod << 6) | rm, sib, -1]);
for (let rm = 0; rm < 8; rm++) MODRM_PROBES.push([0xc0 | rm, 0x11, -1]);

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
 * For each mode, combination of prefix classes (PREFIX_BYTES) and one-byte opcode the core
 * executes, the format the decoder decodes it: immediate size (a moffs address and a far
 * pointer's selector count with the immediate), ModRM, whether the register forms and the memory forms decode as plain ModRM/SIB
 * forms (lea, bound: no register forms), 32-bit ones or in i386 with an address-size prefix
 * the 16-bit ones of `forms16`, and FMT_DECODED. 0 when the decoder disagrees otherwise; the
 * core then leaves the instruction to emulator.ts. `left`, where not all of a form decodes so:
 * the groups of the memory forms that do not (bit g), of the register forms << 8, and whether
 * the decoder rejects them all (emulator.ts stops there as invalid), 1 << 16 and 1 << 24.
 */
export function decodedFormats(core: EmulatorCore, forms16: Uint16Array): { format: Uint8Array; left: Uint32Array } {
  const out = new Uint8Array(2 * 16 * 256);
  const left = new Uint32Array(out.length);
  const ins = new Insn();
  const buf = new Uint8Array(24);
  for (const mode64 of [false, true]) for (let prefixes = 0; prefixes < 16; prefixes++) {
    const table = (mode64 ? 4096 : 0) | (prefixes << 8);
    const pfx = PREFIX_BYTES.filter((_, i) => prefixes & (1 << i));
    const addr16 = !mode64 && (prefixes & 8) !== 0;
    for (let op = 0; op < 256; op++) {
      if (!core.executes(op)) continue;
      buf.fill(0x11);
      buf.set(pfx);
      const at = pfx.length;
      buf[at] = op;
      buf[at + 1] = 0x01; // ModRM group 0, as the group opcodes take
      const n = decode(buf, 0, buf.length, mode64, ins);
      if (n === 0 || ins.op !== op) continue;
      const immSize = ins.immSize;
      if ((ins.flags & F_MODRM) === 0) {
        // 9a: the core stops there, so only its length matters.
        const tail = n - at - 1;
        if ((ins.flags & ~PREFIX_FLAGS) === 0 && (tail === immSize || (ins.kind === Kind.Far && tail === immSize + 2))) out[table | op] = tail | FMT_DECODED;
        // moffs: the absolute address as the immediate.
        else if ((ins.flags & ~PREFIX_FLAGS) === (F_MEM | F_MOFFS) && immSize === 0 && n === at + 1 + ins.dispSize) out[table | op] = (ins.dispSize === 8 ? FMT_IMM8 : ins.dispSize) | FMT_DECODED;
        continue;
      }
      // Per form (memory, register): the groups not plain, whether one of those decodes, whether one is plain.
      const notPlain = [0, 0] as [number, number], decodes = [false, false], plainSeen = [false, false];
      for (const [modrm, sib, group] of MODRM_PROBES) {
        buf[at + 1] = modrm;
        buf[at + 2] = sib;
        const len = decode(buf, 0, buf.length, mode64, ins);
        const formBytes = addr16 ? 1 + (forms16[modrm]! >> 8) : modrmBytes(modrm, sib);
        const plain = len === at + 1 + formBytes + immSize && ins.op === op && ins.immSize === immSize && (ins.flags & ~(F_MODRM | F_MEM | F_RIPREL | PREFIX_FLAGS)) === 0;
        const form = modrm >= 0xc0 ? 1 : 0;
        if (plain) plainSeen[form] = true;
        else {
          notPlain[form] |= group < 0 ? 0xff : 1 << group;
          if (len !== 0) decodes[form] = true;
        }
      }
      // Rejected: every probe that is not plain, and not an addressing shape or register where others are plain.
      const rejected = (f: number) => notPlain[f] !== 0 && !decodes[f] && (notPlain[f] !== 0xff || !plainSeen[f]);
      const [memLeft, regLeft] = notPlain;
      out[table | op] = immSize | FMT_MODRM | FMT_DECODED | (regLeft === 0 ? FMT_REG_FORMS : 0) | (memLeft === 0 ? FMT_MEM_FORMS : 0);
      left[table | op] = memLeft | (regLeft << 8) | (rejected(0) ? 1 << 16 : 0) | (rejected(1) ? 1 << 24 : 0);
    }
  }
  return { format: out, left };
}
