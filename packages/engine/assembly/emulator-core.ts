/**
 * The emulator's hot loop for the common instructions, in AssemblyScript (compiled to
 * WebAssembly by `pnpm --filter @smtpguard/engine wasm` and embedded in
 * src/malicious-code/emulator-core.wasm.ts).
 *
 * src/malicious-code/emulator.ts stays the definition of the emulator: its memory images,
 * registers and stamps live in this module's memory, and it hands whole lists of runs to
 * `runEach` and single runs to `start` (both also undo each run's writes before the next), and
 * the steps it can to `run`. They execute one-byte opcodes (see `executes`), after segment,
 * FS/GS, operand-size and address-size prefixes but no REX, in both modes, with exactly the
 * semantics and bookkeeping of emulator.ts, and hand any other instruction back (return
 * HAND_BACK with nothing changed for it): emulator.ts executes that one step and calls run
 * again. Instruction
 * formats come from the TypeScript decoder through the FORMAT table, filled by
 * emulator-core.ts; this file only reads the ModRM/SIB bytes those formats announce. The
 * commonest forms without prefix (no ModRM, or ALU with a plain ModRM byte) skip the decoding
 * (FORM_AT, derived from FORMAT).
 *
 * Where a memory access faults, the loop stops at once with Stop.Fault; emulator.ts finishes
 * the instruction first. Nothing observable differs: the run ends either way, and the next run
 * restores memory from the undo logs and sets every register.
 */

// ---- layout (exported: emulator-core.ts makes its views from these) --------------------------

const PRE: u32 = 256;
const MAX_ARG: u32 = 16384;
const POST: u32 = 1024;
const MEM_BYTES: u32 = PRE + MAX_ARG + POST;
const STK_SIZE: u32 = 8192;

export const FORMAT_AT: u32 = 0; // u8 x 256 per mode and prefix class (index mode64 << 12 | class << 8 | op)
export const ST_AT: u32 = 8192; // i32 x 32: the state block (S_* slots)
export const LO_AT: u32 = 8320; // u32 x 16
export const HI_AT: u32 = 8384; // u32 x 16
export const MEM_AT: u32 = 8448;
export const STK_AT: u32 = MEM_AT + MEM_BYTES;
export const WSTAMP_AT: u32 = STK_AT + STK_SIZE;
export const XSTAMP_AT: u32 = WSTAMP_AT + 4 * MEM_BYTES;
export const SWSTAMP_AT: u32 = XSTAMP_AT + 4 * MEM_BYTES;
export const SXSTAMP_AT: u32 = SWSTAMP_AT + 4 * STK_SIZE;
export const MEMUNDO_AT: u32 = SXSTAMP_AT + 4 * STK_SIZE;
export const STKUNDO_AT: u32 = MEMUNDO_AT + 4 * MEM_BYTES;
export const VISITED_AT: u32 = STKUNDO_AT + 4 * STK_SIZE;
const TOUCH_AT: u32 = VISITED_AT + 4 * MAX_ARG; // u16 x 256: touchRule per opcode
const PREFIX_AT: u32 = TOUCH_AT + 512; // u8 x 256: prefix class per byte
export const STARTS_AT: u32 = PREFIX_AT + 256; // i32 x 256 (emulator-core.ts MAX_STARTS): runEach's argument offsets
const KIND_AT: u32 = STARTS_AT + 1024; // u8 x 256: execute's case per opcode (kindOf)
export const ADDR16_AT: u32 = KIND_AT + 256; // u16 x 256 per ModRM byte: 16-bit address registers | displacement size << 8
export const LEFT_AT: u32 = ADDR16_AT + 512; // u32 per FORMAT entry: the ModRM groups it leaves (see leftForm)
const FORM_AT: u32 = LEFT_AT + 4 * 8192; // u8 x 256 per mode: the loop's one-byte form of each opcode without prefixes (see fillForms)
const FORM_LEN_AT: u32 = FORM_AT + 512; // u8 per one-byte form: its length

const BUF_LO: u32 = 0x10000000;
const ARG_ADDR: u32 = BUF_LO + PRE;
const STK_LO: u32 = 0x20000000;
const STK_INIT: u32 = STK_LO + STK_SIZE - 1024;
const IDLE_STEPS: i32 = 400;

// State slots (i32 at ST_AT + 4 * slot).
const S_EIP = 0;
const S_STEPS = 1;
const S_LAST_WRITE = 2;
const S_UNDEF = 3;
const S_CF = 4;
const S_ZF = 5;
const S_SF = 6;
const S_OF = 7;
const S_PFB = 8;
const S_DF = 9;
const S_MEM_UNDO_N = 10;
const S_STK_UNDO_N = 11;
const S_STREAK = 12;
const S_WX = 13;
const S_WX_FIRST = 14;
const S_WX_RUN = 15;
const S_BACK_JUMPS = 16;
const S_LOOP_AT = 17;
const S_SYSCALLS = 18;
const S_GEN = 19;
const S_NEXT = 20;
const S_SPENT = 21;

// FORMAT entry bits (0 = not executed here): immediate size, ModRM present, whether all the
// register forms (mod 3) and all the memory forms decode as plain ModRM/SIB forms do (32-bit
// ones, or the 16-bit ones of ADDR16_AT in i386 with an address-size prefix; where not, LEFT_AT
// tells the groups that do not), and F_DECODED on every
// executed opcode. The absolute address of a0-a3 (moffs) counts as their
// immediate, of 8 bytes (F_IMM8) in 64-bit mode, where the emulator uses its low 4 only; so
// does the selector of 9a's far pointer (6 or 4 bytes in all).
const F_IMM = 7;
const F_MODRM = 8;
const F_REG_FORMS = 16;
const F_DECODED = 32;
const F_MEM_FORMS = 64;
const F_IMM8 = 128;

// Prefix classes (bits of the FORMAT table index, see FORMAT_AT): CS/DS/ES/SS overrides (no
// effect in flat memory), FS/GS (a memory operand faults), operand size, address size (in
// i386, a memory operand faults: emulator.ts has no 16-bit addressing).
const PREFIX_SEG = 1;
const PREFIX_FSGS = 2;
const PREFIX_OPSIZE = 4;
const PREFIX_ASIZE = 8;
const MAX_LEN: u32 = 15;
/** `base` of a RIP-relative operand. */
const RIP = 16;

function prefixClass(b: i32): i32 {
  if (b === 0x2e || b === 0x36 || b === 0x3e || b === 0x26) return PREFIX_SEG;
  if (b === 0x64 || b === 0x65) return PREFIX_FSGS;
  return b === 0x66 ? PREFIX_OPSIZE : b === 0x67 ? PREFIX_ASIZE : 0;
}

// Results of run(); Stop codes are emulator.ts's.
const HAND_BACK: i32 = -1;
const BUDGET: i32 = -2;
const STOP_LEFT: i32 = 1;
const STOP_INVALID: i32 = 2;
const STOP_FAULT: i32 = 3;
const STOP_UNSUPPORTED: i32 = 4;
const STOP_IDLE: i32 = 6;

// ---- state --------------------------------------------------------------------------------

let eip: u32 = 0;
let steps: i32 = 0;
let lastWrite: i32 = 0;
let undef: i32 = 0;
let cf: i32 = 0;
let zf: i32 = 0;
let sf: i32 = 0;
let ovf: i32 = 0;
let pfb: i32 = 0;
let df: i32 = 0;
let memUndoN: i32 = 0;
let stkUndoN: i32 = 0;
let gen: u32 = 0;
let memSize: u32 = 0;
let fault = false;
let backJumps: i32 = 0;
let loopAt: i32 = 0;
let curAddr: u32 = 0;
let mode64 = false;
/** High half of the last 8-byte read. */
let opHi: u32 = 0;
let maxSteps: i32 = 0;
let visitGen: u32 = 0;
let argEnd: u32 = 0;
let syscalls: i32 = 0;
let streak: i32 = 0;
let wx: i32 = 0;
let wxFirst: i32 = 0;
let wxRun: i32 = 0;
/** Buffer offsets this run may have written: [writtenLo, writtenHi) holds every stamped one. */
let writtenLo: u32 = 0;
let writtenHi: u32 = 0;

@inline function slot(s: i32): i32 { return load<i32>(ST_AT + (<u32>s << 2)); }
@inline function setSlot(s: i32, v: i32): void { store<i32>(ST_AT + (<u32>s << 2), v); }

/**
 * Whether the loop executes one-byte opcode `op`, after any prefixes it recognises
 * (emulator-core.ts asks, to fill FORMAT from the decoder).
 */
