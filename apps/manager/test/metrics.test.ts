import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { zManagerMessage, type ManagerMessage } from '@smtpguard/contracts';
import { startMetricsServer } from '../src/observability/index.js';
import { makeEvent } from './fixtures.js';
import { makeApp, until, type TestApp } from './helpers.js';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});


function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

/** A gateway's end of the fleet link, speaking the protocol by hand. */
async function fakeGateway(t: TestApp, base: string, name: string) {
  const created = JSON.parse((await t.as(t.admin, { method: 'POST', url: '/api/gateways', payload: { name } })).body);
  const enrolled = JSON.parse((await t.app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: { key: created.enrollmentKey } })).body);
  const ws = new WebSocket(`ws://${base}/api/fleet/ws`, { headers: { authorization: `Bearer ${enrolled.credential}` } });
  const received: ManagerMessage[] = [];
  ws.on('message', (d: Buffer) => {
    const msg = zManagerMessage.parse(JSON.parse(d.toString()));
    received.push(msg);
    if (msg.type === 'install') ws.send(JSON.stringify({ type: 'install-result', installId: msg.installId, revision: msg.revision, hash: msg.hash, status: 'installed' }));
  });
  await until(() => received.some((m) => m.type === 'welcome'), 'welcome');
  cleanups.push(() => ws.close());
  return { ws, received, id: enrolled.gatewayId as string };
}

