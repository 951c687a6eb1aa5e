/**
 * The benign evaluation set: realistic command arguments generated from a seed, plus the
 * argument lines of the real captures in fixtures/corpus.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from './prng.js';

export interface BenignSample { kind: string; arg: Uint8Array }

const te = new TextEncoder();

const FIRST = ['john', 'mary', 'li', 'wei', 'ana', 'jose', 'fatima', 'olga', 'pierre', 'hans', 'yuki', 'raj', 'priya', 'ahmed', 'sven', 'chloe', 'noah', 'mia', 'lucas', 'emma', 'support', 'noreply', 'billing', 'postmaster', 'abuse', 'info', 'sales', 'admin', 'newsletter', 'bounce'];
const LAST = ['smith', 'garcia', 'wang', 'nguyen', 'mueller', 'rossi', 'kowalski', 'ivanov', 'tanaka', 'kim', 'silva', 'dubois', 'oconnor', 'van-dijk', 'al-rashid', 'jensen'];
const TLD = ['com', 'net', 'org', 'de', 'fr', 'jp', 'cn', 'ru', 'io', 'co.uk', 'com.br', 'example', 'museum', 'xn--p1ai', 'xn--fiqs8s'];
const WORDS = ['mail', 'mx', 'smtp', 'relay', 'out', 'in', 'edge', 'gw', 'mta', 'corp', 'cloud', 'secure', 'bulk', 'eu-west-1', 'prod', 'mx01', 'o365', 'outbound', 'protection', 'outlook', 'google', 'amazonses', 'sendgrid', 'mailgun'];
// Scripts for SMTPUTF8 parts: [first code point, last code point].
const SCRIPTS: [number, number][] = [[0x430, 0x44f], [0x3b1, 0x3c9], [0x4e00, 0x9fa5], [0x627, 0x64a], [0x905, 0x939], [0x5d0, 0x5ea], [0xe0, 0xff], [0x3041, 0x3096], [0xac00, 0xd7a3], [0xe01, 0xe2e], [0x10d0, 0x10f0], [0x1f600, 0x1f64f]];
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';

function str(rng: Rng, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.u32() % alphabet.length];
  return s;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function utf8Word(rng: Rng, n: number): string {
  const [a, b] = rng.pick(SCRIPTS);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.int(a, b));
  return s;
}

function label(rng: Rng): string {
  return rng.chance(0.6) ? rng.pick(WORDS) : str(rng, ALNUM, rng.int(2, 14));
}

function domain(rng: Rng): string {
  const parts: string[] = [];
  const n = rng.int(1, 4);
  for (let i = 0; i < n; i++) parts.push(label(rng));
  return `${parts.join('.')}.${rng.pick(TLD)}`;
}

function ipv4(rng: Rng): string {
  return `${rng.int(1, 254)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

function ipv6(rng: Rng): string {
  const groups = Array.from({ length: 8 }, () => rng.u32().toString(16).slice(0, rng.int(1, 4)));
  if (rng.chance(0.5)) {
    const a = rng.int(1, 4), b = rng.int(a, 7);
    return `${groups.slice(0, a).join(':')}::${groups.slice(b).join(':')}`;
  }
  if (rng.chance(0.2)) return `::ffff:${ipv4(rng)}`;
  return groups.join(':');
}

function localPart(rng: Rng): string {
  switch (rng.int(0, 9)) {
    case 0: return `${rng.pick(FIRST)}.${rng.pick(LAST)}`;
    case 1: return `${rng.pick(FIRST)}${rng.int(1, 9999)}`;
    case 2: return `${rng.pick(FIRST)}+${str(rng, ALNUM + '-_.', rng.int(3, 120))}`; // long subaddress tag
    case 3: return `"${rng.pick(FIRST)} ${rng.pick(LAST)}"`;
    case 4: return `"${str(rng, ' !#$%&\'*+-/=?^_`{|}~.(),:;<>@[]', rng.int(3, 30)).replace(/["\\]/g, '')}"`;
    case 5: return `${utf8Word(rng, rng.int(2, 12))}`;
    case 6: return `${rng.pick(FIRST)}_${rng.pick(LAST)}-${str(rng, HEX, 8)}`;
    case 7: return `bounces+${rng.int(1000, 99999999)}-${str(rng, HEX, 4)}-${rng.pick(FIRST)}=${label(rng)}.com`; // VERP
    case 8: return `SRS0=${str(rng, B64.slice(0, 62), 4)}=${str(rng, ALNUM.toUpperCase(), 2)}=${domain(rng)}=${rng.pick(FIRST)}`;
    default: return `prvs=${rng.int(0, 9)}${str(rng, HEX, 9)}=${rng.pick(FIRST)}.${rng.pick(LAST)}`;
  }
}

function address(rng: Rng): string {
  const r = rng.u32() % 20;
  let dom: string;
  if (r === 0) dom = `[${ipv4(rng)}]`;
  else if (r === 1) dom = `[IPv6:${ipv6(rng)}]`;
  else if (r < 4) dom = `${utf8Word(rng, rng.int(2, 10))}.${rng.chance(0.5) ? utf8Word(rng, rng.int(2, 4)) : rng.pick(TLD)}`;
  else dom = domain(rng);
  return `${localPart(rng)}@${dom}`;
}

function mailParams(rng: Rng): string {
  const ps: string[] = [];
  if (rng.chance(0.5)) ps.push(`SIZE=${rng.int(100, 50_000_000)}`);
  if (rng.chance(0.3)) ps.push(rng.pick(['BODY=8BITMIME', 'BODY=7BIT', 'BODY=BINARYMIME']));
  if (rng.chance(0.15)) ps.push('SMTPUTF8');
  if (rng.chance(0.1)) ps.push(`RET=${rng.pick(['FULL', 'HDRS'])}`);
  if (rng.chance(0.1)) ps.push(`ENVID=${str(rng, B64.slice(0, 62) + '+', rng.int(8, 60))}`);
  if (rng.chance(0.05)) ps.push(`AUTH=<${rng.chance(0.5) ? '' : `${rng.pick(FIRST)}@${domain(rng)}`}>`);
  return ps.length ? ` ${ps.join(' ')}` : '';
}

function rcptParams(rng: Rng): string {
  const ps: string[] = [];
  if (rng.chance(0.15)) ps.push(`NOTIFY=${rng.pick(['NEVER', 'SUCCESS', 'SUCCESS,FAILURE', 'FAILURE,DELAY'])}`);
  if (rng.chance(0.1)) ps.push(`ORCPT=rfc822;${address(rng).replace(/[^\x21-\x7e]/g, (c) => `\\x{${c.codePointAt(0)!.toString(16).toUpperCase()}}`)}`);
  return ps.length ? ` ${ps.join(' ')}` : '';
}

function printable(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(0x20, 0x7e));
  return s;
}

/** One generated argument of a given family. */
function generate(rng: Rng): { kind: string; text: string } {
  const r = rng.u32() % 100;
  if (r < 30) return { kind: 'rcpt', text: `<${address(rng)}>${rcptParams(rng)}` };
  if (r < 50) return { kind: 'mail', text: `${rng.chance(0.05) ? '<>' : `<${address(rng)}>`}${mailParams(rng)}` };
  if (r < 58) {
    const h = rng.u32() % 10;
    const text = h === 0 ? `[${ipv4(rng)}]` : h === 1 ? `[IPv6:${ipv6(rng)}]` : h === 2 ? label(rng) : domain(rng);
    return { kind: 'helo', text };
  }
  if (r < 66) {
    // AUTH PLAIN/LOGIN exchanges: base64 of random or credential-like bytes.
    const raw = rng.chance(0.5) ? rng.bytes(rng.int(4, 400)) : te.encode(`\0${address(rng)}\0${printable(rng, rng.int(6, 40))}`);
    const mech = rng.pick(['PLAIN ', 'LOGIN ', '', '', 'EXTERNAL ']);
    return { kind: 'auth', text: mech + base64(raw) };
  }
  if (r < 69) {
    // XOAUTH2 / OAUTHBEARER: long base64 of a bearer token.
    const tok = `user=${address(rng)}\x01auth=Bearer ya29.${str(rng, B64.slice(0, 62) + '-_', rng.int(100, 1800))}\x01\x01`;
    return { kind: 'auth-oauth', text: `${rng.pick(['XOAUTH2 ', 'OAUTHBEARER ', ''])}${base64(te.encode(tok))}` };
  }
  if (r < 72) return { kind: 'auth-cram', text: base64(te.encode(`${rng.pick(FIRST)} ${str(rng, HEX, 32)}`)) };
  if (r < 82) return { kind: 'printable', text: printable(rng, rng.chance(0.8) ? rng.int(1, 80) : rng.int(80, 1000)) };
  if (r < 86) return { kind: 'vrfy', text: rng.chance(0.5) ? `${rng.pick(FIRST)} ${rng.pick(LAST)}` : address(rng) };
  if (r < 90) return { kind: 'utf8-text', text: `${utf8Word(rng, rng.int(1, 300))}` };
  if (r < 93) return { kind: 'token', text: str(rng, rng.chance(0.5) ? HEX : B64.slice(0, 62), rng.int(16, 512)) };
  if (r < 96) {
    // Unknown verbs / ETRN / XCLIENT style key=value lists.
    return { kind: 'xclient', text: `NAME=${domain(rng)} ADDR=${rng.chance(0.5) ? ipv4(rng) : `IPV6:${ipv6(rng)}`} PORT=${rng.int(1, 65535)} HELO=${domain(rng)} LOGIN=${rng.pick(FIRST)}` };
  }
  // Long but legitimate shapes: repeated characters, long tags, mixed scripts.
  const k = rng.u32() % 4;
  if (k === 0) return { kind: 'repeat', text: `<${rng.pick(['a', 'x', 'A', '0', '-', 'z']).repeat(rng.int(20, 300))}@${domain(rng)}>` };
  if (k === 1) return { kind: 'long-tag', text: `<${rng.pick(FIRST)}+${str(rng, B64.slice(0, 62), rng.int(100, 400))}@${domain(rng)}>` };
  if (k === 2) return { kind: 'mixed-utf8', text: `<${utf8Word(rng, rng.int(5, 60))}.${rng.pick(FIRST)}@${utf8Word(rng, rng.int(3, 30))}.${rng.pick(TLD)}> SMTPUTF8` };
  return { kind: 'hostname-list', text: Array.from({ length: rng.int(5, 40) }, () => domain(rng)).join(',') };
}

