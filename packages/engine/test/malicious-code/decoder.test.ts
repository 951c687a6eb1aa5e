import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, decodeGeneral, F_MEM, F_RIPREL, Insn, Kind, NO_REG, REG_RIP } from '../../src/malicious-code/x86-decoder.js';
import { q, quick } from '../../src/malicious-code/x86-quick.js';
import type { StaticScan } from '../../src/malicious-code/static-scan.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const ins = new Insn();
const dec = (h: string, m64 = false): number => {
  const b = hex(h);
  return decode(b, 0, b.length, m64, ins);
};

describe('x86 decoder: lengths from the Intel SDM encodings', () => {
  const cases: [string, string, boolean, number][] = [
    ['xor eax,eax', '31c0', false, 2],
    ['push eax', '50', false, 1],
    ['push imm32', '682f2f7368', false, 5],
    ['push imm8', '6a0b', false, 2],
    ['mov al,imm8', 'b00b', false, 2],
    ['mov eax,imm32', 'b8 01000000', false, 5],
    ['mov ax,imm16 (66)', '66b80100', false, 4],
    ['mov rax,imm64 (REX.W B8)', '48b8 2f62696e2f736800', true, 10],
    ['int 0x80', 'cd80', false, 2],
    ['mov eax,[esp+4] (SIB+disp8)', '8b442404', false, 4],
    ['mov eax,[esp+0x100] (SIB+disp32)', '8b842400010000', false, 7],
    ['mov eax,[eax*4+disp32] (SIB no base)', '8b048500000000', false, 7],
    ['mov eax,[disp32] (mod 00 rm 101)', '8b0500000000', false, 6],
    ['lea rdi,[rip+0] (RIP-relative)', '488d3d00000000', true, 7],
    ['call rel32', 'e800000000', false, 5],
    ['jz rel32 (0F 84)', '0f8400000000', false, 6],
    ['jz rel16 with 66 in 32-bit', '660f840000', false, 5],
    ['call rel32 ignores 66 in 64-bit', '66e800000000', true, 6],
    ['fnstenv [esp-0xc]', 'd97424f4', false, 4],
    ['loop rel8', 'e2fa', false, 2],
    ['test eax,imm32 (F7 /0)', 'f7c001000000', false, 6],
    ['not eax (F7 /2: no imm)', 'f7d0', false, 2],
    ['test cl,imm8 (F6 /0)', 'f6c101', false, 3],
    ['enter imm16,imm8', 'c8100000', false, 4],
    ['ret imm16', 'c20800', false, 3],
    ['syscall', '0f05', true, 2],
    ['sysenter', '0f34', false, 2],
    ['xor rax,rax', '4831c0', true, 3],
    ['lock add [eax],al', 'f00000', false, 3],
    ['16-bit addressing [bx]', '678b07', false, 3],
    ['16-bit addressing [bp+disp8]', '678b4600', false, 4],
    ['mov eax,moffs32', 'a100000000', false, 5],
    ['mov rax,moffs64', '48a10000000000000000', true, 10],
    ['palignr (0F 3A, imm8)', '0f3a0fc108', false, 5],
    ['pshufb (0F 38)', '0f3800c1', false, 4],
    ['vzeroupper (VEX C5)', 'c5f877', true, 3],
    ['vbroadcastss (VEX C4)', 'c4e27918c0', true, 5],
    ['cmpxchg8b [eax]', '0fc708', false, 3],
    ['imul eax,[ecx+0x41],0x30', '6b414130', false, 4],
  ];
  for (const [name, h, m64, len] of cases) {
    it(`${name} is ${len} bytes`, () => {
      expect(dec(h, m64)).toBe(len);
    });
  }
});

describe('x86 decoder: invalid encodings', () => {
  const invalid: [string, string, boolean][] = [
    ['ud0', '0fff', false],
    ['0F 04', '0f04', false],
    ['pusha in 64-bit', '60', true],
    ['aaa in 64-bit', '37', true],
    ['bound with register operand', '62c0', false],
    ['lea with register operand', '8dc0', false],
    ['FF /7', 'ffff', false],
    ['FE /2', 'fed0', false],
    ['8F /1', '8fc8', false],
    ['lock on a register destination', 'f001c0', false],
    ['lock on mov', 'f08900', false],
    ['cut immediate', 'b801', false],
    ['cut ModRM', '8b', false],
    ['more than 15 bytes of prefixes', '66'.repeat(15) + '90', false],
  ];
  for (const [name, h, m64] of invalid) it(`${name} is rejected`, () => expect(dec(h, m64)).toBe(0));
});