export function executes(op: i32): i32 {
  if (op < 0x40) return op === 0x0f || prefixClass(op) !== 0 ? 0 : 1;
  if (op < 0x64) return 1; // inc/dec, push/pop, pusha/popa, bound, arpl
  if (op < 0x68) return 0; // prefixes
  // push imm, imul, ins/outs, jcc, group 1, test, xchg, mov (also of segment registers), lea,
  // pop r/m, xchg, cwde/cdq, far call (stops), fwait, flags, moffs, string operations, mov imm
  if (op < 0xc0) return 1;
  if (op === 0xc0 || op === 0xc1 || (op >= 0xd0 && op <= 0xd3)) return 1; // shifts
  if (op >= 0xe0 && op <= 0xe3) return 1;
  if (kindOf(op) === K_FAULT) return 1; // stops
  return op === 0xe9 || op === 0xeb || op === 0xd6 || op === 0xd7 || op === 0xf5 || op === 0xf8 || op === 0xf9 || op === 0xfc || op === 0xfd ? 1 : 0;
}

// ---- registers ----------------------------------------------------------------------------

@inline function reg32(r: i32): u32 { return load<u32>(LO_AT + (<u32>r << 2)); }

@inline function setReg32(r: i32, v: u32): void {
  undef &= ~(1 << r);
  store<u32>(LO_AT + (<u32>r << 2), v);
  store<u32>(HI_AT + (<u32>r << 2), 0);
}

/** Byte registers al, cl, dl, bl, ah, ch, dh, bh (without REX, which the loop leaves to emulator.ts). */
@inline function byteRegAt(r: i32): u32 { return r < 4 ? LO_AT + (<u32>r << 2) : LO_AT + (<u32>(r - 4) << 2) + 1; }

/** The bits of a 1, 2 or 4-byte operand. */
@inline function sizeMask(size: i32): u32 { return 0xffffffff >>> (<u32>(4 - size) << 3); }

@inline function getReg(r: i32, size: i32): u32 { return size === 1 ? <u32>load<u8>(byteRegAt(r)) : reg32(r) & sizeMask(size); }

/** 1 and 2-byte writes keep the rest of the register (both halves in 64-bit mode). */
@inline function setReg(r: i32, size: i32, v: u32): void {
  if (size === 1) {
    undef &= ~(1 << (r >= 4 ? r - 4 : r));
    store<u8>(byteRegAt(r), <u8>v);
  } else if (size === 2) {
    undef &= ~(1 << r);
    store<u16>(LO_AT + (<u32>r << 2), <u16>v);
  } else setReg32(r, v);
}

// ---- memory -------------------------------------------------------------------------------

function rd8(a: u32): u32 {
  let o = a - BUF_LO;
  if (o < memSize) return <u32>load<u8>(MEM_AT + o);
  o = a - STK_LO;
  if (o < STK_SIZE) return <u32>load<u8>(STK_AT + o);
  fault = true;
  return 0;
}

/** 2 or 4-byte read. */
@inline function rdWide(a: u32, size: i32): u32 {
  let o = a - STK_LO;
  if (o <= STK_SIZE - <u32>size) return size === 2 ? <u32>load<u16>(STK_AT + o) : load<u32>(STK_AT + o);
  o = a - BUF_LO;
  if (o < memSize && o <= memSize - <u32>size) return size === 2 ? <u32>load<u16>(MEM_AT + o) : load<u32>(MEM_AT + o);
  const v = rd8(a) | (rd8(a + 1) << 8);
  return size === 2 ? v : v | (rd8(a + 2) << 16) | (rd8(a + 3) << 24);
}

function rd16(a: u32): u32 { return rdWide(a, 2); }
function rd32(a: u32): u32 { return rdWide(a, 4); }

@inline function rd(a: u32, size: i32): u32 { return size === 1 ? rd8(a) : size === 2 ? rd16(a) : rd32(a); }

/** Before a write of buffer byte `o`: its first this run goes to the undo log, with the byte it restores (emulator.ts memUndo). */
@inline function stampMem(o: u32): void {
  const s = WSTAMP_AT + (o << 2);
  if (load<u32>(s) !== gen) {
    store<u32>(s, gen);
    store<u32>(MEMUNDO_AT + (<u32>memUndoN << 2), o | (<u32>load<u8>(MEM_AT + o) << 16));
    memUndoN++;
    if (o < writtenLo) writtenLo = o;
    if (o >= writtenHi) writtenHi = o + 1;
  }
}

@inline function stampStk(o: u32): void {
  const s = SWSTAMP_AT + (o << 2);
  if (load<u32>(s) !== gen) { store<u32>(s, gen); store<i32>(STKUNDO_AT + (<u32>stkUndoN << 2), o); stkUndoN++; }
}

function wr8(a: u32, v: u32): void {
  lastWrite = steps;
  let o = a - BUF_LO;
  if (o < memSize) { stampMem(o); store<u8>(MEM_AT + o, <u8>v); return; }
  o = a - STK_LO;
  if (o < STK_SIZE) { store<u8>(STK_AT + o, <u8>v); stampStk(o); return; }
  fault = true;
}

/** 2 or 4-byte write. */
@inline function wrWide(a: u32, size: i32, v: u32): void {
  let o = a - STK_LO;
  if (o <= STK_SIZE - <u32>size) {
    lastWrite = steps;
    if (size === 2) store<u16>(STK_AT + o, <u16>v);
    else store<u32>(STK_AT + o, v);
    stampStk(o); stampStk(o + 1);
    if (size === 4) { stampStk(o + 2); stampStk(o + 3); }
    return;
  }
  o = a - BUF_LO;
  if (o < memSize && o <= memSize - <u32>size) {
    lastWrite = steps;
    stampMem(o); stampMem(o + 1);
    if (size === 4) { stampMem(o + 2); stampMem(o + 3); }
    if (size === 2) store<u16>(MEM_AT + o, <u16>v);
    else store<u32>(MEM_AT + o, v);
    return;
  }
  wr8(a, v & 0xff); wr8(a + 1, (v >>> 8) & 0xff);
  if (size === 4) { wr8(a + 2, (v >>> 16) & 0xff); wr8(a + 3, v >>> 24); }
}

function wr16(a: u32, v: u32): void { wrWide(a, 2, v); }
function wr32(a: u32, v: u32): void { wrWide(a, 4, v); }

@inline function wr(a: u32, size: i32, v: u32): void {
  if (size === 1) wr8(a, v & 0xff);
  else if (size === 2) wr16(a, v);
  else wr32(a, v);
}

/** The operand-size prefix's push and pop (2 bytes, in both modes). */
function push16(v: u32): void {
  const sp = reg32(4) - 2;
  store<u32>(LO_AT + 16, sp);
  wr16(sp, v);
}

function pop16(): u32 {
  const sp = reg32(4);
  const v = rd16(sp);
  store<u32>(LO_AT + 16, sp + 2);
  return v;
}

@inline function push32(v: u32): void {
  const sp = reg32(4) - 4;
  store<u32>(LO_AT + 16, sp);
  wr32(sp, v);
}

@inline function pop32(): u32 {
  const sp = reg32(4);
  const v = rd32(sp);
  store<u32>(LO_AT + 16, sp + 4);
  return v;
}

/** 8-byte read: the low half, the high half in opHi. */
function rd64(a: u32): u32 {
  let o = a - STK_LO;
  if (o <= STK_SIZE - 8) { opHi = load<u32>(STK_AT + o + 4); return load<u32>(STK_AT + o); }
  o = a - BUF_LO;
  if (o < memSize && o <= memSize - 8) { opHi = load<u32>(MEM_AT + o + 4); return load<u32>(MEM_AT + o); }
  const v = rd8(a) | (rd8(a + 1) << 8) | (rd8(a + 2) << 16) | (rd8(a + 3) << 24);
  opHi = rd8(a + 4) | (rd8(a + 5) << 8) | (rd8(a + 6) << 16) | (rd8(a + 7) << 24);
  return v;
}

function wr64(a: u32, v: u32, vHi: u32): void {
  let o = a - STK_LO;
  if (o <= STK_SIZE - 8) {
    lastWrite = steps;
    store<u32>(STK_AT + o, v);
    store<u32>(STK_AT + o + 4, vHi);
    for (let k: u32 = 0; k < 8; k++) stampStk(o + k);
    return;
  }
  o = a - BUF_LO;
  if (o < memSize && o <= memSize - 8) {
    lastWrite = steps;
    for (let k: u32 = 0; k < 8; k++) stampMem(o + k);
    store<u32>(MEM_AT + o, v);
    store<u32>(MEM_AT + o + 4, vHi);
    return;
  }
  wr32(a, v);
  wr32(a + 4, vHi);
}

/** 64-bit mode's push and pop (8 bytes; the stack pointer moves in its low half). */
function push64(v: u32, vHi: u32): void {
  const sp = reg32(4) - 8;
  store<u32>(LO_AT + 16, sp);
  wr64(sp, v, vHi);
}

