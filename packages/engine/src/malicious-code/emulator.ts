/**
 * Abstract x86 execution of an untrusted argument, in the spirit of network-level emulation
 * (Polychronakis et al. 2006/2007): map the argument as writable memory, give it a stack, start
 * at a candidate offset and execute real instruction semantics for a bounded number of steps,
 * watching for what only code does: reading its own address (GetPC), writing bytes it later
 * executes (self-decryption), executing bytes it pushed (stack-built code) and reaching a
 * system-call gate with a plausible request.
 *
 * Non-self-contained code (alphanumeric decoders that expect a register to hold their address)
 * is covered after Polychronakis et al. (RAID 2007), with a twist that frees the result from
 * the exact start offset: every general register except the stack pointer is undefined until
 * the first instruction that touches it, and then holds that instruction's address. A decoder
 * whose first instructions use its base register thus sees its own address even when the run
 * started earlier (in a sled or in the text before it).
 *
 * Values are exact for the integer subset shellcode uses (ALU, shifts, mul/div, moves, stack,
 * string ops, branches, FPU environment stores); 64-bit registers keep both halves. Anything
 * else (SSE, segment-relative access, privileged or undefined instructions, access to unmapped
 * memory) ends the run, which is what the real process would most likely do too.
 */
import { touchedRegs as touchedRegs_ } from './dataflow.js';
import { BUDGET, emulatorCore, HAND_BACK, MAX_STARTS, Slot, type EmulatorCore } from './emulator-core.js';
import { decode as decode_, F_MEM as F_MEM_, F_MOFFS as F_MOFFS_, F_OPSIZE as F_OPSIZE_, F_REP as F_REP_, F_REPNE as F_REPNE_, F_REX as F_REX_, F_SEGFS as F_SEGFS_, F_SEGGS as F_SEGGS_, Insn, Kind as Kind_, NO_REG as NO_REG_, REG_RIP as REG_RIP_ } from './x86-decoder.js';
// Local copies: imported bindings are getter calls under tsx/vitest (hot path).
const decode = decode_;
const F_MEM = F_MEM_;
const F_MOFFS = F_MOFFS_;
const F_OPSIZE = F_OPSIZE_;
const F_REP = F_REP_;
const F_REPNE = F_REPNE_;
const F_REX = F_REX_;
const F_SEGFS = F_SEGFS_;
const F_SEGGS = F_SEGGS_;
const Kind = Kind_;
const NO_REG = NO_REG_;
const REG_RIP = REG_RIP_;
const touchedRegs = touchedRegs_;

export const MAX_ARG = 16384;
const PRE = 256; // mapped bytes before the argument (the command verb and earlier buffer)
const POST = 1024; // mapped bytes after it (decoders may write past their body)
const BUF_LO = 0x10000000;
const ARG_ADDR = BUF_LO + PRE;
const STK_SIZE = 8192;
const STK_LO = 0x20000000;
const STK_INIT = STK_LO + STK_SIZE - 1024; // some mapped room above esp for pops of "old" frames

const SYSCALL_SLOTS = 8;
const PC_SLOTS = 4;

export const enum Stop {
  Budget = 0,
  Left = 1, // execution left mapped code
  Invalid = 2,
  Fault = 3, // memory fault, #DE, privileged, far
  Unsupported = 4,
  Exit = 5, // execve or exit reached
  Idle = 6, // no memory write for IDLE_STEPS steps
}

const IDLE_STEPS = 400;

/** What one run observed. Offsets are relative to the argument start. */
export class RunResult {
  steps = 0;
  stop: Stop = Stop.Budget;
  /** Distinct instructions executed whose bytes this run wrote itself. */
  wx = 0;
  wxFirst = -1;
  /**
   * Longest run of consecutively executed self-written instructions: a decoded payload runs
   * as a block, while random bytes that happen to modify themselves execute a few scattered
   * written instructions.
   */
  wxRun = 0;
  /** Distinct instructions executed from stack bytes this run pushed. */
  stackExec = 0;
  /** Taken backward branches (loop iterations). */
  backJumps = 0;
  loopAt = -1;
  /** Offset of the instruction that read its own address, or -1. */
  getpc = -1;
  getpcHow = 0; // 1 call/pop, 2 fpu env, 3 rip-relative
  nSyscalls = 0;
  sysOff = new Int32Array(SYSCALL_SLOTS);
  sysNum = new Int32Array(SYSCALL_SLOTS);
  /** 0 unknown number, 1 number used by shellcode, 2 number with plausible arguments. */
  sysQuality = new Uint8Array(SYSCALL_SLOTS);

  reset(): void {
    this.steps = 0;
    this.stop = Stop.Budget;
    this.wx = 0;
    this.wxFirst = -1;
    this.wxRun = 0;
    this.stackExec = 0;
    this.backJumps = 0;
    this.loopAt = -1;
    this.getpc = -1;
    this.getpcHow = 0;
    this.nSyscalls = 0;
  }
}

// Jcc condition from the low 4 opcode bits; `pfb` is the low result byte (parity is looked up only
// for the parity conditions).
function cond(c: number, cf: number, zf: number, sf: number, of: number, pfb: number): boolean {
  switch (c >> 1) {
    case 0: return (of !== 0) !== ((c & 1) === 1);
    case 1: return (cf !== 0) !== ((c & 1) === 1);
    case 2: return (zf !== 0) !== ((c & 1) === 1);
    case 3: return (cf !== 0 || zf !== 0) !== ((c & 1) === 1);
    case 4: return (sf !== 0) !== ((c & 1) === 1);
    case 5: return (PARITY[pfb & 0xff] !== 0) !== ((c & 1) === 1);
    case 6: return (sf !== of) !== ((c & 1) === 1);
    default: return (zf !== 0 || sf !== of) !== ((c & 1) === 1);
  }
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) { p ^= b & 1; b >>= 1; }
  PARITY[i] = p;
}

// System calls that shellcode makes (Linux i386 int 0x80 and x86-64 syscall numbers).
const SYS32 = new Map<number, string>([[1, 'exit'], [2, 'fork'], [3, 'read'], [4, 'write'], [5, 'open'], [11, 'execve'], [23, 'setuid'], [63, 'dup2'], [70, 'setreuid'], [102, 'socketcall'], [359, 'socket'], [361, 'bind'], [362, 'connect'], [363, 'listen'], [364, 'accept4'], [213, 'setuid32'], [190, 'vfork'], [37, 'kill'], [125, 'mprotect'], [192, 'mmap2']]);
const SYS64 = new Map<number, string>([[0, 'read'], [1, 'write'], [2, 'open'], [33, 'dup2'], [41, 'socket'], [42, 'connect'], [43, 'accept'], [49, 'bind'], [50, 'listen'], [57, 'fork'], [59, 'execve'], [60, 'exit'], [105, 'setuid'], [10, 'mprotect'], [9, 'mmap'], [288, 'accept4'], [231, 'exit_group']]);

export function syscallName(mode64: boolean, n: number): string | undefined {
  return (mode64 ? SYS64 : SYS32).get(n);
}

/**
 * One emulator instance owns its memory images; reuse it across calls (no allocation per run).
 * Not re-entrant.
 */
