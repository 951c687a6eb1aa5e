/**
 * x86 / x86-64 instruction decoder written for code detection in untrusted bytes.
 *
 * It decodes one instruction at any offset of a buffer: length, opcode, ModRM/SIB operands,
 * immediates, relative branch targets and a coarse "kind" (control flow, gate, privileged).
 * It never reads outside [0, end) and does a bounded amount of work (an instruction is at most
 * 15 bytes, so at most 15 prefix iterations plus constant work). Results go into a caller-owned
 * `Insn` so the hot loop allocates nothing.
 *
 * Coverage: the whole one-byte map, the 0F two-byte map, 0F38/0F3A three-byte maps and VEX
 * (C4/C5) for lengths. EVEX (62 in 64-bit mode) and XOP are reported invalid: shellcode does not
 * use them, and treating them as invalid keeps chains in random data short.
 */

/** Control-flow / behaviour class of an instruction (a frozen object, not an enum: see below). */
export const Kind = Object.freeze({
  Normal: 0,
  Jcc: 1, // conditional relative branch
  Jmp: 2, // unconditional relative jump
  Call: 3, // relative call
  Ret: 4,
  Loop: 5, // loop/loope/loopne/jecxz
  JmpInd: 6, // jmp r/m
  CallInd: 7, // call r/m
  Int: 8, // int imm8
  Syscall: 9, // syscall (0F 05)
  Sysenter: 10, // sysenter (0F 34)
  Int3: 11,
  Privileged: 12, // faults in user mode (I/O, hlt, cli, control registers...)
  Far: 13, // far call/jmp/ret, iret: never in position-independent shellcode
  Undefined: 14, // architecturally defined to raise #UD (ud0/ud1/ud2)
  Simd: 15, // SSE/AVX: valid but of no use to the emulator
});
/**
 * Kind values are plain numbers. Hot modules copy imported bindings into local constants:
 * through tsx/vitest every access to an imported binding is a getter call.
 */
export type Kind = number;

export const F_MODRM = 1;
export const F_MEM = 2; // has a memory operand (ModRM mod != 3, or moffs)
export const F_RIPREL = 4; // memory operand is RIP-relative (64-bit mode)
export const F_LOCK = 8;
export const F_REP = 16; // F3
export const F_REPNE = 32; // F2
export const F_OPSIZE = 64; // 66 prefix
export const F_ADDRSIZE = 128; // 67 prefix
export const F_REX = 256;
export const F_REXW = 512;
export const F_SEGFS = 1024;
export const F_SEGGS = 2048;
export const F_SEGOTHER = 4096; // CS/DS/ES/SS override (harmless in flat mode)
export const F_VEX = 8192;
export const F_MOFFS = 16384;

/** Register numbers 0..15 (eax, ecx, edx, ebx, esp, ebp, esi, edi, r8..r15). */
export const NO_REG = -1;
export const REG_RIP = 16;

/** One decoded instruction. Reused between calls: read it before the next decode. */
export class Insn {
  /** Offset of the first byte (prefixes included). */
  offset = 0;
  len = 0;
  /** Opcode: 0x000-0x0FF one-byte map, 0x100-0x1FF 0F map, 0x200-0x2FF 0F38, 0x300-0x3FF 0F3A. */
  op = 0;
  kind: Kind = Kind.Normal as Kind;
  flags = 0;
  /** Operand size in bytes for non-byte forms: 2, 4 or 8. */
  opsize = 4;
  /** Address size in bytes: 2, 4 or 8. */
  asize = 4;
  mod = 0;
  /** ModRM.reg (REX.R applied), also the group sub-opcode (`reg & 7`). */
  reg = 0;
  /** ModRM.rm (REX.B applied) when mod == 3. */
  rm = 0;
  base = NO_REG;
  index = NO_REG;
  scale = 1;
  disp = 0;
  dispSize = 0;
  /** Immediate value, sign-extended to int32 for 1/2/4-byte immediates. */
  imm = 0;
  /** High 32 bits of a 64-bit immediate (mov r64, imm64) or of moffs64. */
  immHi = 0;
  /** Second immediate (enter imm16, imm8; far pointer selector). */
  imm2 = 0;
  immSize = 0;
  /** Absolute target offset of a relative branch (may be outside the buffer). */
  target = 0;
  /** Low register number for opcodes that encode it (50+r, B8+r, 0F C8+r...), REX.B applied. */
  opreg = 0;
}

