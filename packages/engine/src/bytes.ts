/** Byte constants and small helpers shared by the framers. */
export const CR = 13;
export const LF = 10;
export const SP = 32;
export const DOT = 46;
export const TAB = 9;

export const CRLF = Buffer.from('\r\n', 'latin1');

export function asBuffer(chunk: Uint8Array): Buffer {
  // instanceof, not Buffer.isBuffer(): the same test, but inlined where the call was not (every chunk passes here).
  return chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Attacker bytes as a log-safe string: printable ASCII as is, `\\ \r \n \t`, everything
 * else `\xHH`; truncated with the count of what was left out.
 */
export function escapeForLog(bytes: Uint8Array, maxChars = 300, totalLength = bytes.length): string {
  let out = '';
  let i = 0;
  for (; i < bytes.length && out.length < maxChars; i++) {
    const b = bytes[i]!;
    if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else if (b === CR) out += '\\r';
    else if (b === LF) out += '\\n';
    else if (b === TAB) out += '\\t';
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  const left = totalLength - i;
  return left > 0 ? `${out}…(+${left} bytes)` : out;
}

/** Same escaping for a string already decoded as latin1. */
export function escapeLatin1(text: string, maxChars = 300): string {
  return escapeForLog(Buffer.from(text, 'latin1'), maxChars);
}

/** True when bytes [start, end) form valid UTF-8 (used for SMTPUTF8 addresses). */
export function isValidUtf8(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) (need = 1), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (need = 2), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (need = 3), (min = 0x10000);
    else return false;
    if (i + need > end - 1) return false;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}
