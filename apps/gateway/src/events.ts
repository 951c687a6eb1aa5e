import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Finding, InspectionEvent } from '@smtpguard/contracts';

/**
 * Where inspection events go. The standalone gateway writes JSON lines; the fleet link
 * (later) spools them on disk and ships them to the manager. `write` must not throw and
 * must not block the proxy: buffer and return.
 */
export interface EventSink {
  write(event: InspectionEvent): void;
  /** Flush and release; resolves when everything written so far is durable (or handed off). */
  close?(): Promise<void>;
}

/** One JSON object per line, to a file (appended) or to stdout. */
export class JsonLinesSink implements EventSink {
  #stream: NodeJS.WritableStream;
  #owned: boolean;

  constructor(target: { path: string } | { stream: NodeJS.WritableStream }) {
    if ('path' in target) {
      mkdirSync(dirname(target.path), { recursive: true });
      this.#stream = createWriteStream(target.path, { flags: 'a' });
      this.#owned = true;
    } else {
      this.#stream = target.stream;
      this.#owned = false;
    }
    this.#stream.on('error', () => {
      /* reported by the caller's logger via close(); never crash the proxy over the event log */
    });
  }

  write(event: InspectionEvent): void {
    this.#stream.write(`${JSON.stringify(event)}\n`);
  }

  close(): Promise<void> {
    if (!this.#owned) return Promise.resolve();
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}

/** Keeps events in memory (tests, and a ring for a later status page). */
export class MemorySink implements EventSink {
  readonly events: InspectionEvent[] = [];
  #waiters: Array<{ n: number; resolve: () => void }> = [];

  write(event: InspectionEvent): void {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.events.length < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once at least n events were written. */
  waitFor(n: number): Promise<void> {
    if (this.events.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** Fan out to several sinks (e.g. the local file and the fleet spool). */
export class MultiSink implements EventSink {
  constructor(readonly sinks: EventSink[]) {}

  write(event: InspectionEvent): void {
    for (const sink of this.sinks) sink.write(event);
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close?.()));
  }
}

export interface EventStamp {
  connectionId: string;
  gateway?: string;
  client: { address: string; port: number };
  server: { address: string; port: number };
  policyRevision?: number;
}

/** A finding from the engine, stamped with time and connection: a tracker-log entry. */
export function toEvent(finding: Finding, stamp: EventStamp, now = new Date()): InspectionEvent {
  return {
    time: now.toISOString(),
    connectionId: stamp.connectionId,
    ...(stamp.gateway !== undefined ? { gateway: stamp.gateway } : {}),
    client: stamp.client,
    server: stamp.server,
    ...(stamp.policyRevision !== undefined ? { policyRevision: stamp.policyRevision } : {}),
    ...finding,
  };
}