export class Emulator {
  readonly res = new RunResult();
  /** The hot loop for the common instructions (emulator-core.ts); the arrays below are views of its memory. */
  private readonly core: EmulatorCore = emulatorCore();
  private readonly coreMemory = this.core.memory.buffer;
  /** The core's state block: the fields its loop reads and updates, copied in and out around it. */
  private readonly st = new Int32Array(this.coreMemory, this.core.ST_AT.value, 32);
  private readonly mem = new Uint8Array(this.coreMemory, this.core.MEM_AT.value, PRE + MAX_ARG + POST);
  /** The argument offsets runStarts runs from (in the core's memory: fill it, then call). */
  readonly starts = new Int32Array(this.coreMemory, this.core.STARTS_AT.value, MAX_STARTS);
  private readonly stk = new Uint8Array(this.coreMemory, this.core.STK_AT.value, STK_SIZE);
  private readonly wStamp = new Uint32Array(this.coreMemory, this.core.WSTAMP_AT.value, PRE + MAX_ARG + POST);
  private readonly xStamp = new Uint32Array(this.coreMemory, this.core.XSTAMP_AT.value, PRE + MAX_ARG + POST);
  private readonly swStamp = new Uint32Array(this.coreMemory, this.core.SWSTAMP_AT.value, STK_SIZE);
  private readonly sxStamp = new Uint32Array(this.coreMemory, this.core.SXSTAMP_AT.value, STK_SIZE);
  /**
   * Undo logs: offsets of the buffer and stack bytes the current run wrote (each at most once,
   * on its first write), buffer offsets with the byte they held (offset | byte << 16). The core's
   * undo before the next run restores exactly those, so a run costs no memset of the whole
   * buffer and stack (between runs the buffer holds the argument and the stack zeros).
   */
  private readonly memUndo = new Int32Array(this.coreMemory, this.core.MEMUNDO_AT.value, PRE + MAX_ARG + POST);
  private memUndoN = 0;
  private readonly stkUndo = new Int32Array(this.coreMemory, this.core.STKUNDO_AT.value, STK_SIZE);
  private stkUndoN = 0;
  /** Argument-wide record of instruction starts executed by any run (for candidate pruning). */
  readonly visited = new Uint32Array(this.coreMemory, this.core.VISITED_AT.value, MAX_ARG);
  private visitGen = 1;
  private gen = 1;
  /** Steps of the runs since beginArgument. */
  private spent = 0;
  private readonly lo = new Uint32Array(this.coreMemory, this.core.LO_AT.value, 16);
  private readonly hi = new Uint32Array(this.coreMemory, this.core.HI_AT.value, 16);
  private readonly insn = new Insn();
  private readonly pcSlots = new Uint32Array(PC_SLOTS);
  private pcSlotN = 0;
  private cf = 0; private zf = 0; private sf = 0; private of = 0; private pfb = 0; private df = 0;
  private eip = 0;
  private mode64 = false;
  private argLen = 0;
  private memSize = 0;
  private fault = false;
  private fpuIp = 0;
  private undef = 0; // registers not yet given a value (lazy initialisation, see above)
  private opHi = 0; // high half of the last 64-bit operand read
  private resHi = 0; // high half of the last 64-bit ALU result

  /** `useCore` false: every step in TypeScript (tests compare runs with and without the core). */
  constructor(private readonly useCore = true) {}

  /** Start a new argument: forget which offsets earlier runs executed. */
  beginArgument(arg: Uint8Array, len: number): void {
    this.visitGen++;
    if (this.visitGen === 0xffffffff) { this.visited.fill(0); this.visitGen = 1; }
    this.memSize = PRE + len + POST;
    this.gen = this.core.begin(this.memUndoN, this.stkUndoN, this.memSize, PRE + len, this.visitGen) >>> 0;
    this.memUndoN = 0;
    this.stkUndoN = 0;
    this.spent = 0;
    // The undo left the buffer zero outside the previous argument: copy the new one over it and
    // zero only the previous bytes it does not cover.
    const mem = this.mem;
    mem.set(len === arg.length ? arg : arg.subarray(0, len), PRE);
    if (this.argLen > len) mem.fill(0, PRE + len, PRE + this.argLen);
    this.argLen = len;
  }

  wasVisited(off: number): boolean {
    return this.visited[off] === this.visitGen;
  }

  /** Execute from argument offset `start` for at most `maxSteps` (>= 1) instructions. */
  run(start: number, mode64: boolean, maxSteps: number): RunResult {
    if (this.useCore) {
      const result = this.core.start(ARG_ADDR + start, mode64 ? 1 : 0, maxSteps, this.memUndoN, this.stkUndoN);
      this.gen = this.st[Slot.Gen]! >>> 0;
      this.finishCoreRun(result, mode64, maxSteps);
      return this.res;
    }
    this.res.reset();
    this.gen = this.core.undo(this.memUndoN, this.stkUndoN) >>> 0;
    this.memUndoN = 0;
    this.stkUndoN = 0;
    this.setUpRun(mode64, maxSteps);
    const startAddr = ARG_ADDR + start;
    const lo = this.lo, hi = this.hi;
    lo[0] = startAddr; lo[1] = startAddr; lo[2] = startAddr; lo[3] = startAddr;
    lo[4] = STK_INIT; lo[5] = startAddr; lo[6] = startAddr; lo[7] = startAddr;
    hi[0] = 0; hi[1] = 0; hi[2] = 0; hi[3] = 0; hi[4] = 0; hi[5] = 0; hi[6] = 0; hi[7] = 0;
    if (mode64) for (let i = 8; i < 16; i++) { lo[i] = startAddr; hi[i] = 0; }
    // i386 code names only registers 0-7, so the lazy set empties once those are touched.
    this.undef = (mode64 ? 0xffff : 0xff) & ~(1 << 4);
    this.cf = this.zf = this.sf = this.of = this.pfb = this.df = 0;
    this.eip = startAddr;
    this.finishRun(0);
    this.spent += this.res.steps;
    return this.res;
  }

  /**
   * Run from starts[from], starts[from + 1], ... (count <= MAX_STARTS) in order, as
   * run(start, mode64, min(runSteps, total - spent)) each, where spent counts the steps of every
   * run since beginArgument, while that is positive; with `skipVisited`, not from starts an
   * earlier run executed (wasVisited). Returns at the first run the caller must see (its index;
   * `res` holds its result) or count. Without the core, that is every run; with it, a run that
   * ran any step in TypeScript or executed `minWxRun` self-written instructions in a row (so
   * the others have no syscalls, GetPC, stack code or decoded payload to show).
   */
  runStarts(from: number, count: number, mode64: boolean, runSteps: number, total: number, skipVisited: boolean, minWxRun: number): number {
    const starts = this.starts;
    if (!this.useCore) {
      for (let i = from; i < count && this.spent < total; i++) {
        if (skipVisited && this.wasVisited(starts[i]!)) continue;
        this.run(starts[i]!, mode64, Math.min(runSteps, total - this.spent));
        return i;
      }
      return count;
    }
    if (count > MAX_STARTS) throw new RangeError(`runStarts: more than ${MAX_STARTS} starts`);
    const result = this.core.runEach(from, count, mode64 ? 1 : 0, runSteps, total - this.spent, skipVisited ? 1 : 0, minWxRun, this.memUndoN, this.stkUndoN);
    const st = this.st;
    this.spent += st[Slot.Spent]!;
    this.gen = st[Slot.Gen]! >>> 0;
    const next = st[Slot.Next]!;
    if (next === count) {
      this.memUndoN = st[Slot.MemUndoN]!;
      this.stkUndoN = st[Slot.StkUndoN]!;
      return count;
    }
    this.finishCoreRun(result, mode64, Math.min(runSteps, total - this.spent));
    return next;
  }

  /** The result of a run the core started (`result` so far), finished here if the core handed it back. */
  private finishCoreRun(result: number, mode64: boolean, maxSteps: number): void {
    const r = this.res;
    r.reset();
    this.setUpRun(mode64, maxSteps);
    this.readCoreResults();
    this.readCoreState();
    if (result === HAND_BACK) this.finishRun(this.st[Slot.Streak]!);
    else if (result >= 0) r.stop = result as Stop;
    this.spent += r.steps;
  }

  /** The fields of a new run that only the steps below use. */
  private setUpRun(mode64: boolean, maxSteps: number): void {
    this.mode64 = mode64;
    this.pcSlotN = 0;
    this.fpuIp = 0;
    this.fault = false;
    this.maxSteps = maxSteps;
    this.lastWrite = 0;
  }

