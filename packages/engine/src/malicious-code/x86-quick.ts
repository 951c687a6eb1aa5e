/**
 * Fast instruction length/kind for the per-offset static scan. The static scan decodes at
 * every offset, so it dominates the cost on long text arguments; this covers the common
 * one-byte opcodes with two table lookups and defers everything irregular (0F map, VEX,
 * LOCK/REP/67 prefixes, group opcodes with validity rules, moffs) to the full decoder.
 * Results are identical to `decode` (checked by a property test).
 */
import { decode as decode_, F_MEM as F_MEM_, Insn, Kind as Kind_ } from './x86-decoder.js';

// Local copies: imported bindings are getter calls under tsx/vitest (hot path).
const decode = decode_;
const F_MEM = F_MEM_;
const Kind = Kind_;

// QSPEC bits: 1 ModRM, 2 imm8, 4 immz, 8 imm16, 16 invalid in 64-bit, 32 handled by the slow path.
const QM = 1, Q8 = 2, QZ = 4, Q16 = 8, QINV64 = 16, QSLOW = 32;
const QSPEC = new Uint8Array(256);
const QKIND = new Uint8Array(256);
/** ModRM (32/64-bit addressing): bytes after the ModRM byte (disp), 0x80 = SIB follows. */
const MODRM_EXTRA = new Uint8Array(256);

(function build(): void {
  for (let row = 0; row < 8; row++) {
    const b = row * 8;
    QSPEC[b] = QSPEC[b + 1] = QSPEC[b + 2] = QSPEC[b + 3] = QM;
    QSPEC[b + 4] = Q8;
    QSPEC[b + 5] = QZ;
  }
  for (const b of [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0xce, 0xd4, 0xd5, 0xd6]) QSPEC[b] = QINV64 | (b === 0xd4 || b === 0xd5 ? Q8 : 0);
  for (const b of [0x0f, 0x26, 0x2e, 0x36, 0x3e, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x82, 0x8c, 0x8e, 0x8f, 0x9a, 0xa0, 0xa1, 0xa2, 0xa3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xea, 0xf0, 0xf2, 0xf3, 0xf6, 0xf7, 0xfe, 0xff]) QSPEC[b] = QSLOW;
  for (let b = 0x40; b <= 0x5f; b++) QSPEC[b] = 0;
  QSPEC[0x68] = QZ; QSPEC[0x69] = QM | QZ; QSPEC[0x6a] = Q8; QSPEC[0x6b] = QM | Q8;
  for (let b = 0x70; b <= 0x7f; b++) QSPEC[b] = Q8;
  QSPEC[0x80] = QM | Q8; QSPEC[0x81] = QM | QZ; QSPEC[0x83] = QM | Q8;
  for (let b = 0x84; b <= 0x8b; b++) QSPEC[b] = QM;
  QSPEC[0x8d] = QSLOW; // lea: register form is invalid
  QSPEC[0xa8] = Q8; QSPEC[0xa9] = QZ;
  for (let b = 0xb0; b <= 0xb7; b++) QSPEC[b] = Q8;
  for (let b = 0xb8; b <= 0xbf; b++) QSPEC[b] = QZ;
  QSPEC[0xc0] = QM | Q8; QSPEC[0xc1] = QM | Q8; QSPEC[0xc2] = Q16; QSPEC[0xca] = Q16; QSPEC[0xcd] = Q8;
  for (let b = 0xd0; b <= 0xd3; b++) QSPEC[b] = QM;
  for (let b = 0xd8; b <= 0xdf; b++) QSPEC[b] = QM;
  for (let b = 0xe0; b <= 0xe7; b++) QSPEC[b] = Q8;
  QSPEC[0xe8] = QZ; QSPEC[0xe9] = QZ; QSPEC[0xeb] = Q8;

  for (let b = 0x70; b <= 0x7f; b++) QKIND[b] = Kind.Jcc;
  for (const b of [0x6c, 0x6d, 0x6e, 0x6f, 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef, 0xf4, 0xfa, 0xfb]) QKIND[b] = Kind.Privileged;
  QKIND[0xca] = QKIND[0xcb] = QKIND[0xcf] = Kind.Far;
  QKIND[0xc2] = QKIND[0xc3] = Kind.Ret;
  QKIND[0xcc] = QKIND[0xf1] = Kind.Int3;
  QKIND[0xcd] = QKIND[0xce] = Kind.Int;
  QKIND[0xe0] = QKIND[0xe1] = QKIND[0xe2] = QKIND[0xe3] = Kind.Loop;
  QKIND[0xe8] = Kind.Call; QKIND[0xe9] = QKIND[0xeb] = Kind.Jmp;

  for (let m = 0; m < 256; m++) {
    const mod = m >> 6, rm = m & 7;
    if (mod === 3) MODRM_EXTRA[m] = 0;
    else if (rm === 4) MODRM_EXTRA[m] = 0x80 | (mod === 1 ? 1 : mod === 2 ? 4 : 0);
    else if (mod === 0) MODRM_EXTRA[m] = rm === 5 ? 4 : 0;
    else MODRM_EXTRA[m] = mod === 1 ? 1 : 4;
  }
})();