function pop64(): u32 {
  const sp = reg32(4);
  const v = rd64(sp);
  store<u32>(LO_AT + 16, sp + 8);
  return v;
}

@inline function setReg64(r: i32, v: u32, vHi: u32): void {
  undef &= ~(1 << r);
  store<u32>(LO_AT + (<u32>r << 2), v);
  store<u32>(HI_AT + (<u32>r << 2), vHi);
}

/** Push and pop of the stack operand size: 2 bytes with an operand-size prefix, else the mode's (pop64 leaves the high half in opHi). */
function pushSized(v: u32, vHi: u32, osz: i32): void {
  if (osz === 2) push16(v);
  else if (mode64) push64(v, vHi);
  else push32(v);
}

function popSized(osz: i32): u32 { return osz === 2 ? pop16() : mode64 ? pop64() : pop32(); }

// ---- flags and ALU ------------------------------------------------------------------------

@inline function setSZP(v: u32, size: i32): void {
  zf = (v & sizeMask(size)) === 0 ? 1 : 0;
  sf = <i32>((v >>> ((<u32>size << 3) - 1)) & 1);
  pfb = <i32>(v & 0xff);
}

/** Group-1 arithmetic k (add, or, adc, sbb, and, sub, xor, cmp) on 1, 2 or 4 bytes. */
function alu(k: i32, a: u32, b: u32, size: i32): u32 {
  const m = sizeMask(size);
  const sign = m ^ (m >>> 1);
  a &= m;
  b &= m;
  let r: u32;
  if (k === 0 || k === 2) {
    const s: u64 = <u64>a + <u64>b + <u64>(k === 2 ? cf : 0);
    r = <u32>s & m;
    cf = s > <u64>m ? 1 : 0;
    ovf = ((a ^ r) & (b ^ r) & sign) !== 0 ? 1 : 0;
  } else if (k === 3 || k === 5 || k === 7) {
    const s: i64 = <i64>a - <i64>b - <i64>(k === 3 ? cf : 0);
    r = <u32>s & m;
    cf = s < 0 ? 1 : 0;
    ovf = ((a ^ b) & (a ^ r) & sign) !== 0 ? 1 : 0;
  } else {
    r = k === 1 ? a | b : k === 4 ? a & b : a ^ b;
    cf = 0;
    ovf = 0;
  }
  setSZP(r, size);
  return r;
}

/**
 * Jcc condition c (low 4 opcode bits): bit c >> 1 of the eight base conditions (o, c, z, be, s,
 * p, l, le), inverted for odd c. The flags are 0 or 1; branch-free, as the condition is as
 * unpredictable as the code is random.
 */
function cond(c: i32): bool {
  const lt = sf ^ ovf;
  const pf = (popcnt<u32>(<u32>pfb & 0xff) & 1) ^ 1;
  const conds = ovf | (cf << 1) | (zf << 2) | ((cf | zf) << 3) | (sf << 4) | (<i32>pf << 5) | (lt << 6) | ((zf | lt) << 7);
  return ((conds >> (c >> 1)) ^ c) & 1 ? true : false;
}

function jump(t: u32): void {
  if (t < eip && t - BUF_LO < memSize) {
    backJumps++;
    if (loopAt < 0) loopAt = <i32>(curAddr - ARG_ADDR);
  }
  eip = t;
}

// ---- the loop -----------------------------------------------------------------------------

// Registers an instruction reads or writes (dataflow.ts touchedRegs, for the opcodes above),
// as a rule per opcode: a fixed mask, plus the address registers (T_ADDR), the ModRM reg field
// (T_REG) and the register rm operand (T_RM) where marked.
const T_ADDR = 0x100;
const T_REG = 0x200;
const T_RM = 0x400;

function touchRule(op: i32): i32 {
  if (op < 0x40) {
    const form = op & 7;
    if (form < 4) return T_ADDR | T_REG | T_RM; // (the zeroing idioms touch the same register)
    if (form < 6) return 1;
    return op === 0x27 || op === 0x2f || op === 0x37 || op === 0x3f ? 0 : 1; // BCD / segment push-pop
  }
  if (op < 0x50) return 1 << (op & 7);
  if (op < 0x60) return (1 << (op & 7)) | 0x10;
  if (op === 0x60 || op === 0x61) return 0xff;
  if (op === 0x68 || op === 0x6a) return 0x10;
  if (op >= 0x70 && op < 0x80) return 0;
  if (op === 0x80 || op === 0x81 || op === 0x83) return T_ADDR | T_RM;
  if (op === 0x8d) return T_ADDR | T_REG;
  if (op === 0x8f) return T_ADDR | T_RM | 0x10;
  if (op === 0xc0 || op === 0xc1 || op === 0xd0 || op === 0xd1) return T_ADDR | T_RM;
  if (op === 0xd2 || op === 0xd3) return T_ADDR | T_RM | 2; // count in cl
  if (op >= 0x90 && op <= 0x97) return op === 0x90 ? 0 : 1 | (1 << (op & 7));
  if (kindOf(op) === K_FAULT) return T_ADDR | T_REG | T_RM; // stops: the generic rule (eax without ModRM)
  if (op >= 0xb0) {
    if (op <= 0xbf) return 1 << (op & 7);
    if (op <= 0xe2) return op === 0xd7 ? 9 : op === 0xd6 ? 1 : 2;
    if (op === 0xe3) return 2;
    return op === 0xe9 || op === 0xeb || op >= 0xf5 ? 0 : 1;
  }
  if (op === 0x98 || op === 0xa8 || op === 0xa9 || op === 0x9e || op === 0x9f) return 1;
  if (op === 0x99) return 5;
  if (op === 0x9b) return 0;
  if (op >= 0xa0 && op <= 0xa3) return 1; // moffs: al/eax
  if (op >= 0xa4 && op <= 0xaf) return op < 0xa8 ? 0xc0 : op === 0xac || op === 0xad ? 0x41 : 0x81; // esi/edi, eax
  return T_ADDR | T_REG | T_RM; // 62, 63, 69, 6b, 82, 84-8c: the generic reads/writes
}

// execute's cases, numbered densely so that its switch is one jump table: the opcode is as
// unpredictable as the code is random, and a chain of comparisons mispredicts several times.
const K_NONE = 0; // daa/das/aaa/aas, nop, fwait
const K_ALU_RM_REG = 1;
const K_ALU_REG_RM = 2;
const K_ALU_ACC_IMM = 3;
const K_PUSH_SEG = 4;
const K_POP_SEG = 5;
const K_INC = 6;
const K_DEC = 7;
const K_PUSH = 8;
const K_POP = 9;
const K_JCC = 10;
const K_PUSHA = 11;
const K_POPA = 12;
const K_BOUND = 13;
const K_ARPL = 14;
const K_PUSH_IMM = 15;
const K_IMUL = 16;
const K_FAULT = 17; // privileged (in/out, mov to a segment register, hlt, cli/sti), far transfers, int3, into
const K_GROUP1 = 18;
const K_TEST = 19;
const K_XCHG_RM = 20;
const K_MOV_RM_REG = 21;
const K_MOV_REG_RM = 22;
const K_LEA = 23;
const K_XCHG_ACC = 24;
const K_CWDE = 25;
const K_CDQ = 26;
const K_PUSHF = 27;
const K_POPF = 28;
const K_SAHF = 29;
const K_LAHF = 30;
const K_MOV_ACC_MOFFS = 31;
const K_MOV_MOFFS_ACC = 32;
const K_STRING = 33;
const K_TEST_ACC_IMM = 34;
const K_MOV_R8_IMM = 35;
const K_MOV_R32_IMM = 36;
const K_SALC = 37;
const K_XLAT = 38;
const K_LOOP = 39;
const K_JECXZ = 40;
const K_JMP = 41;
const K_CMC = 42;
const K_CLC = 43;
const K_STC = 44;
const K_CLD = 45;
const K_STD = 46;
const K_SHIFT = 47;
const K_MOV_RM_SREG = 48;
const K_POP_RM = 49;