// Operand specification table bits for the one-byte and 0F maps.
const M = 1; // has ModRM
const I8 = 2; // imm8
const IZ = 4; // imm16/32 by operand size
const I16 = 8; // imm16
const INV64 = 16; // invalid in 64-bit mode
const INV = 32; // invalid in both modes
const PFX = 64; // legacy prefix byte
const MEMONLY = 128; // ModRM must encode memory

const ONE = new Uint8Array(256);
const TWO = new Uint8Array(256);
const KIND1 = new Uint8Array(256);
const KIND2 = new Uint8Array(256);

function fill(t: Uint8Array, from: number, to: number, v: number): void {
  for (let i = from; i <= to; i++) t[i] = v;
}

(function buildTables(): void {
  // ALU rows 00-3F: op r/m,r / r,r/m (ModRM), AL,imm8, eAX,immz, then row-specific bytes.
  for (let row = 0; row < 8; row++) {
    const b = row * 8;
    fill(ONE, b, b + 3, M);
    ONE[b + 4] = I8;
    ONE[b + 5] = IZ;
  }
  ONE[0x06] = INV64; ONE[0x07] = INV64; ONE[0x0e] = INV64; ONE[0x0f] = 0; // 0F handled apart
  ONE[0x16] = INV64; ONE[0x17] = INV64; ONE[0x1e] = INV64; ONE[0x1f] = INV64;
  ONE[0x26] = PFX; ONE[0x27] = INV64; ONE[0x2e] = PFX; ONE[0x2f] = INV64;
  ONE[0x36] = PFX; ONE[0x37] = INV64; ONE[0x3e] = PFX; ONE[0x3f] = INV64;
  // 40-5F inc/dec/push/pop: no operands (40-4F are REX in 64-bit mode, handled in decode).
  ONE[0x60] = INV64; ONE[0x61] = INV64; ONE[0x62] = M | MEMONLY | INV64; ONE[0x63] = M;
  ONE[0x64] = PFX; ONE[0x65] = PFX; ONE[0x66] = PFX; ONE[0x67] = PFX;
  ONE[0x68] = IZ; ONE[0x69] = M | IZ; ONE[0x6a] = I8; ONE[0x6b] = M | I8;
  fill(ONE, 0x70, 0x7f, I8);
  ONE[0x80] = M | I8; ONE[0x81] = M | IZ; ONE[0x82] = M | I8 | INV64; ONE[0x83] = M | I8;
  fill(ONE, 0x84, 0x8c, M);
  ONE[0x8d] = M | MEMONLY; ONE[0x8e] = M; ONE[0x8f] = M;
  ONE[0x9a] = IZ | INV64; // far call ptr16:32, selector read separately
  ONE[0xa8] = I8; ONE[0xa9] = IZ;
  fill(ONE, 0xb0, 0xb7, I8);
  fill(ONE, 0xb8, 0xbf, IZ);
  ONE[0xc0] = M | I8; ONE[0xc1] = M | I8; ONE[0xc2] = I16;
  ONE[0xc4] = M | MEMONLY | INV64; ONE[0xc5] = M | MEMONLY | INV64; // les/lds (VEX handled apart)
  ONE[0xc6] = M | I8; ONE[0xc7] = M | IZ; ONE[0xc8] = I16; ONE[0xca] = I16; ONE[0xcd] = I8;
  ONE[0xce] = INV64;
  fill(ONE, 0xd0, 0xd3, M);
  ONE[0xd4] = I8 | INV64; ONE[0xd5] = I8 | INV64; ONE[0xd6] = INV64;
  fill(ONE, 0xd8, 0xdf, M);
  fill(ONE, 0xe0, 0xe7, I8);
  ONE[0xe8] = IZ; ONE[0xe9] = IZ; ONE[0xea] = IZ | INV64; ONE[0xeb] = I8;
  ONE[0xf0] = PFX; ONE[0xf2] = PFX; ONE[0xf3] = PFX;
  ONE[0xf6] = M; ONE[0xf7] = M; ONE[0xfe] = M; ONE[0xff] = M;

  fill(KIND1, 0x70, 0x7f, Kind.Jcc);
  KIND1[0x6c] = KIND1[0x6d] = KIND1[0x6e] = KIND1[0x6f] = Kind.Privileged;
  KIND1[0x9a] = KIND1[0xea] = KIND1[0xca] = KIND1[0xcb] = KIND1[0xcf] = Kind.Far;
  KIND1[0xc2] = KIND1[0xc3] = Kind.Ret;
  KIND1[0xcc] = Kind.Int3; KIND1[0xcd] = Kind.Int; KIND1[0xce] = Kind.Int; KIND1[0xf1] = Kind.Int3;
  KIND1[0xe0] = KIND1[0xe1] = KIND1[0xe2] = KIND1[0xe3] = Kind.Loop;
  fill(KIND1, 0xe4, 0xe7, Kind.Privileged);
  fill(KIND1, 0xec, 0xef, Kind.Privileged);
  KIND1[0xe8] = Kind.Call; KIND1[0xe9] = Kind.Jmp; KIND1[0xeb] = Kind.Jmp;
  KIND1[0xf4] = KIND1[0xfa] = KIND1[0xfb] = Kind.Privileged;
  KIND1[0x8e] = Kind.Privileged; // mov sreg, r/m: loads a selector, useless and faulting in flat code

  // Two-byte map: default ModRM, exceptions below.
  fill(TWO, 0x00, 0xff, M);
  for (const b of [0x04, 0x0a, 0x0c, 0x24, 0x25, 0x26, 0x27, 0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x7a, 0x7b, 0xa6, 0xa7]) TWO[b] = INV;
  for (const b of [0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x77, 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa]) TWO[b] = 0;
  fill(TWO, 0xc8, 0xcf, 0);
  TWO[0x0f] = M | I8; // 3DNow!: the "opcode" is the trailing imm8
  TWO[0x3a] = 0; TWO[0x38] = 0; // escapes, handled apart
  fill(TWO, 0x70, 0x73, M | I8);
  TWO[0xa4] = M | I8; TWO[0xac] = M | I8; TWO[0xba] = M | I8;
  TWO[0xc2] = M | I8; TWO[0xc4] = M | I8; TWO[0xc5] = M | I8; TWO[0xc6] = M | I8;
  fill(TWO, 0x80, 0x8f, IZ);

  fill(KIND2, 0x80, 0x8f, Kind.Jcc);
  KIND2[0x05] = Kind.Syscall; KIND2[0x34] = Kind.Sysenter;
  for (const b of [0x06, 0x07, 0x08, 0x09, 0x20, 0x21, 0x22, 0x23, 0x30, 0x32, 0x35, 0x37, 0x78, 0x79, 0xaa]) KIND2[b] = Kind.Privileged;
  KIND2[0x0b] = Kind.Undefined; KIND2[0xb9] = Kind.Undefined; KIND2[0xff] = Kind.Undefined;
  // SSE/MMX blocks: valid, but the emulator does not model them.
  for (const [a, z] of [[0x10, 0x17], [0x28, 0x2f], [0x50, 0x7f], [0xc2, 0xc2], [0xc4, 0xc6], [0xd0, 0xfe]] as const) fill(KIND2, a, z, Kind.Simd);
  KIND2[0x0f] = Kind.Simd;
})();

