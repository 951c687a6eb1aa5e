/**
 * MAIL FROM / RCPT TO argument parser (RFC 5321 4.1.2, 3.3; RFC 6531 for UTF-8).
 *
 * It reads the tolerant way most MTAs do (a space after the colon, a path without angle
 * brackets, dot errors in the local part) and reports each tolerance by name, so the
 * policy decides whether a tolerated form counts as non-compliant. Input is the argument
 * decoded as latin1 (one char per byte); UTF-8 bytes arrive as chars >= 0x80 and are
 * accepted as atext: judging 8-bit bytes is the Binary Data protection's job.
 */

export interface ParsedPath {
  /** The path has an `@domain` (or address literal). */
  hasDomain: boolean;
  /** `<>`: the null reverse-path. */
  isNull: boolean;
  /** `<postmaster>` without a domain (case-insensitive). */
  isPostmaster: boolean;
  localPart: string;
  /** null when the path has no `@domain`. */
  domain: string | null;
  /** Source route hops (`@a,@b:`), kept only to report them. */
  route: readonly string[];
}

export type AddressTolerance =
  | 'space-after-colon'
  | 'no-angle-brackets'
  | 'local-part-dot-error'
  | 'trailing-space';

export type ParsedMailArgument =
  | { ok: true; path: ParsedPath; params: Map<string, string | null>; tolerated: AddressTolerance[] }
  | { ok: false; error: string };

const ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isAtext(c: number): boolean {
  return isAlnum(c) || c >= 0x80 || ATEXT_SPECIALS.includes(String.fromCharCode(c));
}

/** The shape nearly all real traffic has: `<local@domain>` with plain dot-atoms and simple parameters. */
const COMMON = /^(?:FROM|TO):<([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*)@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)>((?: [A-Za-z0-9][A-Za-z0-9-]*(?:=[\x21-\x2a\x2c-\x3c\x3e-\x7e]+)?)*)$/i;

/** Shared by every parameter-less path; never written to. */
const NO_PARAMS: Map<string, string | null> = new Map();

export function parseMailArgument(argument: string, verb: 'MAIL' | 'RCPT'): ParsedMailArgument {
  const common = COMMON.exec(argument);
  // The keyword must match the verb (F for FROM, T for TO); values with "+" (xtext escapes) take the full path.
  if (common && ((argument.charCodeAt(0) | 0x20) === 102) === (verb === 'MAIL')) {
    const rest = common[3]!;
    const params = rest.length > 0 ? new Map<string, string | null>() : NO_PARAMS;
    if (rest.length > 0) {
      for (const token of rest.slice(1).split(' ')) {
        const eq = token.indexOf('=');
        params.set((eq < 0 ? token : token.slice(0, eq)).toUpperCase(), eq < 0 ? null : token.slice(eq + 1));
      }
      const size = params.get('SIZE');
      const needsFullCheck = (size !== undefined && (size === null || !/^\d{1,20}$/.test(size))) || (params.has('SMTPUTF8') && params.get('SMTPUTF8') !== null);
      if (needsFullCheck) return parseMailArgumentFully(argument, verb);
    }
    return { ok: true, path: { hasDomain: true, isNull: false, isPostmaster: false, localPart: common[1]!, domain: common[2]!, route: [] }, params, tolerated: [] };
  }
  return parseMailArgumentFully(argument, verb);
}