  /**
   * Continue the run from the state the core or run() set up, in TypeScript steps, handing back
   * to the core whenever it can go on (`run`: the streak of self-written instructions so far).
   */
  private finishRun(run: number): void {
    const r = this.res;
    const mem = this.mem, ins = this.insn, gen = this.gen, maxSteps = this.maxSteps, mode64 = this.mode64;
    const memSize = this.memSize, bufEnd = BUF_LO + memSize, argEnd = PRE + this.argLen;
    const wStamp = this.wStamp, xStamp = this.xStamp, visited = this.visited, visitGen = this.visitGen;
    const core = this.useCore;
    // Whether the next step starts in the core (not right after it handed an instruction back).
    let coreTurn = false;
    while (r.steps < maxSteps) {
      if (coreTurn && this.pcSlotN === 0) {
        // The core runs until it meets an instruction it leaves to the steps below (GetPC
        // slots, which only those steps create, make every 4-byte read a check: no core then).
        const result = this.runCore(run);
        run = this.st[Slot.Streak]!;
        if (result >= 0) { r.stop = result as Stop; break; }
        if (result === BUDGET) break;
      }
      coreTurn = core;
      const a = this.eip;
      let n: number;
      let written = false;
      if (a >= BUF_LO && a < bufEnd) {
        const o = a - BUF_LO;
        n = decode(mem, o, memSize, mode64, ins);
        if (n === 0) { r.stop = Stop.Invalid; break; }
        // Only bytes this run wrote carry the current stamp: none before the first buffer write.
        if (this.memUndoN !== 0) for (let k = 0; k < n; k++) if (wStamp[o + k] === gen) { written = true; break; }
        if (written) {
          if (xStamp[o] !== gen) { r.wx++; if (r.wxFirst < 0) r.wxFirst = o - PRE; }
          if (++run > r.wxRun) r.wxRun = run;
        } else {
          if (o < PRE || o >= argEnd) { r.stop = Stop.Left; break; }
          run = 0;
          visited[o - PRE] = visitGen;
        }
        xStamp[o] = gen;
      } else if (a >= STK_LO && a < STK_LO + STK_SIZE) {
        const o = a - STK_LO;
        n = decode(this.stk, o, STK_SIZE, mode64, ins);
        if (n === 0) { r.stop = Stop.Invalid; break; }
        if (this.swStamp[o] !== gen) { r.stop = Stop.Left; break; }
        if (this.sxStamp[o] !== gen) { r.stackExec++; this.sxStamp[o] = gen; }
      } else { r.stop = Stop.Left; break; }
      r.steps++;
      // Code that neither writes memory nor calls the system for a long stretch is spinning
      // (a loop over random bytes): decoders write on every iteration.
      if (r.steps - this.lastWrite > IDLE_STEPS && r.nSyscalls === 0) { r.stop = Stop.Idle; break; }
      this.curAddr = a;
      if (this.undef !== 0) {
        const m = touchedRegs(ins) & this.undef;
        if (m !== 0) {
          let bits = m;
          while (bits !== 0) {
            const i = 31 - Math.clz32(bits & -bits);
            this.lo[i] = a; this.hi[i] = 0;
            bits &= bits - 1;
          }
          this.undef &= ~m;
        }
      }
      const stop = this.step(ins, a, n);
      if (stop >= 0) { r.stop = stop as Stop; break; }
      if (this.fault) { r.stop = Stop.Fault; break; }
    }
  }

  /** One call of the core's loop: the state block filled from this run, and read back. */
  private runCore(streak: number): number {
    const st = this.st, r = this.res;
    st[Slot.Eip] = this.eip;
    st[Slot.Steps] = r.steps;
    st[Slot.LastWrite] = this.lastWrite;
    st[Slot.Undef] = this.undef;
    st[Slot.Cf] = this.cf; st[Slot.Zf] = this.zf; st[Slot.Sf] = this.sf; st[Slot.Of] = this.of; st[Slot.Pfb] = this.pfb; st[Slot.Df] = this.df;
    st[Slot.MemUndoN] = this.memUndoN;
    st[Slot.StkUndoN] = this.stkUndoN;
    st[Slot.Streak] = streak;
    st[Slot.Wx] = r.wx; st[Slot.WxFirst] = r.wxFirst; st[Slot.WxRun] = r.wxRun;
    st[Slot.BackJumps] = r.backJumps; st[Slot.LoopAt] = r.loopAt;
    st[Slot.Syscalls] = r.nSyscalls;
    const result = this.core.run();
    this.readCoreResults();
    this.readCoreState();
    return result;
  }

  /** What a run's result needs from the state block (and the undo counts, for restore). */
  private readCoreResults(): void {
    const st = this.st, r = this.res;
    r.steps = st[Slot.Steps]!;
    r.wx = st[Slot.Wx]!; r.wxFirst = st[Slot.WxFirst]!; r.wxRun = st[Slot.WxRun]!;
    r.backJumps = st[Slot.BackJumps]!; r.loopAt = st[Slot.LoopAt]!;
    this.memUndoN = st[Slot.MemUndoN]!;
    this.stkUndoN = st[Slot.StkUndoN]!;
  }

  /** The rest of the machine state, for steps after the core's. */
  private readCoreState(): void {
    const st = this.st;
    this.eip = st[Slot.Eip]! >>> 0;
    this.lastWrite = st[Slot.LastWrite]!;
    this.undef = st[Slot.Undef]!;
    this.cf = st[Slot.Cf]!; this.zf = st[Slot.Zf]!; this.sf = st[Slot.Sf]!; this.of = st[Slot.Of]!; this.pfb = st[Slot.Pfb]!; this.df = st[Slot.Df]!;
  }

  // ---- memory -------------------------------------------------------------------------------

  private rd8(addr: number): number {
    addr >>>= 0;
    if (addr >= BUF_LO && addr < BUF_LO + this.memSize) return this.mem[addr - BUF_LO]!;
    if (addr >= STK_LO && addr < STK_LO + STK_SIZE) return this.stk[addr - STK_LO]!;
    this.fault = true;
    return 0;
  }

  private wr8(addr: number, v: number): void {
    addr >>>= 0;
    this.lastWrite = this.res.steps;
    if (addr >= BUF_LO && addr < BUF_LO + this.memSize) {
      const o = addr - BUF_LO;
      if (this.wStamp[o] !== this.gen) { this.wStamp[o] = this.gen; this.memUndo[this.memUndoN++] = o | (this.mem[o]! << 16); }
      this.mem[o] = v;
      return;
    }
    if (addr >= STK_LO && addr < STK_LO + STK_SIZE) {
      const o = addr - STK_LO;
      this.stk[o] = v;
      if (this.swStamp[o] !== this.gen) { this.swStamp[o] = this.gen; this.stkUndo[this.stkUndoN++] = o; }
      return;
    }
    this.fault = true;
  }

