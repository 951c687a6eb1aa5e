import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { analyzeArgument } from '../../src/malicious-code/index.js';
import { Rng } from './samples/prng.js';
import { SHELLCODES } from './samples/shellcodes.js';
import { alphanumeric, fpuXorFeedback, sled, xorJmpCallPop } from './samples/encoders.js';

const te = new TextEncoder();
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const execve = SHELLCODES.find((s) => s.name === 'x86-execve-stack')!.bytes;

describe('analyzeArgument: shellcode in command arguments', () => {
  it('flags a plain execve /bin/sh in RCPT TO:<...> at medium, naming where the gate is', () => {
    const arg = cat(te.encode('<'), execve, te.encode('@example.com>'));
    const r = analyzeArgument(arg, 'medium');
    expect(r.malicious).toBe(true);
    const sys = r.signals.find((s) => s.name === 'syscall');
    expect(sys).toBeDefined();
    expect(sys!.offset).toBe(1 + execve.length - 2); // the int 0x80 inside the argument
    expect(sys!.detail).toMatch(/execve/);
  });

  it('finds the GetPC and the decoder loop of an XOR-encoded payload behind a NOP sled', () => {
    const rng = new Rng(7);
    const code = cat(sled('nop', 64, 'x86', rng), xorJmpCallPop(execve, rng));
    const r = analyzeArgument(cat(te.encode('mail.example.com.'), code), 'medium');
    expect(r.malicious).toBe(true);
    const names = r.signals.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['sled', 'getpc', 'decoder-loop', 'syscall']));
    // The sled starts at 17, or at 16 where the '.' before it (a CS prefix) joins it.
    const at = r.signals.find((s) => s.name === 'sled')!.offset;
    expect(at === 16 || at === 17).toBe(true);
  });

  it('recognises fnstenv GetPC', () => {
    const r = analyzeArgument(cat(te.encode('2 '), fpuXorFeedback(execve, new Rng(3))), 'medium');
    expect(r.malicious).toBe(true);
    expect(r.signals.find((s) => s.name === 'getpc')!.detail).toMatch(/fnstenv/);
  });

  it('flags alphanumeric shellcode, which is plain printable text', () => {
    const code = alphanumeric(execve, new Rng(11));
    const text = new TextDecoder().decode(code);
    expect(text).toMatch(/^[0-9A-Za-z]+$/);
    const r = analyzeArgument(te.encode(`<${text}@example.org>`), 'medium');
    expect(r.malicious).toBe(true);
    expect(r.signals.map((s) => s.name)).toContain('alnum-code');
  });

  it('0x0c0c-family sleds count as sleds', () => {
    const r = analyzeArgument(cat(te.encode('<'), sled('0c0c', 80, 'x86', new Rng(1)), execve), 'high');
    expect(r.signals.find((s) => s.name === 'sled')?.weight).toBeGreaterThanOrEqual(15);
    expect(r.malicious).toBe(true);
  });

  it('sensitivity maps to thresholds: high flags what medium flags', () => {
    const arg = cat(te.encode('<'), execve, te.encode('>'));
    const hi = analyzeArgument(arg, 'high');
    const med = analyzeArgument(arg, 'medium');
    expect(hi.score).toBe(med.score);
    expect(hi.malicious).toBe(true);
  });
});

describe('analyzeArgument: benign arguments', () => {
  const benign = [
    '<john.smith@example.com>',
    '<user+some-very-long-subaddress-tag-0123456789abcdefghijklmnopqrstuvwxyz@mail.example.org> SIZE=123456 BODY=8BITMIME',
    '<"john doe"@example.com>',
    '<postmaster@[IPv6:2001:db8::1]>',
    '<admin@[192.0.2.1]>',
    '<пользователь@пример.рф> SMTPUTF8',
    '<用户@例子.广告> SMTPUTF8',
    '<χρήστης@παράδειγμα.ελ>',
    'mail.example.com',
    '[IPv6:2001:db8:85a3::8a2e:370:7334]',
    '<>',
    `PLAIN ${Buffer.from('\0user@example.com\0correct horse battery staple').toString('base64')}`,
    Buffer.from(new Rng(5).bytes(300)).toString('base64'),
    'A'.repeat(400),
    `<${'x'.repeat(200)}@example.com>`,
  ];
  for (const b of benign) {
    it(`does not flag ${JSON.stringify(b.slice(0, 50))}`, () => {
      const r = analyzeArgument(te.encode(b), 'high');
      expect(r.malicious).toBe(false);
    });
  }
  it('does not read UTF-8 text as x86-64 code (there "э" then "5", "-", "=" or "%" is a lea of RIP, a GetPC)', () => {
    // Russian words with digits and punctuation: a fifth of these were flagged at high when text
    // was also analysed in 64-bit mode.
    const rng = new Rng(7);
    const alphabet = [...'абвгдежзийклмнопрстуфхцчшщъыьэюя0123456789.-_5=%@'];
    for (let k = 0; k < 200; k++) {
      let s = '';
      for (let i = 0; i < 160; i++) s += rng.pick(alphabet);
      expect(analyzeArgument(te.encode(s), 'high').malicious, s).toBe(false);
    }
  });
    it('rejects short text without analysis (score 0)', () => {
    expect(analyzeArgument(te.encode('<a@b.c>'), 'high')).toEqual({ malicious: false, score: 0, signals: [] });
  });
});

describe('analyzeArgument: robustness', () => {
  it('never throws on random bytes and keeps its output contract', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom('low', 'medium', 'high'), (bytes, s) => {
      const r = analyzeArgument(bytes, s as 'low' | 'medium' | 'high');
      if (r.signals.length > 32) return false;
      for (const sig of r.signals) {
        if (sig.name.length > 16 || (sig.detail !== undefined && sig.detail.length >= 200)) return false;
        if (!Number.isInteger(sig.offset)) return false;
      }
      return Number.isFinite(r.score) && r.score >= 0;
    }), { numRuns: 400 });
  });
  it('handles empty, oversized and pathological inputs', () => {
    expect(analyzeArgument(new Uint8Array(0), 'high').malicious).toBe(false);
    expect(() => analyzeArgument(new Uint8Array(64 * 1024).fill(0x90), 'high')).not.toThrow();
    expect(() => analyzeArgument(new Uint8Array(16 * 1024).fill(0xe2), 'high')).not.toThrow(); // loop-to-self everywhere
    expect(() => analyzeArgument(new Uint8Array(16 * 1024).fill(0xf3), 'high')).not.toThrow(); // prefixes only
    const rep = new Uint8Array(16 * 1024);
    for (let i = 0; i < rep.length; i += 2) { rep[i] = 0xf3; rep[i + 1] = 0xa4; } // rep movsb everywhere
    expect(() => analyzeArgument(rep, 'high')).not.toThrow();
  });
  it('a long binary NOP sled alone is suspicious at high but not proof at medium', () => {
    const r = analyzeArgument(new Uint8Array(200).fill(0x90), 'medium');
    expect(r.signals.map((s) => s.name)).toContain('sled');
    expect(r.malicious).toBe(false);
    expect(analyzeArgument(new Uint8Array(200).fill(0x90), 'high').malicious).toBe(true);
  });
});
