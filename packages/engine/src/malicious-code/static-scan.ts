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
 * From the triggers, the sled landings and the heads of the longest chains, `candidates` then
 * picks where the emulator starts.
 * The per-offset loops run as WebAssembly (scan-loops.wat) on tables built here by running the
 * decoder (at `pnpm wasm` time: scripts/tables.ts embeds them in tables.generated.ts, and a
 * test checks they match); offsets those tables do not cover come back to `slowOffset`.
 */
import { Kind as Kind_ } from './x86-decoder.js';
// A local copy: imported bindings are getter calls under tsx/vitest (hot path).
const Kind = Kind_;
import { MAX_ARG } from './emulator.js';
import { unpackTable } from './packed-tables.js';
import { FAST32_TABLE, FAST64_TABLE, PRINTABLE_TABLE } from './tables.generated.js';
import { q as q_, quick as quick_, quickTableDriven as quickTableDriven_ } from './x86-quick.js';
import {
  ARG_AT, CAND_AT, CHAIN_AT, FAST32_AT, FAST64_AT, HEADS_AT, ILEN_AT, KIND_AT, LANDINGS_AT, LINEND_AT, MAYBE_TRIG_AT, PTAB_AT, PTAB_BOTH_AT, RING_AT, RING_TYPE_AT, SCAN_RESULT_AT, TGT_AT, scanLoops,
} from './scan-loops.js';

const quick = quick_;
const q = q_;
const quickTableDriven = quickTableDriven_;

export const T_CALL = 1;
export const T_FPUENV = 2;
export const T_GATE = 3;
export const T_BACK = 4;
export const T_RIPLEA = 5;

const MAX_TRIGGERS = 64;
/** How many chain heads `heads` keeps (the slots scan-loops.wat has). */
export const MAX_HEADS = 4;
const MAX_SLEDS = 4;
/**
 * The slots scan-loops.wat has for candidate starts: all one scan can give (MAX_SLEDS landings,
 * 4 per trigger, 3 per head).
 */
const CANDIDATE_SLOTS = MAX_SLEDS + 4 * MAX_TRIGGERS + 3 * MAX_HEADS;
const CHAIN_CAP = 60000;

export class StaticScan {
  /** The scan loops (scan-loops.wat); the arrays below live in their memory. */
  private readonly wasm = scanLoops();
  private readonly wasmBytes = new Uint8Array(this.wasm.memory.buffer);
  private readonly scanResult = new Int32Array(this.wasm.memory.buffer, SCAN_RESULT_AT, 4);
  /** Which tables are in that memory yet (bit 0: FAST32, 1: FAST64, 2: PTAB; MAYBE_TRIG with the first). */
  private tablesLoaded = 0;
  /**
   * Instruction length at each offset, 0 when execution would stop there; after
   * `scanPrintable32`, bit 5 (0x20) also marks a sled instruction (`& 31`: the length).
   */
  readonly ilen = new Uint8Array(this.wasm.memory.buffer, ILEN_AT, MAX_ARG);
  /** Direct branch target (or -1): only for Jmp/Jcc/Loop/Call. */
  readonly tgt = new Int32Array(this.wasm.memory.buffer, TGT_AT, MAX_ARG);
  /** The decoder's kind where `ilen` is not 0 (elsewhere stale: every reader checks `ilen` first). */
  readonly kind = new Uint8Array(this.wasm.memory.buffer, KIND_AT, MAX_ARG);
  /** Instructions executed from each offset (APE chain length). */
  readonly chain = new Uint16Array(this.wasm.memory.buffer, CHAIN_AT, MAX_ARG + 130);
  private readonly linEnd = new Int32Array(this.wasm.memory.buffer, LINEND_AT, MAX_ARG + 1);
  readonly trigOff = new Int32Array(MAX_TRIGGERS);
  readonly trigType = new Uint8Array(MAX_TRIGGERS);
  nTrig = 0;
  /** Longest chain and where it starts (`scan` only: see `scanPrintable32`). */
  mel = 0;
  melAt = -1;
  /** Longest sled: [sledStart, sledEnd), with the count of non-printable bytes in it. */
  sledStart = -1;
  sledEnd = -1;
  sledBinary = 0;
  /** Landing offsets of up to MAX_SLEDS sleds of at least 16 bytes, in order of appearance. */
  readonly landings = new Int32Array(this.wasm.memory.buffer, LANDINGS_AT, MAX_SLEDS);
  nLandings = 0;
  len = 0;
  mode64 = false;
  /** Whether the entry-path work of `candidates` (scan-loops.wat) knows the last scan. */
  private pathsReady = false;
  private readonly candidateStarts = new Int32Array(this.wasm.memory.buffer, CAND_AT, CANDIDATE_SLOTS);
  private readonly ring = new Int32Array(this.wasm.memory.buffer, RING_AT, MAX_TRIGGERS);
  private readonly ringType = new Uint8Array(this.wasm.memory.buffer, RING_TYPE_AT, MAX_TRIGGERS);
  /** The `minChain` of the heads in headOff/headLen for the last scan (-1: not found yet). */
  private headsFloor = -1;
  /** After `heads`: the offsets (-1: none) and lengths of the longest chains from heads. */
  readonly headOff = new Int32Array(this.wasm.memory.buffer, HEADS_AT, MAX_HEADS);
  readonly headLen = new Int32Array(this.wasm.memory.buffer, HEADS_AT + 4 * MAX_HEADS, MAX_HEADS);