  /** Read `size` bytes (1, 2, 4, 8); returns the low 32 bits, high half in `opHi`. */
  private rd(addr: number, size: number): number {
    this.opHi = 0;
    if (size === 1) return this.rd8(addr);
    if (size === 2) return this.rd8(addr) | (this.rd8(addr + 1) << 8);
    for (let i = 0; i < this.pcSlotN; i++) {
      if (this.pcSlots[i] === addr >>> 0 && this.res.getpc < 0 && !this.inRet) {
        this.res.getpc = this.curAddr - ARG_ADDR;
        this.res.getpcHow = i === 0 ? this.slotHow0 : this.slotHow1;
      }
    }
    // The common case, the whole operand in one region, takes one range check.
    const a = addr >>> 0;
    let bytes: Uint8Array, o: number;
    if (a >= STK_LO && a + size <= STK_LO + STK_SIZE) { bytes = this.stk; o = a - STK_LO; }
    else if (a >= BUF_LO && a + size <= BUF_LO + this.memSize) { bytes = this.mem; o = a - BUF_LO; }
    else return this.rdBytes(addr, size);
    if (size === 8) this.opHi = (bytes[o + 4]! | (bytes[o + 5]! << 8) | (bytes[o + 6]! << 16) | (bytes[o + 7]! << 24)) >>> 0;
    return (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
  }

  /** `rd` of 4 or 8 bytes, byte by byte: an operand partly or wholly outside the mapped memory (faults). */
  private rdBytes(addr: number, size: number): number {
    const v = (this.rd8(addr) | (this.rd8(addr + 1) << 8) | (this.rd8(addr + 2) << 16) | (this.rd8(addr + 3) << 24)) >>> 0;
    if (size === 8) this.opHi = (this.rd8(addr + 4) | (this.rd8(addr + 5) << 8) | (this.rd8(addr + 6) << 16) | (this.rd8(addr + 7) << 24)) >>> 0;
    return v;
  }

  private wr(addr: number, size: number, v: number, vHi: number): void {
    if (size === 1) { this.wr8(addr, v & 0xff); return; }
    // The common case, the whole operand in one region, takes one range check.
    const a = addr >>> 0;
    const inStk = a >= STK_LO && a + size <= STK_LO + STK_SIZE;
    if (!inStk && !(a >= BUF_LO && a + size <= BUF_LO + this.memSize)) { this.wrBytes(addr, size, v, vHi); return; }
    this.lastWrite = this.res.steps;
    const bytes = inStk ? this.stk : this.mem, stamp = inStk ? this.swStamp : this.wStamp, undo = inStk ? this.stkUndo : this.memUndo;
    const gen = this.gen;
    let o = a - (inStk ? STK_LO : BUF_LO);
    let n = inStk ? this.stkUndoN : this.memUndoN;
    for (let i = 0; i < size; i++, o++) {
      if (stamp[o] !== gen) { stamp[o] = gen; undo[n++] = o | (bytes[o]! << 16); } // (stack bytes start at 0)
      bytes[o] = i < 4 ? v >>> (i << 3) : vHi >>> ((i - 4) << 3);
    }
    if (inStk) this.stkUndoN = n; else this.memUndoN = n;
  }

  /** `wr` of 2, 4 or 8 bytes, byte by byte: an operand partly or wholly outside the mapped memory (faults). */
  private wrBytes(addr: number, size: number, v: number, vHi: number): void {
    this.wr8(addr, v & 0xff);
    this.wr8(addr + 1, (v >>> 8) & 0xff);
    if (size === 2) return;
    this.wr8(addr + 2, (v >>> 16) & 0xff);
    this.wr8(addr + 3, v >>> 24);
    if (size === 8) {
      this.wr8(addr + 4, vHi & 0xff);
      this.wr8(addr + 5, (vHi >>> 8) & 0xff);
      this.wr8(addr + 6, (vHi >>> 16) & 0xff);
      this.wr8(addr + 7, vHi >>> 24);
    }
  }

  private slotHow0 = 0;
  private slotHow1 = 0;
  /** Set while `ret` pops: a call's own return is not GetPC. */
  private inRet = false;
  private curAddr = 0;
  private maxSteps = 0;
  private lastWrite = 0;

  /** Remember that a program-counter value was stored at `addr` (call, fnstenv, fxsave). */
  private notePcSlot(addr: number, how: number): void {
    // Keep the latest two: that is all GetPC sequences use.
    this.pcSlots[1] = this.pcSlots[0]!;
    this.slotHow1 = this.slotHow0;
    this.pcSlots[0] = addr >>> 0;
    this.slotHow0 = how;
    if (this.pcSlotN < 2) this.pcSlotN++;
  }

  // ---- registers ----------------------------------------------------------------------------

  private getReg(r: number, size: number, rex: boolean): number {
    this.opHi = 0;
    if (size === 1) {
      if (r >= 4 && r < 8 && !rex) return (this.lo[r - 4]! >>> 8) & 0xff;
      return this.lo[r]! & 0xff;
    }
    if (size === 2) return this.lo[r]! & 0xffff;
    if (size === 8) this.opHi = this.hi[r]!;
    return this.lo[r]!;
  }

  private setReg(r: number, size: number, v: number, vHi: number, rex: boolean): void {
    this.undef &= ~(1 << (size === 1 && r >= 4 && r < 8 && !rex ? r - 4 : r)); // written = defined
    if (size === 1) {
      if (r >= 4 && r < 8 && !rex) { const q = r - 4; this.lo[q] = (this.lo[q]! & 0xffff00ff) | ((v & 0xff) << 8); return; }
      this.lo[r] = (this.lo[r]! & 0xffffff00) | (v & 0xff);
      return;
    }
    if (size === 2) { this.lo[r] = (this.lo[r]! & 0xffff0000) | (v & 0xffff); return; }
    this.lo[r] = v;
    this.hi[r] = size === 8 ? vHi : 0; // 32-bit writes zero-extend in 64-bit mode
  }

  private ea(ins: Insn, next: number): number {
    if (ins.flags & F_MOFFS) return ins.disp >>> 0;
    if (ins.asize === 2 || ins.flags & (F_SEGFS | F_SEGGS)) { this.fault = true; return 0; }
    let a = ins.disp;
    if (ins.base === REG_RIP) a += next;
    else if (ins.base !== NO_REG) a += this.lo[ins.base]!;
    if (ins.index !== NO_REG) a += this.lo[ins.index]! * ins.scale;
    return a >>> 0;
  }

  /** Read the r/m operand. */
  private rdRM(ins: Insn, size: number, next: number): number {
    if (ins.flags & F_MEM) return this.rd(this.ea(ins, next), size);
    return this.getReg(ins.rm, size, (ins.flags & F_REX) !== 0);
  }

  private wrRM(ins: Insn, size: number, v: number, vHi: number, next: number): void {
    if (ins.flags & F_MEM) this.wr(this.ea(ins, next), size, v, vHi);
    else this.setReg(ins.rm, size, v, vHi, (ins.flags & F_REX) !== 0);
  }

  // ---- stack --------------------------------------------------------------------------------

  private push(v: number, vHi: number, size: number): void {
    const sp = (this.lo[4]! - size) >>> 0;
    this.lo[4] = sp;
    this.wr(sp, size, v, vHi);
  }

  private pop(size: number): number {
    const sp = this.lo[4]!;
    const v = this.rd(sp, size);
    this.lo[4] = (sp + size) >>> 0;
    return v;
  }

  // ---- ALU ----------------------------------------------------------------------------------

  private setSZP(v: number, size: number, vHi: number): void {
    if (size === 8) {
      this.zf = v === 0 && vHi === 0 ? 1 : 0;
      this.sf = vHi >>> 31;
    } else {
      const bits = size * 8;
      const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
      this.zf = (v & m) === 0 ? 1 : 0;
      this.sf = (v >>> (bits - 1)) & 1;
    }
    this.pfb = v & 0xff;
  }

  /** Group-1 arithmetic (add, or, adc, sbb, and, sub, xor, cmp); returns the low result, high in resHi. */
  private alu(k: number, a: number, aHi: number, b: number, bHi: number, size: number): number {
    let r: number, rHi = 0;
    if (size === 8) {
      let carry = 0;
      switch (k) {
        case 0: case 2: {
          const c = k === 2 ? this.cf : 0;
          const s = a + b + c;
          r = s >>> 0;
          const h = aHi + bHi + (s > 0xffffffff ? 1 : 0);
          rHi = h >>> 0;
          carry = h > 0xffffffff ? 1 : 0;
          this.of = ((~(aHi ^ bHi) & (aHi ^ rHi)) >>> 31) & 1;
          break;
        }
        case 3: case 5: case 7: {
          const c = k === 3 ? this.cf : 0;
          const s = a - b - c;
          r = s >>> 0;
          const h = aHi - bHi - (s < 0 ? 1 : 0);
          rHi = h >>> 0;
          carry = h < 0 ? 1 : 0;
          this.of = (((aHi ^ bHi) & (aHi ^ rHi)) >>> 31) & 1;
          break;
        }
        case 1: r = (a | b) >>> 0; rHi = (aHi | bHi) >>> 0; this.of = 0; break;
        case 4: r = (a & b) >>> 0; rHi = (aHi & bHi) >>> 0; this.of = 0; break;
        default: r = (a ^ b) >>> 0; rHi = (aHi ^ bHi) >>> 0; this.of = 0; break;
      }
      this.cf = carry;
      this.setSZP(r, 8, rHi);
      this.resHi = rHi;
      return r;
    }
    const bits = size * 8;
    const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    const sign = bits === 32 ? 0x80000000 : 1 << (bits - 1);
    a = (a & m) >>> 0;
    b = (b & m) >>> 0;
    switch (k) {
      case 0: case 2: {
        const s = a + b + (k === 2 ? this.cf : 0);
        r = (s & m) >>> 0;
        this.cf = s > m ? 1 : 0;
        this.of = ((a ^ r) & (b ^ r) & sign) !== 0 ? 1 : 0;
        break;
      }
      case 3: case 5: case 7: {
        const s = a - b - (k === 3 ? this.cf : 0);
        r = (s & m) >>> 0;
        this.cf = s < 0 ? 1 : 0;
        this.of = ((a ^ b) & (a ^ r) & sign) !== 0 ? 1 : 0;
        break;
      }
      case 1: r = (a | b) >>> 0; this.cf = this.of = 0; break;
      case 4: r = (a & b) >>> 0; this.cf = this.of = 0; break;
      default: r = (a ^ b) >>> 0; this.cf = this.of = 0; break;
    }
    this.setSZP(r, size, 0);
    this.resHi = 0;
    return r;
  }

  /** Shift/rotate group 2 (rol, ror, rcl, rcr, shl, shr, sal, sar). */
  private shift(k: number, v: number, vHi: number, cnt: number, size: number): number {
    const bits = size * 8;
    cnt &= size === 8 ? 63 : 31;
    this.resHi = vHi;
    if (cnt === 0) return v;
    if (size === 8) {
      // Exact 64-bit shifts through BigInt: rare in shellcode, so the cost does not matter.
      const m64 = (1n << 64n) - 1n;
      let x = (BigInt(vHi >>> 0) << 32n) | BigInt(v >>> 0);
      const c = BigInt(cnt);
      switch (k) {
        case 0: x = ((x << c) | (x >> (64n - c))) & m64; this.cf = Number(x & 1n); break;
        case 1: x = ((x >> c) | (x << (64n - c))) & m64; this.cf = Number(x >> 63n); break;
        case 4: case 6: this.cf = Number((x >> (64n - c)) & 1n); x = (x << c) & m64; break;
        case 5: this.cf = Number((x >> (c - 1n)) & 1n); x >>= c; break;
        case 7: { const sx = x >= 1n << 63n ? x - (1n << 64n) : x; this.cf = Number((sx >> (c - 1n)) & 1n); x = (sx >> c) & m64; break; }
        default: this.fault = true; return v; // rcl/rcr 64: not used by shellcode
      }
      const lo = Number(x & 0xffffffffn) >>> 0;
      this.resHi = Number(x >> 32n) >>> 0;
      if (k >= 4) this.setSZP(lo, 8, this.resHi);
      return lo;
    }
    const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    v = (v & m) >>> 0;
    let r: number;
    switch (k) {
      case 0: { const c = cnt % bits; r = c === 0 ? v : (((v << c) | (v >>> (bits - c))) & m) >>> 0; this.cf = r & 1; break; }
      case 1: { const c = cnt % bits; r = c === 0 ? v : (((v >>> c) | (v << (bits - c))) & m) >>> 0; this.cf = (r >>> (bits - 1)) & 1; break; }
      case 2: case 3: {
        // Rotate through carry, one bit at a time (count <= 31).
        r = v;
        for (let i = 0; i < cnt; i++) {
          if (k === 2) { const out = (r >>> (bits - 1)) & 1; r = (((r << 1) | this.cf) & m) >>> 0; this.cf = out; }
          else { const out = r & 1; r = ((r >>> 1) | (this.cf << (bits - 1))) >>> 0; r = (r & m) >>> 0; this.cf = out; }
        }
        break;
      }
      case 4: case 6: this.cf = cnt <= bits ? (v >>> (bits - cnt)) & 1 : 0; r = cnt >= 32 ? 0 : ((v << cnt) & m) >>> 0; this.setSZP(r, size, 0); break;
      case 5: this.cf = (v >>> (cnt - 1)) & 1; r = cnt >= 32 ? 0 : v >>> cnt; this.setSZP(r, size, 0); break;
      default: {
        const sv = bits === 32 ? v | 0 : (v << (32 - bits)) >> (32 - bits);
        this.cf = (sv >> Math.min(cnt - 1, 31)) & 1;
        r = ((sv >> Math.min(cnt, 31)) & m) >>> 0;
        this.setSZP(r, size, 0);
      }
    }
    this.resHi = 0;
    return r;
  }

  // ---- one instruction ----------------------------------------------------------------------

  /** Execute the decoded instruction at address `a`. Returns a Stop, or -1 to continue. */
  private step(ins: Insn, a: number, n: number): number {
    const next = (a + n) >>> 0;
    this.eip = next;
    const op = ins.op;
    const m64 = this.mode64;
    const rex = (ins.flags & F_REX) !== 0;
    const osz = ins.opsize;
    const k = ins.kind;
    if (k > Kind.Loop) return this.special(ins, a); // kinds Normal to Loop are plain flow
    if (op < 0x40 && (op & 7) < 6) return this.aluRow(ins, op, next, rex, osz);
    if (op >= 0x40 && op < 0x50) return this.incDec(ins.opreg, op < 0x48, osz);
    if (op >= 0x70 && op < 0x80) return cond(op & 15, this.cf, this.zf, this.sf, this.of, this.pfb) ? this.jumpRel(ins) : -1;
    if (op < 0x100) return this.oneByte(ins, op, next, m64, rex, osz);
    return this.twoByte(ins, op, next, rex, osz);
  }

  /** ALU rows 00-3F: op r/m,r / r,r/m / acc,imm. */
  private aluRow(ins: Insn, op: number, next: number, rex: boolean, osz: number): number {
    const kk = op >> 3;
    const form = op & 7;
    const size = form & 1 ? osz : 1;
    if (form < 2) {
      const x = this.rdRM(ins, size, next), xHi = this.opHi;
      const y = this.getReg(ins.reg, size, rex), yHi = this.opHi;
      const r = this.alu(kk, x, xHi, y, yHi, size);
      if (kk !== 7) this.wrRM(ins, size, r, this.resHi, next);
    } else if (form < 4) {
      const y = this.rdRM(ins, size, next), yHi = this.opHi;
      const x = this.getReg(ins.reg, size, rex), xHi = this.opHi;
      const r = this.alu(kk, x, xHi, y, yHi, size);
      if (kk !== 7) this.setReg(ins.reg, size, r, this.resHi, rex);
    } else {
      const x = this.getReg(0, size, rex), xHi = this.opHi;
      const r = this.alu(kk, x, xHi, ins.imm >>> 0, ins.imm < 0 ? 0xffffffff : 0, size);
      if (kk !== 7) this.setReg(0, size, r, this.resHi, rex);
    }
    return -1;
  }

  /** inc/dec r16/r32 (40-4F, 32-bit mode only): the commonest printable instruction. */
  private incDec(r: number, inc: boolean, osz: number): number {
    if (osz === 4) {
      const v = inc ? (this.lo[r]! + 1) >>> 0 : (this.lo[r]! - 1) >>> 0;
      this.of = v === (inc ? 0x80000000 : 0x7fffffff) ? 1 : 0;
      this.zf = v === 0 ? 1 : 0;
      this.sf = v >>> 31;
      this.pfb = v & 0xff;
      this.lo[r] = v;
      this.hi[r] = 0;
      this.undef &= ~(1 << r);
      return -1;
    }
    const cf = this.cf;
    const v = this.alu(inc ? 0 : 5, this.getReg(r, osz, false), 0, 1, 0, osz);
    this.cf = cf; // inc/dec leave CF alone
    this.setReg(r, osz, v, 0, false);
    return -1;
  }

  private oneByte(ins: Insn, op: number, next: number, m64: boolean, rex: boolean, osz: number): number {
    const stackSize = m64 ? (ins.flags & F_OPSIZE ? 2 : 8) : osz === 2 ? 2 : 4;
    if (op < 0x40) {
      // push/pop segment registers and BCD adjusts (32-bit only; the decoder rejects them in 64).
      if (op === 0x06 || op === 0x0e || op === 0x16 || op === 0x1e) { this.push(0x23, 0, stackSize); return -1; }
      if (op === 0x07 || op === 0x17 || op === 0x1f) { this.pop(stackSize); return -1; }
      return -1; // daa/das/aaa/aas: flags only matter for BCD code
    }
    if (op < 0x58) {
      const v = this.getReg(ins.opreg, stackSize, rex);
      this.push(v, this.opHi, stackSize);
      return -1;
    }
    if (op < 0x60) {
      const v = this.pop(stackSize);
      this.setReg(ins.opreg, stackSize, v, this.opHi, rex);
      return -1;
    }
    switch (op) {
      case 0x60: {
        const sp = this.lo[4]!;
        for (let i = 0; i < 8; i++) this.push(i === 4 ? sp : this.lo[i]!, 0, osz === 2 ? 2 : 4);
        return -1;
      }
      case 0x61: {
        for (let i = 7; i >= 0; i--) {
          const v = this.pop(osz === 2 ? 2 : 4);
          if (i !== 4) this.setReg(i, osz === 2 ? 2 : 4, v, 0, false);
        }
        return -1;
      }
      case 0x63:
        if (!m64) return Stop.Unsupported; // arpl
        {
          const v = this.rdRM(ins, 4, next);
          this.setReg(ins.reg, osz, v, osz === 8 && (v & 0x80000000) ? 0xffffffff : 0, rex);
        }
        return -1;
      case 0x68: case 0x6a:
        this.push(ins.imm >>> 0, ins.imm < 0 ? 0xffffffff : 0, stackSize);
        return -1;
      case 0x69: case 0x6b: {
        const x = this.rdRM(ins, osz, next);
        this.setReg(ins.reg, osz, this.imul(x, ins.imm, osz), this.resHi, rex);
        return -1;
      }
      case 0x80: case 0x81: case 0x82: case 0x83: {
        const size = op === 0x81 || op === 0x83 ? osz : 1;
        const kk = ins.reg & 7;
        const x = this.rdRM(ins, size, next), xHi = this.opHi;
        const r = this.alu(kk, x, xHi, ins.imm >>> 0, ins.imm < 0 ? 0xffffffff : 0, size);
        if (kk !== 7) this.wrRM(ins, size, r, this.resHi, next);
        return -1;
      }
      case 0x84: case 0x85: {
        const size = op & 1 ? osz : 1;
        const x = this.rdRM(ins, size, next), xHi = this.opHi;
        const y = this.getReg(ins.reg, size, rex), yHi = this.opHi;
        this.alu(4, x, xHi, y, yHi, size);
        return -1;
      }
      case 0x86: case 0x87: {
        const size = op & 1 ? osz : 1;
        const x = this.rdRM(ins, size, next), xHi = this.opHi;
        const y = this.getReg(ins.reg, size, rex), yHi = this.opHi;
        this.wrRM(ins, size, y, yHi, next);
        this.setReg(ins.reg, size, x, xHi, rex);
        return -1;
      }
      case 0x88: case 0x89: {
        const size = op & 1 ? osz : 1;
        const y = this.getReg(ins.reg, size, rex);
        this.wrRM(ins, size, y, this.opHi, next);
        return -1;
      }
      case 0x8a: case 0x8b: {
        const size = op & 1 ? osz : 1;
        const y = this.rdRM(ins, size, next);
        this.setReg(ins.reg, size, y, this.opHi, rex);
        return -1;
      }
      case 0x8c: this.wrRM(ins, 2, 0x2b, 0, next); return -1;
      case 0x8d: {
        if (ins.flags & (F_SEGFS | F_SEGGS)) return Stop.Unsupported;
        const flagsSave = ins.flags;
        ins.flags &= ~(F_SEGFS | F_SEGGS);
        const addr = this.ea(ins, next);
        ins.flags = flagsSave;
        if (ins.base === REG_RIP) this.noteRipGetPc(ins);
        this.setReg(ins.reg, osz === 8 ? 8 : osz, addr, 0, rex);
        return -1;
      }
      case 0x8f: {
        const v = this.pop(stackSize);
        this.wrRM(ins, stackSize, v, this.opHi, next);
        return -1;
      }
      case 0x98: {
        if (osz === 2) this.setReg(0, 2, ((this.lo[0]! << 24) >> 24) & 0xffff, 0, false);
        else if (osz === 4) this.setReg(0, 4, ((this.lo[0]! << 16) >> 16) >>> 0, 0, false);
        else this.setReg(0, 8, this.lo[0]!, this.lo[0]! & 0x80000000 ? 0xffffffff : 0, false);
        return -1;
      }
      case 0x99: {
        const neg = osz === 8 ? this.hi[0]! & 0x80000000 : osz === 2 ? this.lo[0]! & 0x8000 : this.lo[0]! & 0x80000000;
        const fillv = neg ? 0xffffffff : 0;
        this.setReg(2, osz, fillv, fillv, false);
        return -1;
      }
      case 0x9b: return -1;
      case 0x9c: this.push(0x202 | this.cf | (this.zf << 6) | (this.sf << 7) | (this.df << 10) | (this.of << 11), 0, stackSize); return -1;
      case 0x9d: {
        const f = this.pop(stackSize);
        this.cf = f & 1; this.zf = (f >> 6) & 1; this.sf = (f >> 7) & 1; this.df = (f >> 10) & 1; this.of = (f >> 11) & 1;
        return -1;
      }
      case 0x9e: { const ah = (this.lo[0]! >>> 8) & 0xff; this.cf = ah & 1; this.zf = (ah >> 6) & 1; this.sf = (ah >> 7) & 1; return -1; }
      case 0x9f: this.setReg(4, 1, 2 | this.cf | (this.zf << 6) | (this.sf << 7), 0, false); return -1;
      case 0xa0: case 0xa1: {
        const size = op & 1 ? osz : 1;
        this.setReg(0, size, this.rd(ins.disp >>> 0, size), this.opHi, rex);
        return -1;
      }
      case 0xa2: case 0xa3: {
        const size = op & 1 ? osz : 1;
        const v = this.getReg(0, size, rex);
        this.wr(ins.disp >>> 0, size, v, this.opHi);
        return -1;
      }
      case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
        return this.stringOp(ins, op, osz);
      case 0xa8: case 0xa9: {
        const size = op & 1 ? osz : 1;
        const x = this.getReg(0, size, rex), xHi = this.opHi;
        this.alu(4, x, xHi, ins.imm >>> 0, ins.imm < 0 ? 0xffffffff : 0, size);
        return -1;
      }
      case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        const size = op & 1 ? osz : 1;
        const cnt = op <= 0xc1 ? ins.imm & 0xff : op <= 0xd1 ? 1 : this.lo[1]! & 0xff;
        const x = this.rdRM(ins, size, next), xHi = this.opHi;
        const r = this.shift(ins.reg & 7, x, xHi, cnt, size);
        this.wrRM(ins, size, r, this.resHi, next);
        return -1;
      }
      case 0xc2: case 0xc3: {
        this.inRet = true;
        const t = this.pop(stackSize);
        this.inRet = false;
        if (op === 0xc2) this.lo[4] = (this.lo[4]! + (ins.imm & 0xffff)) >>> 0;
        return this.jump(t, ins);
      }
      case 0xc6: case 0xc7: {
        const size = op & 1 ? osz : 1;
        this.wrRM(ins, size, ins.imm >>> 0, ins.imm < 0 ? 0xffffffff : 0, next);
        return -1;
      }
      case 0xc8: {
        this.push(this.lo[5]!, this.hi[5]!, stackSize);
        this.lo[5] = this.lo[4]!;
        this.lo[4] = (this.lo[4]! - (ins.imm & 0xffff)) >>> 0;
        return -1;
      }
      case 0xc9: {
        this.lo[4] = this.lo[5]!;
        const v = this.pop(stackSize);
        this.setReg(5, stackSize, v, this.opHi, false);
        return -1;
      }
      case 0xd4: {
        const d = ins.imm & 0xff;
        if (d === 0) return Stop.Fault;
        const al = this.lo[0]! & 0xff;
        this.setReg(0, 2, ((Math.floor(al / d) & 0xff) << 8) | (al % d), 0, false);
        this.setSZP(al % d, 1, 0);
        return -1;
      }
      case 0xd5: {
        const al = this.lo[0]! & 0xff, ah = (this.lo[0]! >>> 8) & 0xff;
        const v = (al + ah * (ins.imm & 0xff)) & 0xff;
        this.setReg(0, 2, v, 0, false);
        this.setSZP(v, 1, 0);
        return -1;
      }
      case 0xd6: this.setReg(0, 1, this.cf ? 0xff : 0, 0, false); return -1;
      case 0xd7: this.setReg(0, 1, this.rd8((this.lo[3]! + (this.lo[0]! & 0xff)) >>> 0), 0, false); return -1;
      case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
        return this.fpu(ins, op, next);
      case 0xf5: this.cf ^= 1; return -1;
      case 0xf8: this.cf = 0; return -1;
      case 0xf9: this.cf = 1; return -1;
      case 0xfc: this.df = 0; return -1;
      case 0xfd: this.df = 1; return -1;
      case 0xf6: case 0xf7: return this.group3(ins, op, next, rex, osz);
      case 0xfe: case 0xff: return this.group45(ins, op, next, rex, osz, stackSize);
      default: break;
    }
    if (op >= 0x90 && op <= 0x97) {
      const r = ins.opreg;
      if (r === 0) return -1;
      const x = this.getReg(0, osz, rex), xHi = this.opHi;
      const y = this.getReg(r, osz, rex), yHi = this.opHi;
      this.setReg(0, osz, y, yHi, rex);
      this.setReg(r, osz, x, xHi, rex);
      return -1;
    }
    if (op >= 0xb0 && op <= 0xb7) { this.setReg(ins.opreg, 1, ins.imm, 0, rex); return -1; }
    if (op >= 0xb8 && op <= 0xbf) {
      const size = osz;
      this.setReg(ins.opreg, size, ins.imm >>> 0, ins.immSize === 8 ? ins.immHi >>> 0 : 0, rex);
      return -1;
    }
    switch (op) {
      case 0xe0: case 0xe1: case 0xe2: {
        const c = (this.lo[1]! - 1) >>> 0;
        this.lo[1] = c;
        let take = c !== 0;
        if (op === 0xe0) take = take && this.zf === 0;
        else if (op === 0xe1) take = take && this.zf === 1;
        return take ? this.jumpRel(ins) : -1;
      }
      case 0xe3: return this.lo[1] === 0 ? this.jumpRel(ins) : -1;
      case 0xe8: {
        const ret = this.eip;
        this.push(ret, 0, stackSize);
        this.notePcSlot(this.lo[4]!, 1);
        return this.jumpRel(ins);
      }
      case 0xe9: case 0xeb: return this.jumpRel(ins);
      default: return Stop.Unsupported;
    }
  }

