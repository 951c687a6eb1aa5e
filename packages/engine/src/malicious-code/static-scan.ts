/**
 * One linear pass that decodes an instruction at every offset of the argument and derives,
 * by dynamic programming from the end backwards (so the whole pass is O(n) decodes):
 * - the executable chain length from each offset (abstract payload execution, Toth & Kruegel
 *   RAID 2002: how many valid instructions run before an invalid one or leaving the buffer);
 * - sleds (STRIDE, Akritidis et al. 2005): regions where execution from *every* offset slides
 *   through harmless register-only instructions to one landing point. Multi-byte NOP
 *   equivalents (0x0c0c = or al,0x0c; 0x0c90; mov r8,imm8...) qualify because each of their
 *   offsets decodes to another harmless instruction;
 * - triggers: instructions only code needs (call into the buffer, FPU environment store,
 *   system-call gates, backward branches, RIP-relative lea) that tell the emulator where to look.
 */
import { decode as decode_, F_MEM as F_MEM_, F_RIPREL as F_RIPREL_, Insn, Kind as Kind_ } from './x86-decoder.js';
// Local copies: imported bindings are getter calls under tsx/vitest (hot path).
const decode = decode_;
const F_MEM = F_MEM_;
const F_RIPREL = F_RIPREL_;
const Kind = Kind_;
import { MAX_ARG } from './emulator.js';
import { q as q_, quick as quick_, quickTableDriven as quickTableDriven_ } from './x86-quick.js';

const quick = quick_;
const q = q_;
const quickTableDriven = quickTableDriven_;

export const T_CALL = 1;
export const T_FPUENV = 2;
export const T_GATE = 3;
export const T_BACK = 4;
export const T_RIPLEA = 5;

const MAX_TRIGGERS = 64;
/** entryBefore: a start reaches the trigger when its path gets there within EB_STEPS - 1 steps. */
const EB_STEPS = 48;
const EB_NEVER = -0x40000000;
const EB_CAPPED = -0x40000001;
const MAX_SLEDS = 4;
const CHAIN_CAP = 60000;

export class StaticScan {
  /** Instruction length at each offset, 0 when execution would stop there. */
  readonly ilen = new Uint8Array(MAX_ARG);
  /** Direct branch target (or -1): only for Jmp/Jcc/Loop/Call. */
  readonly tgt = new Int32Array(MAX_ARG);
  readonly kind = new Uint8Array(MAX_ARG);
  /** Instructions executed from each offset (APE chain length). */
  readonly chain = new Uint16Array(MAX_ARG);
  readonly sledOk = new Uint8Array(MAX_ARG);
  private readonly linEnd = new Int32Array(MAX_ARG);
  readonly trigOff = new Int32Array(MAX_TRIGGERS);
  readonly trigType = new Uint8Array(MAX_TRIGGERS);
  nTrig = 0;
  /** Longest chain and where it starts. */
  mel = 0;
  melAt = -1;
  /** Longest sled: [sledStart, sledEnd), with the count of non-printable bytes in it. */
  sledStart = -1;
  sledEnd = -1;
  sledBinary = 0;
  /** Landing offsets of up to MAX_SLEDS sleds of at least 16 bytes, in order of appearance. */
  readonly landings = new Int32Array(MAX_SLEDS);
  nLandings = 0;
  len = 0;
  mode64 = false;
  private readonly ebDist = new Int32Array(MAX_ARG);
  private readonly ebStamp = new Uint32Array(MAX_ARG);
  private readonly ebPath = new Int32Array(EB_STEPS + 1);
  private ebGen = 0;
  private readonly ring = new Int32Array(MAX_TRIGGERS);
  private readonly ringType = new Uint8Array(MAX_TRIGGERS);