/** execute's case for opcode `op` (K_NONE for the ones it never sees, see `executes`). */
function kindOf(op: i32): i32 {
  if (op < 0x40) {
    const form = op & 7;
    if (form < 2) return K_ALU_RM_REG;
    if (form < 4) return K_ALU_REG_RM;
    if (form < 6) return K_ALU_ACC_IMM;
    if (op === 0x06 || op === 0x0e || op === 0x16 || op === 0x1e) return K_PUSH_SEG;
    return op === 0x07 || op === 0x17 || op === 0x1f ? K_POP_SEG : K_NONE;
  }
  if (op < 0x60) return op < 0x48 ? K_INC : op < 0x50 ? K_DEC : op < 0x58 ? K_PUSH : K_POP;
  if (op >= 0x70 && op < 0x80) return K_JCC;
  if (op >= 0x80 && op <= 0x83) return K_GROUP1;
  if (op >= 0x91 && op <= 0x97) return K_XCHG_ACC;
  if (op >= 0xa4 && op <= 0xaf && op !== 0xa8 && op !== 0xa9) return K_STRING;
  if (op >= 0xb0 && op <= 0xb7) return K_MOV_R8_IMM;
  if (op >= 0xb8 && op <= 0xbf) return K_MOV_R32_IMM;
  if (op >= 0xe0 && op <= 0xe2) return K_LOOP;
  switch (op) {
    case 0x60: return K_PUSHA;
    case 0x61: return K_POPA;
    case 0x62: return K_BOUND;
    case 0x63: return K_ARPL;
    case 0x68: case 0x6a: return K_PUSH_IMM;
    case 0x69: case 0x6b: return K_IMUL;
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: case 0x8e: case 0x9a: case 0xca: case 0xcb: case 0xcc: case 0xce: case 0xcf:
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xea: case 0xec: case 0xed: case 0xee: case 0xef: case 0xf1: case 0xf4: case 0xfa: case 0xfb:
      return K_FAULT;
    case 0x84: case 0x85: return K_TEST;
    case 0x86: case 0x87: return K_XCHG_RM;
    case 0x88: case 0x89: return K_MOV_RM_REG;
    case 0x8a: case 0x8b: return K_MOV_REG_RM;
    case 0x8c: return K_MOV_RM_SREG;
    case 0x8d: return K_LEA;
    case 0x8f: return K_POP_RM;
    case 0x98: return K_CWDE;
    case 0x99: return K_CDQ;
    case 0x9c: return K_PUSHF;
    case 0x9d: return K_POPF;
    case 0x9e: return K_SAHF;
    case 0x9f: return K_LAHF;
    case 0xa0: case 0xa1: return K_MOV_ACC_MOFFS;
    case 0xa2: case 0xa3: return K_MOV_MOFFS_ACC;
    case 0xa8: case 0xa9: return K_TEST_ACC_IMM;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return K_SHIFT;
    case 0xd6: return K_SALC;
    case 0xd7: return K_XLAT;
    case 0xe3: return K_JECXZ;
    case 0xe9: case 0xeb: return K_JMP;
    case 0xf5: return K_CMC;
    case 0xf8: return K_CLC;
    case 0xf9: return K_STC;
    case 0xfc: return K_CLD;
    case 0xfd: return K_STD;
    default: return K_NONE; // 0x90, 0x9b
  }
}

// The loop's one-byte forms (FORM_AT), numbered densely for one jump table; FORM_STEP: decoded in full.
const FORM_STEP = 0;
const FORM_INC_DEC = 1;
const FORM_PUSH = 2;
const FORM_POP = 3;
const FORM_JCC = 4;
const FORM_ALU_AL_IMM = 5;
const FORM_ALU_EAX_IMM = 6;
const FORM_PUSH_IMM8 = 7;
const FORM_PUSH_IMM32 = 8;
const FORM_PUSHA = 9;
const FORM_POPA = 10;
const FORM_NONE = 11;
const FORM_MOV_R8_IMM = 12;
const FORM_MOV_R32_IMM = 13;
const FORM_XCHG_ACC = 14;
const FORM_TEST_AL_IMM = 15;
const FORM_TEST_EAX_IMM = 16;
const FORM_STRING = 17;
const FORM_LOOP = 18;
const FORM_JECXZ = 19;
const FORM_XLAT = 20;
const FORM_CWDE = 21;
const FORM_CDQ = 22;
const FORM_PUSHF = 23;
const FORM_POPF = 24;
const FORM_SAHF = 25;
const FORM_LAHF = 26;
// With a ModRM byte (FORM_MODRM on): ALU r/m, reg and reg, r/m of 1 and 4 bytes.
const FORM_MODRM = 27;
const FORM_ALU_RM8_REG = 27;
const FORM_ALU_RM32_REG = 28;
const FORM_ALU_REG8_RM = 29;
const FORM_ALU_REG32_RM = 30;
const FORMS = 31;

/** The one-byte form opcode `op` would take, without prefixes. */
function formOf(op: i32): i32 {
  switch (kindOf(op)) {
    case K_INC: case K_DEC: return FORM_INC_DEC;
    case K_PUSH: return FORM_PUSH;
    case K_POP: return FORM_POP;
    case K_JCC: return FORM_JCC;
    case K_ALU_ACC_IMM: return op & 1 ? FORM_ALU_EAX_IMM : FORM_ALU_AL_IMM;
    case K_PUSH_IMM: return op === 0x6a ? FORM_PUSH_IMM8 : FORM_PUSH_IMM32;
    case K_PUSHA: return FORM_PUSHA;
    case K_POPA: return FORM_POPA;
    case K_NONE: return FORM_NONE;
    case K_MOV_R8_IMM: return FORM_MOV_R8_IMM;
    case K_MOV_R32_IMM: return FORM_MOV_R32_IMM;
    case K_XCHG_ACC: return FORM_XCHG_ACC;
    case K_TEST_ACC_IMM: return op & 1 ? FORM_TEST_EAX_IMM : FORM_TEST_AL_IMM;
    case K_STRING: return FORM_STRING;
    case K_LOOP: return FORM_LOOP;
    case K_JECXZ: return FORM_JECXZ;
    case K_XLAT: return FORM_XLAT;
    case K_CWDE: return FORM_CWDE;
    case K_CDQ: return FORM_CDQ;
    case K_PUSHF: return FORM_PUSHF;
    case K_POPF: return FORM_POPF;
    case K_SAHF: return FORM_SAHF;
    case K_LAHF: return FORM_LAHF;
    case K_ALU_RM_REG: return op & 1 ? FORM_ALU_RM32_REG : FORM_ALU_RM8_REG;
    case K_ALU_REG_RM: return op & 1 ? FORM_ALU_REG32_RM : FORM_ALU_REG8_RM;
    default: return FORM_STEP;
  }
}

/** The immediate size a one-byte form reads (the ModRM forms: none). */
function formImm(form: i32): i32 {
  if (form === FORM_JCC || form === FORM_ALU_AL_IMM || form === FORM_PUSH_IMM8 || form === FORM_MOV_R8_IMM || form === FORM_TEST_AL_IMM || form === FORM_LOOP || form === FORM_JECXZ) return 1;
  return form === FORM_ALU_EAX_IMM || form === FORM_PUSH_IMM32 || form === FORM_MOV_R32_IMM || form === FORM_TEST_EAX_IMM ? 4 : 0;
}

/**
 * Fills FORM_AT from FORMAT (emulator-core.ts calls it once FORMAT holds the decoder's
 * formats): an opcode takes its one-byte form in a mode where the decoder decodes it without
 * prefixes as that form reads it (the same immediate; a ModRM byte for the ModRM forms, all of
 * whose register and memory forms decode plain), else FORM_STEP.
 */
export function fillForms(): void {
  for (let form = 0; form < FORMS; form++) store<u8>(FORM_LEN_AT + <u32>form, <u8>(1 + formImm(form)));
  for (let mode: u32 = 0; mode < 2; mode++) {
    for (let op = 0; op < 256; op++) {
      const form = formOf(op);
      const format = <i32>load<u8>(FORMAT_AT + (mode << 12) + <u32>op);
      const expected = F_DECODED | formImm(form) | (form >= FORM_MODRM ? F_MODRM | F_REG_FORMS | F_MEM_FORMS : 0);
      store<u8>(FORM_AT + (mode << 8) + <u32>op, <u8>(form !== FORM_STEP && format === expected ? form : FORM_STEP));
    }
  }
}

for (let op = 0; op < 256; op++) {
  store<u16>(TOUCH_AT + (<u32>op << 1), <u16>touchRule(op));
  store<u8>(PREFIX_AT + <u32>op, <u8>prefixClass(op));
  store<u8>(KIND_AT + <u32>op, <u8>kindOf(op));
}

/**
 * Continue the run whose state the state block holds (its mode and budget stay from runEach or
 * start, the argument's sizes from begin), until the budget, a stop, or an instruction this
 * loop leaves to emulator.ts. Returns a Stop code, BUDGET or HAND_BACK; the state block holds
 * the state either way.
 */
export function run(): i32 {
  eip = <u32>slot(S_EIP);
  steps = slot(S_STEPS);
  lastWrite = slot(S_LAST_WRITE);
  undef = slot(S_UNDEF);
  cf = slot(S_CF); zf = slot(S_ZF); sf = slot(S_SF); ovf = slot(S_OF); pfb = slot(S_PFB); df = slot(S_DF);
  memUndoN = slot(S_MEM_UNDO_N);
  stkUndoN = slot(S_STK_UNDO_N);
  streak = slot(S_STREAK);
  wx = slot(S_WX);
  wxFirst = slot(S_WX_FIRST);
  wxRun = slot(S_WX_RUN);
  backJumps = slot(S_BACK_JUMPS);
  loopAt = slot(S_LOOP_AT);
  syscalls = slot(S_SYSCALLS);
  // The steps in emulator.ts may have written anywhere in the buffer.
  writtenLo = 0;
  writtenHi = memSize;
  return saveState(loop());
}