describe('x86 decoder: operands and control flow', () => {
  it('reports ModRM/SIB registers, scale and displacement', () => {
    expect(dec('8b4c8efc')).toBe(4); // mov ecx,[esi+ecx*4-4]
    expect(ins.reg).toBe(1);
    expect(ins.base).toBe(6);
    expect(ins.index).toBe(1);
    expect(ins.scale).toBe(4);
    expect(ins.disp).toBe(-4);
    expect(ins.flags & F_MEM).toBeTruthy();
  });
  it('applies REX.R/X/B to register numbers', () => {
    expect(dec('4f8b04c8', true)).toBe(4); // mov r8,[r8+r9*8]
    expect(ins.reg).toBe(8);
    expect(ins.base).toBe(8);
    expect(ins.index).toBe(9);
    expect(ins.opsize).toBe(8);
  });
  it('marks RIP-relative operands', () => {
    expect(dec('488d05f0ffffff', true)).toBe(7);
    expect(ins.base).toBe(REG_RIP);
    expect(ins.flags & F_RIPREL).toBeTruthy();
    expect(ins.disp).toBe(-16);
  });
  it('in 32-bit mode mod 00 rm 101 is an absolute address, not RIP-relative', () => {
    expect(dec('8b0544332211')).toBe(6);
    expect(ins.base).toBe(NO_REG);
    expect(ins.disp).toBe(0x11223344);
  });
  it('computes branch targets relative to the instruction end', () => {
    const b = hex('90 90 e8 f9ffffff');
    expect(decode(b, 2, b.length, false, ins)).toBe(5);
    expect(ins.kind).toBe(Kind.Call);
    expect(ins.target).toBe(0);
    expect(dec('ebfe')).toBe(2);
    expect(ins.kind).toBe(Kind.Jmp);
    expect(ins.target).toBe(0);
  });
  it('classifies gates, privileged and far instructions', () => {
    dec('cd80'); expect(ins.kind).toBe(Kind.Int);
    dec('0f05', true); expect(ins.kind).toBe(Kind.Syscall);
    dec('0f34'); expect(ins.kind).toBe(Kind.Sysenter);
    dec('e460'); expect(ins.kind).toBe(Kind.Privileged);
    dec('f4'); expect(ins.kind).toBe(Kind.Privileged);
    dec('6c'); expect(ins.kind).toBe(Kind.Privileged);
    dec('ff18'); expect(ins.kind).toBe(Kind.Far);
    dec('ffd0'); expect(ins.kind).toBe(Kind.CallInd);
    dec('ffe4'); expect(ins.kind).toBe(Kind.JmpInd);
    dec('c3'); expect(ins.kind).toBe(Kind.Ret);
    dec('e2fe'); expect(ins.kind).toBe(Kind.Loop);
  });
  it('decodes from any offset without reading past the end', () => {
    const b = hex('31c0 50 682f2f7368 682f62696e 89e3 cd80');
    for (let i = 0; i < b.length; i++) {
      const n = decode(b, i, b.length, false, ins);
      expect(i + n).toBeLessThanOrEqual(b.length);
    }
  });
  it('never throws and stays within 1..15 bytes on random input (32 and 64-bit)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.boolean(), fc.nat(31), (bytes, m64, at) => {
      const off = at % bytes.length;
      const n = decode(bytes, off, bytes.length, m64, ins);
      return n === 0 || (n >= 1 && n <= 15 && off + n <= bytes.length);
    }), { numRuns: 20000 });
  });
  it('the short-form table gives exactly what the general decoder gives (every opcode byte, both modes)', () => {
    const general = new Insn();
    const same = (bytes: Uint8Array, end: number, m64: boolean): boolean => {
      const n = decode(bytes, 0, end, m64, ins);
      if (decodeGeneral(bytes, 0, end, m64, general) !== n) return false;
      return n === 0 || JSON.stringify(ins) === JSON.stringify(general);
    };
    fc.assert(fc.property(fc.nat(255), fc.uint8Array({ minLength: 0, maxLength: 15 }), fc.boolean(), fc.nat(16), (b0, tail, m64, cut) => {
      const bytes = new Uint8Array([b0, ...tail]);
      return same(bytes, Math.min(bytes.length, cut + 1), m64);
    }), { numRuns: 30000 });
    // Every opcode and ModRM byte, SIB and displacement bytes from a fixed pseudo-random tail.
    const bytes = new Uint8Array(16);
    let x = 1;
    for (let i = 2; i < 16; i++) { x = (x * 1103515245 + 12345) >>> 0; bytes[i] = x >>> 24; }
    let bad = 0;
    for (const m64 of [false, true]) {
      for (let b0 = 0; b0 < 256; b0++) {
        for (let modrm = 0; modrm < 256; modrm++) {
          bytes[0] = b0;
          bytes[1] = modrm;
          if (!same(bytes, bytes.length, m64)) bad++;
        }
      }
    }
    expect(bad).toBe(0);
  });
  it('the fast length path agrees with the full decoder on random input', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 24 }), fc.boolean(), (bytes, m64) => {
      const n = decode(bytes, 0, bytes.length, m64, ins);
      const k = quick(bytes, 0, bytes.length, m64);
      if (n !== k) return false;
      if (n === 0) return true;
      if (q.kind !== ins.kind) return false;
      const branch = ins.kind === Kind.Jcc || ins.kind === Kind.Jmp || ins.kind === Kind.Call || ins.kind === Kind.Loop;
      return !branch || q.target === ins.target;
    }), { numRuns: 30000 });
  });
});