function parseMailArgumentFully(argument: string, verb: 'MAIL' | 'RCPT'): ParsedMailArgument {
  const keyword = verb === 'MAIL' ? 'FROM:' : 'TO:';
  const tolerated: AddressTolerance[] = [];
  let text = argument;
  if (text.slice(0, keyword.length).toUpperCase() !== keyword) {
    return { ok: false, error: `expected "${verb} ${keyword}<path>"` };
  }
  text = text.slice(keyword.length);
  if (text.startsWith(' ')) {
    tolerated.push('space-after-colon');
    text = text.replace(/^ +/, '');
  }
  if (/ +$/.test(text)) {
    tolerated.push('trailing-space');
    text = text.replace(/ +$/, '');
  }
  if (text.length === 0) return { ok: false, error: 'empty path' };

  let pathText: string;
  let rest: string;
  if (text.startsWith('<')) {
    const close = findPathEnd(text);
    if (close < 0) return { ok: false, error: 'unbalanced "<" in path' };
    pathText = text.slice(1, close);
    rest = text.slice(close + 1);
  } else {
    tolerated.push('no-angle-brackets');
    const space = text.indexOf(' ');
    pathText = space < 0 ? text : text.slice(0, space);
    rest = space < 0 ? '' : text.slice(space);
    if (pathText.includes('<') || pathText.includes('>')) return { ok: false, error: 'unbalanced "<" or ">" in path' };
  }
  if (rest.length > 0 && !rest.startsWith(' ')) return { ok: false, error: 'text after the path without a space' };

  const path = parsePath(pathText, verb, tolerated);
  if (typeof path === 'string') return { ok: false, error: path };

  const params = new Map<string, string | null>();
  for (const token of rest.split(' ')) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const key = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? null : token.slice(eq + 1);
    if (!/^[A-Z0-9][A-Z0-9-]*$/.test(key)) return { ok: false, error: `bad ESMTP parameter keyword "${key}"` };
    if (value !== null && !/^[\x21-\x3c\x3e-\x7e\x80-\xff]+$/.test(value)) {
      return { ok: false, error: `bad value for ESMTP parameter ${key}` };
    }
    if (key === 'SMTPUTF8' && value !== null) return { ok: false, error: 'SMTPUTF8 takes no value (RFC 6531 3.4)' };
    if ((key === 'ENVID' || key === 'ORCPT') && value !== null && /\+0[dD]|\+0[aA]|\+00/.test(value)) {
      return { ok: false, error: `${key} xtext encodes CR, LF or NUL` };
    }
    if (key === 'SIZE' && (value === null || !/^\d{1,20}$/.test(value))) return { ok: false, error: 'SIZE needs a number' };
    params.set(key, value);
  }
  return { ok: true, path, params, tolerated };
}

/** Index of the `>` closing the path, skipping quoted strings and address literals. */
function findPathEnd(text: string): number {
  let inQuote = false;
  let inLiteral = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
    } else if (inLiteral) {
      if (c === ']') inLiteral = false;
    } else if (c === '"') inQuote = true;
    else if (c === '[') inLiteral = true;
    else if (c === '>') return i;
    else if (c === '<') return -1;
  }
  return -1;
}

function parsePath(text: string, verb: 'MAIL' | 'RCPT', tolerated: AddressTolerance[]): ParsedPath | string {
  if (text === '') {
    if (verb === 'RCPT') return 'empty recipient path';
    return { hasDomain: false, isNull: true, isPostmaster: false, localPart: '', domain: null, route: [] };
  }
  const route: string[] = [];
  let rest = text;
  if (rest.startsWith('@')) {
    const colon = rest.indexOf(':');
    if (colon < 0) return 'source route without ":" and mailbox';
    for (const hop of rest.slice(0, colon).split(',')) {
      if (!hop.startsWith('@') || !isDomain(hop.slice(1))) return `bad source route hop "${hop}"`;
      route.push(hop.slice(1));
    }
    rest = rest.slice(colon + 1);
    if (rest === '') return 'source route without a mailbox';
  }

  let localPart: string;
  let afterLocal: string;
  if (rest.startsWith('"')) {
    const end = quotedStringEnd(rest);
    if (end < 0) return 'unterminated quoted local part';
    localPart = rest.slice(0, end + 1);
    afterLocal = rest.slice(end + 1);
  } else {
    const at = rest.lastIndexOf('@');
    localPart = at < 0 ? rest : rest.slice(0, at);
    afterLocal = at < 0 ? '' : rest.slice(at);
    const dotString = checkDotString(localPart);
    if (dotString === 'bad') return `bad character in local part "${localPart}"`;
    if (dotString === 'dot-error') tolerated.push('local-part-dot-error');
  }
  if (localPart === '') return 'empty local part';

  if (afterLocal === '') {
    return {
      hasDomain: false,
      isNull: false,
      isPostmaster: route.length === 0 && localPart.toLowerCase() === 'postmaster',
      localPart,
      domain: null,
      route,
    };
  }
  if (!afterLocal.startsWith('@')) return 'text after the quoted local part';
  const domain = afterLocal.slice(1);
  if (domain.startsWith('[')) {
    if (!domain.endsWith(']') || !isAddressLiteral(domain.slice(1, -1))) return `bad address literal "${domain}"`;
  } else if (!isDomain(domain)) {
    return `bad domain "${domain}"`;
  }
  return { hasDomain: true, isNull: false, isPostmaster: false, localPart, domain, route };
}

