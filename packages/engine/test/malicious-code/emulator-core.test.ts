import { describe, expect, it, vi } from 'vitest';
import { Emulator, Stop, type RunResult } from '../../src/malicious-code/emulator.js';
import { loadSets } from './samples/evaluate.js';

// The WebAssembly core must not change a single observable of a run: every run below goes
// through an emulator with the core and one without, from the same starts in the same order
// (so each run also starts from the memory the previous run's undo left).

/** Deterministic pseudo-random bytes (xorshift32). */
function bytes(seed: number, n: number, pick: (r: number) => number): Uint8Array {
  let x = seed | 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = pick(x >>> 0);
  }
  return out;
}

/** Bytes the core executes, weighted to what decoders and text use: ALU on memory, stack, jumps, loops. */
const CORE_HEAVY = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x20, 0x21, 0x25, 0x28, 0x29, 0x2c, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x38, 0x39, 0x3c, 0x40, 0x43, 0x47, 0x4b, 0x4e, 0x50, 0x54, 0x57, 0x58, 0x5c, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x70, 0x74, 0x75, 0x7a, 0x7e, 0x80, 0x81, 0x82, 0x83, 0x84, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x90, 0x93, 0x98, 0x99, 0x9e, 0x9f, 0xa8, 0xa9, 0xb0, 0xb4, 0xb9, 0xbf, 0xd6, 0xd7, 0xe0, 0xe1, 0xe2, 0xe3, 0xe9, 0xeb, 0xf5, 0xf8, 0xf9, 0xfc, 0xfd, 0xff, 0xfe, 0xfa, 0xf0, 0x24, 0x44, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0x9b, 0x9c, 0x9d, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3, 0xd0, 0xd1, 0x9a, 0x8c, 0x8e, 0x8f, 0x8f, 0xce, 0xcf, 0xec, 0xed, 0xe4, 0xea, 0xcc];

/**
 * The one-byte forms the loop runs without decoding (inc/dec, push/pop, pusha/popa, Jcc, ALU and
 * test on the accumulator, push imm, BCD, nop, fwait, xchg with the accumulator, string
 * operations, mov imm, loop/jecxz, xlat, cwde/cdq, pushf/popf, sahf/lahf), each about equally often.
 */
const ONE_BYTE_FORMS = [
  ...Array.from({ length: 0x22 }, (_, i) => 0x40 + i), ...Array.from({ length: 16 }, (_, i) => 0x70 + i),
  ...Array.from({ length: 8 }, (_, k) => [(k << 3) | 4, (k << 3) | 5]).flat(), 0x27, 0x2f, 0x37, 0x3f, 0x68, 0x6a,
  ...Array.from({ length: 0x30 }, (_, i) => 0x90 + i).filter((op) => op < 0x9a || op >= 0xa4), 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
  0xe0, 0xe1, 0xe2, 0xe3, 0xd7,
];

/** Prefix bytes of every class the core recognises (operand size most, as in text), to mix with CORE_HEAVY. */
const PREFIXES = [0x66, 0x66, 0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65];

/** CORE_HEAVY bytes with a prefix byte in every third place or so (runs of several classes included). */
const prefixHeavy = (seed: number, n: number) => bytes(seed, n, (r) => (r % 3 === 0 ? PREFIXES[(r >>> 2) % PREFIXES.length]! : CORE_HEAVY[(r >>> 2) % CORE_HEAVY.length]!));

/**
 * The machine state a run leaves (private to Emulator; compared as a whole). Not after a fault:
 * the core stops at the faulting access, the TypeScript steps finish the instruction, and the
 * next run starts afresh either way.
 */
interface MachineState { lo: Uint32Array; hi: Uint32Array; mem: Uint8Array; stk: Uint8Array; eip: number; cf: number; zf: number; sf: number; of: number; pfb: number; df: number; undef: number }

const observed = (e: Emulator, r: RunResult) => ({
  ...(r.stop === Stop.Fault ? {} : machine(e as unknown as MachineState)),
  steps: r.steps, stop: r.stop, wx: r.wx, wxFirst: r.wxFirst, wxRun: r.wxRun, stackExec: r.stackExec,
  backJumps: r.backJumps, loopAt: r.loopAt, getpc: r.getpc, getpcHow: r.getpcHow,
  syscalls: Array.from({ length: r.nSyscalls }, (_, i) => [r.sysOff[i], r.sysNum[i], r.sysQuality[i]]),
});

