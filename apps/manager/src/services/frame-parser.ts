import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { prepareFrame, type PreparedFrame } from './frames.js';

interface Pending {
  bytes: Buffer;
  gatewayName: string;
  resolve: (r: PreparedFrame) => void;
}

/**
 * Parses, validates and packs fleet-link frames on a worker thread: JSON.parse, the zod
 * schema and the serialisation of each event for the insert are most of ingestion's CPU
 * besides SQLite itself, and here they run beside the event loop instead of on it. Results
 * come back in the order the frames were sent (one thread, FIFO), so each gateway's messages
 * are handled in order. If the thread cannot start or fails, frames are prepared inline (the
 * same function) and nothing in flight is lost: pending frames are prepared again inline.
 *
 * The thread is started when the server listens or by the first gateway link (loading the
 * schemas in a fresh isolate costs about a second of CPU: not for an app no gateway talks
 * to); until it is ready, frames are prepared inline.
 */
export class FrameParser {
  private worker: Worker | null = null;
  private started = false;
  private isReady = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private signalReady: (ok: boolean) => void = () => {};
  /** Resolves true once frames go to the thread, false if it failed (or closed) first. */
  readonly ready = new Promise<boolean>((resolve) => {
    this.signalReady = resolve;
  });

  constructor(private readonly log: (line: string) => void) {}

  /** Starts the thread (once). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    try {
      this.spawn();
    } catch (err) {
      this.log(`fleet: frame parser thread unavailable (${(err as Error).message}); parsing on the main thread`);
      this.signalReady(false);
    }
  }

  /** Whether frames go to the thread now (false: inline on the event loop). */
  get threaded(): boolean {
    return this.worker !== null && this.isReady;
  }

  /** `bytes` stays the caller's: it is copied for the thread. */
  prepare(bytes: Buffer, gatewayName: string): Promise<PreparedFrame> {
    const worker = this.worker;
    if (!worker || !this.isReady) return Promise.resolve(prepareFrame(bytes.toString('utf8'), gatewayName));
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { bytes, gatewayName, resolve });
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      worker.postMessage({ id, bytes: copy.buffer, gatewayName }, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.drainInline();
    this.signalReady(false);
    await w?.terminate();
  }

  private spawn(): void {
    // The thread runs TypeScript like the rest of the app: tsx's loader, registered in the thread.
    const require = createRequire(import.meta.url);
    const tsx = dirname(require.resolve('tsx/package.json'));
    const api = pathToFileURL(join(tsx, (require('tsx/package.json') as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!.import.default)).href;
    const entry = new URL('./frame-worker.ts', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
    worker.unref();
    worker.on('message', (m: { id: number; r: PreparedFrame } | { ready: true }) => {
      if ('ready' in m) {
        if (this.worker === worker) {
          this.isReady = true;
          this.signalReady(true);
        }
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m.r);
    });
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.signalReady(false);
      if (!this.closed) this.log(`fleet: frame parser thread ${why}; parsing on the main thread`);
      this.drainInline();
    };
    worker.on('error', (err) => fail(`failed: ${err.message}`));
    worker.on('exit', (code) => fail(`exited (${code})`));
    this.worker = worker;
  }

  /** Frames sent to a thread that is gone: prepared here, in order. */
  private drainInline(): void {
    const left = [...this.pending.entries()].sort((a, b) => a[0] - b[0]);
    this.pending.clear();
    for (const [, p] of left) p.resolve(prepareFrame(p.bytes.toString('utf8'), p.gatewayName));
  }
}