/** Intel's limit: a longer instruction raises #GP. */
export const MAX_LEN = 15;

/**
 * Decode the instruction at `off` of `buf` (bytes at and after `end` are not there).
 * Returns its length, or 0 when the bytes are not a valid instruction in this mode or the
 * instruction is cut by `end`. Constant work: at most 15 bytes are examined.
 */
export function decode(buf: Uint8Array, off: number, end: number, mode64: boolean, out: Insn): number {
  // One-byte opcodes without prefix whose form does not depend on what follows come from their
  // table: the common case in emulation, where each step decodes one instruction.
  if (off < end) {
    const b0 = buf[off]!;
    const at = mode64 ? 256 | b0 : b0;
    let s = SHORT[at]!;
    if (s === 0) s = SHORT[at] = shortEntry(b0, mode64);
    if (s !== NOT_SHORT) return decodeShort(buf, off, end, mode64, b0, s, out);
  }
  return decodeGeneral(buf, off, end, mode64, out);
}

/** `decode` of one-byte opcode `b0` from its SHORT entry `s`. */
function decodeShort(buf: Uint8Array, off: number, end: number, mode64: boolean, b0: number, s: number, out: Insn): number {
  let p = off + 1;
  let flags = 0;
  if (s & S_MODRM) {
    if (p >= end) return 0;
    const modrm = buf[p]!;
    if (modrm >= 0xc0) return decodeGeneral(buf, off, end, mode64, out);
    resetOperand(out);
    out.rm = 0;
    p = modrmOperand(buf, p + 1, end, modrm, (s >> 20) & 15, mode64, 0, out);
    if (p < 0) return 0;
    flags = modrmFlags(out);
  } else {
    resetOperand(out);
    out.mod = 3;
    out.reg = 0;
    out.rm = 0;
  }
  const immSize = s & 7;
  if (p + immSize > end) return 0;
  const imm = immSize === 0 ? 0 : readSigned(buf, p, immSize);
  const len = p + immSize - off;
  const kind = (s >> 8) & 31;
  out.offset = off;
  out.len = len;
  out.op = b0;
  out.kind = kind;
  out.flags = flags;
  out.opsize = (s >> 16) & 15;
  out.asize = (s >> 20) & 15;
  out.imm = imm;
  out.immHi = 0;
  out.imm2 = 0;
  out.immSize = immSize;
  out.target = kind === Kind.Jcc || kind === Kind.Jmp || kind === Kind.Call || kind === Kind.Loop ? off + len + imm : 0;
  out.opreg = (s >> 13) & 7;
  return len;
}

