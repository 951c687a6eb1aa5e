import { CR, DOT, LF } from './bytes.js';


/**
 * Measures body lines against a limit in about one native search per `limit` bytes:
 * from a line start, the last LF inside the next `limit` bytes ends every line before it,
 * so the scan jumps there; no LF inside the window means a line over the limit.
 */
export class LineMeter {
  private lineLength = 0;
  private fired = false;

  constructor(private readonly limit: number) {}

  /** Returns true the first time a line over the limit is seen. */
  measure(buf: Buffer, start: number, end: number): boolean {
    if (this.limit === 0 || this.fired || end <= start) return false;
    const limit = this.limit;
    let lineStart = start - this.lineLength;
    for (;;) {
      const windowEnd = lineStart + limit - 1;
      if (windowEnd >= end) {
        const lastLf = buf.lastIndexOf(LF, end - 1);
        if (lastLf >= start && lastLf >= lineStart) {
          lineStart = lastLf + 1;
          continue;
        }
        this.lineLength = end - lineStart;
        // Without its LF the line already has `limit` bytes: with it, it is over.
        if (this.lineLength >= limit) return (this.fired = true);
        return false;
      }
      const lastLf = buf.lastIndexOf(LF, windowEnd);
      if (lastLf >= start && lastLf >= lineStart) {
        lineStart = lastLf + 1;
        continue;
      }
      return (this.fired = true);
    }
  }

  reset(): void {
    this.lineLength = 0;
    this.fired = false;
  }
}

export interface DataScan {
  /** Index just past the terminator's final LF, or -1 when the message goes on. */
  end: number;
  /** Index where the terminator's "." sits (may be before `start` when it came in an earlier chunk). */
  bodyEnd: number;
  ambiguousForm: string | null;
  lineTooLong: boolean;
}

/**
 * Finds `<CRLF>.<CRLF>` in a DATA body however it is chunked, counts the unstuffed size,
 * and reports every other lone "." line bounded by CR or LF (`\n.\n`, `\r.\r`,
 * `\n.\r\n`...) as ambiguous: one MTA ends the message there, another does not
 * (SMTP smuggling, CVE-2023-51764 family).
 *
 * Only dots are looked at, found by a native single-byte `indexOf` (memchr): base64
 * attachments hold none, text a few per line; a dot counts when a CR or LF precedes it.
 */
export class DataScanner {
  /** Unstuffed body bytes so far. */
  size = 0;
  private before2 = CR; // the two stream bytes before the next chunk; the DATA line's CRLF to begin with
  private before1 = LF;
  /** A line-start dot at the end of the last chunk whose next bytes have not come yet. */
  private pending: { p2: number; p1: number; after: number[]; countedBytes: number } | null = null;
  private ambiguousSeen = false;
  private readonly lines: LineMeter;

  constructor(lineLimit: number, private readonly watchAmbiguous: boolean) {
    this.lines = new LineMeter(lineLimit);
  }

  scan(buf: Buffer, start: number): DataScan {
    const len = buf.length;
    const result: DataScan = { end: -1, bodyEnd: -1, ambiguousForm: null, lineTooLong: false };
    let from = start;

    if (this.pending) {
      const p = this.pending;
      while (from < len && this.needsMore(p.after)) p.after.push(buf[from++]!);
      if (this.needsMore(p.after)) {
        this.size += from - start;
        p.countedBytes += from - start;
        if (this.lines.measure(buf, start, from)) result.lineTooLong = true;
        this.remember(buf, start, from);
        return result;
      }
      this.pending = null;
      const verdict = this.judgeDot(p.p2, p.p1, p.after[0]!, p.after[1] ?? -1);
      if (verdict === 'terminator') {
        this.size -= p.countedBytes;
        result.end = from;
        result.bodyEnd = start - p.countedBytes;
        return result;
      }
      if (verdict === 'stuffed') this.size -= 1;
      else if (verdict !== 'text') this.noteAmbiguous(verdict, result);
      from = start; // re-scan these bytes as ordinary body: they may start a new dot line
    }

    let stuffed = 0;
    for (let dot = buf.indexOf(DOT, from); dot >= 0; dot = buf.indexOf(DOT, dot + 1)) {
      const p1 = dot - 1 >= start ? buf[dot - 1]! : this.before1;
      if (p1 !== LF && p1 !== CR) continue;
      const p2 = dot - 2 >= start ? buf[dot - 2]! : dot - 1 >= start ? this.before1 : this.before2;
      const after: number[] = [];
      for (let i = dot + 1; i < len && i <= dot + 2; i++) after.push(buf[i]!);
      if (this.needsMore(after)) {
        this.pending = { p2, p1, after, countedBytes: len - dot };
        break;
      }
      const verdict = this.judgeDot(p2, p1, after[0]!, after[1] ?? -1);
      if (verdict === 'terminator') {
        result.end = dot + 3;
        result.bodyEnd = dot;
        break;
      }
      if (verdict === 'stuffed') stuffed++;
      else if (verdict !== 'text') this.noteAmbiguous(verdict, result);
    }

    const bodyStop = result.end >= 0 ? result.bodyEnd : len;
    this.size += bodyStop - from - stuffed;
    if (this.lines.measure(buf, from, bodyStop)) result.lineTooLong = true;
    if (result.end < 0) this.remember(buf, from, len);
    return result;
  }

  private needsMore(after: number[]): boolean {
    if (after.length === 0) return true;
    // ".\r" may still become ".\r\n"; anything else after the dot already decides.
    return after.length === 1 && after[0] === CR;
  }

  /** What a dot at a line start means, given the two bytes before it and up to two after. */
  private judgeDot(p2: number, p1: number, n1: number, n2: number): 'terminator' | 'stuffed' | 'text' | string {
    if (n1 === DOT) return p1 === LF ? 'stuffed' : 'text';
    if (n1 !== CR && n1 !== LF) return 'text';
    if (p2 === CR && p1 === LF && n1 === CR && n2 === LF) return 'terminator';
    const left = p1 === LF ? (p2 === CR ? '<CRLF>' : '<LF>') : '<CR>';
    const right = n1 === LF ? '<LF>' : n2 === LF ? '<CRLF>' : '<CR>';
    return `${left}.${right}`;
  }

  private noteAmbiguous(form: string, result: DataScan): void {
    if (this.ambiguousSeen || !this.watchAmbiguous) return;
    this.ambiguousSeen = true;
    result.ambiguousForm = form;
  }

  private remember(buf: Buffer, start: number, end: number): void {
    if (end - start >= 2) {
      this.before2 = buf[end - 2]!;
      this.before1 = buf[end - 1]!;
    } else if (end - start === 1) {
      this.before2 = this.before1;
      this.before1 = buf[end - 1]!;
    }
  }
}