describe('static scan: two-byte table path', () => {
  it('gives the same lengths and kinds as the fast decoder at every offset (32 and 64-bit)', async () => {
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const { quick, q } = await import('../../src/malicious-code/x86-quick.js');
    const scan = new StaticScan();
    let x = 7;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    for (let k = 0; k < 400; k++) {
      const n = 1 + (rnd() % 200);
      const buf = new Uint8Array(n);
      for (let i = 0; i < n; i++) buf[i] = k % 2 ? rnd() & 255 : 0x20 + (rnd() % 95);
      for (const m64 of [false, true]) {
        scan.scan(buf, n, m64);
        for (let i = 0; i < n; i++) {
          const len = quick(buf, i, n, m64);
          const kind = q.kind;
          if (scan.ilen[i] !== 0) {
            expect(scan.ilen[i]).toBe(len);
            expect(scan.kind[i]).toBe(kind);
          } else expect(len === 0 || kind >= 8).toBe(true); // invalid, or a gate/privileged kind the scan stops at
        }
      }
    }
  });
});

describe('static scan: chains, branch targets and triggers', () => {
  // A plain restatement of what `scan` computes, from the fast decoder at every offset.
  it('match a per-offset reference on binary, text and branch-heavy input (32 and 64-bit)', async () => {
    const { StaticScan, normalTrigger, T_CALL, T_BACK, T_GATE } = await import('../../src/malicious-code/static-scan.js');
    const { quick, q } = await import('../../src/malicious-code/x86-quick.js');
    const { Kind } = await import('../../src/malicious-code/x86-decoder.js');
    const scan = new StaticScan();
    let x = 11;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    // Branches, calls, gates, FPU stores, lea, segment/operand prefixes, REX and UTF-8 bytes.
    const hot = [0x70, 0x75, 0x7f, 0xe0, 0xe2, 0xe3, 0xe8, 0xe9, 0xeb, 0xc3, 0xff, 0xcd, 0x80, 0x0f, 0x05, 0x34, 0xd9, 0xdd, 0x34, 0x8d, 0x05, 0x2e, 0x3e, 0x26, 0x64, 0x66, 0x67, 0xf0, 0xf3, 0x48, 0x90, 0x0c, 0xc2, 0xd0, 0xae];
    // Ties for the longest chain: two rets (leftmost wins), a ret after a jump over it. Then
    // prefixed branches whose target is the instruction after the prefix (ahead from the prefix,
    // not from that instruction) or the prefix itself (back from that instruction, not from the
    // prefix), and a prefixed call.
    const fixed = [[0xc3, 0xc3], [0xc3, 0xcc, 0xc3], [0xeb, 0x00, 0xc3], [0x2e, 0xc3], [0x90],
      [0x2e, 0xeb, 0xfe], [0x3e, 0x74, 0xfe, 0x90], [0x64, 0xe2, 0xfe, 0x90], [0x2e, 0x75, 0xfd, 0x90], [0x26, 0x36, 0xeb, 0xfc],
      [0x65, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x90], [0x2e, 0xe8, 0xfa, 0xff, 0xff, 0xff]];
    let compared = 0;
    for (let k = 0; k < 600 + fixed.length; k++) {
      const n = k >= 600 ? fixed[k - 600]!.length : k % 50 === 0 ? 3000 + (rnd() % 2000) : 1 + (rnd() % 300);
      const buf = k >= 600 ? Uint8Array.from(fixed[k - 600]!) : new Uint8Array(n);
      for (let i = 0; i < n && k < 600; i++) {
        const r = rnd();
        buf[i] = k % 3 === 0 ? r & 255 : k % 3 === 1 ? hot[r % hot.length]! : r % 4 === 0 ? 0x80 + (r & 63) : 0x20 + (r % 95);
      }
      for (const m64 of [false, true]) {
        scan.scan(buf, n, m64);
        const chain = new Array<number>(n + 1).fill(0);
        const ilen = new Array<number>(n).fill(0);
        const tgt: [number, number][] = [];
        const triggers: [number, number][] = [];
        for (let i = n - 1; i >= 0; i--) {
          const len = quick(buf, i, n, m64);
          const k2 = q.kind, tg = q.target;
          const gate = (k2 === Kind.Int && q.op === 0xcd && buf[i + len - 1] === 0x80 && !m64) || (k2 === Kind.Syscall && m64) || (k2 === Kind.Sysenter && !m64);
          const valid = len > 0 && (k2 < Kind.Int || gate);
          const ahead = (t: number): number => (t > i && t < n ? chain[t]! : 0);
          let c = 0, t = 0;
          if (valid) {
            if (k2 === Kind.Normal) { c = 1 + chain[i + len]!; t = normalTrigger(buf, i, n, m64); }
            else if (gate) { c = 1 + chain[i + len]!; t = T_GATE; }
            else if (k2 === Kind.Jcc || k2 === Kind.Loop) c = 1 + Math.max(chain[i + len]!, ahead(tg));
            else if (k2 === Kind.Jmp || k2 === Kind.Call) c = 1 + ahead(tg);
            else c = 1; // ret, indirect jmp/call
            if (k2 === Kind.Call && tg >= 0 && tg < n) t = T_CALL;
            else if ((k2 === Kind.Jcc || k2 === Kind.Loop || k2 === Kind.Jmp) && tg >= 0 && tg < i) t = T_BACK;
            if (k2 === Kind.Jcc || k2 === Kind.Loop || k2 === Kind.Jmp || k2 === Kind.Call) tgt.push([i, tg >= 0 && tg < n ? tg : -1]);
            ilen[i] = len;
          }
          chain[i] = Math.min(c, 60000);
          if (t !== 0) triggers.unshift([i, t]);
        }
        expect(Array.from(scan.ilen.subarray(0, n))).toEqual(ilen);
        expect(Array.from(scan.chain.subarray(0, n))).toEqual(chain.slice(0, n));
        expect(tgt.map(([i]) => [i, scan.tgt[i]])).toEqual(tgt);
        const mel = Math.max(0, ...chain.slice(0, n));
        expect([scan.mel, scan.melAt]).toEqual([mel, mel === 0 ? -1 : chain.indexOf(mel)]);
        const first = triggers.slice(0, 64);
        expect(Array.from({ length: scan.nTrig }, (_, j) => [scan.trigOff[j], scan.trigType[j]])).toEqual(first);
        compared++;
      }
    }
    expect(compared).toBe(2 * (600 + fixed.length));
  });
});

