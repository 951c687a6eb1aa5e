import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManagerMessage, StoredEvent } from '@smtpguard/contracts';
import { zEventPage } from './schemas.js';
import { makeApp, until, type TestApp } from './helpers.js';
import { makeEvent } from './fixtures.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});


async function started(deps: Parameters<typeof makeApp>[0] = {}) {
  const t = await makeApp(deps);
  let closed = false;
  const close = async () => {
    if (!closed) await t.app.close();
    closed = true;
  };
  cleanups.push(close);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, base: `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, close };
}

/** A gateway's end of the fleet link, speaking the protocol by hand. */
async function gateway(t: TestApp, base: string, name: string) {
  const created = JSON.parse((await t.as(t.admin, { method: 'POST', url: '/api/gateways', payload: { name } })).body);
  const enrolled = JSON.parse((await t.app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: { key: created.enrollmentKey } })).body);
  const ws = new WebSocket(`ws://${base}/api/fleet/ws`, { headers: { authorization: `Bearer ${enrolled.credential}` } });
  const received: ManagerMessage[] = [];
  ws.on('message', (d: Buffer) => received.push(JSON.parse(d.toString())));
  await until(() => received.some((m) => m.type === 'welcome'), 'welcome');
  cleanups.push(() => ws.close());
  const send = (epoch: number, events: { seq: number; event: unknown }[]) => ws.send(JSON.stringify({ type: 'events', epoch, events }));
  const of = <T extends ManagerMessage['type']>(type: T) => received.filter((m): m is Extract<ManagerMessage, { type: T }> => m.type === type);
  return { ws, received, send, of, id: enrolled.gatewayId as string };
}

const events = (from: number, n: number, over: Parameters<typeof makeEvent>[1] = {}) =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, event: makeEvent('exchange-commands', { connectionId: `conn-${from + i}`, ...over }) }));

async function all(t: TestApp): Promise<StoredEvent[]> {
  const res = await t.as(t.operator, { method: 'GET', url: '/api/events?limit=1000' });
  return zEventPage.parse(JSON.parse(res.body)).events as StoredEvent[];
}

describe('event ingestion over the fleet link', () => {
  it('commits then acks; a re-sent batch (lost ack) and an overlapping one are acked and stored once; ids only grow', async () => {
    const { t, base } = await started();
    const gw = await gateway(t, base, 'gw-a');
    expect(await t.app.fleet.parserReady()).toBe(true); // started by the link: frames are parsed beside the event loop
    gw.send(1, events(1, 5));
    await until(() => gw.of('ack').length === 1, 'first ack');
    expect(gw.of('ack')[0]).toEqual({ type: 'ack', epoch: 1, first: 1, last: 5 });
    gw.send(1, events(1, 5)); // the same batch again
    gw.send(1, events(4, 4)); // seq 4..7: 4 and 5 already stored
    await until(() => gw.of('ack').length === 3, 'acks of the re-sent batches');
    expect(gw.of('ack').slice(1)).toEqual([
      { type: 'ack', epoch: 1, first: 1, last: 5 },
      { type: 'ack', epoch: 1, first: 4, last: 7 },
    ]);
    const stored = await all(t);
    expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(stored.map((e) => e.connectionId).sort()).toEqual(['conn-1', 'conn-2', 'conn-3', 'conn-4', 'conn-5', 'conn-6', 'conn-7']);
    expect(new Set(stored.map((e) => e.id)).size).toBe(7);
    expect(stored.every((e) => e.gateway === 'gw-a' && e.gatewayId === gw.id)).toBe(true);
    // A new epoch (the gateway's spool was reset) numbers from 1 again: new events, not duplicates.
    gw.send(2, events(1, 2));
    await until(() => gw.of('ack').length === 4, 'ack of epoch 2');
    expect(t.app.manager.events.count()).toBe(9);
    expect(t.app.fleet.parserThreaded).toBe(true);
    expect(t.logs.filter((l) => l.includes('parser'))).toEqual([]);
  });

  it('a bad event in a batch: an error naming the field, nothing of the batch stored, no ack; the corrected batch goes in whole', async () => {
    const { t, base } = await started();
    const gw = await gateway(t, base, 'gw-b');
    const batch = events(1, 4);
    const bad = structuredClone(batch) as { seq: number; event: Record<string, unknown> }[];
    (bad[2]!.event.client as Record<string, unknown>).port = 70000;
    gw.send(1, bad);
    await until(() => gw.of('error').length === 1, 'error frame');
    expect(gw.of('error')[0]!.message).toMatch(/events\.2\.event\.client\.port/);
    expect(gw.of('ack')).toHaveLength(0);
    expect(t.app.manager.events.count()).toBe(0);
    gw.send(1, batch);
    await until(() => gw.of('ack').length === 1, 'ack');
    expect(t.app.manager.events.count()).toBe(4);
  });

  it('events carry the receiving gateway name, whatever name the event claims; every field comes back as sent', async () => {
    const { t, base } = await started();
    const gw = await gateway(t, base, 'gw-real');
    const claimed = events(1, 1, { gateway: 'gw-forged', command: 'MAIL FROM:<"a\\"b"@x> \u2028 \\x00', policyRevision: 3 });
    const plain = events(2, 1, { signals: [{ name: 'nop-sled', offset: 10, weight: 0.5 }] });
    gw.send(1, [...claimed, ...plain]);
    await until(() => gw.of('ack').length === 1, 'ack');
    const stored = (await all(t)).sort((a, b) => a.seq - b.seq);
    expect(stored.map((e) => e.gateway)).toEqual(['gw-real', 'gw-real']);
    const { gateway: _claimed, ...sent } = claimed[0]!.event;
    expect(stored[0]).toMatchObject(sent);
    expect(stored[1]).toMatchObject(plain[0]!.event);
  });
});

