/**
 * Observability end to end: a real manager and a real managed gateway, a real SMTP attack,
 * then both /metrics endpoints scraped over HTTP, and the event forwarded by the manager's
 * log export to a syslog receiver on loopback.
 */
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@smtpguard/manager';
import pino from 'pino';
import { PolicySource } from '../../src/policy-source.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { FleetAgent } from '../../src/fleet/agent.js';
import { gatewayRegistry, startMetricsServer, type MetricsServer } from '../../src/metrics.js';
import { LOCALHOST, RecordingUpstream, python, tempDir, until } from '../peers.js';

const dir = tempDir('smtpguard-obs-');
let app: Awaited<ReturnType<typeof buildApp>>;
let cookie = '';
let base = '';
let upstream: RecordingUpstream;
let gateway: Gateway;
let agent: FleetAgent;
const servers: MetricsServer[] = [];
const syslog: string[] = [];
const siem = createServer((s) => s.on('data', (d: Buffer) => syslog.push(d.toString('utf8'))));

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method, headers: { cookie, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
}

async function scrape(server: MetricsServer): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${LOCALHOST}:${server.address.port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) if (line && !line.startsWith('#')) out.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  return out;
}

beforeAll(async () => {
  upstream = await RecordingUpstream.start({ extensions: ['PIPELINING', 'XEXCH50', 'ENHANCEDSTATUSCODES'] });
  await new Promise<void>((r) => siem.listen(0, LOCALHOST, () => r()));
  app = await buildApp({ dbFile: join(dir, 'manager.db'), adminPassword: 'obs-admin-password', log: () => {}, consoleDir: null, observability: { logExport: { retryMinMs: 50, retryMaxMs: 400, pollMs: 50 } } });
  await app.listen({ host: LOCALHOST, port: 0 });
  base = `http://${LOCALHOST}:${(app.server.address() as AddressInfo).port}`;
  const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'obs-admin-password' }) });
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const configured = await api('PUT', '/api/log-export', { enabled: true, host: LOCALHOST, port: (siem.address() as AddressInfo).port, transport: 'tcp', format: 'json' });
  expect(configured.status).toBe(200);
  const { enrollmentKey } = (await api('POST', '/api/gateways', { name: 'gw-obs' })).body;
  const policy = PolicySource.fromInput({});
  agent = new FleetAgent({ managerUrl: base, dataDir: join(dir, 'gw'), enrollKey: enrollmentKey, version: 'test', applyPolicy: (input) => policy.setFromInput(input), counters: () => ({}), heartbeatMs: 200, backoff: { minMs: 50, maxMs: 400 } });
  gateway = await startGateway({ listen: { host: LOCALHOST, port: 0 }, upstream: { host: LOCALHOST, port: upstream.port }, policy, events: agent.sink, name: 'gw-obs', logger: pino({ level: 'silent' }) });
  await agent.start();
  servers.push(await startMetricsServer(gatewayRegistry({ counters: gateway.counters, spool: () => agent.spool }), { host: LOCALHOST, port: 0 }));
  servers.push(await startMetricsServer(app.metrics.registry, { host: LOCALHOST, port: 0 }));
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await gateway?.close(1000);
  await agent?.close();
  await app?.close();
  await upstream?.close();
  await new Promise((r) => siem.close(r));
});

describe('observability across a real gateway and manager', () => {
  it('an attack moves the gateway and manager counters for that protection and action, and reaches the SIEM', async () => {
    const [gw, mgr] = servers as [MetricsServer, MetricsServer];
    const key = '{protection="exchange-commands",action="prevent"}';
    const gwBefore = await scrape(gw);
    const mgrBefore = await scrape(mgr);
    expect(gwBefore.get(`smtpguard_gateway_events_total${key}`) ?? 0).toBe(0);

    const r = await python(
      `import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)\ns.ehlo('attacker.example')\nprint(s.docmd('XEXCH50', '2 2')[0])\ns.quit()\n`,
      [String(gateway.address.port)],
    );
    expect(r.stdout.trim()).toBe('500');

    await until(() => agent.spool.pending === 0, 'event acknowledged by the manager');
    const gwAfter = await scrape(gw);
    expect(gwAfter.get(`smtpguard_gateway_events_total${key}`)).toBe(1);
    expect(gwAfter.get('smtpguard_gateway_connections_total')).toBe((gwBefore.get('smtpguard_gateway_connections_total') ?? 0) + 1);
    expect(gwAfter.get('smtpguard_gateway_spool_pending_events')).toBe(0);
    expect(gwAfter.get('smtpguard_gateway_engine_seconds_count')).toBeGreaterThan(gwBefore.get('smtpguard_gateway_engine_seconds_count') ?? 0);

    const mgrAfter = await scrape(mgr);
    expect(mgrAfter.get(`smtpguard_manager_events_committed_total${key}`)).toBe((mgrBefore.get(`smtpguard_manager_events_committed_total${key}`) ?? 0) + 1);
    expect(mgrAfter.get('smtpguard_manager_gateways{status="online"}')).toBe(1);
    expect(mgrAfter.get('smtpguard_manager_http_requests_total{method="PUT",route="/api/log-export",status="200"}')).toBe(1);

    await until(() => syslog.join('').includes('"protectionId":"exchange-commands"'), 'event at the syslog receiver');
    expect(syslog.join('')).toMatch(/^\d+ <\d+>1 \S+ gw-obs smtpguard - exchange-commands \[meta sequenceId="\d+"\]/);
    await until(() => app.logExport.status().pending === 0, 'cursor advanced');
    expect((await scrape(mgr)).get('smtpguard_manager_log_export_sent_total')).toBe(1);
  });
});