  /**
   * `loaded`: the argument's first `len` bytes are already in the loops' memory (an earlier
   * scanPrintable32, textClass or scan of this same argument copied them), so no copy is made.
   */
  scan(buf: Uint8Array, len: number, mode64: boolean, loaded = false): void {
    this.len = len;
    this.mode64 = mode64;
    this.pathsReady = false;
    this.headsFloor = -1;
    // One pass (right to left, in scan-loops.wat): decode, chain lengths, straight-line sled
    // ends and triggers; then the longest chain (leftmost on ties), from the chains. Triggers go
    // into a ring of MAX_TRIGGERS slots, so the ring ends up holding the leftmost MAX_TRIGGERS of
    // them. `tgt` is written for direct branches only (readers look at it only for those kinds).
    // The loop counts the longest run of consecutive sled-instruction offsets: every offset of a
    // sled is one, so without a run of 16 there is no sled worth reporting and the sled pass is
    // skipped.
    const w = this.wasm;
    this.loadTables(mode64 ? 2 : 1);
    if (!loaded) this.loadArgument(buf, len);
    w.scanBegin(len, mode64 ? 1 : 0);
    let r = w.scanRun(0);
    // -2: the table does not cover offset i (two prefixes, 0F escapes, REX, gates...).
    while (r !== 0) r = w.scanRun(this.slowOffset(buf, w.at(), len, mode64));
    const result = this.scanResult;
    this.mel = result[0]!;
    this.melAt = result[1]!;
    const nt = result[2]!;
    const maxSledRun = result[3]!;
    const { linEnd, ring, ringType } = this;
    // Leftmost triggers first: the ring holds them newest (leftmost) last.
    const m = nt < MAX_TRIGGERS ? nt : MAX_TRIGGERS;
    for (let j = 0; j < m; j++) {
      const slot = (nt - 1 - j) & (MAX_TRIGGERS - 1);
      this.trigOff[j] = ring[slot]!;
      this.trigType[j] = ringType[slot]!;
    }
    this.nTrig = m;
    // Longest sled (only sleds of at least 16 bytes are reported: shorter ones are no sign).
    this.sledStart = this.sledEnd = -1;
    this.sledBinary = 0;
    this.nLandings = 0;
    if (maxSledRun < 16) return;
    let bestSled = 0;
    let p = 0;
    while (p < len) {
      if (linEnd[p]! <= p) { p++; continue; }
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
   * The scan of a printable-ASCII argument in 32-bit mode, or false (nothing reliable filled
   * in) when a byte is outside 0x20-0x7E or the argument holds a run of 16 sled instructions
   * (then `scan` does the whole job). Fills `ilen`, `chain` and empty trigger and sled results,
   * which is all `scan` would report for such text: printable bytes hold no call, FPU store,
   * gate or backward branch (rel8 0x20-0x7E is forward), and no sled of 16 bytes. `kind` and
   * `tgt` are not filled (they serve only trigger processing).
   * Nor is the longest chain (`mel`, -1 here): it starts at a head, because every valid
   * instruction here (plain or Jcc) that falls into an offset has a longer chain than that
   * offset, so `heads` finds it (its first slot) without a per-offset maximum in the loop.
   * The scan ends with `heads(minChain)`. The argument is copied into the loops' memory even
   * when the answer is false (see `loaded`).
   */
  scanPrintable32(buf: Uint8Array, len: number, minChain: number): boolean {
    this.len = len;
    this.mode64 = false;
    this.pathsReady = false;
    this.headsFloor = -1;
    this.nTrig = 0;
    this.sledStart = this.sledEnd = -1;
    this.sledBinary = 0;
    this.nLandings = 0;
    this.mel = this.melAt = -1;
    if (this.printableChains(buf, len, minChain) !== 0) return false;
    this.headsFloor = minChain;
    return true;
  }

  /**
   * 0 = binary, 1 = text (valid UTF-8 without control characters), 2 = printable ASCII: one
   * pass of scan-loops.wat over a copy of the argument (`loaded`: as for `scan`).
   */
  textClass(buf: Uint8Array, len: number, loaded = false): number {
    if (!loaded) this.loadArgument(buf, len);
    return this.wasm.textClass(len);
  }

  /** Copy the argument where the loops read it. */
  private loadArgument(buf: Uint8Array, len: number): void {
    this.wasmBytes.set(len === buf.length ? buf : buf.subarray(0, len), ARG_AT);
  }

  /** Unpack the tables `which` asks for (bits as in `tablesLoaded`) into the loops' memory, once. */
  private loadTables(which: number): void {
    const missing = which & ~this.tablesLoaded;
    if (missing === 0) return;
    const bytes = this.wasmBytes;
    if (this.tablesLoaded === 0) bytes.set(MAYBE_TRIG, MAYBE_TRIG_AT);
    if (missing & 1) bytes.set(unpackTable(FAST32_TABLE), FAST32_AT);
    if (missing & 2) bytes.set(unpackTable(FAST64_TABLE), FAST64_AT);
    if (missing & 4) {
      const ptab = unpackTable(PRINTABLE_TABLE);
      bytes.set(ptab.subarray(0, 2 * P.BothPage), PTAB_AT);
      bytes.set(ptab.subarray(2 * P.BothPage), PTAB_BOTH_AT);
    }
    this.tablesLoaded |= which;
  }

  /**
   * The loop of `scanPrintable32` and `heads`, run by WebAssembly (scan-loops.wat) on a copy of
   * the argument; offsets whose table entry is P.Special come back here for `quick`. Returns 0,
   * or a negative number to give up (a byte outside 0x20-0x7E, a sled, an unexpected kind).
   */
  private printableChains(buf: Uint8Array, len: number, minChain: number): number {
    const w = this.wasm;
    this.loadTables(4);
    this.loadArgument(buf, len);
    let r = w.printableScan(len, minChain);
    while (r === -2) {
      // The table's entry could not say (P.Special).
      const i = w.at();
      const pe = quickEntry(quick(buf, i, len, false), i);
      if (pe < 0) return -1; // no other kind decodes from printable bytes; play safe
      r = w.printableRun(pe);
    }
    return r;
  }

  /**
   * Decode offset `i` with the fast decoder (offsets the two-byte table does not cover) and fill
   * its entries; returns the trigger type (0 for none).
   */
  private slowOffset(buf: Uint8Array, i: number, len: number, mode64: boolean): number {
    const { ilen, tgt, kind, chain, linEnd } = this;
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
      ilen[i] = 0; chain[i] = 0; linEnd[i] = i;
      return 0;
    }
    ilen[i] = n;
    kind[i] = k;
    const next = i + n;
    const fall = chain[next]!;
    let c: number;
    let t = 0; // trigger type
    if (k === Kind.Normal) {
      c = 1 + fall;
      linEnd[i] = isSledInsn() ? linEnd[next]! : i;
      if ((MAYBE_TRIG[buf[i]!]! & (mode64 ? 3 : 1)) !== 0) t = normalTrigger(buf, i, len, mode64);
    } else {
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
      } else if (k === Kind.Int || k === Kind.Syscall || k === Kind.Sysenter) { c = 1 + fall; t = T_GATE; }
      else c = 1;
    }
    chain[i] = c > CHAIN_CAP ? CHAIN_CAP : c;
    return t;
  }