/**
 * Start a new argument (emulator.ts beginArgument): undo the last run's writes (the undo counts
 * are emulator.ts's), and take the new buffer size, argument end and visit generation. Returns
 * the stamp generation. The caller then writes the new argument into the buffer.
 */
export function begin(memUndoN0: i32, stkUndoN0: i32, memSize0: u32, argEnd0: u32, visitGen0: u32): u32 {
  memSize = memSize0;
  argEnd = argEnd0;
  visitGen = visitGen0;
  return undo(memUndoN0, stkUndoN0);
}

/** newRun for emulator.ts's own runs (the undo counts are its): returns the stamp generation. */
export function undo(memUndoN0: i32, stkUndoN0: i32): u32 {
  memUndoN = memUndoN0;
  stkUndoN = stkUndoN0;
  newRun();
  return gen;
}

/**
 * Before a run: buffer bytes the last run wrote back to the bytes logged with them, stack bytes
 * back to 0 (so a run costs no copy of the whole buffer and stack), and a new stamp generation,
 * which tells the bytes this run writes and executes from all older ones.
 */
function newRun(): void {
  for (let i = 0; i < memUndoN; i++) {
    const e = load<u32>(MEMUNDO_AT + (<u32>i << 2));
    store<u8>(MEM_AT + (e & 0xffff), <u8>(e >>> 16));
  }
  for (let i = 0; i < stkUndoN; i++) store<u8>(STK_AT + load<u32>(STKUNDO_AT + (<u32>i << 2)), 0);
  memUndoN = 0;
  stkUndoN = 0;
  gen++;
  if (gen === 0xffffffff) {
    memory.fill(WSTAMP_AT, 0, MEMUNDO_AT - WSTAMP_AT); // the four stamp arrays
    gen = 1;
  }
}

/**
 * Runs from the argument offsets STARTS[from..count) in order (emulator.ts runStarts), each after
 * newRun, with min(runSteps, budget - steps of the runs before) steps, while that is positive;
 * with skipVisited, not from offsets an earlier run of the argument executed. Stops after a run
 * emulator.ts must see: one it must finish (HAND_BACK) or one that executed minWxRun
 * self-written instructions in a row. Returns that run's result, the state block holding its
 * state, S_NEXT its index and S_SPENT the steps before it; at the end, S_NEXT is count and
 * S_SPENT the steps of all. The undo counts in are emulator.ts's.
 */
export function runEach(from: i32, count: i32, mode: i32, runSteps: i32, budget: i32, skipVisited: i32, minWxRun: i32, memUndoN0: i32, stkUndoN0: i32): i32 {
  memUndoN = memUndoN0;
  stkUndoN = stkUndoN0;
  mode64 = mode !== 0;
  let spent = 0;
  let result = BUDGET;
  let i = from;
  for (; i < count && spent < budget; i++) {
    const at = load<u32>(STARTS_AT + (<u32>i << 2));
    if (skipVisited !== 0 && load<u32>(VISITED_AT + (at << 2)) === visitGen) continue;
    newRun();
    result = startRun(ARG_ADDR + at, min(runSteps, budget - spent));
    if (result === HAND_BACK || wxRun >= minWxRun) break;
    spent += steps;
  }
  setSlot(S_NEXT, i < count && spent < budget ? i : count);
  setSlot(S_SPENT, spent);
  setSlot(S_GEN, <i32>gen);
  return saveState(result);
}

/** One run (emulator.ts run): newRun, then from address `at` as runEach's; S_GEN set. */
export function start(at: u32, mode: i32, maxSteps0: i32, memUndoN0: i32, stkUndoN0: i32): i32 {
  memUndoN = memUndoN0;
  stkUndoN = stkUndoN0;
  mode64 = mode !== 0;
  newRun();
  setSlot(S_GEN, <i32>gen);
  return saveState(startRun(at, maxSteps0));
}

/**
 * Set up a run at address `at`, as emulator.ts run() does (every register but esp holds the
 * start address, undefined until first touched; flags clear), and run it.
 */
function startRun(at: u32, maxSteps0: i32): i32 {
  // Two registers a store (a loop of one a store was a large part of a run's fixed cost).
  const starts = <u64>at | (<u64>at << 32);
  const bytes: u32 = mode64 ? 64 : 32;
  for (let i: u32 = 0; i < bytes; i += 8) {
    store<u64>(LO_AT + i, starts);
    store<u64>(HI_AT + i, 0);
  }
  store<u32>(LO_AT + 16, STK_INIT);
  eip = at;
  steps = 0;
  maxSteps = maxSteps0;
  lastWrite = 0;
  undef = (mode64 ? 0xffff : 0xff) & ~(1 << 4);
  cf = 0; zf = 0; sf = 0; ovf = 0; pfb = 0; df = 0;
  streak = 0;
  wx = 0;
  wxFirst = -1;
  wxRun = 0;
  backJumps = 0;
  loopAt = -1;
  syscalls = 0;
  writtenLo = memSize;
  writtenHi = 0;
  return loop();
}

function saveState(result: i32): i32 {
  setSlot(S_EIP, <i32>eip);
  setSlot(S_STEPS, steps);
  setSlot(S_LAST_WRITE, lastWrite);
  setSlot(S_UNDEF, undef);
  setSlot(S_CF, cf); setSlot(S_ZF, zf); setSlot(S_SF, sf); setSlot(S_OF, ovf); setSlot(S_PFB, pfb); setSlot(S_DF, df);
  setSlot(S_MEM_UNDO_N, memUndoN);
  setSlot(S_STK_UNDO_N, stkUndoN);
  setSlot(S_STREAK, streak);
  setSlot(S_WX, wx);
  setSlot(S_WX_FIRST, wxFirst);
  setSlot(S_WX_RUN, wxRun);
  setSlot(S_BACK_JUMPS, backJumps);
  setSlot(S_LOOP_AT, loopAt);
  return result;
}

/**
 * Bookkeeping of the step of `n` bytes at buffer offset `o` (address `a`), as emulator.ts run():
 * BUDGET to execute it, else the loop's result. The registers it touches (TOUCH rule of `op`,
 * with the ModRM ones) are defined lazily here.
 */
@inline function account(a: u32, o: u32, n: u32, op: i32, addrRegs: i32, reg: i32, rmBit: i32): i32 {
  let written = false;
  if (memUndoN !== 0 && o < writtenHi && o + n > writtenLo) {
    for (let k: u32 = 0; k < n; k++) if (load<u32>(WSTAMP_AT + ((o + k) << 2)) === gen) { written = true; break; }
  }
  if (written) {
    if (load<u32>(XSTAMP_AT + (o << 2)) !== gen) { wx++; if (wxFirst < 0) wxFirst = <i32>(o - PRE); }
    if (++streak > wxRun) wxRun = streak;
  } else {
    if (o < PRE || o >= argEnd) return STOP_LEFT;
    streak = 0;
    store<u32>(VISITED_AT + ((o - PRE) << 2), visitGen);
  }
  store<u32>(XSTAMP_AT + (o << 2), gen);
  steps++;
  if (steps - lastWrite > IDLE_STEPS && syscalls === 0) return STOP_IDLE;
  curAddr = a;
  if (undef !== 0) {
    const rule = <i32>load<u16>(TOUCH_AT + (<u32>op << 1));
    let m = ((rule & 0xff) | (addrRegs & -((rule >> 8) & 1)) | ((1 << reg) & -((rule >> 9) & 1)) | (rmBit & -((rule >> 10) & 1))) & undef;
    if (m !== 0) {
      undef &= ~m;
      while (m !== 0) {
        const i = <u32>ctz<i32>(m);
        store<u32>(LO_AT + (i << 2), a);
        store<u32>(HI_AT + (i << 2), 0);
        m &= m - 1;
      }
    }
  }
  return BUDGET;
}

/**
 * Runs steps until the budget (BUDGET) or a stop. The one-byte forms of the commonest opcodes
 * in text (no prefix, no ModRM: inc/dec, push/pop, Jcc, ALU and test on the accumulator, push
 * imm, pusha/popa, BCD, mov imm, xchg with the accumulator, string operations; and, common in
 * non-ASCII text, loop/jecxz, xlat, cwde/cdq, pushf/popf, sahf/lahf; see FORM_AT) skip the
 * decoding: their length is the form's, and they run their case of execute directly (emulation
 * of printable text ~10% faster, of other text ~7%). So do ALU r/m, reg and reg, r/m (00-03 ... 38-3b)
 * with a register or a base register operand (no SIB byte, no bare disp32), 1 in 6 steps in
 * text: they decode only the ModRM byte (emulation of printable text ~5% faster).
 */
