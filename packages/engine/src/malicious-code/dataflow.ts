/**
 * SigFree-style data-flow pruning (Wang et al., USENIX Security 2006, "scheme 2"): walk an
 * instruction sequence, track which registers hold defined values, and count only the
 * instructions whose inputs are all defined. Code computes from constants and its own
 * results; random bytes decoded as x86 keep reading registers nobody set, so their "useful"
 * count stays low even when their raw chain is long.
 *
 * Defined at entry: the stack pointer only (self-contained code assumption).
 */
import { decode as decode_, F_MEM as F_MEM_, Insn, Kind as Kind_, NO_REG as NO_REG_ } from './x86-decoder.js';
// Local copies: imported bindings are getter calls under tsx/vitest (hot path).
const decode = decode_;
const F_MEM = F_MEM_;
const Kind = Kind_;
const NO_REG = NO_REG_;

const ESP = 1 << 4;
let rd = 0;
let wr = 0;
let useful = true; // false for instructions that neither compute nor act (nop, flag twiddles)

function addr(ins: Insn): void {
  if (ins.flags & F_MEM) {
    if (ins.base !== NO_REG && ins.base < 16) rd |= 1 << ins.base;
    if (ins.index !== NO_REG) rd |= 1 << ins.index;
  }
}

/** Fill rd/wr with the register masks the instruction reads and writes. */
function effects(ins: Insn): void {
  rd = 0; wr = 0; useful = true;
  const op = ins.op;
  const mem = (ins.flags & F_MEM) !== 0;
  const R = 1 << ins.reg;
  const RM = mem ? 0 : 1 << ins.rm;
  addr(ins);
  if (op < 0x40 && (op & 7) < 6) {
    const kk = op >> 3, form = op & 7;
    const cmp = kk === 7;
    if (form < 2) {
      // Zeroing idioms (xor r,r / sub r,r) define without reading.
      if (!mem && ins.rm === ins.reg && (kk === 6 || kk === 5)) { wr = RM; return; }
      rd |= R | RM; if (!cmp) wr = RM;
    } else if (form < 4) {
      if (!mem && ins.rm === ins.reg && (kk === 6 || kk === 5)) { wr = R; return; }
      rd |= R | RM; if (!cmp) wr = R;
    } else { rd |= 1; if (!cmp) wr = 1; }
    return;
  }
  if (op >= 0x40 && op <= 0x4f) { rd = wr = 1 << ins.opreg; return; }
  if (op >= 0x50 && op <= 0x57) { rd = (1 << ins.opreg) | ESP; wr = ESP; return; }
  if (op >= 0x58 && op <= 0x5f) { rd = ESP; wr = (1 << ins.opreg) | ESP; return; }
  if (op >= 0x90 && op <= 0x97) { if (op === 0x90 && ins.opreg === 0) { useful = false; return; } rd = wr = 1 | (1 << ins.opreg); return; }
  if (op >= 0xb0 && op <= 0xbf) { wr = 1 << ins.opreg; return; }
  if (op >= 0x70 && op <= 0x7f) { useful = false; return; }
  switch (op) {
    case 0x68: case 0x6a: rd = ESP; wr = ESP; return;
    case 0x69: case 0x6b: rd |= RM; wr = R; return;
    case 0x80: case 0x81: case 0x83: rd |= RM; if ((ins.reg & 7) !== 7) wr = RM; return;
    case 0x84: case 0x85: rd |= R | RM; return;
    case 0x86: case 0x87: rd |= R | RM; wr = R | RM; return;
    case 0x88: case 0x89: rd |= R; wr = RM; return;
    case 0x8a: case 0x8b: rd |= RM; wr = R; return;
    case 0x8d: wr = R; return;
    case 0x8f: rd |= ESP; wr = RM | ESP; return;
    case 0x98: rd = wr = 1; return;
    case 0x99: rd = 1; wr = 4; return;
    case 0xa8: case 0xa9: rd = 1; return;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: rd |= RM; wr = RM; return;
    case 0xd2: case 0xd3: rd |= RM | 2; wr = RM; return;
    case 0xc6: case 0xc7: wr = RM; return;
    case 0xc2: case 0xc3: rd = ESP; wr = ESP; return;
    case 0xcd: rd = 1; return;
    case 0xe0: case 0xe1: case 0xe2: rd = wr = 2; return;
    case 0xe3: rd = 2; return;
    case 0xe8: rd = wr = ESP; return;
    case 0xe9: case 0xeb: useful = false; return;
    case 0xf6: case 0xf7: {
      const g = ins.reg & 7;
      if (g < 2) rd |= RM;
      else if (g < 4) { rd |= RM; wr = RM; }
      else { rd |= RM | 1; wr = 1 | 4; }
      return;
    }
    case 0xfe: case 0xff: {
      const g = ins.reg & 7;
      if (g < 2) { rd |= RM; wr = RM; } else if (g === 6) { rd |= RM | ESP; wr = ESP; } else rd |= RM;
      return;
    }
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: rd = (1 << 6) | (1 << 7); wr = (1 << 6) | (1 << 7); return;
    case 0xaa: case 0xab: case 0xae: case 0xaf: rd = 1 | (1 << 7); wr = 1 << 7; return;
    case 0xac: case 0xad: rd = 1 << 6; wr = 1 | (1 << 6); return;
    case 0x105: case 0x134: rd = 1; return;
    case 0x60: rd = 0xff; wr = ESP; return; // pusha
    case 0x61: rd = ESP; wr = 0xff; return; // popa
    case 0xc8: case 0xc9: rd = ESP | (1 << 5); wr = ESP | (1 << 5); return; // enter/leave
    case 0x9e: rd = 1; useful = false; return;
    case 0x9f: case 0xd6: wr = 1; return;
    case 0xd7: rd = 1 | 8; wr = 1; return; // xlat
    case 0x1a2: rd = 1 | 2; wr = 0xf; return; // cpuid
    case 0x131: wr = 1 | 4; return; // rdtsc
    default: break;
  }
  if (op >= 0xd8 && op <= 0xdf) { useful = mem; return; } // FPU: only env stores matter (GetPC)
  if ((op >= 0x1b6 && op <= 0x1b7) || (op >= 0x1be && op <= 0x1bf) || op === 0x1af) { rd |= RM | (op === 0x1af ? R : 0); wr = R; return; }
  if (op === 0x9b || op === 0xf5 || op === 0xf8 || op === 0xf9 || op === 0xfc || op === 0xfd || op === 0x27 || op === 0x2f || op === 0x37 || op === 0x3f) { useful = false; return; }
  rd |= R | RM; wr = R;
}