  /**
   * Up to MAX_HEADS chain heads of the last scan (offsets no earlier instruction falls into)
   * whose chains are at least `minChain` long, longest first, into `headOff` and `headLen`.
   */
  heads(minChain: number): void {
    if (minChain === this.headsFloor) return; // already there (the printable path asks early)
    this.headsFloor = minChain;
    this.wasm.heads(this.len, minChain);
  }

  /**
   * The emulator's candidate starts after the last scan, distinct and inside the argument, at
   * most `out.length` (and CANDIDATE_SLOTS), into `out`; returns how many. In order: the sled
   * landings; then, for each trigger (leftmost first) while fewer than `triggerRoom` are taken,
   * the starts 3 and 8 plain instructions before it (so the emulator also runs the setup code;
   * not through branches: with unknown flags the run could go the other way), the earliest start
   * within 64 bytes before it whose straight-line path (falling through, or taking direct jumps
   * and calls) reaches it within 47 steps, and the trigger itself when its type's bit is set in
   * `entryTypes`; then the heads of the longest chains of at least `minChain` instructions (see
   * `heads`), each with the offsets 1 and 2 inside its first instruction. By scan-loops.wat.
   */
  candidates(out: Int32Array, minChain: number, triggerRoom: number, entryTypes: number): number {
    const w = this.wasm;
    if (!this.pathsReady) {
      w.pathsBegin(this.len);
      this.pathsReady = true;
    }
    this.heads(minChain);
    const max = out.length < CANDIDATE_SLOTS ? out.length : CANDIDATE_SLOTS;
    const n = w.candidates(this.nLandings, this.nTrig, max, triggerRoom, entryTypes);
    const starts = this.candidateStarts;
    for (let i = 0; i < n; i++) out[i] = starts[i]!;
    return n;
  }
}