describe('static scan: chain heads', () => {
  it('are the longest chains from offsets no instruction falls into, longest first, leftmost on ties', async () => {
    const { StaticScan, MAX_HEADS } = await import('../../src/malicious-code/static-scan.js');
    const scan = new StaticScan();
    let x = 5;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789lmno';
    for (let k = 0; k < 400; k++) {
      const n = 1 + (rnd() % 500);
      const buf = new Uint8Array(n);
      for (let i = 0; i < n; i++) buf[i] = k % 2 ? rnd() & 255 : alnum.charCodeAt(rnd() % alnum.length);
      scan.scan(buf, n, k % 4 === 3);
      for (const minChain of [1, 8, 24]) {
        scan.heads(minChain);
        const heads: number[] = [];
        for (let i = 0; i < n; i++) {
          let reached = false;
          for (let j = Math.max(0, i - 15); j < i; j++) if (scan.ilen[j] !== 0 && j + scan.ilen[j]! === i) reached = true;
          if (!reached && scan.chain[i]! >= minChain) heads.push(i);
        }
        heads.sort((a, b) => scan.chain[b]! - scan.chain[a]! || a - b);
        const want = heads.slice(0, MAX_HEADS);
        expect(Array.from(scan.headOff)).toEqual([...want, -1, -1, -1, -1].slice(0, MAX_HEADS));
        expect(Array.from(scan.headLen)).toEqual([...want.map((h) => scan.chain[h]!), 0, 0, 0, 0].slice(0, MAX_HEADS));
      }
    }
  });
});

