import { EventEmitter } from 'node:events';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { InspectionEvent } from '@smtpguard/contracts';

/**
 * The gateway's on-disk event spool: nothing is lost between the proxy and the manager.
 *
 * - Every event gets the next sequence number and is appended as one line `<seq> <json>\n`
 *   to the current segment file (`<first seq, 20 digits>.log`); the write reaches the kernel
 *   at once (a crash of the gateway process loses nothing), and segments are fdatasync'd in
 *   groups every `syncDelayMs` (default 5 ms). Only synced events are handed out for sending.
 * - `ack(first, last)` records what the manager committed; a segment file is deleted once all
 *   its events are acknowledged (the newest segment is kept, it carries the sequence counter).
 *   The acknowledged watermark is saved in `acked`, so a restart re-sends only the rest; a
 *   re-send of an acknowledged event is harmless (the manager stores each (epoch, seq) once).
 * - `epoch` (file `epoch`) identifies this spool's numbering; a wiped spool starts a new one.
 * - Bounded: when unacknowledged events would exceed `maxBytes` (default 256 MiB), new
 *   events are refused and counted in `dropped` (reported in heartbeats, status degraded).
 *   The oldest events are never dropped to make room, and the proxy never waits for the spool.
 * - A torn last line (crash mid-write) is cut off at start-up.
 */
export interface SpoolOptions {
  dir: string;
  maxBytes?: number;
  segmentBytes?: number;
  syncDelayMs?: number;
  /** Unacknowledged records also kept in memory for sending without a disk read. */
  memoryRecords?: number;
}

export interface SpoolRecord {
  seq: number;
  /** The event as JSON text, exactly as written. */
  json: string;
}

interface Segment {
  first: number;
  path: string;
  bytes: number;
}

const NAME = /^(\d{20})\.log$/;
const pad = (n: number) => String(n).padStart(20, '0');

export class Spool extends EventEmitter<{ synced: []; full: [] }> {
  readonly epoch: number;
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly syncDelayMs: number;
  private readonly memoryLimit: number;
  private segments: Segment[] = [];
  private fd: number | null = null;
  private lastSeq = 0;
  private synced = 0;
  private acked = 0;
  /** Acks beyond a gap (never expected in order, kept for safety). */
  private ackRanges: [number, number][] = [];
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly memory = new Map<number, string>();
  private closed = false;
  dropped = 0;
  corrupt = 0;

  constructor(options: SpoolOptions) {
    super();
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.syncDelayMs = options.syncDelayMs ?? 5;
    this.memoryLimit = options.memoryRecords ?? 20_000;
    mkdirSync(this.dir, { recursive: true });
    const epochFile = join(this.dir, 'epoch');
    const segmentNames = readdirSync(this.dir).filter((n) => NAME.test(n)).sort();
    if (existsSync(epochFile)) this.epoch = Number(readFileSync(epochFile, 'utf8').trim());
    else {
      this.epoch = Date.now();
      this.writeSmall('epoch', String(this.epoch), true);
    }
    if (!Number.isSafeInteger(this.epoch)) throw new Error(`spool ${this.dir}: epoch file is corrupt`);
    const ackedFile = join(this.dir, 'acked');
    if (existsSync(ackedFile)) this.acked = Number(readFileSync(ackedFile, 'utf8').trim()) || 0;
    for (const name of segmentNames) {
      const path = join(this.dir, name);
      this.segments.push({ first: Number(NAME.exec(name)![1]), path, bytes: statSync(path).size });
    }
    const last = this.segments[this.segments.length - 1];
    if (last) {
      this.lastSeq = this.recoverTail(last);
      if (this.lastSeq === 0) this.lastSeq = Math.max(last.first - 1, this.acked);
      this.fd = openSync(last.path, 'a');
    } else {
      this.lastSeq = this.acked;
    }
    this.synced = this.lastSeq;
    if (this.acked > this.lastSeq) this.acked = this.lastSeq;
    this.deleteAcked();
  }

  /** Cut a torn last line; returns the last complete sequence number in the segment (0 if none). */
  private recoverTail(seg: Segment): number {
    const buf = readFileSync(seg.path);
    let end = buf.lastIndexOf(0x0a) + 1;
    if (end !== buf.length) {
      const fd = openSync(seg.path, 'r+');
      ftruncateSync(fd, end);
      fsyncSync(fd);
      closeSync(fd);
      seg.bytes = end;
    }
    if (end === 0) return 0;
    const prev = buf.lastIndexOf(0x0a, end - 2) + 1;
    const line = buf.subarray(prev, end - 1).toString('utf8');
    const seq = Number(line.slice(0, line.indexOf(' ')));
    end = 0;
    return Number.isSafeInteger(seq) ? seq : 0;
  }

  private writeSmall(name: string, content: string, durable: boolean): void {
    const tmp = join(this.dir, `${name}.tmp`);
    writeFileSync(tmp, content);
    if (durable) {
      const fd = openSync(tmp, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, name));
    if (durable) this.syncDir();
  }

  private syncDir(): void {
    try {
      const fd = openSync(this.dir, 'r');
      fsyncSync(fd);
      closeSync(fd);
    } catch {
      /* some filesystems refuse fsync on a directory */
    }
  }