// Two-byte table entries (Uint16): bits 0-3 length, bits 4-6 class, F_SLED, F_SIB (mod-0 SIB:
// base 5 adds a disp32), bits 9-12 kind. Class 0 = decode with `quick`. (scan-loops.wat spells
// these values as literals.)
const E_CLASS = 7 << 4;
const C_NORMAL = 1 << 4; // plain instruction
const C_INVALID = 2 << 4; // execution stops before it (invalid, privileged, trap, far...)
const C_BRANCH = 3 << 4; // Jcc/Jmp/Loop rel8, call/jmp rel32
const C_STOP = 4 << 4; // ret, indirect jmp/call
const C_SEG = 5 << 4; // segment override prefix
const F_SLED = 1 << 7, F_SIB = 1 << 8;
const E_KIND_SHIFT = 9;

/**
 * Opcodes (no prefix) whose length, validity and kind follow from the opcode, the ModRM byte
 * and the SIB base alone: everything `quick` decodes from its tables, plus the irregular
 * one-byte opcodes it hands to the full decoder (groups, lea/bound/arpl, moffs, enter, far).
 */
function tableDriven(b: number, mode64: boolean): boolean {
  if (quickTableDriven(b, mode64)) return true;
  if (mode64 && (b & 0xf0) === 0x40) return false;
  switch (b) {
    case 0x62: case 0x63: case 0x82: case 0x8c: case 0x8d: case 0x8e: case 0x8f: case 0x9a:
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xc6: case 0xc7: case 0xc8: case 0xea:
    case 0xf6: case 0xf7: case 0xfe: case 0xff:
      return true;
    default:
      return false;
  }
}