describe('static scan: LOCK pairs of the table', () => {
  it('agrees with the fast decoder on LOCK followed by every opcode and random bytes (32 and 64-bit)', async () => {
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const { quick, q } = await import('../../src/malicious-code/x86-quick.js');
    const scan = new StaticScan();
    let x = 5;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    const buf = new Uint8Array(20);
    for (let b1 = 0; b1 < 256; b1++) {
      for (let k = 0; k < 40; k++) {
        for (let i = 2; i < buf.length; i++) buf[i] = rnd() & 255;
        buf[0] = 0xf0;
        buf[1] = b1;
        for (const m64 of [false, true]) {
          scan.scan(buf, buf.length, m64);
          const len = quick(buf, 0, buf.length, m64);
          if (scan.ilen[0] !== 0) expect(scan.ilen[0]).toBe(len);
          else expect(len === 0 || q.kind >= 8).toBe(true);
        }
      }
    }
  });
});

describe('static scan: printable-text path and entry search', () => {
  let x = 11;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
  // Text-like alphabets: prefixes (segment, 66, 67), Jcc, sled letters, stops (l-o), '<', '.'.
  const alphabets = [
    ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~',
    'fgde&.6>pqrstuvwxyz{|}~',
    'ABCEFGHIJKMNO$%,-457<=?\'/fg.d',
    'user.name+tag@mail.example.org<> SIZE=1234',
    // 66/67 before ModRM opcodes, SIB forms ($ , 4 <) and SIB bytes with base 5, segment + Jcc.
    'fg0138ik$,4<%-5=emudt.rs',
  ];

  let scans: [StaticScan, StaticScan] | undefined;
  /**
   * The lengths a printable scan gives, from the full scan of the same text: its lengths, with
   * bit 5 where a sled instruction starts (the full scan's straight-line sled end lies beyond).
   */
  const printableLengths = (full: StaticScan, n: number): number[] => {
    const linEnd = (full as unknown as { linEnd: Int32Array }).linEnd;
    return Array.from(full.ilen.subarray(0, n), (len, i) => len | (len !== 0 && linEnd[i]! > i ? 0x20 : 0));
  };
  /** The printable scan of `text` against the full scan; false when it hands the text over. */
  const samePrintableScan = async (text: string): Promise<boolean> => {
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const [fast, full] = (scans ??= [new StaticScan(), new StaticScan()]);
    const buf = new TextEncoder().encode(text);
    const n = buf.length;
    full.scan(buf, n, false);
    if (!fast.scanPrintable32(buf, n, 1)) {
      // Only a 16-offset sled run sends printable text to the full scan.
      expect(full.sledEnd - full.sledStart).toBeGreaterThanOrEqual(16);
      return false;
    }
    // The printable scan leaves the longest chain to heads, which it runs (it starts at one).
    expect([fast.headLen[0], fast.headOff[0]]).toEqual(full.mel === 0 ? [0, -1] : [full.mel, full.melAt]);
    expect(full.nTrig).toBe(0);
    expect(full.nLandings).toBe(0);
    expect(Array.from(fast.ilen.subarray(0, n))).toEqual(printableLengths(full, n));
    expect(Array.from(fast.chain.subarray(0, n))).toEqual(Array.from(full.chain.subarray(0, n)));
    return true;
  };

  it('a printable argument gets the same lengths, chains and longest chains as from the full scan', async () => {
    let compared = 0;
    for (let k = 0; k < 3000; k++) {
      const alpha = alphabets[k % alphabets.length]!;
      const n = 64 + (rnd() % 400);
      let text = '';
      for (let i = 0; i < n; i++) text += alpha[rnd() % alpha.length];
      if (await samePrintableScan(text)) compared++;
    }
    expect(compared).toBeGreaterThan(2000);
  });

  it('the last 14 offsets (where an instruction can be cut by the end) and short arguments', async () => {
    // The loop tests the end only there: every length up to 40, and long instructions (imul
    // with SIB, disp32 and imm32, also after 66 and a segment, and after 66 and 5 segments:
    // 15 bytes; push imm32) and a Jcc cut at every byte, after Jcc bytes whose targets lie
    // past the end, at every distance from it.
    let compared = 0;
    for (let n = 1; n <= 40; n++) {
      for (let k = 0; k < 50; k++) {
        const alpha = alphabets[k % alphabets.length]!;
        let text = '';
        for (let i = 0; i < n; i++) text += alpha[rnd() % alpha.length];
        if (await samePrintableScan(text)) compared++;
      }
    }
    expect(compared).toBeGreaterThan(1500);
    for (const long of ['i$%1234abcd', 'dfi$%1234ab', 'f.6>dei$%1234ab', 'h1234', 'pz']) {
      for (let cut = 1; cut <= long.length; cut++) {
        for (let pad = 0; pad <= 20; pad++) {
          expect(await samePrintableScan(`${'x'.repeat(pad)}${long.slice(0, cut)}`)).toBe(true);
          expect(await samePrintableScan(`${'x'.repeat(pad)}${long.slice(0, cut)}${'0'.repeat(20 - pad)}`)).toBe(true);
        }
      }
    }
  });

  it('segment override runs: each takes the next instruction with one more byte, up to 15', async () => {
    // After a valid, an invalid (l: ins), a cut (h: push imm32) and a Jcc instruction, at the
    // end and inside, with runs past 15 bytes (and past 31: an entry made from the invalid one
    // must stay invalid), and before two prefixes (fe: the loop's prefix run).
    for (const next of ['0A', 'l', 'h', 'h1234', 'pz', 'fe0A', 'fgA', '?']) {
      for (let k = 0; k <= 40; k++) {
        for (const seg of ['e', '.&6>d']) {
          const run = seg.repeat(k).slice(0, k);
          await samePrintableScan(`${'x'.repeat(64)}${run}${next}`);
          await samePrintableScan(`${run}${next}${'x'.repeat(64)}`);
        }
      }
    }
  });

  it('prefix runs after 66/67: the instruction after them with a byte per prefix, up to 15', async () => {
    const prefixes = 'fgde.&6>';
    // Prefix-dense text: each byte a prefix or any printable byte, half and half.
    const printable = alphabets[0]!;
    let compared = 0;
    for (let k = 0; k < 2000; k++) {
      const n = 64 + (rnd() % 200);
      let text = '';
      for (let i = 0; i < n; i++) text += rnd() & 1 ? prefixes[rnd() % prefixes.length] : printable[rnd() % printable.length];
      if (await samePrintableScan(text)) compared++;
    }
    expect(compared).toBeGreaterThan(1500);
    // Runs of 1-17 prefixes starting with 66 or 67 (66 and 67 repeated, both, among segment
    // overrides), before a valid, an invalid, a cut, a Jcc, a ModRM with SIB (base 5: disp32)
    // and an immediate instruction, and at the end of the argument (past it, bytes of an earlier
    // argument: high ones here).
    const stale = new Uint8Array(400).fill(0xff);
    for (const next of ['', '0A', 'l', 'h', 'h1234', 'pz', 'q', '?', '4%1234x', '$e', 'i0123456', 'k01']) {
      for (let k = 1; k <= 17; k++) {
        for (let r = 0; r < 6; r++) {
          let run = rnd() & 1 ? 'f' : 'g';
          while (run.length < k) run += prefixes[rnd() % prefixes.length];
          expect(scans![0].scanPrintable32(stale, stale.length, 1)).toBe(false);
          await samePrintableScan(`${'x'.repeat(64)}${run}${next}`);
          await samePrintableScan(`${run}${next}${'x'.repeat(64)}`);
        }
      }
    }
  });

  it('a run of 16 sled instructions hands the text over wherever it lies, one of 15 does not', async () => {
    // inc ecx (A) between Jcc bytes (x: js), across every alignment of the 16-offset windows.
    for (let k = 0; k <= 48; k++) {
      for (const run of [15, 16]) {
        expect(await samePrintableScan(`${'x'.repeat(k)}${'A'.repeat(run)}${'x'.repeat(70 - k)}`)).toBe(run === 15);
      }
    }
    expect(await samePrintableScan('A'.repeat(16))).toBe(false);
    expect(await samePrintableScan('A'.repeat(15))).toBe(true);
  });

  it('an entry the table cannot give (P.Special) goes to quick and resumes: the same lengths and chains', async () => {
    // Today's tables hold no such entry, so mark some: the resume path must still agree with
    // the full scan (a plain one-byte instruction, a ModRM one, a Jcc, before every next byte).
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const { PTAB_AT } = await import('../../src/malicious-code/scan-loops.js');
    const special = new StaticScan();
    const full = new StaticScan();
    special.scanPrintable32(new TextEncoder().encode('x'.repeat(64)), 64, 24); // loads the table
    const table = new Uint16Array((special as unknown as { wasmBytes: Uint8Array }).wasmBytes.buffer, PTAB_AT);
    for (const b0 of 'A0t') for (let b1 = 0; b1 < 0x80; b1++) table[(b1 << 8) | b0.charCodeAt(0)] = 0x840;
    const alpha = alphabets[0]! + 'AAA000ttt';
    let compared = 0;
    for (let k = 0; k < 300; k++) {
      let text = '';
      for (let i = 0, n = 64 + (rnd() % 200); i < n; i++) text += alpha[rnd() % alpha.length];
      const buf = new TextEncoder().encode(text);
      full.scan(buf, buf.length, false);
      if (!special.scanPrintable32(buf, buf.length, 24)) continue;
      expect(Array.from(special.ilen.subarray(0, buf.length))).toEqual(printableLengths(full, buf.length));
      expect(Array.from(special.chain.subarray(0, buf.length))).toEqual(Array.from(full.chain.subarray(0, buf.length)));
      // The heads the printable scan ends with, also after resuming.
      full.heads(24);
      expect([Array.from(special.headOff), Array.from(special.headLen)]).toEqual([Array.from(full.headOff), Array.from(full.headLen)]);
      compared++;
    }
    expect(compared).toBeGreaterThan(200);
  });

  it('rejects a non-printable byte anywhere', async () => {
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const s = new StaticScan();
    const buf = new Uint8Array(100).fill(0x41);
    expect(s.scanPrintable32(buf, 100, 24)).toBe(false); // a 100-byte inc-ecx sled: full scan
    buf.fill(0x30);
    expect(s.scanPrintable32(buf, 100, 24)).toBe(true);
    expect(s.scanPrintable32(buf, 0, 24)).toBe(true); // nothing to scan
    // Among the first 16 bytes (checked at once) and after them.
    for (const at of [0, 7, 15, 16, 37, 99]) {
      for (const b of [0x00, 0x1f, 0x7f, 0x80, 0xff]) {
        buf[at] = b;
        expect(s.scanPrintable32(buf, 100, 24)).toBe(false);
        // Bytes past the end (here the one just set) do not count.
        for (let n = 0; n <= at; n++) expect(s.scanPrintable32(buf, n, 24)).toBe(true);
        buf[at] = 0x30;
      }
    }
  });

  it('candidates: sled landings, the starts before each trigger, triggers that read their address, heads', async () => {
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const s = new StaticScan();
    // References: walk each start's path step by step (no memo, no shortcut) for the earliest
    // start within `window` bytes whose path reaches t within at most 47 moves...
    const entryBefore = (t: number, window: number): number => {
      for (let st = Math.max(0, t - window); st < t; st++) {
        let p = st;
        for (let moves = 0; moves < 48; moves++) {
          if (p === t) return st;
          if (p < 0 || p >= s.len) break;
          const n = s.ilen[p]!;
          if (n === 0) break;
          const k = s.kind[p]!;
          if (k === Kind.Jmp || k === Kind.Call) p = s.tgt[p]!;
          else if (k === Kind.Normal || k === Kind.Jcc || k === Kind.Loop || k === Kind.Int || k === Kind.Syscall || k === Kind.Sysenter) p += n;
          else break;
        }
      }
      return t;
    };
    // ...and the nearest of the 15 offsets before p whose plain instruction or gate ends at p.
    const back = (p: number): number => {
      for (let j = p - 1; j >= 0 && j >= p - 15; j--) {
        const k = s.kind[j]!;
        if (s.ilen[j] !== 0 && j + s.ilen[j]! === p && (k === Kind.Normal || k === Kind.Int || k === Kind.Syscall || k === Kind.Sysenter)) return j;
      }
      return -1;
    };
    const reference = (max: number, triggerRoom: number, entryTypes: number): number[] => {
      const out: number[] = [];
      const add = (o: number): void => {
        if (o >= 0 && o < s.len && out.length < max && !out.includes(o)) out.push(o);
      };
      for (let i = 0; i < s.nLandings; i++) add(s.landings[i]!);
      for (let i = 0; i < s.nTrig && out.length < triggerRoom; i++) {
        const t = s.trigOff[i]!;
        // 3 predecessors back (or as far as they go), then 8 when the first 3 exist.
        let p = t, d = 0;
        while (d < 3 && back(p) >= 0) { p = back(p); d++; }
        add(p);
        if (d === 3) {
          while (d < 8 && back(p) >= 0) { p = back(p); d++; }
          add(p);
        }
        add(entryBefore(t, 64));
        if ((entryTypes >> s.trigType[i]!) & 1) add(t);
      }
      for (let i = 0; i < 4; i++) {
        const h = s.headOff[i]!;
        if (h < 0) continue;
        add(h);
        for (let k = 1; k < s.ilen[h]! && k < 3; k++) add(h + k);
      }
      return out;
    };
    let triggers = 0;
    for (let k = 0; k < 450; k++) {
      const buf = entryInput(k);
      for (const m64 of [false, true]) {
        s.scan(buf, buf.length, m64);
        triggers += s.nTrig;
        // As analyzeMode asks, and with room for every start (so every trigger is looked at).
        for (const [minChain, max, room, types] of [[8, 24, 20, 0x26], [24, 24, 20, 0x26], [8, 300, 300, rnd() & 0x3e]] as const) {
          const out = new Int32Array(max);
          const n = s.candidates(out, minChain, room, types);
          expect(Array.from(out.subarray(0, n))).toEqual(reference(max, room, types));
        }
      }
    }
    expect(triggers).toBeGreaterThan(5000);
  });

  /** Entry-path inputs: code-like bytes, random bytes, or UTF-8 text (full of triggers). */
  const codePool = [0x90, 0x41, 0xeb, 0xe9, 0xe8, 0x74, 0xe2, 0xcd, 0x80, 0x0f, 0x05, 0xff, 0xc3, 0x66, 0x2e, 0x31, 0xc0, 0x04];
  const words = ['привет', 'ελληνικά ίσως', 'مرحبا بالعالم', 'שלום עולם', 'გამარჯობა', '한국어 텍스트', '中文字符', '日本語のテキスト', '😀🎉👍', 'naïve café '];
  function entryInput(k: number): Uint8Array {
    if (k % 3 === 2) {
      let text = '';
      while (text.length < 40 + (rnd() % 300)) text += words[rnd() % words.length]! + (rnd() % 2 ? ' ' : '');
      return new TextEncoder().encode(text);
    }
    const n = 40 + (rnd() % 300);
    const buf = new Uint8Array(n);
    for (let i = 0; i < n; i++) buf[i] = k % 3 ? rnd() & 255 : codePool[rnd() % codePool.length]!;
    return buf;
  }
});