/**
 * `decode` without the short-form table (it builds the table; exported for the test that
 * checks both agree).
 */
export function decodeGeneral(buf: Uint8Array, off: number, end: number, mode64: boolean, out: Insn): number {
  out.offset = off;
  out.len = 0;
  out.flags = 0;
  out.kind = Kind.Normal;
  resetOperand(out);
  out.imm = 0;
  out.immHi = 0;
  out.imm2 = 0;
  out.immSize = 0;
  out.mod = 3;
  out.reg = 0;
  out.rm = 0;
  out.target = 0;
  out.opreg = 0;
  const limit = Math.min(end, off + MAX_LEN);
  let p = off;
  let flags = 0;
  let rex = 0;
  // Prefixes.
  for (;;) {
    if (p >= limit) return 0;
    const b = buf[p]!;
    if (mode64 && (b & 0xf0) === 0x40) {
      rex = b;
      p++;
      continue;
    }
    if ((ONE[b]! & PFX) === 0) break;
    rex = 0; // a legacy prefix after REX cancels the REX
    switch (b) {
      case 0x66: flags |= F_OPSIZE; break;
      case 0x67: flags |= F_ADDRSIZE; break;
      case 0xf0: flags |= F_LOCK; break;
      case 0xf2: flags = (flags | F_REPNE) & ~F_REP; break;
      case 0xf3: flags = (flags | F_REP) & ~F_REPNE; break;
      case 0x64: flags |= F_SEGFS; break;
      case 0x65: flags |= F_SEGGS; break;
      default: flags |= F_SEGOTHER;
    }
    p++;
  }
  if (rex !== 0) {
    flags |= F_REX;
    if (rex & 8) flags |= F_REXW;
  }
  const rexB = (rex & 1) << 3;
  let opsize = flags & F_REXW ? 8 : flags & F_OPSIZE ? 2 : 4;
  const asize = mode64 ? (flags & F_ADDRSIZE ? 4 : 8) : flags & F_ADDRSIZE ? 2 : 4;

  const b0 = buf[p++]!;
  let spec: number;
  let kind: Kind;
  let op: number;
  if (b0 === 0x0f) {
    if (p >= limit) return 0;
    const b1 = buf[p++]!;
    if (b1 === 0x38 || b1 === 0x3a) {
      if (p >= limit) return 0;
      const b2 = buf[p++]!;
      op = (b1 === 0x38 ? 0x200 : 0x300) | b2;
      spec = b1 === 0x38 ? M : M | I8;
      kind = Kind.Simd;
    } else {
      op = 0x100 | b1;
      spec = TWO[b1]!;
      kind = KIND2[b1]! as Kind;
    }
    if (spec & INV) return 0;
  } else if ((b0 === 0xc4 || b0 === 0xc5) && (mode64 || (p < limit && buf[p]! >= 0xc0))) {
    return decodeVex(buf, off, p, limit, b0, mode64, flags, asize, out);
  } else {
    op = b0;
    spec = ONE[b0]!;
    kind = KIND1[b0]! as Kind;
    if (spec & INV || (mode64 && spec & INV64)) return 0;
    if (!mode64 && b0 === 0xd6) kind = Kind.Normal; // salc: undocumented but executes
  }
  // Default 64-bit operand size for stack operations and near branches.
  if (mode64 && (flags & F_REXW) === 0 && !(flags & F_OPSIZE)) {
    if ((b0 >= 0x50 && b0 <= 0x5f) || b0 === 0x68 || b0 === 0x6a || b0 === 0x8f || b0 === 0x9c || b0 === 0x9d || b0 === 0xc9) opsize = 8;
  }
  out.op = op;
  out.asize = asize;
  // Register encoded in the opcode byte.
  if ((op >= 0x40 && op <= 0x5f) || (op >= 0x90 && op <= 0x97) || (op >= 0xb0 && op <= 0xbf) || (op >= 0x1c8 && op <= 0x1cf)) {
    out.opreg = (op & 7) | rexB;
  }

  if (spec & M) {
    if (p >= limit) return 0;
    const modrm = buf[p]!;
    if (modrm >= 0xc0 && spec & MEMONLY) return 0;
    p = modrmOperand(buf, p + 1, limit, modrm, asize, mode64, rex, out);
    if (p < 0) return 0;
    flags |= modrmFlags(out);
    const mod = modrm >> 6;
    // Group opcodes: validity and kind depend on ModRM.reg.
    const g = (modrm >> 3) & 7;
    switch (op) {
      case 0x8f: if (g !== 0) return 0; break;
      case 0xc6: case 0xc7:
        if (g !== 0 && !(g === 7 && modrm === 0xf8)) return 0;
        if (g === 7) kind = Kind.Simd; // xabort / xbegin: transactional memory, never in shellcode
        break;
      case 0xf6: case 0xf7: if (g < 2) spec |= op === 0xf6 ? I8 : IZ; break;
      case 0xfe: if (g > 1) return 0; break;
      case 0xff:
        if (g === 7) return 0;
        if (g === 2) kind = Kind.CallInd;
        else if (g === 4) kind = Kind.JmpInd;
        else if (g === 3 || g === 5) { if (mod === 3) return 0; kind = Kind.Far; }
        if (mode64 && (g === 2 || g === 4 || g === 6) && !(flags & F_OPSIZE)) opsize = 8;
        break;
      case 0x8c: case 0x8e: if (g > 5) return 0; break;
      case 0x63: if (!mode64) kind = Kind.Normal; break; // arpl (32) / movsxd (64)
      case 0x100: if (g > 5) return 0; if (g >= 2) kind = Kind.Privileged; break;
      case 0x101:
        // SGDT/SIDT/SMSW are user-level; LGDT/LIDT/LMSW/INVLPG and most mod=3 forms are not.
        if (g === 2 || g === 3 || g === 6 || g === 7 || (mod === 3 && g !== 4)) kind = Kind.Privileged;
        break;
      case 0x1ba: if (g < 4) return 0; break;
      case 0x1ae: kind = Kind.Normal; break; // fxsave/fxrstor/ldmxcsr/fences
      case 0x120: case 0x121: case 0x122: case 0x123: kind = Kind.Privileged; break;
      default: break;
    }
  } else if (spec & MEMONLY) return 0;

  // Immediates.
  if (spec & (I8 | IZ | I16)) {
    let size: number;
    if (spec & I16) size = 2;
    else if (spec & I8) size = 1;
    else if (op >= 0xb8 && op <= 0xbf && flags & F_REXW) size = 8;
    else if (opsize === 2 && !(mode64 && (op === 0xe8 || op === 0xe9 || (op >= 0x180 && op <= 0x18f)))) size = 2;
    else size = 4;
    if (op === 0xc8) size = 2; // enter imm16, imm8: second immediate below
    if (p + size > limit) return 0;
    if (size === 8) {
      out.imm = readSigned(buf, p, 4);
      out.immHi = readSigned(buf, p + 4, 4);
    } else out.imm = readSigned(buf, p, size);
    out.immSize = size;
    p += size;
    if (op === 0xc8) {
      if (p >= limit) return 0;
      out.imm2 = buf[p++]!;
    } else if (op === 0x9a || op === 0xea) {
      if (p + 2 > limit) return 0;
      out.imm2 = buf[p]! | (buf[p + 1]! << 8);
      p += 2;
    }
  }
  if (op >= 0xa0 && op <= 0xa3) {
    // moffs: absolute address of address-size width.
    flags |= F_MEM | F_MOFFS;
    if (p + asize > limit) return 0;
    if (asize === 8) {
      out.disp = readSigned(buf, p, 4);
      out.immHi = readSigned(buf, p + 4, 4);
    } else out.disp = readSigned(buf, p, asize);
    out.dispSize = asize;
    p += asize;
  }

  if (flags & F_LOCK) {
    // LOCK is only legal on read-modify-write forms with a memory destination.
    if (!(flags & F_MEM) || !isLockable(op, out.reg & 7)) return 0;
  }

  const len = p - off;
  if (kind === Kind.Jcc || kind === Kind.Jmp || kind === Kind.Call || kind === Kind.Loop) {
    out.target = off + len + out.imm;
  }
  out.len = len;
  out.kind = kind;
  out.flags = flags;
  out.opsize = opsize;
  return len;
}