/**
 * Per-mode table over the first two bytes, filled by running `quick` itself on each pair (so
 * it cannot disagree with it).
 */
export function buildFast(mode64: boolean): Uint16Array {
  const t = new Uint16Array(65536);
  const b = new Uint8Array(16);
  for (let b0 = 0; b0 < 256; b0++) {
    if (b0 === 0x26 || b0 === 0x2e || b0 === 0x36 || b0 === 0x3e || b0 === 0x64 || b0 === 0x65) {
      for (let b1 = 0; b1 < 256; b1++) t[(b0 << 8) | b1] = C_SEG;
      continue;
    }
    if (b0 === 0xf0) {
      for (let b1 = 0; b1 < 256; b1++) if (lockAlwaysInvalid(b1, mode64, b)) t[(b0 << 8) | b1] = C_INVALID;
      continue;
    }
    if (!tableDriven(b0, mode64)) continue;
    for (let b1 = 0; b1 < 256; b1++) {
      b.fill(0);
      b[0] = b0; b[1] = b1;
      const n = quick(b, 0, 16, mode64);
      const k = q.kind;
      const sib = q.modrm >= 0 && b1 < 0x40 && (b1 & 7) === 4 ? F_SIB : 0;
      let e: number;
      if (n === 0) e = C_INVALID;
      else if (k === Kind.Normal) e = C_NORMAL | n | (isSledInsn() ? F_SLED : 0) | sib;
      else if ((k === Kind.Jcc || k === Kind.Jmp || k === Kind.Loop) && n === 2) e = C_BRANCH | n | (k << E_KIND_SHIFT);
      else if ((k === Kind.Jmp || k === Kind.Call) && n === 5 && (b0 === 0xe8 || b0 === 0xe9)) e = C_BRANCH | n | (k << E_KIND_SHIFT);
      else if (k === Kind.Ret || k === Kind.JmpInd || k === Kind.CallInd) e = C_STOP | n | (k << E_KIND_SHIFT) | sib;
      else if (k === Kind.Int && !mode64 && b0 === 0xcd && b1 === 0x80) continue; // gate: `quick`
      else if (k === Kind.Int || k >= Kind.Int3) e = C_INVALID;
      else continue;
      t[(b0 << 8) | b1] = e;
    }
  }
  return t;
}

/**
 * True when LOCK followed by opcode `b1` is invalid whatever comes next: `b1` is table-driven
 * and takes no ModRM byte (so its validity follows from the opcode alone) and `quick` rejects
 * it after LOCK. UTF-8 emoji start with such pairs (F0 9F: lock lahf).
 */
function lockAlwaysInvalid(b1: number, mode64: boolean, b: Uint8Array): boolean {
  if (!tableDriven(b1, mode64)) return false;
  b.fill(0);
  b[0] = b1;
  if (quick(b, 0, 16, mode64) === 0 || q.modrm >= 0) return false;
  b.fill(0);
  b[0] = 0xf0; b[1] = b1;
  return quick(b, 0, 16, mode64) === 0;
}

