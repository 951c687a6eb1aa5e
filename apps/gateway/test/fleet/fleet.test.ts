/**
 * The fleet link end to end: a real manager (buildApp + listen on loopback) and two real
 * gateways (startGateway + FleetAgent) in front of a recording upstream MTA, attacked with a
 * real SMTP client (python smtplib).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, zStreamFrame, type InspectionEvent, type StreamFrame } from '@smtpguard/contracts';
import { buildApp } from '@smtpguard/manager';
import pino from 'pino';
import { PolicySource } from '../../src/policy-source.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { EnrollmentError, FleetAgent } from '../../src/fleet/agent.js';
import { LOCALHOST, RecordingUpstream, python, tempDir, until } from '../peers.js';

type App = Awaited<ReturnType<typeof buildApp>>;

const ADMIN_PASSWORD = 'fleet-admin-password';
const dir = tempDir('smtpguard-fleet-');
let app: App;
let port = 0;
let cookie = '';
let upstream: RecordingUpstream;
const managerUrl = () => `http://${LOCALHOST}:${port}`;

async function startManager(): Promise<void> {
  app = await buildApp({ dbFile: join(dir, 'manager', 'manager.db'), adminPassword: ADMIN_PASSWORD, log: () => {}, consoleDir: null, installTimeoutMs: 2500, heartbeatSeconds: 1 });
  await app.listen({ host: LOCALHOST, port });
  port = (app.server.address() as AddressInfo).port;
  const res = await fetch(`${managerUrl()}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

async function api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${managerUrl()}${path}`, {
    method,
    headers: { cookie, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

interface Node {
  name: string;
  agent: FleetAgent;
  gateway: Gateway;
  policy: PolicySource;
  restoredRevision: number | null;
  close(): Promise<void>;
}

async function startNode(name: string, enrollKey?: string, opts: { refuse?: string } = {}): Promise<Node> {
  const dataDir = join(dir, name);
  const policy = PolicySource.fromInput({});
  let gateway: Gateway | undefined;
  const agent = new FleetAgent({
    managerUrl: managerUrl(),
    dataDir,
    ...(enrollKey ? { enrollKey } : {}),
    version: 'test',
    applyPolicy: (input) => {
      if (opts.refuse) throw new Error(opts.refuse);
      policy.setFromInput(input);
    },
    counters: () => ({ connections: gateway?.counters.connectionsAccepted ?? 0, activeConnections: gateway?.counters.connectionsActive ?? 0 }),
    heartbeatMs: 200,
    backoff: { minMs: 50, maxMs: 400 },
    batchSize: 200,
  });
  // Enforcement first: the saved revision is in force before anything connects.
  const restored = agent.restorePolicy();
  gateway = await startGateway({
    listen: { host: LOCALHOST, port: 0 },
    upstream: { host: LOCALHOST, port: upstream.port },
    policy,
    events: agent.sink,
    name,
    logger: pino({ level: 'silent' }),
  });
  await agent.start();
  const g = gateway;
  return {
    name,
    agent,
    gateway: g,
    policy,
    restoredRevision: restored?.revision ?? null,
    close: async () => {
      await g.close(1000);
      await agent.close();
    },
  };
}

const XEXCH50 = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.ehlo('attacker.example')
code, msg = s.docmd('XEXCH50', '2 2')
print(code)
s.quit()
`;
const THREE_RCPTS = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.ehlo('client.example')
s.mail('a@example.org')
print(' '.join(str(s.rcpt('u%d@example.net' % i)[0]) for i in range(3)))
s.quit()
`;

function floodEvent(gateway: string, i: number): InspectionEvent {
  const c = CATALOG['unknown-commands'];
  return {
    protectionId: 'unknown-commands',
    protectionName: c.name,
    attackName: c.attackName,
    attackInfo: c.attackInfo,
    severity: c.severity,
    confidence: c.confidence,
    action: 'prevent',
    direction: 'client',
    command: `FLOOD ${gateway} ${i}`,
    detail: 'unknown verb FLOOD',
    streamOffset: 0,
    context: { rcptCount: 0, state: 'greeted' },
    time: new Date().toISOString(),
    connectionId: `flood-${i}`,
    client: { address: '203.0.113.50', port: 1000 + (i % 50000) },
    server: { address: '127.0.0.1', port: 25 },
  };
}

const nodes: Record<string, Node> = {};
const keys: Record<string, string> = {};
const ids: Record<string, string> = {};

beforeAll(async () => {
  upstream = await RecordingUpstream.start();
  await startManager();
});
afterAll(async () => {
  for (const n of Object.values(nodes)) await n.close().catch(() => {});
  await app?.close();
  await upstream?.close();
});

describe('fleet link: real manager, two real gateways', () => {
  it('enrolls two gateways with one-time keys; a used key is refused with a clear error', async () => {
    for (const [name, profileId] of [['gw-a', 2], ['gw-b', 1]] as const) {
      const res = await api('POST', '/api/gateways', { name, profileId });
      expect(res.status).toBe(201);
      keys[name] = res.body.enrollmentKey;
      ids[name] = res.body.gateway.id;
    }
    nodes['gw-a'] = await startNode('gw-a', keys['gw-a']);
    nodes['gw-b'] = await startNode('gw-b', keys['gw-b']);
    await until(() => nodes['gw-a']!.agent.connected && nodes['gw-b']!.agent.connected, 'both links up');
    const reuse = new FleetAgent({ managerUrl: managerUrl(), dataDir: join(dir, 'intruder'), enrollKey: keys['gw-a']!, applyPolicy: () => {} });
    await expect(reuse.start()).rejects.toThrow(EnrollmentError);
    await expect(reuse.start()).rejects.toThrow(/enrollment key is unknown, used or expired/);
    await reuse.close();
    const list = (await api('GET', '/api/gateways')).body.gateways;
    expect(list.map((g: { name: string; status: string }) => [g.name, g.status])).toEqual([
      ['gw-a', 'online'],
      ['gw-b', 'online'],
    ]);
  });

  it('heartbeats report counters and status', async () => {
    let gw: any;
    await until(() => {
      void api('GET', `/api/gateways/${ids['gw-a']}`).then((r) => (gw = r.body));
      return gw?.counters !== null && gw?.counters !== undefined;
    }, 'a heartbeat');
    expect(gw).toMatchObject({ health: 'ok', version: 'test', counters: { spoolDropped: 0 } });
  });

  it('Install Policy reaches both gateways, each answers installed, and each enforces its profile', async () => {
    expect((await api('PUT', '/api/protections/max-recipients/settings', { settings: { limit: 2 } })).status).toBe(200);
    const res = await api('POST', '/api/install', { comment: 'first install' });
    expect(res.status).toBe(200);
    expect(res.body.revision).toBe(1);
    expect(res.body.results.map((r: any) => [r.gateway, r.profile, r.status])).toEqual(
      expect.arrayContaining([
        ['gw-a', 'Recommended_Protection', 'installed'],
        ['gw-b', 'Default_Protection', 'installed'],
      ]),
    );
    expect(nodes['gw-a']!.policy.current().revision).toBe(1);
    expect(nodes['gw-b']!.policy.current().revision).toBe(1);
    // Recommended activates max-recipients (limit 2): the third RCPT gets 452; Default leaves it inactive.
    expect((await python(THREE_RCPTS, [String(nodes['gw-a']!.gateway.address.port)])).stdout.trim()).toBe('250 250 452');
    expect((await python(THREE_RCPTS, [String(nodes['gw-b']!.gateway.address.port)])).stdout.trim()).toBe('250 250 250');
  });

  it('an attack through each gateway with a real SMTP client reaches the query API and the live stream', async () => {
    const frames: StreamFrame[] = [];
    const ws = new WebSocket(`ws://${LOCALHOST}:${port}/api/events/stream?protection=exchange-commands`, { headers: { cookie } });
    ws.on('message', (d: Buffer) => frames.push(zStreamFrame.parse(JSON.parse(d.toString()))));
    await until(() => frames.some((f) => f.type === 'ready'), 'stream ready');
    for (const name of ['gw-a', 'gw-b']) {
      const out = await python(XEXCH50, [String(nodes[name]!.gateway.address.port)]);
      expect(out.stdout.trim()).toBe('500');
    }
    await until(() => frames.filter((f) => f.type === 'event').length >= 2, 'two live events');
    const live = frames.filter((f): f is Extract<StreamFrame, { type: 'event' }> => f.type === 'event');
    expect(live.map((f) => f.data.gateway).sort()).toEqual(['gw-a', 'gw-b']);
    expect(live.every((f) => f.data.command.startsWith('XEXCH50'))).toBe(true);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1));
    ws.close();
    const page = await api('GET', '/api/events?protection=exchange-commands');
    expect(page.body.events.map((e: any) => [e.gateway, e.action, e.attackInfo, e.policyRevision ?? 1])).toEqual(
      expect.arrayContaining([
        ['gw-a', 'prevent', 'Illegal Microsoft Exchange Server command', 1],
        ['gw-b', 'prevent', 'Illegal Microsoft Exchange Server command', 1],
      ]),
    );
    const a = await api('GET', '/api/events?gateway=gw-a&protection=exchange-commands');
    expect(a.body.events).toHaveLength(1);
  });

  it('the manager killed mid-flood and restarted on the same data: every event arrives exactly once', async () => {
    const N = 3000;
    const writeSome = (from: number, to: number) => {
      for (let i = from; i < to; i++) for (const name of ['gw-a', 'gw-b']) nodes[name]!.agent.sink.write(floodEvent(name, i));
    };
    let written = 0;
    // First third while the manager is up, in small steps so batches are in flight when it dies.
    while (written < N / 3) {
      writeSome(written, written + 50);
      written += 50;
      await new Promise((r) => setTimeout(r, 2));
    }
    await app.close();
    writeSome(written, (2 * N) / 3);
    written = (2 * N) / 3;
    await startManager();
    writeSome(written, N);
    let total = 0;
    await until(
      () => {
        const row = app.manager.store.sqlite.prepare("SELECT count(*) AS n FROM events WHERE text LIKE 'flood %'").get() as { n: number };
        total = row.n;
        return total >= 2 * N && nodes['gw-a']!.agent.spool.pending === 0 && nodes['gw-b']!.agent.spool.pending === 0;
      },
      'every flood event committed and acknowledged',
      30_000,
    );
    expect(total).toBe(2 * N);
    const commands = (await fetch(`${managerUrl()}/api/events/export?format=jsonl&q=flood&limit=100000`, { headers: { cookie } }).then((r) => r.text()))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).command as string);
    expect(commands).toHaveLength(2 * N);
    expect(new Set(commands).size).toBe(2 * N);
    const stats = await api('GET', '/api/events/stats?q=flood');
    expect(stats.body.total).toBe(2 * N);
  });

  it('a restarted gateway enforces its last revision before the manager is back', async () => {
    await app.close();
    await nodes['gw-a']!.close();
    nodes['gw-a'] = await startNode('gw-a');
    expect(nodes['gw-a']!.restoredRevision).toBe(1);
    expect(nodes['gw-a']!.agent.connected).toBe(false);
    expect(nodes['gw-a']!.policy.current().revision).toBe(1);
    expect((await python(THREE_RCPTS, [String(nodes['gw-a']!.gateway.address.port)])).stdout.trim()).toBe('250 250 452');
    await startManager();
    await until(() => nodes['gw-a']!.agent.connected && nodes['gw-b']!.agent.connected, 'links back');
    const gw = (await api('GET', `/api/gateways/${ids['gw-a']}`)).body;
    expect(gw).toMatchObject({ status: 'online', installedRevision: 1, targetRevision: 1 });
  });

  it('a gateway down during an install is reported unreachable, then receives the revision when it reconnects', async () => {
    await nodes['gw-b']!.close();
    await api('PUT', '/api/profiles/1/overrides/max-recipients', { action: 'prevent' });
    const res = await api('POST', '/api/install', { comment: 'while gw-b is down' });
    expect(res.body.revision).toBe(2);
    const status = Object.fromEntries(res.body.results.map((r: any) => [r.gateway, [r.status, r.reason]]));
    expect(status['gw-a']).toEqual(['installed', null]);
    expect(status['gw-b']).toEqual(['unreachable', 'gateway not connected']);
    nodes['gw-b'] = await startNode('gw-b');
    expect(nodes['gw-b']!.restoredRevision).toBe(1);
    await until(() => nodes['gw-b']!.policy.current().revision === 2, 'gw-b catches up to revision 2');
    let result: any;
    await until(() => {
      void api('GET', `/api/installs/${res.body.id}`).then((r) => (result = r.body.results.find((x: any) => x.gateway === 'gw-b')));
      return result?.status === 'installed';
    }, 'install result turns installed');
    expect((await python(THREE_RCPTS, [String(nodes['gw-b']!.gateway.address.port)])).stdout.trim()).toBe('250 250 452');
  });

  it('a gateway that refuses a policy is reported failed with its reason', async () => {
    const created = await api('POST', '/api/gateways', { name: 'gw-c' });
    nodes['gw-c'] = await startNode('gw-c', created.body.enrollmentKey, { refuse: 'engine cannot compile: out of memory' });
    await until(() => nodes['gw-c']!.agent.connected, 'gw-c link');
    const res = await api('POST', '/api/install', { gateways: [created.body.gateway.id], comment: 'only gw-c' });
    expect(res.body.results).toEqual([expect.objectContaining({ gateway: 'gw-c', status: 'failed', reason: 'engine cannot compile: out of memory' })]);
  });

  it('revoking a gateway closes its link and its credential is refused from then on', async () => {
    const id = (await api('GET', '/api/gateways')).body.gateways.find((g: any) => g.name === 'gw-c').id;
    let closed = false;
    nodes['gw-c']!.agent.once('disconnected', () => (closed = true));
    expect((await api('POST', `/api/gateways/${id}/revoke`)).body.status).toBe('revoked');
    await until(() => closed, 'link closed');
    const refused = await new Promise<number>((resolve) => {
      const cred = JSON.parse(readFileSync(join(dir, 'gw-c', 'credential.json'), 'utf8')).credential;
      const ws = new WebSocket(`ws://${LOCALHOST}:${port}/api/fleet/ws`, { headers: { authorization: `Bearer ${cred}` } });
      ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(refused).toBe(401);
  });
});