const VERB = /^(MAIL|RCPT|EHLO|HELO|VRFY|EXPN|AUTH)\b/i;

/**
 * Argument lines from the real captures: a crude scan of the raw file bytes for CRLF-terminated
 * printable lines starting with a command verb (good enough: pcap framing does not matter).
 */
export function corpusArguments(root: string): BenignSample[] {
  const out: BenignSample[] = [];
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.pcap(ng)?$/.test(e)) files.push(p);
    }
  };
  try { walk(root); } catch { return out; }
  for (const f of files.sort()) {
    const buf = readFileSync(f);
    let start = 0;
    for (let i = 0; i + 1 < buf.length; i++) {
      if (buf[i] === 0x0d && buf[i + 1] === 0x0a) {
        // Walk back from the CRLF to the start of the printable run.
        let s = i;
        while (s > start && s > i - 2000 && buf[s - 1]! >= 0x20 && buf[s - 1]! < 0x7f) s--;
        const line = buf.subarray(s, i).toString('latin1');
        const m = VERB.exec(line);
        if (m) {
          let arg = line.slice(m[0].length);
          arg = arg.replace(/^\s*(FROM|TO)\s*:/i, '').replace(/^\s+/, '');
          if (arg.length > 0) out.push({ kind: 'corpus', arg: new Uint8Array(Buffer.from(arg, 'latin1')) });
        }
        start = i + 2;
      }
    }
  }
  return out;
}

export function benignSet(count = 100_000, seed = 0xbe9191, corpusRoot?: string): BenignSample[] {
  const rng = new Rng(seed);
  const out: BenignSample[] = [];
  for (let i = 0; i < count; i++) {
    const g = generate(rng);
    out.push({ kind: g.kind, arg: te.encode(g.text) });
  }
  if (corpusRoot !== undefined) out.push(...corpusArguments(corpusRoot));
  return out;
}