function loop(): i32 {
  fault = false;
  let result = BUDGET;
  const forms = FORM_AT + (mode64 ? 256 : 0);
  while (steps < maxSteps) {
    const a = eip;
    const o = a - BUF_LO;
    if (o >= memSize) {
      result = a - STK_LO < STK_SIZE ? HAND_BACK : STOP_LEFT; // stack code: emulator.ts
      break;
    }
    let op = <i32>load<u8>(MEM_AT + o);
    const form = <i32>load<u8>(forms + <u32>op);
    if (form >= FORM_MODRM) {
      const modrm = <i32>load<u8>(MEM_AT + o + 1);
      const mod = modrm >> 6;
      const rm = modrm & 7;
      // A register, or a base register with no displacement, disp8 or disp32 (a SIB byte or a bare disp32: decoded below).
      if (mod === 3 || (rm !== 4 && (mod !== 0 || rm !== 5))) {
        const isMem = mod !== 3;
        const dispSize = dispSizeOf(mod);
        const n = 2 + <u32>dispSize;
        if (o + n > memSize) { result = HAND_BACK; break; } // cut by the end: emulator.ts finds it invalid
        const reg = (modrm >> 3) & 7;
        const bookkept = account(a, o, n, op, isMem ? 1 << rm : 0, reg, isMem ? 0 : 1 << rm);
        if (bookkept !== BUDGET) { result = bookkept; break; }
        const ea = reg32(rm) + <u32>readDisp(o + 2, dispSize);
        eip = a + n;
        switch (form) {
          case FORM_ALU_RM8_REG: aluRmReg(op, 1, reg, rm, isMem, ea); break;
          case FORM_ALU_RM32_REG: aluRmReg(op, 4, reg, rm, isMem, ea); break;
          case FORM_ALU_REG8_RM: aluRegRm(op, 1, reg, rm, isMem, ea); break;
          default: aluRegRm(op, 4, reg, rm, isMem, ea); // FORM_ALU_REG32_RM
        }
        if (fault) { result = STOP_FAULT; break; }
        continue;
      }
    } else if (form !== FORM_STEP) {
      const n = <u32>load<u8>(FORM_LEN_AT + <u32>form);
      if (o + n > memSize) { result = HAND_BACK; break; } // cut by the end: emulator.ts finds it invalid
      const bookkept = account(a, o, n, op, 0, 0, 0);
      if (bookkept !== BUDGET) { result = bookkept; break; }
      eip = a + n;
      switch (form) {
        case FORM_INC_DEC: incDec(op, 4); break;
        case FORM_PUSH: pushReg(op, 4); break;
        case FORM_POP: popReg(op, 4); break;
        case FORM_JCC: jcc(op, <i32>load<i8>(MEM_AT + o + 1)); break;
        case FORM_ALU_AL_IMM: aluAccImm(op, 1, <i32>load<i8>(MEM_AT + o + 1)); break;
        case FORM_ALU_EAX_IMM: aluAccImm(op, 4, load<i32>(MEM_AT + o + 1)); break;
        case FORM_PUSH_IMM8: pushImm(<i32>load<i8>(MEM_AT + o + 1), 4); break;
        case FORM_PUSH_IMM32: pushImm(load<i32>(MEM_AT + o + 1), 4); break;
        case FORM_PUSHA: pusha(4); break;
        case FORM_POPA: popa(4); break;
        case FORM_MOV_R8_IMM: setReg(op & 7, 1, <u32>load<u8>(MEM_AT + o + 1)); break;
        case FORM_MOV_R32_IMM: setReg32(op & 7, load<u32>(MEM_AT + o + 1)); break;
        case FORM_XCHG_ACC: xchgAcc(op, 4); break;
        case FORM_TEST_AL_IMM: testAccImm(1, <i32>load<i8>(MEM_AT + o + 1)); break;
        case FORM_TEST_EAX_IMM: testAccImm(4, load<i32>(MEM_AT + o + 1)); break;
        case FORM_STRING: stringOp(op, op & 1 ? 4 : 1); break;
        case FORM_LOOP: loopRel(op, <i32>load<i8>(MEM_AT + o + 1)); break;
        case FORM_JECXZ: jecxz(<i32>load<i8>(MEM_AT + o + 1)); break;
        case FORM_XLAT: xlat(); break;
        case FORM_CWDE: cwde(4); break;
        case FORM_CDQ: cdq(4); break;
        case FORM_PUSHF: pushf(4); break;
        case FORM_POPF: popf(4); break;
        case FORM_SAHF: sahf(); break;
        case FORM_LAHF: lahf(); break;
        default: // FORM_NONE
      }
      if (fault) { result = STOP_FAULT; break; }
      continue;
    }
    // Decode (format from the decoder's table; any doubt goes back to emulator.ts).
    let p = o;
    let prefixes = 0;
    for (let c = <i32>load<u8>(PREFIX_AT + <u32>op); c !== 0 && p - o < MAX_LEN; c = <i32>load<u8>(PREFIX_AT + <u32>op)) {
      prefixes |= c;
      p++;
      op = <i32>load<u8>(MEM_AT + p);
    }
    const formatAt = (mode64 ? 4096 : 0) + (<u32>prefixes << 8) + <u32>op;
    const format = <i32>load<u8>(FORMAT_AT + formatAt);
    if (format === 0) { result = HAND_BACK; break; }
    p++;
    let reg = 0, rmBit = 0, addrRegs = 0, isMem = false;
    let rmReg = 0, base = -1, index = -1, scaleShift: u32 = 0, disp: i32 = 0;
    if (format & F_MODRM) {
      const modrm = <i32>load<u8>(MEM_AT + p);
      p++;
      const mod = modrm >> 6;
      reg = (modrm >> 3) & 7;
      if (mod === 3) {
        if ((format & F_REG_FORMS) === 0) { const left = leftForm(formatAt, reg, 8); if (left !== 0) { result = left; break; } }
        rmReg = modrm & 7;
        rmBit = 1 << rmReg;
      } else {
        if ((format & F_MEM_FORMS) === 0) { const left = leftForm(formatAt, reg, 0); if (left !== 0) { result = left; break; } }
        isMem = true;
        if ((prefixes & PREFIX_ASIZE) !== 0 && !mode64) {
          // A 16-bit address: emulator.ts faults on the access (see below), so only the
          // length and the registers it names (for the lazy definition) matter.
          const form16 = <u32>load<u16>(ADDR16_AT + (<u32>modrm << 1));
          addrRegs = <i32>(form16 & 0xff);
          p += form16 >> 8;
        } else {
          base = modrm & 7;
          let dispSize = dispSizeOf(mod);
          if (base === 4) {
            const sib = <i32>load<u8>(MEM_AT + p);
            p++;
            const idx = (sib >> 3) & 7;
            if (idx !== 4) { index = idx; addrRegs = 1 << idx; scaleShift = <u32>sib >> 6; }
            base = sib & 7;
          }
          if (base === 5 && mod === 0) {
            // No base: disp32, or in 64-bit mode without SIB the address after the instruction.
            base = mode64 && (modrm & 7) === 5 ? RIP : -1;
            dispSize = 4;
            if (base === RIP && op === 0x8d) { result = HAND_BACK; break; } // lea of RIP: GetPC, emulator.ts
          }
          if (base >= 0 && base !== RIP) addrRegs |= 1 << base;
          disp = readDisp(p, dispSize);
          p += <u32>dispSize;
        }
      }
    }
    const immSize = (format & F_IMM) | ((format >> 4) & 8); // F_IMM8: 8 bytes
    let imm: i32 = 0;
    if (immSize === 1) imm = <i32>load<i8>(MEM_AT + p);
    else if (immSize === 2) imm = <i32>load<i16>(MEM_AT + p);
    else if (immSize >= 4) imm = load<i32>(MEM_AT + p);
    const next = p + <u32>immSize;
    // Cut by the end or too long: emulator.ts finds it invalid.
    if (next > memSize || next - o > MAX_LEN) { result = HAND_BACK; break; }
    const n = next - o;

    const bookkept = account(a, o, n, op, addrRegs, reg, rmBit);
    if (bookkept !== BUDGET) { result = bookkept; break; }
    // The address reads the registers as the lazy definition left them.
    let ea = <u32>disp;
    if (base === RIP) ea += BUF_LO + next;
    else if (base >= 0) ea += reg32(base);
    if (index >= 0) ea += reg32(index) << scaleShift;

    eip = a + n;
    // FS/GS-relative operands and 16-bit addresses fault (bound, i386 arpl and FS/GS lea stop as
    // unsupported first). execute is inlined: a call per step cost its seven arguments and the
    // globals reloaded after it (emulation of text ~7% faster).
    const stop = isMem && (prefixes & (mode64 ? PREFIX_FSGS : PREFIX_FSGS | PREFIX_ASIZE)) !== 0
      ? (op === 0x62 || (op === 0x63 && !mode64) || (op === 0x8d && (prefixes & PREFIX_FSGS) !== 0) ? STOP_UNSUPPORTED : STOP_FAULT)
      : execute(op, prefixes & PREFIX_OPSIZE ? 2 : 4, reg, rmReg, isMem, ea, imm);
    if (stop >= 0) { result = stop; break; }
    if (fault) { result = STOP_FAULT; break; }
  }

  return result;
}