function machine(m: MachineState) {
  const { eip, cf, zf, sf, of, pfb, df, undef } = m;
  return { lo: [...m.lo], hi: [...m.hi], eip, cf, zf, sf, of, pfb, df, undef, mem: hash(m.mem), stk: hash(m.stk) };
}

function hash(b: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 16777619);
  return h >>> 0;
}

/** Runs from every `stride`-th offset of each argument, in both modes; returns the steps run. */
function compare(args: Uint8Array[], stride: number, maxSteps: number): number {
  const withCore = new Emulator(true);
  const without = new Emulator(false);
  let steps = 0;
  for (const arg of args) {
    withCore.beginArgument(arg, arg.length);
    without.beginArgument(arg, arg.length);
    for (let start = 0; start < arg.length; start += stride) {
      for (const mode64 of [false, true]) {
        const a = observed(withCore, withCore.run(start, mode64, maxSteps));
        const b = observed(without, without.run(start, mode64, maxSteps));
        if (JSON.stringify(a) !== JSON.stringify(b)) expect({ arg: Buffer.from(arg).toString('hex'), start, mode64, run: a }).toEqual({ arg: Buffer.from(arg).toString('hex'), start, mode64, run: b });
        steps += a.steps;
      }
    }
    for (let i = 0; i < arg.length; i++) if (withCore.wasVisited(i) !== without.wasVisited(i)) expect({ visited: i }).toBe(null);
  }
  return steps;
}

/** What a run can score with (analyze.ts runPoints), with decoder runs from `minWxRun`. */
const mayScore = (r: RunResult, minWxRun: number) => r.nSyscalls > 0 || r.getpc >= 0 || r.stackExec > 0 || r.wxRun >= minWxRun;

/**
 * runStarts as analyze.ts uses it, with and without the core: the same runs that may score, in
 * the same order, and the same steps in all. Starts are random offsets (with repeats), the
 * budget ends some lists early, and the visited skip turns on at the first run that may score.
 */
function compareStarts(args: Uint8Array[], seed: number, minWxRun: number): number {
  const withCore = new Emulator(true);
  const without = new Emulator(false);
  let shown = 0;
  args.forEach((arg, k) => {
    const noise = bytes(seed + k, 40, (r) => r & 0xff);
    const starts = Array.from({ length: 20 }, (_, j) => (noise[2 * j]! | (noise[2 * j + 1]! << 8)) % arg.length);
    for (const mode64 of [false, true]) {
      const seen = [withCore, without].map((e) => {
        e.beginArgument(arg, arg.length);
        e.starts.set(starts);
        const out: unknown[] = [];
        let skip = false;
        for (let i = 0; i < starts.length; i++) {
          i = e.runStarts(i, starts.length, mode64, 300, 2500, skip, minWxRun);
          if (i === starts.length) break;
          if (!mayScore(e.res, minWxRun)) continue;
          out.push({ i, run: observed(e, e.res) });
          skip = true;
        }
        return { out, spent: (e as unknown as { spent: number }).spent };
      });
      expect({ arg: Buffer.from(arg).toString('hex'), mode64, ...seen[0] }).toEqual({ arg: Buffer.from(arg).toString('hex'), mode64, ...seen[1] });
      shown += seen[0]!.out.length;
    }
  });
  return shown;
}