  /** Bytes of unacknowledged (or not yet deleted) events on disk. */
  get bytes(): number {
    return this.segments.reduce((a, s) => a + s.bytes, 0);
  }
  /** Events not acknowledged yet. */
  get pending(): number {
    return this.lastSeq - this.acked;
  }
  get last(): number {
    return this.lastSeq;
  }
  get syncedSeq(): number {
    return this.synced;
  }
  get ackedSeq(): number {
    return this.acked;
  }

  /** Appends an event; returns its sequence number, or null when the spool is full (counted in `dropped`). */
  append(event: InspectionEvent): number | null {
    if (this.closed) throw new Error('spool closed');
    const seq = this.lastSeq + 1;
    const json = JSON.stringify(event);
    const line = `${seq} ${json}\n`;
    const size = Buffer.byteLength(line);
    if (this.bytes + size > this.maxBytes && this.acked >= this.lastSeq && this.fd !== null) {
      // Everything is acknowledged, yet the newest segment (never deleted while written)
      // still counts: start a fresh one, which lets the acknowledged one go.
      this.roll(seq);
    }
    if (this.bytes + size > this.maxBytes) {
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 1000 === 0) this.emit('full');
      return null;
    }
    let seg = this.segments[this.segments.length - 1];
    if (!seg || this.fd === null || seg.bytes >= this.segmentBytes) seg = this.roll(seq);
    writeSync(this.fd!, line);
    seg.bytes += size;
    this.lastSeq = seq;
    if (this.memory.size < this.memoryLimit) this.memory.set(seq, json);
    this.scheduleSync();
    return seq;
  }

  private roll(first: number): Segment {
    if (this.fd !== null) {
      fdatasyncSync(this.fd);
      closeSync(this.fd);
      this.synced = this.lastSeq;
    }
    const path = join(this.dir, `${pad(first)}.log`);
    this.fd = openSync(path, 'a');
    this.syncDir();
    const seg = { first, path, bytes: 0 };
    this.segments.push(seg);
    // The previous newest segment may be fully acknowledged already.
    this.deleteAcked();
    return seg;
  }

  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => this.sync(), this.syncDelayMs);
  }

  /** Makes everything appended so far durable and available to `read`. */
  sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (this.fd !== null && this.synced < this.lastSeq) {
      fdatasyncSync(this.fd);
      this.synced = this.lastSeq;
      this.emit('synced');
    }
  }

  /** The first sequence number not acknowledged. */
  firstUnacked(): number {
    return this.acked + 1;
  }

  /** Up to `max` synced records from `from` on, in order. */
  read(from: number, max: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    const to = Math.min(this.synced, from + max - 1);
    let seq = Math.max(from, this.acked + 1);
    while (seq <= to) {
      const json = this.memory.get(seq);
      if (json !== undefined) {
        out.push({ seq, json });
        seq += 1;
        continue;
      }
      const fromDisk = this.readDisk(seq, to);
      if (fromDisk.length === 0) break;
      for (const r of fromDisk) out.push(r);
      seq = fromDisk[fromDisk.length - 1]!.seq + 1;
    }
    return out;
  }

  private readDisk(from: number, to: number): SpoolRecord[] {
    const i = this.segments.findLastIndex((s) => s.first <= from);
    const seg = this.segments[i];
    if (!seg) return [];
    const text = readFileSync(seg.path, 'utf8');
    const out: SpoolRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      const space = line.indexOf(' ');
      const seq = Number(line.slice(0, space));
      if (!Number.isSafeInteger(seq) || space < 0) {
        this.corrupt += 1;
        continue;
      }
      if (seq < from || seq > to) continue;
      out.push({ seq, json: line.slice(space + 1) });
    }
    if (out.length === 0 && i + 1 < this.segments.length) {
      // A gap (corrupt lines): skip to the next segment rather than stall forever.
      const next = this.segments[i + 1]!.first;
      return next <= to ? this.readDisk(next, to) : [];
    }
    return out;
  }

  /** The manager committed [first, last]: forget them. */
  ack(first: number, last: number): void {
    if (last < first) return;
    if (first > this.acked + 1) {
      this.ackRanges.push([first, last]);
      this.ackRanges.sort((a, b) => a[0] - b[0]);
      return;
    }
    const before = this.acked;
    this.acked = Math.max(this.acked, Math.min(last, this.lastSeq));
    // Merge ranges that now touch the watermark.
    while (this.ackRanges.length && this.ackRanges[0]![0] <= this.acked + 1) {
      this.acked = Math.max(this.acked, Math.min(this.ackRanges.shift()![1], this.lastSeq));
    }
    if (this.acked === before) return;
    for (let s = before + 1; s <= this.acked; s++) this.memory.delete(s);
    this.writeSmall('acked', String(this.acked), false);
    this.deleteAcked();
  }

  private deleteAcked(): void {
    // A segment is done when the next one starts at or below acked+1; the newest stays.
    while (this.segments.length > 1 && this.segments[1]!.first <= this.acked + 1) {
      const seg = this.segments.shift()!;
      try {
        unlinkSync(seg.path);
      } catch {
        /* already gone */
      }
    }
    // The newest segment fully acknowledged and big: start a fresh one lazily at the next append.
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
