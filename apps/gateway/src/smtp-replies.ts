/**
 * Replies the gateway writes on its own (never the engine's protection replies, which come
 * from the catalog through the engine). Each is one line, CRLF-terminated.
 */
export const replies = {
  tooManyConnections: (name: string) => `421 4.3.2 ${name} Too many connections, try again later\r\n`,
  upstreamUnavailable: (name: string) => `421 4.4.0 ${name} Mail server unavailable, try again later\r\n`,
  timeout: (name: string) => `421 4.4.2 ${name} Error: timeout exceeded\r\n`,
  shuttingDown: (name: string) => `421 4.3.2 ${name} Service shutting down, try again later\r\n`,
  engineFailure: (name: string) => `421 4.3.0 ${name} Error: inspection failure, try again later\r\n`,
} as const;

/** One SMTP reply read off a byte stream: complete once a "ddd " (or bare "ddd") line arrives. */
export class ReplyReader {
  #buf: Buffer = Buffer.alloc(0);

  /** Feed bytes; returns the complete reply (raw bytes, its code and lines) and any bytes after it, or null for "need more". Throws on a line that is not a reply line. */
  push(chunk: Buffer): { raw: Buffer; code: number; lines: string[]; rest: Buffer } | null {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let start = 0;
    const lines: string[] = [];
    for (;;) {
      const nl = this.#buf.indexOf(0x0a, start);
      if (nl < 0) {
        if (this.#buf.length - start > 4096) throw new Error('reply line too long');
        return null;
      }
      const line = this.#buf.subarray(start, nl).toString('latin1').replace(/\r$/, '');
      start = nl + 1;
      const m = /^(\d{3})([ -]|$)/.exec(line);
      if (!m) throw new Error(`not an SMTP reply line: ${JSON.stringify(line.slice(0, 80))}`);
      lines.push(line);
      if (m[2] !== '-') {
        const raw = this.#buf.subarray(0, start);
        const rest = this.#buf.subarray(start);
        this.#buf = Buffer.alloc(0);
        return { raw, code: Number(m[1]), lines, rest };
      }
    }
  }

  /** Bytes received but not yet part of a complete reply. */
  pending(): Buffer {
    return this.#buf;
  }
}