  scan(buf: Uint8Array, len: number, mode64: boolean): void {
    this.len = len;
    this.mode64 = mode64;
    this.nTrig = 0;
    this.mel = 0;
    this.melAt = -1;
    const { ilen, tgt, kind, chain, sledOk, linEnd } = this;
    // One pass (right to left): decode, chain lengths, straight-line sled ends, longest chain
    // (leftmost on ties) and triggers. Triggers go into a ring of MAX_TRIGGERS slots, so the
    // ring ends up holding the leftmost MAX_TRIGGERS of them.
    let nt = 0; // triggers seen
    let mel = 0, melAt = -1;
    const ring = this.ring, ringType = this.ringType;
    const trigMask = mode64 ? 3 : 1;
    const fast = mode64 ? (FAST64 ??= buildFast(true)) : (FAST32 ??= buildFast(false));
    for (let i = len - 1; i >= 0; i--) {
      // Table path (no prefix, plain one-byte opcode, Normal or short branch): the first two
      // bytes give the length, sled property and kind; identical to `quick` by construction.
      const b1 = i + 1 < len ? buf[i + 1]! : 0;
      const e = fast[(buf[i]! << 8) | b1]!;
      if (e !== 0) {
        let n = e & 15;
        if (e & F_SIB && i + 2 < len && (buf[i + 2]! & 7) === 5) n += 4;
        const next = i + n;
        if (next > len) {
          ilen[i] = 0; chain[i] = 0; sledOk[i] = 0; linEnd[i] = i; tgt[i] = -1; kind[i] = 0;
          continue;
        }
        ilen[i] = n;
        const fall = next < len ? chain[next]! : 0;
        let c: number;
        if (e & F_BR) {
          const k = SHORT_KIND[buf[i]!]!;
          kind[i] = k;
          sledOk[i] = 0;
          linEnd[i] = i;
          const tg = next + ((b1 << 24) >> 24);
          const inside = tg >= 0 && tg < len;
          tgt[i] = inside ? tg : -1;
          const tc = tg > i && tg < len ? chain[tg]! : 0;
          c = k === Kind.Jmp ? 1 + tc : 1 + (tc > fall ? tc : fall);
          if (inside && tg < i) {
            const slot = nt & (MAX_TRIGGERS - 1);
            ring[slot] = i;
            ringType[slot] = T_BACK;
            nt++;
          }
        } else {
          kind[i] = 0;
          tgt[i] = -1;
          c = 1 + fall;
          const sl = e & F_SLED;
          sledOk[i] = sl ? 1 : 0;
          linEnd[i] = sl ? (next < len ? linEnd[next]! : len) : i;
          if ((MAYBE_TRIG[buf[i]!]! & trigMask) !== 0) {
            const t = normalTrigger(buf, i, len, mode64);
            if (t !== 0) {
              const slot = nt & (MAX_TRIGGERS - 1);
              ring[slot] = i;
              ringType[slot] = t;
              nt++;
            }
          }
        }
        const cc = c > CHAIN_CAP ? CHAIN_CAP : c;
        chain[i] = cc;
        if (cc >= mel) { mel = cc; melAt = i; }
        continue;
      }
      const n = quick(buf, i, len, mode64);
      const k = q.kind;
      let ok = n > 0;
      if (ok && k !== Kind.Normal) {
        if (k === Kind.Int) ok = q.op === 0xcd && buf[i + n - 1] === 0x80 && !mode64;
        else if (k === Kind.Syscall) ok = mode64;
        else if (k === Kind.Sysenter) ok = !mode64;
        else if (k >= Kind.Int3) ok = false;
      }
      if (!ok) {
        ilen[i] = 0; chain[i] = 0; sledOk[i] = 0; linEnd[i] = i; tgt[i] = -1; kind[i] = 0;
        continue;
      }
      ilen[i] = n;
      kind[i] = k;
      const next = i + n;
      const fall = next < len ? chain[next]! : 0;
      let c: number;
      let t = 0; // trigger type
      if (k === Kind.Normal) {
        tgt[i] = -1;
        c = 1 + fall;
        const s = isSledInsn() ? 1 : 0;
        sledOk[i] = s;
        linEnd[i] = s ? (next < len ? linEnd[next]! : len) : i;
        if ((MAYBE_TRIG[buf[i]!]! & trigMask) !== 0) t = normalTrigger(buf, i, len, mode64);
      } else {
        sledOk[i] = 0;
        linEnd[i] = i;
        if (k === Kind.Jcc || k === Kind.Loop || k === Kind.Jmp || k === Kind.Call) {
          const tg = q.target;
          const tv = tg >= 0 && tg < len ? tg : -1;
          tgt[i] = tv;
          const tc = tg > i && tg < len ? chain[tg]! : 0;
          if (k === Kind.Jmp || k === Kind.Call) c = 1 + tc;
          else c = 1 + (tc > fall ? tc : fall);
          if (tv >= 0) {
            if (k === Kind.Call) t = T_CALL;
            else if (tv < i) t = T_BACK;
          }
        } else {
          tgt[i] = -1;
          if (k === Kind.Int || k === Kind.Syscall || k === Kind.Sysenter) { c = 1 + fall; t = T_GATE; }
          else c = 1;
        }
      }
      const cc = c > CHAIN_CAP ? CHAIN_CAP : c;
      chain[i] = cc;
      if (cc >= mel && cc > 0) { mel = cc; melAt = i; }
      if (t !== 0) {
        const slot = nt & (MAX_TRIGGERS - 1);
        ring[slot] = i;
        ringType[slot] = t;
        nt++;
      }
    }
    this.mel = mel;
    this.melAt = melAt;
    // Leftmost triggers first: the ring holds them newest (leftmost) last.
    const m = nt < MAX_TRIGGERS ? nt : MAX_TRIGGERS;
    for (let j = 0; j < m; j++) {
      const slot = (nt - 1 - j) & (MAX_TRIGGERS - 1);
      this.trigOff[j] = ring[slot]!;
      this.trigType[j] = ringType[slot]!;
    }
    this.nTrig = m;
    // Longest sled.
    this.sledStart = this.sledEnd = -1;
    this.sledBinary = 0;
    this.nLandings = 0;
    let bestSled = 0;
    let p = 0;
    while (p < len) {
      if (!sledOk[p]) { p++; continue; }
      let q = linEnd[p]!;
      for (let j = p + 1; j < q; j++) if (linEnd[j]! < q) q = linEnd[j]!;
      if (q - p >= 16 && this.nLandings < MAX_SLEDS) this.landings[this.nLandings++] = q;
      if (q - p > bestSled) {
        bestSled = q - p;
        this.sledStart = p;
        this.sledEnd = q;
      }
      p = q > p ? q : p + 1;
    }
    if (this.sledStart >= 0) {
      let nb = 0;
      for (let i = this.sledStart; i < this.sledEnd; i++) { const b = buf[i]!; if (b < 0x20 || b > 0x7e) nb++; }
      this.sledBinary = nb;
    }
  }

