import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Counters } from '../src/counters.js';
import { gatewayRegistry, startMetricsServer } from '../src/metrics.js';
import { only, startTestGateway } from './harness.js';
import { RawClient, freePort, launch, run, startSmtpSink, swaks, tempDir, until } from './peers.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const tsxCli = resolve(pkg, 'node_modules/tsx/dist/cli.mjs');

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Parses the text exposition format into `name{labels}` -> value (labels as printed). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(url: string): Promise<{ status: number; type: string | null; figures: Map<string, number>; text: string }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), figures: parse(text), text };
}

const value = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

describe('gateway /metrics', () => {
  it('after real traffic: connections, messages, bytes each way, events by protection and action, engine time', async () => {
    const sink = await startSmtpSink();
    cleanups.push(() => sink.stop());
    const gw = await startTestGateway(sink.port, { policy: only('non-compliant', 'prevent') });
    cleanups.push(() => gw.close());
    const server = await startMetricsServer(gatewayRegistry({ counters: gw.gw.counters }), { host: '127.0.0.1', port: 0 });
    cleanups.push(() => server.close());
    const url = `http://127.0.0.1:${server.address.port}/metrics`;

    const before = await scrape(url);
    expect(before.status).toBe(200);
    expect(before.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(before.text).toContain('# TYPE smtpguard_gateway_events_total counter');
    expect(before.text).toContain('# TYPE smtpguard_gateway_engine_seconds histogram');
    expect(value(before.figures, 'smtpguard_gateway_connections_total')).toBe(0);

    // A clean message, then an attack (markup in a malformed MAIL FROM: Non Compliant SMTP, Prevent).
    const clean = await swaks(gw.port, ['--from', 'alice@example.org', '--to', 'bob@example.com']);
    expect(clean.code).toBe(0);
    const attacker = await RawClient.connect(gw.port);
    expect(await attacker.reply()).toMatch(/^220 /);
    attacker.send('EHLO attacker.test\r\n');
    expect(await attacker.reply()).toMatch(/^250/);
    attacker.send('MAIL FROM:<img src=x onerror=alert(1)>@example.org\r\n');
    expect(await attacker.reply()).toMatch(/^421 /);
    await attacker.closed;
    await until(() => gw.gw.counters.connectionsActive === 0, 'sessions closed');

    const after = (await scrape(url)).figures;
    expect(value(after, 'smtpguard_gateway_connections_total')).toBe(2);
    expect(value(after, 'smtpguard_gateway_connections_active')).toBe(0);
    expect(value(after, 'smtpguard_gateway_messages_total{outcome="accepted"}')).toBe(1);
    expect(value(after, 'smtpguard_gateway_events_total{protection="non-compliant",action="prevent"}')).toBe(1);
    expect(value(after, 'smtpguard_gateway_events_total{protection="non-compliant",action="detect"}')).toBe(0);
    for (const direction of ['from_client', 'to_server', 'from_server', 'to_client']) {
      expect(value(after, `smtpguard_gateway_bytes_total{direction="${direction}"}`)).toBeGreaterThan(100);
    }
    // The blocked MAIL FROM was read from the client but never written to the server.
    expect(value(after, 'smtpguard_gateway_bytes_total{direction="from_client"}')).toBeGreaterThan(value(after, 'smtpguard_gateway_bytes_total{direction="to_server"}'));
    const calls = value(after, 'smtpguard_gateway_engine_seconds_count');
    expect(calls).toBeGreaterThan(10);
    expect(value(after, 'smtpguard_gateway_engine_seconds_bucket{le="+Inf"}')).toBe(calls);
    expect(value(after, 'smtpguard_gateway_engine_seconds_sum')).toBeGreaterThan(0);
    // The figures are the gateway's own counters, not a second count.
    expect(value(after, 'smtpguard_gateway_bytes_total{direction="to_client"}')).toBe(gw.gw.counters.bytesToClient);

    expect((await fetch(`http://127.0.0.1:${server.address.port}/other`)).status).toBe(404);
  });

  it('timeEngine: false (the CLI without --metrics) relays the same and leaves the engine-time histogram empty', async () => {
    const sink = await startSmtpSink();
    cleanups.push(() => sink.stop());
    const gw = await startTestGateway(sink.port, { timeEngine: false });
    cleanups.push(() => gw.close());
    expect((await swaks(gw.port, ['--from', 'alice@example.org', '--to', 'bob@example.com'])).code).toBe(0);
    await until(() => gw.gw.counters.connectionsActive === 0, 'session closed');
    expect(gw.gw.counters.messagesAccepted).toBe(1);
    expect(gw.gw.counters.engineTime.count).toBe(0);
  });

  it('spool depth is reported when the gateway is managed; registries do not share state', async () => {
    const spool = { pending: 7, bytes: 4096, dropped: 2 };
    const a = new Counters();
    a.countEvent('max-recipients', 'detect');
    const text = await gatewayRegistry({ counters: a, spool: () => spool }).metrics();
    const m = parse(text);
    expect(m.get('smtpguard_gateway_spool_pending_events')).toBe(7);
    expect(m.get('smtpguard_gateway_spool_bytes')).toBe(4096);
    expect(m.get('smtpguard_gateway_spool_dropped_events_total')).toBe(2);
    expect(m.get('smtpguard_gateway_events_total{protection="max-recipients",action="detect"}')).toBe(1);
    const other = parse(await gatewayRegistry({ counters: new Counters() }).metrics());
    expect(other.has('smtpguard_gateway_spool_pending_events')).toBe(false);
    expect(other.has('smtpguard_gateway_events_total{protection="max-recipients",action="detect"}')).toBe(false);
  });

  it('CLI: --metrics HOST:PORT serves the figures of the running gateway; a bad value is refused', async () => {
    const sink = await startSmtpSink();
    cleanups.push(() => sink.stop());
    const [port, metricsPort] = [await freePort(), await freePort()];
    const proc = launch(
      process.execPath,
      [tsxCli, 'src/main.ts', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${sink.port}`, '--events', `${tempDir()}/e.jsonl`, '--metrics', `127.0.0.1:${metricsPort}`],
      { cwd: pkg },
    );
    cleanups.push(() => proc.stop());
    await until(() => proc.stdout().includes('"metrics listening"') || proc.child.exitCode !== null, 'gateway start-up', 20_000);
    expect(proc.child.exitCode).toBeNull();
    expect((await swaks(port, ['--from', 'alice@example.org', '--to', 'bob@example.com'])).code).toBe(0);
    const m = (await scrape(`http://127.0.0.1:${metricsPort}/metrics`)).figures;
    expect(m.get('smtpguard_gateway_connections_total')).toBe(1);
    expect(m.get('smtpguard_gateway_messages_total{outcome="accepted"}')).toBe(1);
    // With an endpoint to read it, the CLI times the engine.
    expect(m.get('smtpguard_gateway_engine_seconds_count')).toBeGreaterThan(10);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);

    const bad = await run(process.execPath, [tsxCli, 'src/main.ts', '--upstream', '127.0.0.1:25', '--metrics', 'nowhere'], { cwd: pkg });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--metrics');
  });
});