describe('static scan: text class', () => {
  // Reference: decode each UTF-8 sequence to its code point and check its range.
  const reference = (a: Uint8Array): number => {
    let ascii = true;
    for (let i = 0; i < a.length; i++) {
      const b = a[i]!;
      if (b >= 0x20 && b < 0x7f) continue;
      if (b < 0x80) return 0;
      ascii = false;
      const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
      if (need === 0 || i + need >= a.length) return 0;
      let cp = b & (0x3f >> need);
      for (let k = 1; k <= need; k++) {
        if ((a[i + k]! & 0xc0) !== 0x80) return 0;
        cp = (cp << 6) | (a[i + k]! & 0x3f);
      }
      if (cp < [0, 0x80, 0x800, 0x10000][need]! || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
      i += need;
    }
    return ascii ? 2 : 1;
  };

  it('matches the reference on edge cases and random bytes', async () => {
    const { StaticScan } = await import('../../src/malicious-code/static-scan.js');
    const s = new StaticScan();
    const check = (a: Uint8Array): void => expect([...a].join(' ') + ' -> ' + s.textClass(a, a.length)).toBe([...a].join(' ') + ' -> ' + reference(a));
    const edge = [
      [], [0x41], [0x20, 0x7e], [0x1f], [0x7f], [0x09], [0x0a], [0x00],
      [0xc2, 0x80], [0xc1, 0xbf], [0xc0, 0x80], [0xdf, 0xbf], [0xc2], [0xc2, 0x41], [0x80], [0xbf],
      [0xe0, 0xa0, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
      [0xee, 0x80, 0x80], [0xef, 0xbf, 0xbf], [0xe1, 0x80], [0xe1, 0x80, 0x41],
      [0xf0, 0x90, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80], [0xff], [0xf3, 0xbf, 0xbf], [0xf1, 0x80, 0x80, 0x7f],
    ];
    for (const e of edge) {
      check(Uint8Array.from(e));
      check(Uint8Array.from([0x41, ...e, 0x41]));
    }
    check(new TextEncoder().encode('привет мир ελληνικά שלום 한국어 中文 😀 naïve'));
    let x = 5;
    const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16;
    const pool = [0x41, 0x20, 0x7e, 0x7f, 0x1f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
    for (let k = 0; k < 20000; k++) {
      const a = new Uint8Array(rnd() % 12);
      for (let i = 0; i < a.length; i++) a[i] = rnd() % 4 ? pool[rnd() % pool.length]! : rnd() & 255;
      check(a);
    }
  });
});
