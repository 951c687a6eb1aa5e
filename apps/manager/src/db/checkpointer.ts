import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copies the WAL back into the database file on a worker thread, with its own connection.
 *
 * A checkpoint writes every page the WAL holds into the database file and fsyncs it; run by
 * SQLite's auto-checkpoint it happens inside the COMMIT of whichever ingestion batch crosses
 * the threshold, on the event loop: that batch, every gateway waiting for its ack, the API and
 * the live stream all wait for the disk. Here the writer only appends to the WAL (synchronous
 * = NORMAL: no fsync at commit) and this thread does the copy and the fsyncs. Durability is
 * unchanged: a checkpoint syncs the WAL before copying it and the database file after, whichever
 * connection runs it; a crash in the middle leaves the WAL in place and the next open replays it.
 *
 * The writer keeps an auto-checkpoint threshold well above this one as a safety net (if this
 * thread ever falls behind or fails, the WAL still cannot grow without bound).
 */
export interface Checkpointer {
  /** `rows` rows were committed: checkpoint once enough have accumulated (or a little later). */
  written(rows: number): void;
  /** Finishes any running checkpoint, closes the worker's connection and ends the thread. */
  close(): Promise<void>;
}

export interface CheckpointerOptions {
  /** Committed rows that trigger a checkpoint at once. */
  rows?: number;
  /** Below that: checkpoint this long after the first uncopied commit. */
  lazyMs?: number;
  nativeBinding?: string;
  /** `fatal`: the thread is gone and no longer checkpoints. */
  onError: (message: string, fatal: boolean) => void;
}

// Plain CommonJS evaluated in the worker (no TypeScript loader there, under tsx or vitest alike).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true, ...(workerData.nativeBinding ? { nativeBinding: workerData.nativeBinding } : {}) });
db.pragma('synchronous = NORMAL');
let pending = 0, timer = null, closed = false;
const checkpoint = () => {
  if (timer) clearTimeout(timer);
  timer = null;
  if (closed || pending === 0) return;
  pending = 0;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpointed', log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String((err && err.message) || err) });
  }
};
parentPort.on('message', (m) => {
  if (m === 'close') {
    closed = true;
    if (timer) clearTimeout(timer);
    db.close();
    process.exit(0);
  }
  pending += m;
  if (pending >= workerData.rows) setImmediate(checkpoint);
  else if (!timer) timer = setTimeout(checkpoint, workerData.lazyMs);
});
`;

export function startCheckpointer(file: string, options: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver, file, rows: options.rows ?? 2000, lazyMs: options.lazyMs ?? 1000, nativeBinding: options.nativeBinding },
  });
  let alive = true;
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'error') options.onError(`checkpoint failed: ${m.message}`, false);
  });
  worker.on('error', (err) => {
    alive = false;
    options.onError(`checkpoint thread failed: ${err.message}`, true);
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('exit', () => {
    alive = false;
  });
  worker.unref();
  return {
    written(rows) {
      if (alive && rows > 0) worker.postMessage(rows);
    },
    async close() {
      if (!alive) return;
      alive = false;
      worker.ref(); // keep the process up until the thread has closed its connection
      worker.postMessage('close');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, 5000, 'timeout').unref());
      if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
    },
  };
}
