import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { zStreamFrame, type StreamFrame } from '@smtpguard/contracts';
import { makeApp, until, type TestApp } from './helpers.js';
import { makeEvent } from './fixtures.js';

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

async function listen(deps = {}) {
  t = await makeApp(deps);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
}

function collect(ws: WebSocket) {
  const frames: StreamFrame[] = [];
  ws.on('message', (d: Buffer) => frames.push(zStreamFrame.parse(JSON.parse(d.toString()))));
  return frames;
}
// A loaded machine: 8000 frames to a console can take seconds.
const LOADED_MACHINE_MS = 20_000;
const seed = (n: number, over: Parameters<typeof makeEvent>[1] = {}, from = 1) =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, event: makeEvent('exchange-commands', over) }));

describe('live stream /api/events/stream', () => {
  it('refuses a connection without a session (401)', async () => {
    const base = await listen();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://${base}/api/events/stream`);
      ws.on('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(401);
  });

  it('sends committed events matching the filters, numbered from 1; filters can change on the fly', async () => {
    const base = await listen();
    const ws = new WebSocket(`ws://${base}/api/events/stream?action=detect`, { headers: { cookie: t.operator } });
    const frames = collect(ws);
    await until(() => frames.length === 1, 'ready', LOADED_MACHINE_MS);
    expect(frames[0]).toMatchObject({ type: 'ready', seq: 1, data: { filters: { action: ['detect'] } } });
    const m = t.app.manager;
    m.live.publish(m.events.ingest('gw_x', 'gw-x', 1, [...seed(2, { action: 'prevent' }), ...seed(3, { action: 'detect' }, 3)]));
    await until(() => frames.length === 4, 'three detect events', LOADED_MACHINE_MS);
    expect(frames.slice(1).map((f) => [f.type, f.seq])).toEqual([
      ['event', 2],
      ['event', 3],
      ['event', 4],
    ]);
    ws.send(JSON.stringify({ type: 'filters', data: { action: 'prevent' } }));
    await until(() => frames.length === 5, 'ready again', LOADED_MACHINE_MS);
    m.live.publish(m.events.ingest('gw_x', 'gw-x', 1, seed(1, { action: 'prevent' }, 10)));
    await until(() => frames.length === 6, 'prevent event', LOADED_MACHINE_MS);
    expect(frames[5]).toMatchObject({ type: 'event', seq: 6, data: { action: 'prevent', gateway: 'gw-x' } });
    ws.send(JSON.stringify({ type: 'filters', data: { action: 'block' } }));
    await until(() => frames.length === 7, 'error', LOADED_MACHINE_MS);
    expect(frames[6]).toMatchObject({ type: 'error', data: { message: expect.stringContaining('action') } });
    ws.close();
  });

  it('bad filters in the URL: an error frame naming the field, then close', async () => {
    const base = await listen();
    const ws = new WebSocket(`ws://${base}/api/events/stream?protection=nope`, { headers: { cookie: t.operator } });
    const frames = collect(ws);
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(4000);
    expect(frames.find((f) => f.type === 'error')).toMatchObject({ data: { message: expect.stringContaining('query.protection') } });
  });

  it('a slow client is told it was dropped and closed; ingestion and other clients go on', async () => {
    const base = await listen({ liveQueueBytes: 256 * 1024 });
    const slow = new WebSocket(`ws://${base}/api/events/stream`, { headers: { cookie: t.operator } });
    const fast = new WebSocket(`ws://${base}/api/events/stream`, { headers: { cookie: t.operator } });
    const slowFrames = collect(slow);
    const fastFrames = collect(fast);
    await until(() => slowFrames.length === 1 && fastFrames.length === 1, 'both ready', LOADED_MACHINE_MS);
    // The slow console stops reading: its socket buffers fill, its queue grows past the limit.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();
    const m = t.app.manager;
    const big = 'A'.repeat(1000);
    let seq = 1;
    for (let round = 0; round < 80; round++) {
      const batch = seed(100, { command: big }, seq);
      seq += 100;
      m.live.publish(m.events.ingest('gw_x', 'gw-x', 1, batch));
      // A console that keeps up: it has read each commit before the next (160 KB a commit, under
      // the 256 KB limit). Back-to-back commits with no time to read got even a reading console
      // dropped on a loaded machine.
      await until(() => fastFrames.length === seq, `fast client read commit ${round + 1}`, LOADED_MACHINE_MS);
    }
    expect(m.events.count()).toBe(8000);
    await until(() => fastFrames.length === 8001, 'fast client got everything', LOADED_MACHINE_MS);
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    const code = await new Promise<number>((resolve) => slow.on('close', (c) => resolve(c)));
    expect(code).toBe(4008);
    const dropped = slowFrames.find((f) => f.type === 'dropped');
    expect(dropped).toMatchObject({ type: 'dropped', data: { reason: expect.stringContaining('too slow') } });
    expect(slowFrames.length).toBeLessThan(8001);
    fast.close();
  }, 60_000);
});

describe('console static build', () => {
  it('serves index.html at / and as the SPA fallback for non-API paths; API paths stay JSON 404', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-dist-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
    t = await makeApp({ consoleDir: dir });
    const root = await t.app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(200);
    expect(root.body).toContain('id="root"');
    expect((await t.app.inject({ method: 'GET', url: '/assets/app.js' })).body).toBe('console.log(1)');
    const deep = await t.app.inject({ method: 'GET', url: '/policy/protections/max-recipients' });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('id="root"');
    const api = await t.app.inject({ method: 'GET', url: '/api/nothing' });
    expect(api.statusCode).toBe(404);
    expect(JSON.parse(api.body).error).toBe('not_found');
  });
});
