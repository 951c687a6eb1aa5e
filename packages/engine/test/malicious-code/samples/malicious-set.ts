/**
 * The malicious evaluation set: every shellcode, raw and through each encoder that fits its
 * architecture, once without and once with a sled, embedded in a realistic command argument.
 */
import { Rng } from './prng.js';
import { SHELLCODES, type Shellcode } from './shellcodes.js';
import { addRet, alphanumeric, clean, fpuXorFeedback, sled, xorJmpCallPop, xorRipRelative, type SledKind } from './encoders.js';

export type EncoderName = 'raw' | 'xor-jcp' | 'fpu-xor' | 'add-ret' | 'xor-rip' | 'alnum';

export interface MaliciousSample {
  id: string;
  shellcode: string;
  arch: 'x86' | 'x64';
  encoder: EncoderName;
  sled: SledKind | 'none';
  verb: string;
  /** Argument bytes (what follows the verb, e.g. after "RCPT TO:"). */
  arg: Uint8Array;
  /** Where the code (sled or stub) starts inside `arg`. */
  codeAt: number;
}

const ENCODERS: Record<'x86' | 'x64', EncoderName[]> = {
  x86: ['raw', 'xor-jcp', 'fpu-xor', 'add-ret', 'alnum'],
  x64: ['raw', 'xor-jcp', 'xor-rip'],
};

function encode(sc: Shellcode, enc: EncoderName, rng: Rng): Uint8Array {
  switch (enc) {
    case 'raw': return sc.bytes;
    case 'xor-jcp': return xorJmpCallPop(withEntry(sc), rng);
    case 'fpu-xor': return fpuXorFeedback(withEntry(sc), rng);
    case 'add-ret': return addRet(withEntry(sc), rng);
    case 'xor-rip': return xorRipRelative(withEntry(sc), rng);
    case 'alnum': return alphanumeric(withEntry(sc), rng);
  }
}

/** A shellcode whose entry is not its first byte gets a short jump over its leading data. */
function withEntry(sc: Shellcode): Uint8Array {
  if (sc.entry === 0) return sc.bytes;
  const out = new Uint8Array(sc.bytes.length + 2);
  out[0] = 0xeb;
  out[1] = sc.entry;
  out.set(sc.bytes, 2);
  return out;
}

const te = new TextEncoder();
const HOSTS = ['mail.example.com', 'mx1.example.net', 'relay.corp.example', 'smtp.example.org'];

/** Frame code as the argument of a command; returns the argument and the code offset. */
function frame(verb: string, code: Uint8Array, rng: Rng): { arg: Uint8Array; codeAt: number } {
  let pre: string;
  let post: string;
  switch (verb) {
    case 'RCPT': pre = '<'; post = `@${rng.pick(HOSTS)}>`; break;
    case 'MAIL': pre = rng.chance(0.5) ? '<' : '<bounce@example.org> ENVID='; post = rng.chance(0.5) ? '>' : ' SIZE=1024'; break;
    case 'EHLO': pre = `${rng.pick(HOSTS)}.`; post = ''; break;
    case 'XEXCH50': pre = `${code.length} 2 `; post = ''; break;
    case 'AUTH': pre = 'PLAIN '; post = ''; break;
    default: pre = ''; post = '';
  }
  const a = te.encode(pre);
  const b = te.encode(post);
  const arg = new Uint8Array(a.length + code.length + b.length);
  arg.set(a, 0);
  arg.set(code, a.length);
  arg.set(b, a.length + code.length);
  return { arg, codeAt: a.length };
}

const VERBS = ['RCPT', 'MAIL', 'EHLO', 'XEXCH50', 'AUTH', 'VRFY'];

export function maliciousSet(seed = 0x5eed): MaliciousSample[] {
  const rng = new Rng(seed);
  const out: MaliciousSample[] = [];
  let v = 0;
  for (const sc of SHELLCODES) {
    for (const enc of ENCODERS[sc.arch]) {
      for (const withSled of [false, true]) {
        const code = encode(sc, enc, rng);
        let sledKind: SledKind | 'none' = 'none';
        let full = code;
        if (withSled) {
          sledKind = enc === 'alnum' ? 'alnum' : rng.pick(['nop', '0c0c', '0c90', 'poly', 'poly'] as const);
          const s = sled(sledKind, rng.int(24, 96), sc.arch, rng);
          full = new Uint8Array(s.length + code.length);
          full.set(s, 0);
          full.set(code, s.length);
        }
        if (enc !== 'raw' && !clean(full)) throw new Error(`${sc.name}/${enc}: bad byte`);
        const verb = VERBS[v++ % VERBS.length]!;
        const { arg, codeAt } = frame(verb, full, rng);
        out.push({
          id: `${sc.name}/${enc}/${sledKind}/${verb}`,
          shellcode: sc.name, arch: sc.arch, encoder: enc, sled: sledKind, verb, arg, codeAt,
        });
      }
    }
  }
  return out;
}