  /**
   * Walk back `depth` immediate predecessors of `t` (the nearest earlier offset whose
   * instruction falls through exactly into it), so the emulator also runs the setup code.
   */
  predecessor(t: number, depth: number): number {
    let p = t;
    for (let d = 0; d < depth; d++) {
      let found = -1;
      for (let j = p - 1; j >= 0 && j >= p - 15; j--) {
        const n = this.ilen[j]!;
        if (n !== 0 && j + n === p) {
          const k = this.kind[j]!;
          // Not through branches: with unknown flags the run could go the other way.
          if (k === Kind.Normal || k === Kind.Int || k === Kind.Syscall || k === Kind.Sysenter) { found = j; break; }
        }
      }
      if (found < 0) break;
      p = found;
    }
    return p;
  }

  /**
   * The earliest offset within `window` bytes before `t` whose straight-line execution reaches
   * `t` (following direct jumps), so the emulator also runs the setup before a trigger.
   */
  entryBefore(t: number, window: number): number {
    const from = t - window > 0 ? t - window : 0;
    // Each offset's path is deterministic, so the distance to `t` is memoised per call (ebDist:
    // >= 0 exact, EB_NEVER unreachable, < 0 "at least -v steps"): O(window + 48) walks instead
    // of O(window x 48).
    if (++this.ebGen === 0xffffffff) { this.ebStamp.fill(0); this.ebGen = 1; }
    const gen = this.ebGen, stamp = this.ebStamp, dist = this.ebDist, path = this.ebPath;
    const { ilen, kind, tgt } = this;
    for (let s = from; s < t; s++) {
      let p = s;
      let n = 0; // nodes on the path
      let base: number; // distance from p (the node after the path) to t
      for (;;) {
        if (p === t) { base = 0; break; }
        if (p < 0 || p >= this.len) { base = EB_NEVER; break; }
        if (stamp[p] === gen) {
          const d = dist[p]!;
          if (d >= 0 || d === EB_NEVER) { base = d; break; }
          if (n - d >= EB_STEPS) { base = EB_CAPPED; break; } // known to be too far
        }
        if (n >= EB_STEPS) { base = EB_CAPPED; break; }
        path[n++] = p;
        const len = ilen[p]!;
        if (len === 0) { base = EB_NEVER; break; }
        const k = kind[p]!;
        if (k === Kind.Jmp || k === Kind.Call) p = tgt[p]!;
        else if (k === Kind.Normal || k === Kind.Jcc || k === Kind.Loop || k === Kind.Int || k === Kind.Syscall || k === Kind.Sysenter) p += len;
        else { base = EB_NEVER; break; }
      }
      for (let j = n - 1; j >= 0; j--) {
        const o = path[j]!;
        stamp[o] = gen;
        dist[o] = base === EB_NEVER ? EB_NEVER : base === EB_CAPPED ? -(n - j) : base + (n - j);
      }
      if (stamp[s] === gen && dist[s]! >= 0 && dist[s]! < EB_STEPS) return s;
    }
    return t;
  }
}