/**
 * The operand of ModRM byte `modrm` (its SIB and displacement start at `p`): fills mod, reg, rm
 * or the memory operand of `out` (REX bits applied) and returns the offset after it, or -1 when
 * it is cut by `limit`. Memory fields it does not name keep their values: call it on reset ones.
 */
function modrmOperand(buf: Uint8Array, p: number, limit: number, modrm: number, asize: number, mode64: boolean, rex: number, out: Insn): number {
  const mod = modrm >> 6;
  const rmf = modrm & 7;
  const rexB = (rex & 1) << 3;
  out.mod = mod;
  out.reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
  if (mod === 3) {
    out.rm = rmf | rexB;
    return p;
  }
  if (asize === 2) {
    // 16-bit addressing: fixed base/index pairs, no SIB.
    const r = RM16[rmf]!;
    out.base = r >> 4 === 15 ? NO_REG : r >> 4;
    out.index = (r & 15) === 15 ? NO_REG : r & 15;
    if (mod === 0 && rmf === 6) {
      out.base = NO_REG;
      out.dispSize = 2;
    } else out.dispSize = mod === 1 ? 1 : mod === 2 ? 2 : 0;
  } else {
    if (rmf === 4) {
      if (p >= limit) return -1;
      const sib = buf[p++]!;
      const sbase = sib & 7;
      const sidx = ((sib >> 3) & 7) | ((rex & 2) << 2);
      out.scale = 1 << (sib >> 6);
      out.index = sidx === 4 ? NO_REG : sidx;
      if (sbase === 5 && mod === 0) {
        out.base = NO_REG;
        out.dispSize = 4;
      } else out.base = sbase | rexB;
    } else if (rmf === 5 && mod === 0) {
      if (mode64) out.base = REG_RIP;
      out.dispSize = 4;
    } else out.base = rmf | rexB;
    if (mod === 1) out.dispSize = 1;
    else if (mod === 2) out.dispSize = 4;
  }
  const ds = out.dispSize;
  if (ds) {
    if (p + ds > limit) return -1;
    out.disp = readSigned(buf, p, ds);
    p += ds;
  }
  return p;
}