/**
 * `touchedRegs` of instructions without prefix or ModRM (flags 0), by opcode: the decoder fixes
 * their other operand fields from the opcode alone. KNOWN marks a filled entry.
 */
const plainTouched = new Int32Array(0x200);
const KNOWN = 1 << 16;

/** Registers the instruction reads or writes (bit r = register r). */
export function touchedRegs(ins: Insn): number {
  const op = ins.op;
  if (ins.flags === 0 && op < 0x200) {
    const t = plainTouched[op]!;
    if (t !== 0) return t & ~KNOWN;
    effects(ins);
    plainTouched[op] = rd | wr | KNOWN;
    return rd | wr;
  }
  effects(ins);
  return rd | wr;
}

const insn = new Insn();

/**
 * Useful-instruction count along the execution path from `start` (fall-through and direct
 * jumps/calls), at most `maxInsns` instructions. Bounded: maxInsns decodes.
 */
export function usefulCount(buf: Uint8Array, len: number, start: number, mode64: boolean, maxInsns: number): number {
  let defined = ESP;
  let count = 0;
  let p = start;
  for (let steps = 0; steps < maxInsns && p >= 0 && p < len; steps++) {
    const n = decode(buf, p, len, mode64, insn);
    if (n === 0) break;
    const k = insn.kind;
    if (k === Kind.Privileged || k === Kind.Far || k === Kind.Undefined || k === Kind.Int3 || k === Kind.Simd) break;
    effects(insn);
    const mask = mode64 ? 0xffff : 0xff;
    rd &= mask; wr &= mask;
    if ((rd & ~defined) === 0) {
      defined |= wr;
      if (useful && (wr !== 0 || (insn.flags & F_MEM) !== 0 || k !== Kind.Normal)) count++;
    } else defined &= ~wr;
    if (k === Kind.Jmp || k === Kind.Call) {
      if (insn.target < 0 || insn.target >= len) break;
      p = insn.target;
    } else if (k === Kind.Ret || k === Kind.JmpInd || k === Kind.CallInd) break;
    else p += n;
  }
  return count;
}