/**
 * For an opcode not all of whose memory forms (`at` 0) or register forms (8) decode plain: 0
 * where those of group `reg` do, else STOP_INVALID where the decoder rejects them (emulator.ts
 * stops before the step counts), HAND_BACK where it decodes them otherwise.
 */
function leftForm(formatAt: u32, reg: i32, at: u32): i32 {
  const left = load<u32>(LEFT_AT + (formatAt << 2)) >>> at;
  if (((left >>> <u32>reg) & 1) === 0) return 0;
  return (left >>> 16) & 1 ? STOP_INVALID : HAND_BACK;
}

/** Whether the memory operand of the instruction at curAddr has esp as its base (a SIB byte with base 4). */
function espBased(): bool {
  let p = curAddr - BUF_LO;
  while (load<u8>(PREFIX_AT + <u32>load<u8>(MEM_AT + p)) !== 0) p++;
  return (load<u8>(MEM_AT + p + 1) & 7) === 4 && (load<u8>(MEM_AT + p + 2) & 7) === 4;
}

/** Displacement size of ModRM mod 0-2 without SIB or disp32 (mod 3: none). */
@inline function dispSizeOf(mod: i32): i32 { return mod === 1 ? 1 : mod === 2 ? 4 : 0; }

/** The displacement at buffer offset `p` of 0, 1 or 4 bytes, sign-extended. */
@inline function readDisp(p: u32, size: i32): i32 { return size === 1 ? <i32>load<i8>(MEM_AT + p) : size === 4 ? load<i32>(MEM_AT + p) : 0; }

@inline function rdRM(isMem: bool, ea: u32, rmReg: i32, size: i32): u32 { return isMem ? rd(ea, size) : getReg(rmReg, size); }

@inline function wrRM(isMem: bool, ea: u32, rmReg: i32, size: i32, v: u32): void {
  if (isMem) wr(ea, size, v);
  else setReg(rmReg, size, v);
}

// Cases of execute that the loop's forms also run (see loop): osz the operand size, 2 or 4.

/** ALU r/m, reg (the r/m operand's read may fault: the caller checks). */
@inline function aluRmReg(op: i32, size: i32, reg: i32, rmReg: i32, isMem: bool, ea: u32): void {
  const kk = op >> 3;
  const x = rdRM(isMem, ea, rmReg, size);
  if (fault) return;
  const r = alu(kk, x, getReg(reg, size), size);
  if (kk !== 7) wrRM(isMem, ea, rmReg, size, r);
}

@inline function aluRegRm(op: i32, size: i32, reg: i32, rmReg: i32, isMem: bool, ea: u32): void {
  const kk = op >> 3;
  const y = rdRM(isMem, ea, rmReg, size);
  if (fault) return;
  const r = alu(kk, getReg(reg, size), y, size);
  if (kk !== 7) setReg(reg, size, r);
}

@inline function aluAccImm(op: i32, size: i32, imm: i32): void {
  const kk = op >> 3;
  const r = alu(kk, getReg(0, size), <u32>imm, size);
  if (kk !== 7) setReg(0, size, r);
}

@inline function incDec(op: i32, osz: i32): void {
  const r = op & 7;
  const inc = op < 0x48;
  if (osz === 2) {
    const keepCf = cf; // inc/dec leave CF alone
    setReg(r, 2, alu(inc ? 0 : 5, getReg(r, 2), 1, 2));
    cf = keepCf;
    return;
  }
  const v = inc ? reg32(r) + 1 : reg32(r) - 1;
  ovf = v === (inc ? 0x80000000 : 0x7fffffff) ? 1 : 0;
  zf = v === 0 ? 1 : 0;
  sf = <i32>(v >>> 31);
  pfb = <i32>(v & 0xff);
  setReg32(r, v);
}

@inline function pushReg(op: i32, osz: i32): void { pushSized(reg32(op & 7), load<u32>(HI_AT + (<u32>(op & 7) << 2)), osz); }

@inline function popReg(op: i32, osz: i32): void {
  const v = popSized(osz);
  if (osz === 2) setReg(op & 7, 2, v);
  else if (mode64) setReg64(op & 7, v, opHi);
  else setReg32(op & 7, v);
}

@inline function jcc(op: i32, imm: i32): void { if (cond(op & 15)) jump(eip + <u32>imm); }

@inline function pusha(osz: i32): void {
  const sp = reg32(4);
  for (let i = 0; i < 8; i++) pushSized(i === 4 ? sp : reg32(i), 0, osz);
}

@inline function popa(osz: i32): void {
  for (let i = 7; i >= 0; i--) {
    const v = popSized(osz);
    if (i !== 4) setReg(i, osz, v);
  }
}

@inline function pushImm(imm: i32, osz: i32): void { pushSized(<u32>imm, imm < 0 ? 0xffffffff : 0, osz); }

@inline function xchgAcc(op: i32, osz: i32): void {
  const r = op & 7;
  const x = getReg(0, osz), y = getReg(r, osz);
  setReg(0, osz, y);
  setReg(r, osz, x);
}

@inline function testAccImm(size: i32, imm: i32): void { alu(4, getReg(0, size), <u32>imm, size); }

@inline function cwde(osz: i32): void {
  if (osz === 2) setReg(0, 2, <u32><i32><i8>reg32(0)); // cbw
  else setReg32(0, <u32>((<i32>reg32(0) << 16) >> 16));
}

/** cwd/cdq. */
@inline function cdq(osz: i32): void { setReg(2, osz, reg32(0) & (osz === 2 ? 0x8000 : 0x80000000) ? 0xffffffff : 0); }

@inline function pushf(osz: i32): void { pushSized(<u32>(0x202 | cf | (zf << 6) | (sf << 7) | (df << 10) | (ovf << 11)), 0, osz); }

@inline function popf(osz: i32): void {
  const f = <i32>popSized(osz);
  cf = f & 1; zf = (f >> 6) & 1; sf = (f >> 7) & 1; df = (f >> 10) & 1; ovf = (f >> 11) & 1;
}

@inline function sahf(): void { const ah = (reg32(0) >>> 8) & 0xff; cf = <i32>(ah & 1); zf = <i32>((ah >> 6) & 1); sf = <i32>((ah >> 7) & 1); }

@inline function lahf(): void { setReg(4, 1, <u32>(2 | cf | (zf << 6) | (sf << 7))); }

/** xlat (the read may fault: the caller checks). */
@inline function xlat(): void {
  const v = rd8(reg32(3) + (reg32(0) & 0xff));
  if (!fault) setReg(0, 1, v);
}

/** loopne, loope, loop. */
@inline function loopRel(op: i32, imm: i32): void {
  const c = reg32(1) - 1;
  store<u32>(LO_AT + 4, c);
  let take = c !== 0;
  if (op === 0xe0) take = take && zf === 0;
  else if (op === 0xe1) take = take && zf === 1;
  if (take) jump(eip + <u32>imm);
}

@inline function jecxz(imm: i32): void { if (reg32(1) === 0) jump(eip + <u32>imm); }