/** The memory-operand fields at their reset values (what modrmOperand expects). */
function resetOperand(out: Insn): void {
  out.base = NO_REG;
  out.index = NO_REG;
  out.scale = 1;
  out.disp = 0;
  out.dispSize = 0;
}

/** Flags of the operand `modrmOperand` decoded. */
function modrmFlags(out: Insn): number {
  return F_MODRM | (out.mod !== 3 ? F_MEM : 0) | (out.base === REG_RIP ? F_RIPREL : 0);
}

/** 16-bit ModRM rm -> base<<4 | index (15 = none): bx+si, bx+di, bp+si, bp+di, si, di, bp, bx. */
const RM16 = new Uint8Array([0x36, 0x37, 0x56, 0x57, 0xf6, 0xf7, 0x5f, 0x3f]);

/**
 * One-byte opcodes (index 256 + byte in 64-bit mode) that the general decoder decodes, without
 * prefix, as the same form whatever follows: the opcode, then (S_MODRM) a memory operand, then
 * an immediate of a fixed size. ModRM register forms are left to the general decoder (they are
 * not text, and can be other instructions: C4/C5 are VEX in 32-bit mode).
 * Entry: immediate size | S_MODRM | kind << 8 | opreg << 13 | opsize << 16 | asize << 20, or
 * NOT_SHORT; 0 = not probed yet (built on first use, not at module load).
 */
