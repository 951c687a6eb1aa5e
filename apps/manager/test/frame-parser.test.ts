import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { FrameParser } from '../src/services/frame-parser.js';
import type { PreparedFrame } from '../src/services/frames.js';
import { makeEvent } from './fixtures.js';

const parsers: FrameParser[] = [];
afterEach(async () => {
  for (const p of parsers.splice(0)) await p.close();
});

const frame = (first: number, n: number) =>
  Buffer.from(JSON.stringify({ type: 'events', epoch: 1, events: Array.from({ length: n }, (_, i) => ({ seq: first + i, event: makeEvent('starttls') })) }));
const summary = (r: PreparedFrame) => (r.kind === 'events' ? `events ${r.first}-${r.last} (${r.packed.n})` : r.kind === 'message' ? `message ${r.message.type}` : `error ${r.message}`);

describe('fleet frame parser thread', () => {
  it('answers in the order frames were sent: events packed, other messages validated, bad frames named', async () => {
    const logs: string[] = [];
    const p = new FrameParser((l) => logs.push(l));
    parsers.push(p);
    expect(p.threaded).toBe(false); // not started: inline
    expect((await p.prepare(frame(1, 1), 'gw')).kind).toBe('events');
    p.start();
    expect(await p.ready).toBe(true);
    expect(p.threaded).toBe(true);
    const results = await Promise.all([
      p.prepare(frame(1, 3), 'gw'),
      p.prepare(Buffer.from('{"type":"heartbeat"'), 'gw'),
      p.prepare(Buffer.from(JSON.stringify({ type: 'events', epoch: 1, events: [{ seq: 0, event: makeEvent('starttls') }] })), 'gw'),
      p.prepare(Buffer.from(JSON.stringify({ type: 'install-result', installId: 1, revision: 1, hash: 'a'.repeat(64), status: 'installed' })), 'gw'),
      p.prepare(frame(4, 2), 'gw'),
    ]);
    expect(results.map(summary)).toEqual(['events 1-3 (3)', 'error frame is not JSON', expect.stringMatching(/^error events\.0\.seq: /), 'message install-result', 'events 4-5 (2)']);
    expect(logs).toEqual([]);
  });

  it('if the thread dies, frames in flight and later ones are prepared inline, still in order', async () => {
    const logs: string[] = [];
    const p = new FrameParser((l) => logs.push(l));
    parsers.push(p);
    p.start();
    expect(await p.ready).toBe(true);
    const inFlight = [p.prepare(frame(1, 200), 'gw'), p.prepare(frame(201, 200), 'gw')];
    await (p as unknown as { worker: Worker }).worker.terminate();
    const later = p.prepare(frame(401, 1), 'gw');
    expect(p.threaded).toBe(false);
    expect((await Promise.all([...inFlight, later])).map(summary)).toEqual(['events 1-200 (200)', 'events 201-400 (200)', 'events 401-401 (1)']);
    expect(logs.join('\n')).toMatch(/parsing on the main thread/);
  });
});