/** One instruction (eip already at the next one; osz its operand size, 2 or 4). Returns a Stop code or -1. */
@inline function execute(op: i32, osz: i32, reg: i32, rmReg: i32, isMem: bool, ea: u32, imm: i32): i32 {
  switch (<i32>load<u8>(KIND_AT + <u32>op)) {
    case K_NONE: return -1;
    case K_ALU_RM_REG: aluRmReg(op, op & 1 ? osz : 1, reg, rmReg, isMem, ea); return -1;
    case K_ALU_REG_RM: aluRegRm(op, op & 1 ? osz : 1, reg, rmReg, isMem, ea); return -1;
    case K_ALU_ACC_IMM: aluAccImm(op, op & 1 ? osz : 1, imm); return -1;
    case K_PUSH_SEG: pushSized(0x23, 0, osz); return -1;
    case K_POP_SEG: popSized(osz); return -1;
    case K_INC: case K_DEC: incDec(op, osz); return -1;
    case K_PUSH: pushReg(op, osz); return -1;
    case K_POP: popReg(op, osz); return -1;
    case K_JCC: jcc(op, imm); return -1;
    case K_PUSHA: pusha(osz); return -1;
    case K_POPA: popa(osz); return -1;
    case K_BOUND: return STOP_UNSUPPORTED;
    case K_ARPL: {
      if (!mode64) return STOP_UNSUPPORTED; // arpl
      const v = rdRM(isMem, ea, rmReg, 4); // movsxd without REX.W: a 32-bit read
      if (fault) return STOP_FAULT;
      setReg(reg, osz, v);
      return -1;
    }
    case K_PUSH_IMM: pushImm(imm, osz); return -1;
    case K_IMUL: {
      const x = rdRM(isMem, ea, rmReg, osz);
      if (fault) return STOP_FAULT;
      if (osz === 2) {
        const r16 = <i32><i16>x * <i32><i16>imm;
        cf = ovf = r16 !== <i32><i16>r16 ? 1 : 0;
        setReg(reg, 2, <u32>r16);
        return -1;
      }
      const full: i64 = <i64>(<i32>x) * <i64>imm;
      const r = <i32>full;
      cf = ovf = full !== <i64>r ? 1 : 0;
      setReg32(reg, <u32>r);
      return -1;
    }
    case K_FAULT: return STOP_FAULT;
    case K_GROUP1: {
      const size = op === 0x81 || op === 0x83 ? osz : 1;
      const x = rdRM(isMem, ea, rmReg, size);
      if (fault) return STOP_FAULT;
      const r = alu(reg, x, <u32>imm, size);
      if (reg !== 7) wrRM(isMem, ea, rmReg, size, r);
      return -1;
    }
    case K_TEST: {
      const size = op & 1 ? osz : 1;
      const x = rdRM(isMem, ea, rmReg, size);
      if (fault) return STOP_FAULT;
      alu(4, x, getReg(reg, size), size);
      return -1;
    }
    case K_XCHG_RM: {
      const size = op & 1 ? osz : 1;
      const x = rdRM(isMem, ea, rmReg, size);
      if (fault) return STOP_FAULT;
      wrRM(isMem, ea, rmReg, size, getReg(reg, size));
      setReg(reg, size, x);
      return -1;
    }
    case K_MOV_RM_REG: {
      const size = op & 1 ? osz : 1;
      wrRM(isMem, ea, rmReg, size, getReg(reg, size));
      return -1;
    }
    case K_MOV_REG_RM: {
      const size = op & 1 ? osz : 1;
      const y = rdRM(isMem, ea, rmReg, size);
      if (fault) return STOP_FAULT;
      setReg(reg, size, y);
      return -1;
    }
    case K_MOV_RM_SREG: wrRM(isMem, ea, rmReg, 2, 0x2b); return -1; // every selector reads as the flat data one
    case K_LEA: setReg(reg, osz, ea); return -1;
    case K_POP_RM: {
      const v = popSized(osz);
      if (fault) return STOP_FAULT;
      const size = osz === 2 ? 2 : mode64 ? 8 : 4;
      if (!isMem) {
        if (size === 8) setReg64(rmReg, v, opHi);
        else setReg(rmReg, size, v);
      } else {
        const at = espBased() ? ea + <u32>size : ea; // the address takes esp after the pop
        if (size === 8) wr64(at, v, opHi);
        else wr(at, size, v);
      }
      return -1;
    }
    case K_XCHG_ACC: xchgAcc(op, osz); return -1;
    case K_CWDE: cwde(osz); return -1;
    case K_CDQ: cdq(osz); return -1;
    case K_PUSHF: pushf(osz); return -1;
    case K_POPF: popf(osz); return -1;
    case K_SAHF: sahf(); return -1;
    case K_LAHF: lahf(); return -1;
    case K_MOV_ACC_MOFFS: {
      // moffs: the address is the immediate (sign-extended from 16 bits, as the decoder's disp).
      const v = rd(<u32>imm, op & 1 ? osz : 1);
      if (fault) return STOP_FAULT;
      setReg(0, op & 1 ? osz : 1, v);
      return -1;
    }
    case K_MOV_MOFFS_ACC: wr(<u32>imm, op & 1 ? osz : 1, getReg(0, op & 1 ? osz : 1)); return -1;
    case K_STRING: return stringOp(op, op & 1 ? osz : 1);
    case K_TEST_ACC_IMM: testAccImm(op & 1 ? osz : 1, imm); return -1;
    case K_MOV_R8_IMM: setReg(op & 7, 1, <u32>imm); return -1;
    case K_MOV_R32_IMM: setReg(op & 7, osz, <u32>imm); return -1;
    case K_SALC: setReg(0, 1, cf ? 0xff : 0); return -1;
    case K_XLAT: xlat(); return -1;
    case K_LOOP: loopRel(op, imm); return -1;
    case K_JECXZ: jecxz(imm); return -1;
    case K_JMP: jump(eip + <u32>imm); return -1;
    case K_CMC: cf ^= 1; return -1;
    case K_CLC: cf = 0; return -1;
    case K_STC: cf = 1; return -1;
    case K_CLD: df = 0; return -1;
    case K_SHIFT: {
      const size = op & 1 ? osz : 1;
      const count = op <= 0xc1 ? imm & 0xff : op <= 0xd1 ? 1 : <i32>(reg32(1) & 0xff);
      const x = rdRM(isMem, ea, rmReg, size);
      if (fault) return STOP_FAULT;
      wrRM(isMem, ea, rmReg, size, shift(reg, x, count & 31, size)); // (written back even for count 0)
      return -1;
    }
    default: df = 1; return -1; // K_STD
  }
}

/**
 * Group-2 shift or rotate k (rol, ror, rcl, rcr, shl, shr, sal, sar) of a 1, 2 or 4-byte value
 * by `count` (0-31), with emulator.ts's flags: CF, and SF/ZF/PF for the shifts; OF unchanged.
 */
function shift(k: i32, v: u32, count: i32, size: i32): u32 {
  if (count === 0) return v;
  const bits = size << 3;
  const m = sizeMask(size);
  const c = <u32>count;
  let r: u32;
  switch (k) {
    case 0: { const n = c % <u32>bits; r = n === 0 ? v : ((v << n) | (v >>> (<u32>bits - n))) & m; cf = <i32>(r & 1); return r; }
    case 1: { const n = c % <u32>bits; r = n === 0 ? v : ((v >>> n) | (v << (<u32>bits - n))) & m; cf = <i32>((r >>> (<u32>bits - 1)) & 1); return r; }
    case 2: case 3: {
      // Through the carry, a bit at a time.
      r = v;
      for (let i = 0; i < count; i++) {
        const out = k === 2 ? (r >>> (<u32>bits - 1)) & 1 : r & 1;
        r = (k === 2 ? (r << 1) | <u32>cf : (r >>> 1) | (<u32>cf << (<u32>bits - 1))) & m;
        cf = <i32>out;
      }
      return r;
    }
    case 4: case 6: cf = count <= bits ? <i32>((v >>> (<u32>(bits - count))) & 1) : 0; r = (v << c) & m; break;
    case 5: cf = <i32>((v >>> (c - 1)) & 1); r = v >>> c; break;
    default: {
      const sv = size === 4 ? <i32>v : size === 2 ? <i32><i16>v : <i32><i8>v;
      cf = (sv >> (count - 1)) & 1;
      r = <u32>(sv >> count) & m;
    }
  }
  setSZP(r, size);
  return r;
}

/** movs, cmps, stos, lods, scas of `size` bytes without repeat prefix (esi/edi step by the direction flag). */
function stringOp(op: i32, size: i32): i32 {
  const step = <u32>(df ? -size : size);
  const esi = reg32(6), edi = reg32(7);
  switch (op & ~1) {
    case 0xa4: {
      const v = rd(esi, size);
      if (fault) return STOP_FAULT;
      wr(edi, size, v);
      store<u32>(LO_AT + 24, esi + step);
      store<u32>(LO_AT + 28, edi + step);
      break;
    }
    case 0xa6: {
      const x = rd(esi, size);
      const y = rd(edi, size);
      if (fault) return STOP_FAULT;
      alu(7, x, y, size);
      store<u32>(LO_AT + 24, esi + step);
      store<u32>(LO_AT + 28, edi + step);
      break;
    }
    case 0xaa: wr(edi, size, getReg(0, size)); store<u32>(LO_AT + 28, edi + step); break;
    case 0xac: {
      const v = rd(esi, size);
      if (fault) return STOP_FAULT;
      setReg(0, size, v);
      store<u32>(LO_AT + 24, esi + step);
      break;
    }
    default: { // scas
      const v = rd(edi, size);
      if (fault) return STOP_FAULT;
      alu(7, getReg(0, size), v, size);
      store<u32>(LO_AT + 28, edi + step);
    }
  }
  return fault ? STOP_FAULT : -1;
}
