/**
 * Bytes waiting to go out in one direction. Consecutive ranges of one buffer are merged
 * and cut once, so a million pipelined commands or a multi-line reply leave as a single
 * slice (no Buffer per line).
 */
export class ByteRun {
  private buf: Uint8Array | null = null;
  private start = 0;
  private end = 0;

  /** Adds `buf[start, end)`; returns the run before it when this range does not continue it. */
  add(buf: Uint8Array, start: number, end: number): Uint8Array | null {
    if (this.buf === buf && this.end === start) {
      this.end = end;
      return null;
    }
    const done = this.take();
    this.buf = buf;
    this.start = start;
    this.end = end;
    return done;
  }

  /** The run so far (the buffer itself when it covers all of it), and starts afresh. */
  take(): Uint8Array | null {
    const buf = this.buf;
    if (!buf) return null;
    this.buf = null;
    return this.start === 0 && this.end === buf.length ? buf : buf.subarray(this.start, this.end);
  }
}