/** Edge cases of flags and operands, each run to its end in both modes (c4 c0: les in i386, VEX in 64-bit). */
const SNIPPETS = [
  'b8ffffff7f 40 70 02 c4c0', // inc to 0x80000000: OF, then jo
  'b800000080 48 71 02 c4c0', // dec to 0x7fffffff: OF, then jno
  'b8ffffffff 83c001 83d000 1c05 c4c0', // add carry, adc, sbb al
  'b9ffff0000 80c5ff 10e9 28f6 c4c0', // ch, cl, dh byte registers
  'b800000100 69c000000100 6bc9ff c4c0', // imul overflow, imul by -1
  'b8d5ff0000 9e 9f 7a02 7b02 c4c0', // sahf/lahf, parity jumps
  'b903000000 40 e2fd e302 c4c0', // loop back twice, jecxz
  'bb00000010 b010 d7 c4c0', // xlat from the buffer
  'b8ff7f0000 98 99 b88000ffff 98 99 c4c0', // cwde/cdq, positive and negative
  '60 54 5c 61 87cb 93 c4c0', // pusha, push/pop esp, popa, xchg
  '8d04c5ffffffff 8d0425ffffff0f 8d4c2410 c4c0', // lea: SIB without base, absolute, esp base
  'c7c000000010 3c20 7408 c4c0', // register-form mov imm (decoder form check), cmp/jz
  'b800010010 3000 300420 2904a5feffff0f c4c0', // writes into the argument ahead
  'f9 f5 fd fc f8 d6 c4c0', // flag twiddles, salc
  '2e 3e 26 36 40 2e 7402 c4c0', // segment overrides: no effect in flat memory
  'b8ff000010 66 04 01 66 28 c4 66 b0 80 66 7402 c4c0', // operand size on byte operations
  '67 41 67 e302 67 8b00 c4c0', // address size: no effect without memory, 16-bit memory forms
  '64 40 65 0100 c4c0', // FS/GS: memory operands fault
  '64 8d00 c4c0', // lea FS: unsupported
  'be00010010 bf20010010 a4 a5 a6 a7 aa ab ac ad ae af fd a4 a5 ab c4c0', // string operations both ways
  '9c 9d 9b 9c 58 c4c0', // pushf/popf/fwait
  'b841424344 a300010010 a004010010 a1fc000010 2ea2ff010010 64a3f8000010 67a1ffff c4c0', // moffs (8-byte addresses in 64-bit mode), 16-bit address: fault
  'a1fcffffff a3ffff0010 c4c0', // moffs operands partly outside the buffer
  '66b8ff7f 6640 7002 66b80080 6648 7102 66050100 6683e802 662dffff 661d0100 c4c0', // 16-bit inc/dec (OF), ALU on ax
  'b844332211 66b8ffff 6640 6699 6698 6693 6687c1 6689c2 668bd8 6601c8 66f7d8 c4c0', // 16-bit writes keep the upper bits
  'b800010010 660100 6631400266290420 668100ff7f 66832880 668500 668700 66894004 668b4804 c4c0', // 16-bit operands in memory
  '66b80001 6669c00001 666bc0ff 66b8ff7f 666bc002 c4c0', // 16-bit imul: overflow, by -1
  'b880000000 6698 6699 b800800000 6699 6698 c4c0', // cbw/cwd, positive and negative
  '6650 665b 666aff 6658 66683412 665f 669c 669d 6660 6661 6606 6607 c4c0', // 16-bit push/pop, pusha/popa, pushf/popf, segments
  'bcfe1f0020 6658 6658 c4c0', // 16-bit pop at the stack's top edge: the second faults
  'bc01000020 6650 c4c0', // 16-bit push across the stack's low edge
  'bc02000020 6650 6650 c4c0', // 16-bit pushes down to the stack's low edge, then past it
  'be00010010 bf20010010 66a5 66a7 66ab 66ad 66af fd 66a5 66ab c4c0', // 16-bit string operations both ways
  '66a100010010 66a3ff010010 66a9ff80 c4c0', // 16-bit moffs, test ax
  '668d0424 668d80ffff0000 66bb3412 6691 6697 6690 c4c0', // 16-bit lea, mov imm, xchg with ax
  '6663c8 666300 c4c0', // movsxd with operand size (arpl in i386)
  '2e648b00 c4c0', // segment and FS: the memory operand faults
  '642e40 3666 01c0 2e6667 8bc8 c4c0', // several classes without memory operands
  '65668900 c4c0', // GS and operand size: fault
  '2e3e662e01c0 36678b00 c4c0', // repeated prefixes, segment and address size
  '66666666666666666666666666 40 c4c0', // prefixes up to the 15-byte limit
  '676200 c4c0', // 16-bit address in i386: bound stops as unsupported (registers as the address names them)
  '67634610 c4c0', // arpl [bp+disp8]: unsupported
  '676306 3412 c4c0', // arpl [disp16]: unsupported
  '678d870001 c4c0', // lea of a 16-bit address: fault
  '64678d00 c4c0', // FS lea of a 16-bit address: unsupported
  '676900 34120000 c4c0', // imul: imm32 after a 16-bit address
  '67668b860001 c4c0', // 16-bit address and operand
  '678b86', // a 16-bit address cut by the end
  '6aff 58 50 5b 6a01 9c 5f 63c8 c4c0', // push/pop (8 bytes in 64-bit mode), movsxd (arpl in i386)
  '8b0504000000 3305feffffff 8d0500000000 c4c0', // RIP-relative operands in 64-bit mode, lea of RIP (GetPC)
  'b8f0000080 b981000000 d1c0 d1c8 d1d0 d1d8 d1e0 d1e8 d1f0 d1f8 d3c0 d3e8 d3f8 d3d0 d3d8 c4c0', // each shift group by 1 and by cl (129: count 1 after masking)
  'b8f00000f0 c1c000 c1e01f c1f81f c1e820 c1d01f c1d821 c1c021 c1c820 c1f8ff c4c0', // counts 0, 31, 32 and more (masked to 5 bits)
  'b8f0f0f0f0 d0c0 d0c8 d0d0 d0d8 d0e0 d0e8 d0f8 c0e408 c0ec09 c0fc0a c0c408 c0d411 c0dc11 d2e0 d2f8 c4c0', // byte shifts: counts up to and past the width, rotates modulo 8
  '66b80180 66d1c0 66d1c8 66c1e010 66c1e811 66c1f80f 66c1d011 66c1d811 66d3e0 c4c0', // 16-bit shifts
  'b001 c0e008 c4c0', // shl by exactly the width: CF is the low bit
  '66b80100 66c1e010 c4c0', // the same in 16 bits
  'd3e0 d2e9 c4c0', // cl undefined: the count is the start address's low byte
  'b800010010 d120 d128 d138 c10004 c10804 d330 c020ff 66d100 d1a0ff000000 c4c0', // shifts in memory, one partly outside
  '9a0000000023 00 c4c0', // far call: stops
  '669a00002300 c4c0', // far call with operand size
  'ea000000002300 c4c0', '66ea00002300 c4c0', 'ca0400 c4c0', 'cb', 'cf', 'cc', 'ce', 'f1', // far jump and returns, int3, into, int1: stop
  'e480 c4c0', 'e680', 'ec', 'ed', '66ed', 'ee', 'ef', 'f4', 'fa', 'fb', // in/out, hlt, cli/sti: stop
  'b800010010 8cc0 8cc9 8cd2 8cdb 8ce4 8ced 8c00 8c0801 8c10 8c1802 8c20 8c2803 c4c0', // mov from each segment register, to registers and memory
  '8cf0 c4c0', '8cf8 c4c0', '8c30 c4c0', '8c3c24 c4c0', '668cf8 c4c0', '648c38 c4c0', // mov from segment registers 6, 7: invalid
  '8ec0 c4c0', '8e18 c4c0', '8ee8 c4c0', '8ef0 c4c0', '8e38 c4c0', '678e07 c4c0', // mov to each segment register: stops (fault or invalid)
  'b800010010 6a01 6a02 6a03 6a04 6a05 8fc1 8f00 8f0424 8f4424fc 8f442404 c4c0', // pop r/m: registers, memory, esp-relative (the address after the pop)
  '6a01 66 8fc3 668f00 8fc4 c4c0', // 16-bit pop r/m, pop esp
  'bcfc1f0020 8f00 c4c0', // pop r/m at the stack's top edge: the read faults
  '8fc8 c4c0', '8f08 c4c0', '8f38 c4c0', '668ff8 c4c0', '2e8f10 c4c0', // pop r/m groups 1-7: invalid
  '8dc0 c4c0', '8dd9 c4c0', '668dc0 c4c0', '648dc0 c4c0', '678dff c4c0', // lea of a register: invalid (not a step)
  '40 8d00 8dc0 c4c0', // invalid after steps
  'b809050010 c60074 ffe0', 'b806050010 c60068 ffe0', 'b809050010 c600e2 ffe0', // a one-byte form written at the buffer's end, cut by it (the buffer ends 1024 bytes after these 10)
  'b809050010 c60001 ffe0', 'b80c050010 c60003 c6400140 ffe0', // an ALU r/m form written there, cut in its ModRM byte or displacement (the buffer ends 1024 bytes after these 14)
  '0480 0580ffffff 6a80 6b0080 8b4080 8a448080 8b8080000000 c4c0', // negative immediates and displacements of each size (sign extension)
];