  private imul(x: number, y: number, size: number): number {
    this.resHi = 0;
    if (size === 2) {
      const r = Math.imul((x << 16) >> 16, (y << 16) >> 16);
      this.cf = this.of = r !== ((r << 16) >> 16) ? 1 : 0;
      return r & 0xffff;
    }
    const r = Math.imul(x | 0, y | 0);
    const full = (x | 0) * (y | 0);
    this.cf = this.of = full !== r ? 1 : 0;
    if (size === 8) this.resHi = r < 0 ? 0xffffffff : 0; // low 64 bits of a 32x32 product (approximate)
    return r >>> 0;
  }

  private group3(ins: Insn, op: number, next: number, rex: boolean, osz: number): number {
    const size = op & 1 ? osz : 1;
    const g = ins.reg & 7;
    const x = this.rdRM(ins, size, next), xHi = this.opHi;
    switch (g) {
      case 0: case 1: this.alu(4, x, xHi, ins.imm >>> 0, ins.imm < 0 ? 0xffffffff : 0, size); return -1;
      case 2: this.wrRM(ins, size, ~x >>> 0, ~xHi >>> 0, next); return -1;
      case 3: { const r = this.alu(5, 0, 0, x, xHi, size); this.cf = x !== 0 || xHi !== 0 ? 1 : 0; this.wrRM(ins, size, r, this.resHi, next); return -1; }
      default: break;
    }
    if (size === 8) return Stop.Unsupported;
    const bits = size * 8;
    const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
    const a = this.lo[0]! & m;
    if (g === 4 || g === 5) {
      const sa = g === 5 ? (bits === 32 ? a | 0 : (a << (32 - bits)) >> (32 - bits)) : a;
      const sx = g === 5 ? (bits === 32 ? x | 0 : (x << (32 - bits)) >> (32 - bits)) : x & m;
      const p = BigInt(sa) * BigInt(sx);
      const lo = Number(BigInt.asUintN(bits, p));
      const hi = Number(BigInt.asUintN(bits, p >> BigInt(bits)));
      if (size === 1) this.setReg(0, 2, (hi << 8) | lo, 0, false);
      else { this.setReg(0, size, lo, 0, false); this.setReg(2, size, hi, 0, false); }
      this.cf = this.of = hi !== 0 ? 1 : 0;
      return -1;
    }
    // div / idiv
    const d = x & m;
    if (d === 0) return Stop.Fault;
    const hiPart = size === 1 ? (this.lo[0]! >>> 8) & 0xff : this.lo[2]! & m;
    const dividend = (BigInt(hiPart) << BigInt(bits)) | BigInt(a);
    let q: bigint, rem: bigint;
    if (g === 6) { q = dividend / BigInt(d); rem = dividend % BigInt(d); }
    else {
      const sd = BigInt.asIntN(bits * 2, dividend);
      const sdiv = BigInt.asIntN(bits, BigInt(d));
      q = sd / sdiv; rem = sd % sdiv;
      if (q !== BigInt.asIntN(bits, q)) return Stop.Fault;
    }
    if (g === 6 && q >> BigInt(bits) !== 0n) return Stop.Fault;
    const ql = Number(BigInt.asUintN(bits, q)), rl = Number(BigInt.asUintN(bits, rem));
    if (size === 1) this.setReg(0, 2, (rl << 8) | ql, 0, false);
    else { this.setReg(0, size, ql, 0, false); this.setReg(2, size, rl, 0, false); }
    return -1;
  }