describe('manager /metrics', () => {
  it('after real traffic: HTTP requests by route and status, events committed by protection and action, install results, gateways and their spools, live clients', async () => {
    const t = await makeApp();
    cleanups.push(() => t.app.close());
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const server = await startMetricsServer(t.app.metrics.registry, { host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    const port = server.address.port;

    const before = await scrape(port);
    expect(before.get('smtpguard_manager_live_clients')).toBe(0);
    expect(before.get('smtpguard_manager_install_results{status="installed"}')).toBe(0);

    const gw = await fakeGateway(t, base, 'gw-a');
    // Events over the link: an attack (Non Compliant SMTP, prevent) and two detects.
    gw.ws.send(
      JSON.stringify({
        type: 'events',
        epoch: 1,
        events: [
          { seq: 1, event: makeEvent('non-compliant', { action: 'prevent' }) },
          { seq: 2, event: makeEvent('max-recipients', { action: 'detect' }) },
          { seq: 3, event: makeEvent('max-recipients', { action: 'detect' }) },
        ],
      }),
    );
    await until(() => gw.received.some((m) => m.type === 'ack'), 'ack');
    // The same batch again (a retransmission) is acknowledged but not counted twice.
    gw.ws.send(JSON.stringify({ type: 'events', epoch: 1, events: [{ seq: 3, event: makeEvent('max-recipients', { action: 'detect' }) }] }));
    await until(() => gw.received.filter((m) => m.type === 'ack').length === 2, 'second ack');
    gw.ws.send(
      JSON.stringify({
        type: 'heartbeat',
        time: new Date().toISOString(),
        status: 'ok',
        uptimeSeconds: 5,
        installedRevision: null,
        counters: { connections: 3, activeConnections: 0, events: 3, prevented: 1, detected: 2, spoolPending: 12, spoolBytes: 3456, spoolDropped: 1 },
      }),
    );
    const install = await t.as(t.admin, { method: 'POST', url: '/api/install', payload: { comment: 'metrics' } });
    expect(install.statusCode).toBe(200);
    const live = new WebSocket(`ws://${base}/api/events/stream`, { headers: { cookie: t.operator } });
    cleanups.push(() => live.close());
    await new Promise((r) => live.once('message', r));
    expect((await t.as(t.operator, { method: 'GET', url: '/api/events?limit=5' })).statusCode).toBe(200);
    expect((await t.as(null, { method: 'GET', url: '/api/events' })).statusCode).toBe(401);
    expect((await t.as(t.admin, { method: 'GET', url: '/api/nowhere/12345' })).statusCode).toBe(404);

    const m = await scrape(port);
    expect(m.get('smtpguard_manager_events_committed_total{protection="non-compliant",action="prevent"}')).toBe(1);
    expect(m.get('smtpguard_manager_events_committed_total{protection="max-recipients",action="detect"}')).toBe(2);
    expect(m.get('smtpguard_manager_install_results{status="installed"}')).toBe(1);
    expect(m.get('smtpguard_manager_install_results{status="failed"}')).toBe(0);
    expect(m.get('smtpguard_manager_gateways{status="online"}')).toBe(1);
    expect(m.get('smtpguard_manager_gateway_spool_pending_events{gateway="gw-a"}')).toBe(12);
    expect(m.get('smtpguard_manager_gateway_spool_bytes{gateway="gw-a"}')).toBe(3456);
    expect(m.get('smtpguard_manager_gateway_spool_dropped_events{gateway="gw-a"}')).toBe(1);
    expect(m.get('smtpguard_manager_live_clients')).toBe(1);
    expect(m.get('smtpguard_manager_http_requests_total{method="GET",route="/api/events",status="200"}')).toBe(1);
    expect(m.get('smtpguard_manager_http_requests_total{method="GET",route="/api/events",status="401"}')).toBe(1);
    expect(m.get('smtpguard_manager_http_requests_total{method="POST",route="/api/install",status="200"}')).toBe(1);
    // Unknown paths are one label value, whatever the URL (no label explosion).
    expect(m.get('smtpguard_manager_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(m.get('smtpguard_manager_http_request_seconds_count{method="POST",route="/api/install"}')).toBe(1);
    expect(m.has('smtpguard_manager_log_export_pending_events')).toBe(true);

    // Each app has its own registry: a second app starts from zero.
    const other = await makeApp();
    cleanups.push(() => other.app.close());
    const fresh = parse(await other.app.metrics.registry.metrics());
    expect(fresh.has('smtpguard_manager_events_committed_total{protection="non-compliant",action="prevent"}')).toBe(false);
  });

  it('main.ts: --metrics HOST:PORT serves /metrics on its own port (not on the API port); --metrics 0 disables; a busy explicit port is fatal', async () => {
    const free = async () => {
      const s = createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      const p = (s.address() as AddressInfo).port;
      await new Promise((r) => s.close(r));
      return p;
    };
    const start = (args: string[]) => {
      const child = spawn(process.execPath, [resolve(pkg, 'node_modules/tsx/dist/cli.mjs'), 'src/main.ts', ...args], {
        cwd: pkg,
        env: { ...process.env, SMTPGUARD_ADMIN_PASSWORD: 'a-long-password-1' },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      cleanups.push(async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
      });
      return { child, out: () => out, err: () => err, exited };
    };
    const dir = mkdtempSync(join(tmpdir(), 'sg-mgr-'));
    const [api, metrics] = [await free(), await free()];
    const p = start(['--listen', `127.0.0.1:${api}`, '--data', dir, '--metrics', `127.0.0.1:${metrics}`]);
    await until(() => p.out().includes('/metrics') || p.child.exitCode !== null, 'manager start-up', 30_000);
    expect(p.out()).toContain(`metrics on http://127.0.0.1:${metrics}/metrics`);
    expect((await fetch(`http://127.0.0.1:${api}/api/health`)).status).toBe(200);
    const m = await scrape(metrics);
    expect(m.get('smtpguard_manager_http_requests_total{method="GET",route="/api/health",status="200"}')).toBe(1);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    // The API port does not expose them (it may answer with the console's index.html).
    expect(await (await fetch(`http://127.0.0.1:${api}/metrics`)).text()).not.toContain('smtpguard_manager_');

    // The same explicit port again: refused, exit 2.
    const busy = start(['--listen', '127.0.0.1:0', '--data', mkdtempSync(join(tmpdir(), 'sg-mgr-')), '--metrics', `127.0.0.1:${metrics}`]);
    expect(await busy.exited).toBe(2);
    expect(busy.err()).toContain(`cannot serve metrics on 127.0.0.1:${metrics}: EADDRINUSE`);

    const off = start(['--listen', '127.0.0.1:0', '--data', mkdtempSync(join(tmpdir(), 'sg-mgr-')), '--metrics', '0']);
    await until(() => off.out().includes('listening on') || off.child.exitCode !== null, 'manager start-up', 30_000);
    expect(off.out()).not.toContain('/metrics');
  });
});