describe('emulator core (WebAssembly) against the TypeScript steps', () => {
  it('flag and operand edge cases: identical runs', () => {
    const args = SNIPPETS.map((h) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex')));
    expect(compare(args, 1, 200)).toBeGreaterThan(200);
  });

  it('shifts, segment register moves, pop r/m, the stops (privileged, far, int3, into) and the ModRM groups the decoder rejects run in the core alone', () => {
    const e = new Emulator(true);
    const handedBack = vi.spyOn(e as unknown as { finishRun: () => void }, 'finishRun');
    const stops = ['b800010010 d1e0 d3c8 c0f803 66d1d0 d200 8cd8 8c00 6a01 8f00 6a02 8fc1 9a0000000023', '8ee0', '8cf0', '8f08', '8dc0', '40 d1e0', 'ec', 'ce', '66ea00002300'].map((h) => {
      const arg = new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
      e.beginArgument(arg, arg.length);
      return e.run(0, false, 100).stop;
    });
    expect(stops).toEqual([Stop.Fault, Stop.Fault, Stop.Invalid, Stop.Invalid, Stop.Invalid, Stop.Left, Stop.Fault, Stop.Fault, Stop.Fault]);
    expect(handedBack).not.toHaveBeenCalled();
  });

  it('random printable text: identical runs', () => {
    const args = Array.from({ length: 150 }, (_, i) => bytes(i + 1, 64 + (i % 7) * 40, (r) => 0x20 + (r % 95)));
    expect(compare(args, 7, 400)).toBeGreaterThan(25_000);
  });

  it('bytes heavy in the opcodes the core executes, and random bytes: identical runs', () => {
    const heavy = Array.from({ length: 150 }, (_, i) => bytes(1000 + i, 48 + (i % 5) * 50, (r) => CORE_HEAVY[r % CORE_HEAVY.length]!));
    const random = Array.from({ length: 80 }, (_, i) => bytes(5000 + i, 200, (r) => r & 0xff));
    expect(compare([...heavy, ...random], 5, 600)).toBeGreaterThan(25_000);
  });

  it('bytes heavy in the one-byte forms, with other opcodes between and immediates cut by the end: identical runs', () => {
    const args = Array.from({ length: 120 }, (_, i) => bytes(13000 + i, 20 + (i % 11) * 13, (r) => (r % 6 === 0 ? CORE_HEAVY[(r >>> 3) % CORE_HEAVY.length]! : ONE_BYTE_FORMS[(r >>> 3) % ONE_BYTE_FORMS.length]!)));
    expect(compare(args, 1, 300)).toBeGreaterThan(40_000);
  });

  it('the same bytes with prefixes of every class and their combinations: identical runs', () => {
    const prefixed = Array.from({ length: 200 }, (_, i) => prefixHeavy(3000 + i, 48 + (i % 5) * 50));
    expect(compare(prefixed, 3, 600)).toBeGreaterThan(25_000);
  });

  it('the malicious samples (decoders, GetPC, self-modification, loops): identical runs from every other offset', () => {
    const { malicious } = loadSets(0);
    expect(compare(malicious.map((m) => m.arg), 2, 4000)).toBeGreaterThan(100_000);
  });

  it('runStarts over start lists: the same runs that may score, and the same steps', () => {
    const { malicious } = loadSets(0);
    const heavy = Array.from({ length: 100 }, (_, i) => bytes(7000 + i, 60 + (i % 5) * 40, (r) => CORE_HEAVY[r % CORE_HEAVY.length]!));
    const text = Array.from({ length: 100 }, (_, i) => bytes(9000 + i, 64 + (i % 7) * 40, (r) => 0x20 + (r % 95)));
    const prefixed = Array.from({ length: 100 }, (_, i) => prefixHeavy(11000 + i, 60 + (i % 5) * 40));
    const args = [...malicious.map((m) => m.arg), ...heavy, ...text, ...prefixed];
    expect(compareStarts(args, 1, 6)).toBeGreaterThan(50);
    expect(compareStarts(args, 2, 1)).toBeGreaterThan(200);
  });
});