  private group45(ins: Insn, op: number, next: number, rex: boolean, osz: number, stackSize: number): number {
    const g = ins.reg & 7;
    if (g < 2) {
      const size = op === 0xfe ? 1 : osz;
      const cf = this.cf;
      const x = this.rdRM(ins, size, next), xHi = this.opHi;
      const r = this.alu(g === 0 ? 0 : 5, x, xHi, 1, 0, size);
      this.cf = cf;
      this.wrRM(ins, size, r, this.resHi, next);
      return -1;
    }
    // g 2/4 (indirect call/jmp) arrive through special(); 3/5 are far.
    if (g === 6) {
      const v = this.rdRM(ins, stackSize, next);
      this.push(v, this.opHi, stackSize);
      return -1;
    }
    return Stop.Unsupported;
  }

  private stringOp(ins: Insn, op: number, osz: number): number {
    const size = op & 1 ? osz : 1;
    const rep = (ins.flags & (F_REP | F_REPNE)) !== 0;
    const step = this.df ? -size : size;
    const r = this.res;
    let count = rep ? (this.mode64 && ins.asize === 8 ? this.lo[1]! : this.lo[1]!) : 1;
    while (count > 0) {
      switch (op) {
        case 0xa4: case 0xa5: { const v = this.rd(this.lo[6]!, size); this.wr(this.lo[7]!, size, v, this.opHi); this.lo[6] = (this.lo[6]! + step) >>> 0; this.lo[7] = (this.lo[7]! + step) >>> 0; break; }
        case 0xaa: case 0xab: { const v = this.getReg(0, size, false); this.wr(this.lo[7]!, size, v, this.opHi); this.lo[7] = (this.lo[7]! + step) >>> 0; break; }
        case 0xac: case 0xad: { const v = this.rd(this.lo[6]!, size); this.setReg(0, size, v, this.opHi, false); this.lo[6] = (this.lo[6]! + step) >>> 0; break; }
        case 0xae: case 0xaf: { const v = this.rd(this.lo[7]!, size); this.alu(7, this.getReg(0, size, false), 0, v, 0, size); this.lo[7] = (this.lo[7]! + step) >>> 0; break; }
        default: { const x = this.rd(this.lo[6]!, size); const y = this.rd(this.lo[7]!, size); this.alu(7, x, 0, y, 0, size); this.lo[6] = (this.lo[6]! + step) >>> 0; this.lo[7] = (this.lo[7]! + step) >>> 0; }
      }
      if (this.fault) return Stop.Fault;
      if (!rep) break;
      count--;
      this.lo[1] = count;
      // Every repetition costs a step so a huge ECX cannot escape the budget.
      if (++r.steps >= this.maxSteps) return Stop.Budget;
      if ((op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf) && (ins.flags & F_REP ? this.zf === 0 : this.zf === 1)) break;
    }
    return -1;
  }