// Printable 32-bit table (Uint16 entries). Main page: index b1 << 8 | b0 for a first byte b0
// and the next byte b1 below 0x80 (0 past the end): the two bytes as one little-endian load. Then
// two prefix pages (66, 67) at P.PrefixPages, index (b0 & 1) << 14 | b1 << 7 | b2 for the prefix
// b0 and the next two bytes, and a page for 66 and 67 both at P.BothPage (index b1 << 7 | b2 for
// the two bytes after 66 67; in the loops' memory it lies apart, at PTAB_BOTH_AT). A prefix page
// entry counts its prefixes in the length; the loop adds a byte per other prefix of a run (no
// prefix changes the length but 66 and 67 once), so the rows of a prefix b1 are never read. A
// plain entry: bits 0-4 the length (with the prefixes), P.Invalid (16) and up when invalid (so
// that the loop, which makes a segment override's entry by adding 1 to that of the next offset,
// keeps it invalid), P.Sled, bits 8-15 (P.Rel) twice a Jcc's displacement (0-0x7F, the last byte
// of the key, so the entry holds it; twice: a byte offset in the chain array). P.Seg: a segment
// override. P.Rare entries need more: a byte outside 0x20-0x7E, P.Prefix (look in a prefix
// page), P.Sib (the byte after the key is a SIB byte: base 5 adds a disp32; the rest is a plain
// entry), P.Special (decode with `quick`).
// (A const enum; scan-loops.wat, whose loop reads the table, spells these values as literals.)
const enum P {
  Invalid = 16, Sled = 1 << 5, Rare = 1 << 6, Seg = 1 << 7, Rel = 0xff << 8,
  Prefix = Rare | (1 << 9), Sib = Rare | (1 << 10), Special = Rare | (1 << 11),
  PrefixPages = 256 << 7, BothPage = PrefixPages + 2 * 128 * 128,
}
const PTAB_ENTRIES = P.BothPage + 128 * 128;

export function buildPrintable(fast: Uint16Array): Uint16Array {
  const isSeg = (b: number): boolean => (fast[b << 8]! & E_CLASS) === C_SEG;
  const isPrefix = (b: number): boolean => isSeg(b) || b === 0x66 || b === 0x67;
  const t = new Uint16Array(PTAB_ENTRIES).fill(P.Rare);
  const key = new Uint8Array(3);
  const keyBytes = [0];
  for (let b = 0x20; b < 0x7f; b++) keyBytes.push(b);
  for (const b0 of keyBytes) {
    if (b0 === 0) continue;
    for (const b1 of keyBytes) {
      key[0] = b0; key[1] = b1;
      t[(b1 << 8) | b0] = isSeg(b0) ? P.Seg : b0 === 0x66 || b0 === 0x67 ? P.Prefix : printableEntry(key, 2);
      if ((b0 !== 0x66 && b0 !== 0x67) || isPrefix(b1)) continue;
      for (const b2 of keyBytes) {
        key[2] = b2;
        t[P.PrefixPages + (((b0 & 1) << 14) | (b1 << 7) | b2)] = printableEntry(key, 3);
      }
    }
  }
  // 66 b1 or 67 b1 whose page row holds one plain entry whatever b2 is (one-byte opcodes,
  // immediates, invalid ones): that entry in the main page, so the loop takes it without the
  // prefix run. Where the argument ends after b1, the row's entry is invalid (cut) unless the
  // instruction is two bytes long, as the loop's end check makes the main page's one (b1 = 0:
  // the prefix run reads those entries to find prefixes, so they stay).
  for (const b0 of [0x66, 0x67]) {
    for (const b1 of keyBytes) {
      if (b1 === 0 || isPrefix(b1)) continue;
      const row = P.PrefixPages + (((b0 & 1) << 14) | (b1 << 7));
      const e = t[row | 0x20]!;
      if ((e & (P.Rare | P.Seg)) !== 0) continue;
      const atEnd = (e & 31) > 2 ? P.Invalid : e;
      if (t[row]! === atEnd && keyBytes.every((b2) => b2 === 0 || t[row | b2] === e)) t[(b1 << 8) | b0] = e;
    }
  }
  // 66 67 b1 b2: where 66 changes nothing after b1 (its page's row is the main page's, one byte
  // longer; operand and address size are independent), the 67 page's entry one byte longer;
  // else decoded (the few opcodes with an operand-size immediate).
  const both = new Uint8Array([0x66, 0x67, 0, 0]);
  for (const b1 of keyBytes) {
    if (isPrefix(b1)) continue;
    const row66 = P.PrefixPages | (b1 << 7);
    const row67 = row66 | (1 << 14);
    const sizeFree = keyBytes.every((b2) => t[row66 | b2] === longer(t[(b2 << 8) | b1]!));
    for (const b2 of keyBytes) {
      both[2] = b1; both[3] = b2;
      t[P.BothPage + ((b1 << 7) | b2)] = sizeFree ? longer(t[row67 | b2]!) : printableEntry(both, 4);
    }
  }
  return t;
}