function quotedStringEnd(text: string): number {
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 32 && next <= 126)) return -1;
      i++;
    } else if (c === 0x22) return i;
    else if (c < 32 || c === 127) return -1;
  }
  return -1;
}

function checkDotString(text: string): 'ok' | 'dot-error' | 'bad' {
  let dotError = false;
  let previousDot = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (previousDot) dotError = true;
      previousDot = true;
    } else if (isAtext(c)) previousDot = false;
    else return 'bad';
  }
  if (previousDot && text.length > 0) dotError = true;
  return dotError ? 'dot-error' : 'ok';
}

function isDomain(text: string): boolean {
  if (text.length === 0 || text.length > 255) return false;
  for (const label of text.split('.')) {
    if (label.length === 0 || label.length > 63) return false;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      const ok = isAlnum(c) || c >= 0x80 || (c === 45 && i > 0 && i < label.length - 1) || (c === 95);
      if (!ok) return false;
    }
  }
  return true;
}

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIPv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let groups = text;
  let extra = 0;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    if (!isIPv4(text.slice(lastColon + 1))) return false;
    groups = text.slice(0, lastColon + 1) + '0';
    extra = 1;
  }
  const doubles = groups.split('::').length - 1;
  if (doubles > 1) return false;
  const parts = groups.split(':');
  if (doubles === 0) return parts.length + extra === 8 && parts.every((p) => /^[0-9A-Fa-f]{1,4}$/.test(p));
  const filled = parts.filter((p) => p !== '');
  return filled.length + extra <= 7 && filled.every((p) => /^[0-9A-Fa-f]{1,4}$/.test(p));
}

function isAddressLiteral(text: string): boolean {
  if (isIPv4(text)) return true;
  if (text.slice(0, 5).toUpperCase() === 'IPV6:') return isIPv6(text.slice(5));
  // General-address-literal: Standardized-tag ":" 1*dcontent (RFC 5321 4.1.3)
  const colon = text.indexOf(':');
  return colon > 0 && /^[A-Za-z0-9-]*[A-Za-z0-9]$/.test(text.slice(0, colon)) && /^[\x21-\x5a\x5e-\x7e]+$/.test(text.slice(colon + 1));
}

// ---------------------------------------------------------------- byte-level fast path

const ATEXT = new Uint8Array(256);
const LETDIG = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if (isAtext(c) && c < 0x80) ATEXT[c] = 1;
  if (isAlnum(c)) LETDIG[c] = 1;
}
const NO_TOLERANCE: AddressTolerance[] = [];
const NO_ROUTE: readonly string[] = Object.freeze([]);

/** ESMTP parameter keywords seen in real traffic, upper-cased; matched on bytes so the common case builds no string. */
const KNOWN_PARAMS = ['SIZE', 'BODY', 'AUTH', 'RET', 'ENVID', 'NOTIFY', 'ORCPT', 'SMTPUTF8', 'REQUIRETLS', 'MT-PRIORITY', 'HOLDFOR', 'BY'];

function paramKeyword(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  for (const known of KNOWN_PARAMS) {
    if (known.length !== length) continue;
    let j = 0;
    for (; j < length; j++) {
      const b = buf[start + j]!;
      if ((b >= 0x61 && b <= 0x7a ? b - 0x20 : b) !== known.charCodeAt(j)) break;
    }
    if (j === length) return known;
  }
  return buf.toString('latin1', start, end).toUpperCase();
}