  private fpu(ins: Insn, op: number, next: number): number {
    const g = ins.reg & 7;
    const mem = (ins.flags & F_MEM) !== 0;
    if (mem) {
      const addr = this.ea(ins, next);
      if (this.fault) return Stop.Fault;
      if ((op === 0xd9 && g === 6) || (op === 0xdd && g === 6)) {
        // fnstenv / fnsave: protected-mode 32-bit layout, FPU instruction pointer at +12.
        for (let i = 0; i < 28; i++) this.wr8(addr + i, 0);
        this.wr(addr, 2, 0x037f, 0);
        this.wr(addr + 8, 2, 0xffff, 0);
        this.wr(addr + 12, 4, this.fpuIp, 0);
        this.notePcSlot(addr + 12, 2);
        return this.fault ? Stop.Fault : -1;
      }
      const control = (op === 0xd9 && g >= 4) || (op === 0xdd && (g === 4 || g === 7));
      if (!control) this.fpuIp = this.curAddr;
      // Validate the access; the FPU value itself does not matter to the analysis.
      this.rd8(addr);
      return this.fault ? Stop.Fault : -1;
    }
    // Register forms: fnstsw ax, fnclex/fninit are control; everything else updates the FPU IP.
    const control = (op === 0xdf && ins.rm === 0 && g === 4) || (op === 0xdb && g === 4);
    if (!control) this.fpuIp = this.curAddr;
    if (op === 0xdf && g === 4) this.setReg(0, 2, 0, 0, false);
    return -1;
  }