// Two-byte table entries: bits 0-3 length, F_SLED, F_SIB (mod-0 SIB: base 5 adds a disp32),
// F_BR (short relative branch; kind from SHORT_KIND). 0 = decode with `quick`.
const F_SLED = 16, F_SIB = 32, F_BR = 64;
let FAST32: Uint8Array | undefined;
let FAST64: Uint8Array | undefined;
const SHORT_KIND = new Uint8Array(256);

/**
 * Per-mode table over the first two bytes, filled by running `quick` itself on each pair (so
 * it cannot disagree with it): only for opcodes whose length `quick` derives from its tables
 * (no prefix, no irregular opcode), and only Normal instructions and 2-byte branches.
 */
function buildFast(mode64: boolean): Uint8Array {
  const t = new Uint8Array(65536);
  const b = new Uint8Array(16);
  for (let b0 = 0; b0 < 256; b0++) {
    if (!quickTableDriven(b0, mode64)) continue;
    for (let b1 = 0; b1 < 256; b1++) {
      b[0] = b0; b[1] = b1;
      const n = quick(b, 0, 16, mode64);
      if (n === 0 || n > 15) continue;
      const k = q.kind;
      let e: number;
      if (k === Kind.Normal) e = n | (isSledInsn() ? F_SLED : 0);
      else if ((k === Kind.Jcc || k === Kind.Jmp || k === Kind.Loop) && n === 2) { e = n | F_BR; SHORT_KIND[b0] = k; }
      else continue;
      if (q.modrm >= 0 && b1 < 0x40 && (b1 & 7) === 4) e |= F_SIB;
      t[(b0 << 8) | b1] = e;
    }
  }
  return t;
}

/** First bytes of the Normal instructions that may be triggers (FPU env store, fxsave, lea, REX). */
const MAYBE_TRIG = new Uint8Array(256);
MAYBE_TRIG[0xd9] = MAYBE_TRIG[0xdd] = MAYBE_TRIG[0x0f] = 1; // any mode
MAYBE_TRIG[0x8d] = 2; // 64-bit only (RIP-relative lea, optionally after REX)
for (let b = 0x40; b <= 0x4f; b++) MAYBE_TRIG[b] = 2;

/** Trigger type of the Normal instruction at `i` from its bytes (no re-decode), or 0. */
function normalTrigger(buf: Uint8Array, i: number, len: number, mode64: boolean): number {
  // FPU environment stores and RIP-relative lea.
  const b = buf[i]!;
  const m = i + 1 < len ? buf[i + 1]! : 0;
  if ((b === 0xd9 || b === 0xdd) && m < 0xc0 && ((m >> 3) & 7) === 6) return T_FPUENV;
  if (b === 0x0f && m === 0xae && i + 2 < len && buf[i + 2]! < 0xc0 && ((buf[i + 2]! >> 3) & 7) === 0) return T_FPUENV;
  if (mode64) {
    if (b === 0x8d && (m & 0xc7) === 0x05) return T_RIPLEA;
    if ((b & 0xf0) === 0x40 && m === 0x8d && i + 2 < len && (buf[i + 2]! & 0xc7) === 0x05) return T_RIPLEA;
  }
  return 0;
}

/**
 * A sled instruction changes only registers (never memory, the stack pointer or control flow),
 * so landing on it anywhere is harmless: the property STRIDE requires at every offset.
 */
function isSledInsn(): boolean {
  if (q.mem) return false;
  const op = q.op;
  if (op >= 0x50 && op <= 0x61) return false; // push/pop/pusha/popa: touch the stack
  if (op === 0x9c || op === 0x9d || op === 0xc8 || op === 0xc9 || op === 0x68 || op === 0x6a) return false;
  if (op >= 0x100 && op !== 0x11f) return false;
  if (op >= 0xd8 && op <= 0xdf) return false; // FPU
  if ((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x97) || (op >= 0xb8 && op <= 0xbf)) return q.opreg !== 4;
  const m = q.modrm;
  if (m >= 0xc0 && ((m & 7) === 4 || ((m >> 3) & 7) === 4) && op !== 0x84 && op !== 0x85 && op !== 0x38 && op !== 0x39 && op !== 0x3a && op !== 0x3b) return false;
  if (op === 0x8d || op === 0x8e || op === 0x8c || op === 0x62 || op === 0x63) return false;
  if ((op === 0xf6 || op === 0xf7) && ((m >> 3) & 7) >= 6) return false; // div: may fault
  return true;
}