describe('event store', () => {
  it('ids are never reused, even after retention emptied the table (the log export cursor relies on it)', async () => {
    const t = await makeApp();
    cleanups.push(() => t.app.close());
    const m = t.app.manager;
    const first = m.events.ingest('gw_x', 'gw-x', 1, events(1, 3));
    expect(m.events.applyRetention({ retentionDays: 30, retentionMaxRows: 0 })).toBe(3);
    expect(m.events.count()).toBe(0);
    const next = m.events.ingest('gw_x', 'gw-x', 1, events(4, 2));
    expect(Math.min(...next.map((e) => e.id))).toBeGreaterThan(Math.max(...first.map((e) => e.id)));
  });

  it('a batch that fails half-way stores none of it (one transaction per commit)', async () => {
    const t = await makeApp();
    cleanups.push(() => t.app.close());
    const m = t.app.manager;
    const batch = events(1, 100);
    // An event the store cannot read (the fleet link's validation would have refused it), after a first full chunk of rows.
    (batch[70]!.event as { client: unknown }).client = null;
    expect(() => m.events.ingest('gw_x', 'gw-x', 1, batch)).toThrow();
    expect(m.events.count()).toBe(0);
  });

  it('a file database: the WAL is copied into the database file off the writer, and everything is there after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpguard-manager-ingest-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbFile = join(dir, 'manager.db');
    const first = await started({ dbFile });
    const sizeBefore = statSync(dbFile).size;
    const gw = await gateway(first.t, first.base, 'gw-file');
    // Recent events: the restarted manager applies the 30-day retention first.
    const time = new Date().toISOString();
    for (let b = 0; b < 6; b++) gw.send(1, events(1 + b * 500, 500, { detail: 'x'.repeat(400), time }));
    await until(() => gw.of('ack').length === 6, 'acks');
    // The writer's own auto-checkpoint only starts far beyond this WAL: the file grows by the checkpoint thread.
    await until(() => statSync(dbFile).size > sizeBefore + 1_000_000, 'database file written by the checkpoint thread');
    await first.close();
    expect(existsSync(`${dbFile}-wal`)).toBe(false);
    const second = await started({ dbFile });
    expect(second.t.app.manager.events.count()).toBe(3000);
  });
});