  private twoByte(ins: Insn, op: number, next: number, rex: boolean, osz: number): number {
    const b = op & 0xff;
    if (op < 0x200) {
      if (b >= 0x80 && b <= 0x8f) {
        return cond(b & 15, this.cf, this.zf, this.sf, this.of, this.pfb) ? this.jumpRel(ins) : -1;
      }
      if (b >= 0x40 && b <= 0x4f) {
        const v = this.rdRM(ins, osz, next), vHi = this.opHi;
        if (cond(b & 15, this.cf, this.zf, this.sf, this.of, this.pfb)) this.setReg(ins.reg, osz, v, vHi, rex);
        else if (osz === 4) this.setReg(ins.reg, 4, this.lo[ins.reg]!, 0, rex);
        return -1;
      }
      if (b >= 0x90 && b <= 0x9f) {
        this.wrRM(ins, 1, cond(b & 15, this.cf, this.zf, this.sf, this.of, this.pfb) ? 1 : 0, 0, next);
        return -1;
      }
      if (b >= 0xc8 && b <= 0xcf) {
        const r = ins.opreg;
        const v = this.lo[r]!;
        const sw = (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
        if (osz === 8) {
          const h = this.hi[r]!;
          const swh = (((h & 0xff) << 24) | ((h & 0xff00) << 8) | ((h >>> 8) & 0xff00) | (h >>> 24)) >>> 0;
          this.setReg(r, 8, swh, sw, rex);
        } else this.setReg(r, 4, sw, 0, rex);
        return -1;
      }
      switch (b) {
        case 0x1f: case 0x18: case 0x0d: return -1; // hint nops / prefetch
        case 0x31: this.lo[0] = 0x12345678; this.lo[2] = 0x9a; this.hi[0] = this.hi[2] = 0; return -1; // rdtsc
        case 0xa2: this.lo[0] = 0xd; this.lo[3] = 0x756e6547; this.lo[1] = 0x6c65746e; this.lo[2] = 0x49656e69; return -1; // cpuid
        case 0xaf: {
          const x = this.rdRM(ins, osz, next);
          this.setReg(ins.reg, osz, this.imul(this.getReg(ins.reg, osz, rex), x, osz), this.resHi, rex);
          return -1;
        }
        case 0xb6: case 0xb7: case 0xbe: case 0xbf: {
          const size = b & 1 ? 2 : 1;
          let v = this.rdRM(ins, size, next);
          let vHi = 0;
          if (b >= 0xbe) {
            v = size === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
            vHi = v < 0 ? 0xffffffff : 0;
            v >>>= 0;
          }
          this.setReg(ins.reg, osz, osz === 2 ? v & 0xffff : v, vHi, rex);
          return -1;
        }
        case 0xae:
          if ((ins.reg & 7) === 0 && ins.flags & F_MEM) {
            // fxsave: FPU instruction pointer at +8
            const addr = this.ea(ins, next);
            this.wr(addr + 8, 4, this.fpuIp, 0);
            this.notePcSlot(addr + 8, 2);
            return this.fault ? Stop.Fault : -1;
          }
          return (ins.flags & F_MEM) ? Stop.Unsupported : -1; // fences
        case 0xc0: case 0xc1: {
          const size = b & 1 ? osz : 1;
          const x = this.rdRM(ins, size, next), xHi = this.opHi;
          const y = this.getReg(ins.reg, size, rex), yHi = this.opHi;
          const r = this.alu(0, x, xHi, y, yHi, size);
          this.setReg(ins.reg, size, x, xHi, rex);
          this.wrRM(ins, size, r, this.resHi, next);
          return -1;
        }
        default: return Stop.Unsupported;
      }
    }
    return Stop.Unsupported;
  }

  /** Kinds that are not plain flow: gates, traps, privileged, far, SIMD. */
  private special(ins: Insn, a: number): number {
    switch (ins.kind) {
      case Kind.JmpInd: case Kind.CallInd: {
        const next = this.eip;
        const t = this.rdRM(ins, this.mode64 ? 8 : ins.opsize, next);
        if (this.fault) return Stop.Fault;
        if (ins.kind === Kind.CallInd) this.push(next, 0, this.mode64 ? 8 : 4);
        return this.jump(t, ins);
      }
      case Kind.Int:
        if (ins.op === 0xcd && ((ins.imm & 0xff) === 0x80) && !this.mode64) return this.syscall(a, false);
        return Stop.Fault;
      case Kind.Syscall: return this.mode64 ? this.syscall(a, true) : Stop.Fault;
      case Kind.Sysenter: return this.mode64 ? Stop.Fault : this.syscall(a, false);
      default: return ins.kind === Kind.Simd ? Stop.Unsupported : Stop.Fault;
    }
  }

  private syscall(a: number, sixtyFour: boolean): number {
    const r = this.res;
    const num = this.lo[0]!;
    let q = 0;
    const name = syscallName(sixtyFour, num);
    if (name !== undefined) {
      q = 1;
      const arg1 = sixtyFour ? this.lo[7]! : this.lo[3]!;
      const arg2 = sixtyFour ? this.lo[6]! : this.lo[1]!;
      if (name === 'execve' && this.plausiblePath(arg1)) q = 2;
      else if (name === 'socketcall' && arg1 >= 1 && arg1 <= 20 && this.mapped(arg2)) q = 2;
      else if ((name === 'socket' && arg1 === 2) || (name === 'dup2' && arg2 <= 2) || ((name === 'connect' || name === 'bind') && this.mapped(arg2))) q = 2;
    }
    if (r.nSyscalls < SYSCALL_SLOTS) {
      const off = a - ARG_ADDR;
      r.sysOff[r.nSyscalls] = a >= STK_LO ? -1 : off;
      r.sysNum[r.nSyscalls] = num | 0;
      r.sysQuality[r.nSyscalls] = q;
      r.nSyscalls++;
    }
    if (name === 'execve' || name === 'exit' || name === 'exit_group') return Stop.Exit;
    // Pretend success with a small descriptor so socket/dup2 chains go on.
    this.lo[0] = 3;
    this.hi[0] = 0;
    return -1;
  }

  private mapped(addr: number): boolean {
    addr >>>= 0;
    return (addr >= BUF_LO && addr < BUF_LO + this.memSize) || (addr >= STK_LO && addr < STK_LO + STK_SIZE);
  }

  /** A path: '/', then at least 3 printable bytes, NUL-terminated within 64 bytes. */
  private plausiblePath(addr: number): boolean {
    if (!this.mapped(addr) || this.rd8(addr) !== 0x2f) return false;
    for (let i = 1; i < 64; i++) {
      if (!this.mapped(addr + i)) return false;
      const c = this.rd8(addr + i);
      if (c === 0) return i >= 4;
      if (c < 0x21 || c > 0x7e) return false;
    }
    return false;
  }

  private noteRipGetPc(ins: Insn): void {
    if (this.res.getpc < 0) { this.res.getpc = ins.offset - PRE; this.res.getpcHow = 3; }
  }

  private jumpRel(ins: Insn): number {
    // ins.target is relative to the decode base; rebuild it from the current eip.
    const t = (this.eip + ins.imm) >>> 0;
    return this.jump(t, ins);
  }

  private jump(t: number, ins: Insn): number {
    t >>>= 0;
    const from = this.eip;
    if (t < from && t >= BUF_LO && t < BUF_LO + this.memSize) {
      this.res.backJumps++;
      if (this.res.loopAt < 0) this.res.loopAt = this.curAddr - ARG_ADDR;
    }
    this.eip = t;
    return -1;
  }
}
