/**
 * Hand-written SMTP conversations, the format the engine tests and `pnpm inspect` read:
 *
 *   # comment
 *   S: 220 mx.example ESMTP        server line, CRLF appended
 *   C: EHLO client.example         client line, CRLF appended
 *   C> raw bytes\r\n.\n            no CRLF appended
 *   --                             ends a segment (so does a blank line)
 *
 * Escapes: \r \n \t \\ \xHH. Consecutive lines from one side form one segment (one
 * TCP write); a change of side starts a new one.
 */
export interface TranscriptSegment {
  from: 'client' | 'server';
  bytes: Buffer;
}

export class TranscriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export function parseTranscript(text: string): TranscriptSegment[] {
  const segments: TranscriptSegment[] = [];
  let current: { from: 'client' | 'server'; parts: Buffer[] } | null = null;
  const flush = () => {
    if (current) segments.push({ from: current.from, bytes: Buffer.concat(current.parts) });
    current = null;
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    if (raw.startsWith('#')) return;
    if (raw.trim() === '' || raw.trim() === '--') return flush();
    const match = /^([CS])([:>]) ?(.*)$/.exec(raw);
    if (!match) throw new TranscriptError(index + 1, 'expected "C: ", "S: ", "C> " or "S> "');
    const from = match[1] === 'C' ? 'client' : 'server';
    const bytes = unescape(match[3]!, index + 1);
    const payload = match[2] === ':' ? Buffer.concat([bytes, Buffer.from('\r\n')]) : bytes;
    if (current && current.from !== from) flush();
    current ??= { from, parts: [] };
    current.parts.push(payload);
  });
  flush();
  return segments;
}

function unescape(text: string, line: number): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      if (c > 0x7f) out.push(...Buffer.from(text[i]!, 'utf8'));
      else out.push(c);
      continue;
    }
    const next = text[++i];
    if (next === 'r') out.push(13);
    else if (next === 'n') out.push(10);
    else if (next === 't') out.push(9);
    else if (next === '\\') out.push(0x5c);
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new TranscriptError(line, `bad escape "\\${next ?? ''}" at column ${i}`);
  }
  return Buffer.from(out);
}