const SHORT = new Int32Array(512);
const NOT_SHORT = 1;
const S_MODRM = 8;
/** Each group's (reg) [eax] form, then [esp+...] (SIB), [disp32], disp8, disp32. */
const MEMORY_PROBES = [0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x04, 0x05, 0x40, 0x80];
const probe = new Insn();
const probeBuf = new Uint8Array(16);

function shortForm(ins: Insn): number {
  return ins.immSize | (ins.kind << 8) | (ins.opreg << 13) | (ins.opsize << 16) | (ins.asize << 20);
}

/**
 * The SHORT entry of opcode byte `b`, found by running the general decoder. Its ModRM rules
 * read the group (reg) and whether the operand is a register; the memory operand itself is
 * modrmOperand, shared with the fast path. The decoder test compares both paths on every
 * opcode and ModRM byte.
 */
function shortEntry(b: number, mode64: boolean): number {
  const buf = probeBuf;
  buf.fill(0x11);
  buf[0] = b;
  let n = decodeGeneral(buf, 0, buf.length, mode64, probe);
  if (n !== 0 && n === 1 + probe.immSize && probe.op === b && probe.flags === 0 && probe.imm2 === 0) return shortForm(probe);
  if (n === 0 || (probe.flags & F_MODRM) === 0) return NOT_SHORT;
  let form = -1;
  for (const modrm of MEMORY_PROBES) {
    buf[1] = modrm;
    n = decodeGeneral(buf, 0, buf.length, mode64, probe);
    if (n === 0 || probe.op !== b || (probe.flags & ~(F_MODRM | F_MEM | F_RIPREL)) !== 0 || probe.imm2 !== 0 || probe.opreg !== 0) return NOT_SHORT;
    if (form >= 0 && shortForm(probe) !== form) return NOT_SHORT;
    form = shortForm(probe);
  }
  return form | S_MODRM;
}