/** Entry `e` (not P.Seg or P.Prefix) of the same instruction after one more prefix byte. */
function longer(e: number): number {
  if ((e & P.Rare) !== 0 && (e & P.Sib) !== P.Sib) return e;
  return (e & 31) >= P.Invalid ? e : e + 1;
}

/**
 * Entry for the instruction that starts with the `keyLen` key bytes (a 0 key byte: the argument
 * ends there), by running `quick` with each kind of SIB byte after the key.
 */
function printableEntry(key: Uint8Array, keyLen: number): number {
  const b = new Uint8Array(16);
  let end = 16;
  for (let k = 0; k < keyLen; k++) {
    if (key[k] === 0) { end = k; break; }
    b[k] = key[k]!;
  }
  b[keyLen] = 0x20; // SIB base 0
  const e0 = printableDecode(b, end, keyLen);
  b[keyLen] = 0x25; // SIB base 5: a disp32 when ModRM mod is 0
  const e5 = printableDecode(b, end, keyLen);
  if (e5 === e0) return e0;
  if ((e0 & 31) < P.Invalid && (e0 & (P.Rare | P.Rel)) === 0 && e5 === e0 + 4) return e0 | P.Sib;
  return P.Special;
}

/**
 * Entry of the instruction `quick` decodes at 0 in `b`: P.Special unless it is plain and a Jcc
 * has its displacement in the last key byte (where the scan loop reads it).
 */
function printableDecode(b: Uint8Array, end: number, keyLen: number): number {
  const n = quick(b, 0, end, false);
  const e = quickEntry(n, 0);
  if (e < 0 || (n !== 0 && q.kind === Kind.Jcc && (n !== keyLen || q.target - n !== b[n - 1]))) return P.Special;
  return e;
}

/**
 * Plain entry (see PTAB) of the instruction `quick` has just decoded at `off` (length `n`, 0
 * when invalid), or -1 for a kind printable bytes do not make or a Jcc whose displacement
 * (q.target - off - n) is not 0-0x7F.
 */
function quickEntry(n: number, off: number): number {
  if (n === 0) return P.Invalid;
  const k = q.kind;
  if (k === Kind.Normal) return n | (isSledInsn() ? P.Sled : 0);
  if (k === Kind.Jcc) {
    const rel = q.target - off - n;
    return rel >= 0 && rel <= 0x7f ? n | ((rel * 2) << 8) : -1;
  }
  return k >= Kind.Int3 ? P.Invalid : -1;
}

/** First bytes of the Normal instructions that may be triggers (FPU env store, fxsave, lea, REX). */
const MAYBE_TRIG = new Uint8Array(256);
MAYBE_TRIG[0xd9] = MAYBE_TRIG[0xdd] = MAYBE_TRIG[0x0f] = 1; // any mode
MAYBE_TRIG[0x8d] = 2; // 64-bit only (RIP-relative lea, optionally after REX)
for (let b = 0x40; b <= 0x4f; b++) MAYBE_TRIG[b] = 2;

/**
 * Trigger type of the Normal instruction at `i` from its bytes (no re-decode), or 0. Also in
 * scan-loops.wat (scanRun's loop), for the offsets its table covers.
 */
export function normalTrigger(buf: Uint8Array, i: number, len: number, mode64: boolean): number {
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