/** RFC 1870: SIZE=1*20DIGIT. */
function isSizeValue(buf: Buffer, start: number, end: number): boolean {
  if (end <= start || end - start > 20) return false;
  for (let i = start; i < end; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

/** A plain `<local@domain>` read straight from the line; its strings are decoded only if asked for. */
class PlainPath implements ParsedPath {
  readonly hasDomain = true;
  readonly isNull = false;
  readonly isPostmaster = false;
  readonly route: readonly string[] = NO_ROUTE;
  constructor(
    private readonly buf: Buffer,
    private readonly localStart: number,
    private readonly at: number,
    private readonly close: number,
  ) {}
  get localPart(): string {
    return this.buf.toString('latin1', this.localStart, this.at);
  }
  get domain(): string {
    return this.buf.toString('latin1', this.at + 1, this.close);
  }
}

/**
 * The argument of MAIL/RCPT read from the line's bytes. Plain dot-atom paths with simple
 * parameters, nearly all real traffic, are read without building strings; anything else
 * goes to the full parser, which gives the same answer.
 */
export function parseMailArgumentBytes(buf: Buffer, start: number, end: number, verb: 'MAIL' | 'RCPT'): ParsedMailArgument {
  return parsePlainMailArgument(buf, start, end, verb) ?? parseMailArgumentFully(buf.toString('latin1', start, end), verb);
}

/** The fast path of parseMailArgumentBytes; null when the argument needs the full parser. */
function parsePlainMailArgument(buf: Buffer, start: number, end: number, verb: 'MAIL' | 'RCPT'): ParsedMailArgument | null {
  let i = start;
  if (verb === 'MAIL') {
    if (end - i < 6 || (buf[i]! | 0x20) !== 0x66 || (buf[i + 1]! | 0x20) !== 0x72 || (buf[i + 2]! | 0x20) !== 0x6f || (buf[i + 3]! | 0x20) !== 0x6d || buf[i + 4] !== 0x3a) return null;
    i += 5;
  } else {
    if (end - i < 4 || (buf[i]! | 0x20) !== 0x74 || (buf[i + 1]! | 0x20) !== 0x6f || buf[i + 2] !== 0x3a) return null;
    i += 3;
  }
  if (buf[i] !== 0x3c /* < */) return null;
  const localStart = ++i;
  let previousDot = true;
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x40 /* @ */) break;
    if (b === 0x2e) {
      if (previousDot) return null;
      previousDot = true;
    } else if (ATEXT[b]) previousDot = false;
    else return null;
  }
  if (i >= end || previousDot) return null;
  const at = i++;
  let label = 0;
  let hyphen = false;
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x3e /* > */) break;
    if (b === 0x2e) {
      if (label === 0 || hyphen) return null;
      label = 0;
    } else if (LETDIG[b]) {
      label++;
      hyphen = false;
    } else if (b === 0x2d && label > 0) {
      label++;
      hyphen = true;
    } else return null;
    if (label > 63) return null;
  }
  if (i >= end || label === 0 || hyphen || i - at - 1 > 255) return null;
  const path = new PlainPath(buf, localStart, at, i);
  if (++i === end) return { ok: true, path, params: NO_PARAMS, tolerated: NO_TOLERANCE };
  // Parameters: single spaces, KEY or KEY=VALUE; anything unusual (xtext "+", SMTPUTF8=, odd SIZE) takes the full path.
  if (buf[i] !== 0x20) return null;
  const params = new Map<string, string | null>();
  while (i < end) {
    if (buf[i] !== 0x20) return null;
    const keyStart = ++i;
    while (i < end && (LETDIG[buf[i]!] || (buf[i] === 0x2d && i > keyStart))) i++;
    if (i === keyStart) return null;
    const key = paramKeyword(buf, keyStart, i);
    let value: string | null = null;
    if (i < end && buf[i] === 0x3d /* = */) {
      const valueStart = ++i;
      while (i < end && buf[i]! > 0x20 && buf[i]! < 0x7f && buf[i] !== 0x3d && buf[i] !== 0x2b) i++;
      if (i === valueStart || (i < end && buf[i] !== 0x20)) return null;
      if (key === 'SIZE' && !isSizeValue(buf, valueStart, i)) return null;
      value = buf.toString('latin1', valueStart, i);
    } else if (i < end && buf[i] !== 0x20) return null;
    if ((key === 'SIZE' && value === null) || (key === 'SMTPUTF8' && value !== null)) return null;
    params.set(key, value);
  }
  return { ok: true, path, params, tolerated: NO_TOLERANCE };
}