function readSigned(buf: Uint8Array, p: number, size: number): number {
  if (size === 1) return (buf[p]! << 24) >> 24;
  if (size === 2) return ((buf[p]! | (buf[p + 1]! << 8)) << 16) >> 16;
  return buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
}

function isLockable(op: number, g: number): boolean {
  if (op < 0x40) return (op & 7) < 2 && (op >> 3) !== 7; // ALU r/m,r except cmp
  if (op === 0x80 || op === 0x81 || op === 0x83) return g !== 7;
  if (op === 0x86 || op === 0x87) return true;
  if (op === 0xf6 || op === 0xf7) return g === 2 || g === 3;
  if (op === 0xfe || op === 0xff) return g < 2;
  return op === 0x1b0 || op === 0x1b1 || op === 0x1c0 || op === 0x1c1 || op === 0x1c7 || op === 0x1ab || op === 0x1b3 || op === 0x1bb || op === 0x1ba;
}

function decodeVex(
  buf: Uint8Array, off: number, p: number, limit: number, b0: number, mode64: boolean,
  flags: number, asize: number, out: Insn,
): number {
  // VEX may not follow 66/F2/F3/LOCK/REX.
  if (flags & (F_OPSIZE | F_REP | F_REPNE | F_LOCK | F_REX)) return 0;
  let map = 1;
  if (b0 === 0xc4) {
    if (p + 2 > limit) return 0;
    map = buf[p]! & 0x1f;
    p += 2;
    if (map < 1 || map > 3) return 0;
  } else {
    if (p + 1 > limit) return 0;
    p += 1;
  }
  if (p >= limit) return 0;
  const opc = buf[p++]!;
  const hasModrm = !(map === 1 && opc === 0x77);
  const hasImm = map === 3 || (map === 1 && ((opc >= 0x70 && opc <= 0x73) || opc === 0xc2 || (opc >= 0xc4 && opc <= 0xc6)));
  if (hasModrm) {
    if (p >= limit) return 0;
    const modrm = buf[p++]!;
    const mod = modrm >> 6;
    const rmf = modrm & 7;
    if (mod !== 3) {
      flags |= F_MEM;
      let ds = mod === 1 ? 1 : mod === 2 ? 4 : 0;
      if (asize === 2) {
        ds = mod === 1 ? 1 : mod === 2 ? 2 : rmf === 6 ? 2 : 0;
      } else if (rmf === 4) {
        if (p >= limit) return 0;
        const sib = buf[p++]!;
        if ((sib & 7) === 5 && mod === 0) ds = 4;
      } else if (rmf === 5 && mod === 0) {
        ds = 4;
        if (mode64) flags |= F_RIPREL;
      }
      p += ds;
    }
  }
  if (hasImm) p += 1;
  if (p > limit) return 0;
  out.op = 0x400 | opc;
  out.len = p - off;
  out.kind = Kind.Simd;
  out.flags = flags | F_VEX;
  out.asize = asize;
  return out.len;
}
