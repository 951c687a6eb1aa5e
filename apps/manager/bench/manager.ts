/**
 * Manager benchmark: `pnpm --filter @smtpguard/manager bench`.
 *
 * 1. Ingestion: events/s committed from gateway batches over the real fleet WebSocket
 *    (2 gateways, batches of 500, 4 in flight, each batch acknowledged after its commit).
 * 2. Query latency p50/p95 through HTTP (app.inject) for the main filters on 1,000,000 events.
 * 3. Live-stream lag: gateway send -> committed -> console WebSocket frame received.
 * Targets (issue 4): >= 20,000 events/s; p95 < 50 ms; lag < 100 ms.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { CATALOG, PROTECTION_IDS, type InspectionEvent, type ProtectionId } from '@smtpguard/contracts';
import { buildApp } from '../src/app.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'smtpguard-manager-bench-'));
const T0 = Date.UTC(2026, 0, 1);
const SPAN = 30 * 86_400_000;

function makeEvent(i: number, time = T0 + Math.floor((i / TOTAL) * SPAN)): InspectionEvent {
  const id = PROTECTION_IDS[(i * 7) % PROTECTION_IDS.length] as ProtectionId;
  const c = CATALOG[id];
  return {
    protectionId: id,
    protectionName: c.name,
    attackName: c.attackName,
    attackInfo: c.attackInfo,
    severity: c.severity,
    confidence: c.confidence,
    action: i % 5 === 0 ? 'detect' : 'prevent',
    direction: 'client',
    command: i % 997 === 0 ? `XEXCH50 needle-${i}` : `RCPT TO:<user${i % 5000}@example${i % 13}.net>`,
    detail: 'benchmark event',
    streamOffset: i % 4096,
    context: { helo: `host${i % 300}.example`, mailFrom: `sender${i % 700}@example.org`, rcptCount: i % 100, state: 'rcpt' },
    time: new Date(time).toISOString(),
    connectionId: `c${i}`,
    client: { address: `198.51.${(i >> 8) % 4}.${i % 250}`, port: 1024 + (i % 60000) },
    server: { address: '192.0.2.25', port: 25 },
  };
}

/** CPU ms of the main thread (Linux: /proc; null elsewhere). Wall-clock rates on a shared 2-core machine move with others' load; CPU per event much less. */
function mainThreadCpuMs(): number | null {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in 10 ms ticks
  } catch {
    return null;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (n: number) => n.toFixed(1);

async function main() {
  console.log(`manager bench: load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores shared; figures scale with it)`);
  const app = await buildApp({ dbFile: join(dir, 'manager.db'), adminPassword: 'bench-password-1', log: () => {}, consoleDir: null });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'bench-password-1' } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;

  const gateways: { id: string; credential: string }[] = [];
  for (const name of ['gw-1', 'gw-2', 'gw-3', 'gw-4']) {
    const created = JSON.parse((await app.inject({ method: 'POST', url: '/api/gateways', headers: { cookie }, payload: { name } })).body);
    const enrolled = JSON.parse((await app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: { key: created.enrollmentKey } })).body);
    gateways.push({ id: enrolled.gatewayId, credential: enrolled.credential });
  }

  const link = async (credential: string) => {
    const ws = new WebSocket(`ws://${base}/api/fleet/ws`, { headers: { authorization: `Bearer ${credential}` } });
    await new Promise((r) => ws.once('message', r)); // welcome
    return ws;
  };

  // ---------- 1. ingestion over the fleet link ----------
  const INGEST = Number(process.env.BENCH_INGEST ?? 100_000);
  const per = INGEST / 2;
  const batch = 500;
  // Each gateway is a worker thread (a gateway is its own process in production): building and
  // masking frames does not run on the manager's event loop.
  const GATEWAY_WORKER = `
    const { parentPort, workerData } = require('node:worker_threads');
    const WebSocket = require(workerData.wsPath);
    const { url, credential, lines, batch } = workerData;
    const per = lines.length;
    const ws = new WebSocket(url, { headers: { authorization: 'Bearer ' + credential } });
    let next = 0, inflight = 0, welcomed = false;
    const pump = () => {
      while (inflight < 4 && next < per) {
        const end = Math.min(per, next + batch);
        const events = [];
        for (let i = next; i < end; i++) events.push('{"seq":' + (i + 1) + ',"event":' + lines[i] + '}');
        ws.send('{"type":"events","epoch":1,"events":[' + events.join(',') + ']}');
        next = end;
        inflight += 1;
      }
    };
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString());
      if (msg.type === 'welcome') { parentPort.postMessage('ready'); return; }
      if (msg.type !== 'ack') return;
      inflight -= 1;
      if (msg.last >= per) { parentPort.postMessage('done'); ws.close(); }
      else pump();
    });
    parentPort.on('message', () => pump());
  `;
  const wsPath = createRequire(import.meta.url).resolve('ws');
  const gatewayWorkers = [0, 1].map((g) => {
    const lines: string[] = [];
    for (let i = 0; i < per; i++) lines.push(JSON.stringify(makeEvent(g * per + i)));
    return new Worker(GATEWAY_WORKER, { eval: true, workerData: { wsPath, url: `ws://${base}/api/fleet/ws`, credential: gateways[g]!.credential, lines, batch } });
  });
  await Promise.all(gatewayWorkers.map((w) => new Promise((r) => w.once('message', r))));
  const t1 = performance.now();
  const cpu0 = { main: mainThreadCpuMs(), all: process.cpuUsage() };
  const finished = gatewayWorkers.map((w) => new Promise((r) => w.once('message', r)));
  for (const w of gatewayWorkers) w.postMessage('go');
  await Promise.all(finished);
  await Promise.all(gatewayWorkers.map((w) => w.terminate()));
  const ingestSec = (performance.now() - t1) / 1000;
  const cpuMain = mainThreadCpuMs();
  const cpuAll = process.cpuUsage(cpu0.all);
  const rate = INGEST / ingestSec;
  console.log(`ingestion over the fleet link: ${INGEST} events in ${ingestSec.toFixed(2)} s = ${Math.round(rate)} events/s (2 gateway worker threads, batches of ${batch}, 4 in flight each, committed then acked)`);
  console.log(
    `  CPU per event: ${cpuMain !== null && cpu0.main !== null ? `event loop ${(((cpuMain - cpu0.main) * 1000) / INGEST).toFixed(1)} us, ` : ''}whole process ${((cpuAll.user + cpuAll.system) / INGEST).toFixed(1)} us (all threads: parser, checkpoint, the 2 gateway threads)`,
  );

  // ---------- fill to 1M (direct store ingestion, same code path minus the socket) ----------
  const t2 = performance.now();
  const store = app.manager.events;
  for (let done = INGEST; done < TOTAL; ) {
    const n = Math.min(5000, TOTAL - done);
    const items = [];
    for (let i = 0; i < n; i++) items.push({ seq: done + i + 1, event: makeEvent(done + i) });
    store.ingest(gateways[2 + (done % 2)]!.id, 'gw-x', 1, items);
    done += n;
  }
  const fillSec = (performance.now() - t2) / 1000;
  console.log(`filled to ${store.count()} events (${Math.round((TOTAL - INGEST) / fillSec)} events/s direct batch insert, ${fillSec.toFixed(1)} s)`);
  app.manager.store.sqlite.pragma('optimize');
  app.manager.store.sqlite.exec('ANALYZE');

  // ---------- 2. query latency ----------
  const lastHour = new Date(T0 + SPAN - 3600_000).toISOString();
  const queries: [string, string][] = [
    ['newest 100 (no filter)', '/api/events?limit=100'],
    ['protection', '/api/events?protection=max-recipients'],
    ['protection x2', '/api/events?protection=max-recipients,starttls'],
    ['gateway', '/api/events?gateway=gw-2'],
    ['action', '/api/events?action=detect'],
    ['attack name', `/api/events?attackName=${encodeURIComponent('SMTP Format Violation')}`],
    ['client address', '/api/events?client=198.51.2.77'],
    ['client CIDR', '/api/events?client=198.51.3.0/24'],
    ['time range (1 h)', `/api/events?from=${encodeURIComponent(lastHour)}`],
    ['free text (common)', '/api/events?q=example7'],
    ['free text (rare)', '/api/events?q=needle-99'],
    ['protection + gateway + action', '/api/events?protection=exchange-commands&gateway=gw-3&action=prevent'],
    ['page 2 (cursor)', ''],
    ['stats, last hour', `/api/events/stats?from=${encodeURIComponent(lastHour)}`],
    ['stats, all 1M', '/api/events/stats'],
  ];
  const first = JSON.parse((await app.inject({ method: 'GET', url: '/api/events?protection=max-recipients', headers: { cookie } })).body);
  queries[12]![1] = `/api/events?protection=max-recipients&cursor=${first.nextCursor}`;
  console.log(`\nquery latency on ${store.count()} events (HTTP via inject, 100 rows unless stated):`);
  console.log('  filter                          p50 ms   p95 ms   rows');
  for (const [name, url] of queries) {
    const runs = name.startsWith('stats, all') || name.startsWith('free text (rare)') ? 5 : 25;
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const res = await app.inject({ method: 'GET', url, headers: { cookie } });
      times.push(performance.now() - t);
      const body = JSON.parse(res.body);
      rows = body.events?.length ?? body.total;
    }
    console.log(`  ${name.padEnd(30)} ${fmt(pct(times, 50)).padStart(7)} ${fmt(pct(times, 95)).padStart(8)}   ${rows}`);
  }

  // ---------- 3. live-stream lag ----------
  const consoleWs = new WebSocket(`ws://${base}/api/events/stream?protection=exchange-commands`, { headers: { cookie } });
  await new Promise((r) => consoleWs.once('message', r)); // ready
  const lags: number[] = [];
  const sentAt = new Map<string, number>();
  consoleWs.on('message', (d: Buffer) => {
    const f = JSON.parse(d.toString());
    if (f.type !== 'event') return;
    const t = sentAt.get(f.data.connectionId);
    if (t !== undefined) lags.push(performance.now() - t);
  });
  const gw = await link(gateways[2]!.credential);
  const LIVE = 300;
  for (let i = 0; i < LIVE; i++) {
    const e = { ...makeEvent(i, Date.now()), protectionId: 'exchange-commands' as const, connectionId: `live-${i}` };
    sentAt.set(e.connectionId, performance.now());
    gw.send(JSON.stringify({ type: 'events', epoch: 2, events: [{ seq: i + 1, event: e }] }));
    await new Promise((r) => setTimeout(r, 5));
  }
  const deadline = Date.now() + 5000;
  while (lags.length < LIVE && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  console.log(`\nlive-stream lag gateway send -> commit -> console frame (${lags.length}/${LIVE} events, 1M-row store): p50 ${fmt(pct(lags, 50))} ms, p95 ${fmt(pct(lags, 95))} ms, max ${fmt(Math.max(...lags))} ms`);
  gw.close();
  consoleWs.close();

  console.log(`load average at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`\ntargets: ingestion >= 20000 events/s (${rate >= 20000 ? 'met' : 'MISSED'}); query p95 < 50 ms; lag < 100 ms (${pct(lags, 95) < 100 ? 'met' : 'MISSED'})`);
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