/** Results of the last `quick` call (module state: no allocation). */
export const q = { kind: 0 as number, target: 0, op: 0, mem: false, modrm: -1, opreg: 0, rexB: 0 };
const slow = new Insn();

/**
 * Length of the instruction at `off` (0 when invalid or cut by `end`), with `q` filled in.
 * Same answer as the full decoder; fast for the plain one-byte forms.
 */
export function quick(buf: Uint8Array, off: number, end: number, mode64: boolean): number {
  let p = off;
  let opsize16 = false;
  let rex = 0;
  const limit = end < off + 15 ? end : off + 15;
  for (;;) {
    if (p >= limit) return 0;
    const b = buf[p]!;
    if (b === 0x66) { opsize16 = true; rex = 0; p++; continue; }
    if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) { rex = 0; p++; continue; }
    if (mode64 && (b & 0xf0) === 0x40) { rex = b; p++; continue; }
    break;
  }
  const op = buf[p]!;
  const spec = QSPEC[op]!;
  if (spec & QSLOW || (rex & 8 && op >= 0xb8 && op <= 0xbf)) return slowPath(buf, off, end, mode64);
  if (mode64 && spec & QINV64) return 0;
  p++;
  q.op = op;
  q.kind = QKIND[op]!;
  q.mem = false;
  q.modrm = -1;
  q.rexB = rex & 1;
  q.opreg = (op & 7) | ((rex & 1) << 3);
  if (spec & QM) {
    if (p >= limit) return 0;
    const m = buf[p++]!;
    q.modrm = m;
    let extra = MODRM_EXTRA[m]!;
    if (m < 0xc0) {
      q.mem = true;
      if (extra & 0x80) {
        if (p >= limit) return 0;
        const sib = buf[p++]!;
        extra &= 0x7f;
        if ((sib & 7) === 5 && m < 0x40) extra = 4;
      }
      p += extra;
    }
  }
  let imm = 0;
  if (spec & Q8) imm = 1;
  else if (spec & QZ) imm = opsize16 && !(rex & 8) && !(mode64 && (op === 0xe8 || op === 0xe9)) ? 2 : 4;
  else if (spec & Q16) imm = 2;
  if (p + imm > limit) return 0;
  const k = q.kind;
  if (k === Kind.Jcc || k === Kind.Jmp || k === Kind.Call || k === Kind.Loop) {
    let rel: number;
    if (imm === 1) rel = (buf[p]! << 24) >> 24;
    else if (imm === 2) rel = ((buf[p]! | (buf[p + 1]! << 8)) << 16) >> 16;
    else rel = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
    q.target = p + imm + rel;
  }
  return p + imm - off;
}

/**
 * True when `quick` decodes an instruction starting with byte `b` (no prefix) from its tables
 * alone, so its length depends only on the opcode, the ModRM byte and the SIB base.
 */
export function quickTableDriven(b: number, mode64: boolean): boolean {
  if (b === 0x66 || b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) return false;
  if (mode64 && (b & 0xf0) === 0x40) return false;
  return (QSPEC[b]! & QSLOW) === 0;
}

function slowPath(buf: Uint8Array, off: number, end: number, mode64: boolean): number {
  const n = decode(buf, off, end, mode64, slow);
  if (n === 0) return 0;
  q.op = slow.op;
  q.kind = slow.kind;
  q.target = slow.target;
  q.mem = (slow.flags & F_MEM) !== 0;
  q.modrm = slow.flags & 1 ? (slow.mod << 6) | ((slow.reg & 7) << 3) | (slow.rm & 7) : -1;
  q.opreg = slow.opreg;
  q.rexB = 0;
  return n;
}
