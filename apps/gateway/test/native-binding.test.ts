/**
 * The native TCP transport (native/transport.c) through its binding alone, with node:net
 * peers on 127.0.0.1 / ::1. Build first: node scripts/build-native.mjs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  NativeEvent as E,
  NativeSyscall,
  loadNativeTransport,
  nativeTransportError,
  uvErrorName,
  type NativeTransport,
} from '../src/transport/native-binding.js';
import { delay, until } from './peers.js';

const LOOP4 = '127.0.0.1';
const ADDON = fileURLToPath(new URL('../native/build/transport.node', import.meta.url));
const TRANSPORT_SRC = new URL('../src/transport/native-transport.ts', import.meta.url).href;
const loaded = loadNativeTransport();
const t = loaded as NativeTransport;

// ---- event log and per-test reactions -----------------------------------------------------

interface Ev {
  kind: number;
  id: number;
  a?: unknown;
  b?: unknown;
  c?: unknown;
  /** Index in `batches` of the dispatch call that delivered it. */
  batch: number;
}
let log: Ev[] = [];
/** Runs for each record inside the dispatch (like the real session code would). */
let react: ((ev: Ev) => void) | null = null;
/** Index in `log` where the current holder of an id was born (ids are reused after CLOSE). */
const born = new Map<number, number>();
const liveSockets = new Set<number>();
const liveServers = new Set<number>();
const peers: Array<Socket | Server> = [];

/** The smallest arena and record ring the addon takes: its flushes on a full arena / ring happen often here. */
const ARENA_SIZE = 256 * 1024;
const RING = 64;
const arena = Buffer.alloc(ARENA_SIZE);
const events = new Int32Array(6 * RING);
/** Free arena bytes the addon keeps whenever a libuv callback starts (one read, one peer address). */
const ARENA_RESERVE = 65536 + 128;

interface Batch {
  count: number;
  /** Socket / server ids with records in it. */
  ids: Set<number>;
  dataBytes: number;
}
let batches: Batch[] = [];
/** Records whose bytes overlap an earlier record's or leave the arena (checked after every test). */
const layoutErrors: string[] = [];

/**
 * The addon's dispatch(count): unpacks the batch into one call per record in the old shape,
 * dispatch(kind, id, a, b, c) (DATA: a = a copy of the bytes; CONNECTION: a = server id,
 * b = address, c = port; ERROR: b = syscall name). Like the gateway's dispatcher it finishes
 * the batch when a record's handler throws, then rethrows the first error.
 */
function batchDispatch(count: number): void {
  const batch: Batch = { count, ids: new Set(), dataBytes: 0 };
  batches.push(batch);
  let end = 0;
  let failed = false;
  let first: unknown;
  for (let p = 0; p < count * 6; p += 6) {
    // read per record: close() inside this batch voids later records of its socket
    const [kind, id, a, b, c, d] = events.subarray(p, p + 6) as unknown as number[];
    if (kind === E.NONE) continue;
    batch.ids.add(id!);
    if (kind === E.DATA || kind === E.CONNECTION) {
      const [off, len] = kind === E.DATA ? [a!, b!] : [b!, c!];
      if (off < end || len < 0 || off + len > arena.length) layoutErrors.push(`kind ${kind} at ${off}+${len} after ${end}`);
      end = off + len;
    }
    try {
      if (kind === E.DATA) {
        batch.dataBytes += b!;
        dispatch(kind, id!, Buffer.from(arena.subarray(a!, a! + b!)));
      } else if (kind === E.CONNECTION) dispatch(kind, id!, a, arena.toString('latin1', b!, b! + c!), d);
      else if (kind === E.CONNECT) dispatch(kind, id!, a);
      else if (kind === E.ERROR) dispatch(kind, id!, a, NativeSyscall[b!]);
      else dispatch(kind!, id!);
    } catch (err) {
      if (!failed) {
        failed = true;
        first = err;
      }
    }
  }
  if (failed) throw first;
}

function dispatch(kind: number, id: number, a?: unknown, b?: unknown, c?: unknown): void {
  const ev: Ev = { kind, id, a, b, c, batch: batches.length - 1 };
  if (kind === E.CONNECTION) born.set(id, log.length);
  log.push(ev);
  if (kind === E.CONNECTION) liveSockets.add(id);
  if (kind === E.CLOSE) liveSockets.delete(id);
  if (kind === E.SERVER_CLOSE) liveServers.delete(id);
  react?.(ev);
}

const lifeOf = (id: number): Ev[] => log.slice(born.get(id) ?? 0).filter((e) => e.id === id);
const kindsOf = (id: number): number[] => lifeOf(id).filter((e) => e.kind !== E.SERVER_CLOSE).map((e) => e.kind);
const eventsOf = (id: number, kind: number): Ev[] => lifeOf(id).filter((e) => e.kind === kind);
const has = (id: number, kind: number): boolean => eventsOf(id, kind).length > 0;
const dataOf = (id: number): Buffer => Buffer.concat(eventsOf(id, E.DATA).map((e) => e.a as Buffer));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const waitEv = (id: number, kind: number, what: string) => until(() => has(id, kind), what, 5000);

function listen(ip = LOOP4, ipv6Only = false): { id: number; port: number } {
  const id = t.listen(ip, 0, 511, ipv6Only);
  born.set(id, log.length);
  liveServers.add(id);
  return { id, port: t.address(id)[1] };
}
function nativeConnect(ip: string, port: number): number {
  const id = t.connect(ip, port);
  born.set(id, log.length);
  liveSockets.add(id);
  return id;
}
function peer(port: number, host = LOOP4, allowHalfOpen = false): Socket {
  const s = netConnect({ port, host, allowHalfOpen });
  s.on('error', () => {});
  peers.push(s);
  return s;
}
async function accepted(serverId: number, n = 1): Promise<number[]> {
  const conns = () => log.filter((e) => e.kind === E.CONNECTION && e.a === serverId).map((e) => e.id);
  await until(() => conns().length >= n, 'CONNECTION');
  return conns();
}
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, LOOP4);
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}
function collect(s: Socket): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return { bytes: () => Buffer.concat(chunks) };
}
/** A native server socket whose node:net peer does not read, then 8 MiB written to it in 64 KiB writes (write() results kept). */
async function stalledPeerWith8MiB(settleMs: number) {
  const srv = listen();
  const client = peer(srv.port);
  await once(client, 'connect');
  client.pause();
  const [sid] = await accepted(srv.id);
  if (settleMs) await delay(settleMs);
  const payload = randomBytes(8 << 20);
  const rets: number[] = [];
  for (let off = 0; off < payload.length; off += 65536) rets.push(t.write(sid!, payload.subarray(off, off + 65536)));
  return { srv, client, sid, payload, rets };
}
const isZero = () => t.stats().sockets === 0 && t.stats().servers === 0;

beforeAll(() => {
  if (!loaded) throw new Error(`native transport did not load: ${nativeTransportError()}`);
  t.init(batchDispatch, arena, events);
});
beforeEach(() => {
  log = [];
  batches = [];
  born.clear();
  react = null;
});
afterEach(async () => {
  react = null;
  // the test must have closed everything it opened: wait for close callbacks, then check
  const deadline = Date.now() + 2000;
  while (!isZero() && Date.now() < deadline) await delay(5);
  const after = t.stats();
  for (const id of liveSockets) t.close(id);
  for (const id of liveServers) t.closeServer(id);
  for (const p of peers.splice(0)) {
    if ('destroy' in p) p.destroy();
    else p.close();
  }
  await until(isZero, 'forced clean-up', 2000).catch(() => {});
  liveSockets.clear();
  liveServers.clear();
  expect(after).toEqual({ sockets: 0, servers: 0 });
  expect(layoutErrors.splice(0)).toEqual([]);
});

// ---- tests ----------------------------------------------------------------------------

describe('native transport binding', () => {
  it('loads the addon', () => {
    expect(loaded, `nativeTransportError(): ${nativeTransportError()}`).not.toBeNull();
    expect(nativeTransportError()).toBeNull();
    for (const fn of ['init', 'listen', 'address', 'closeServer', 'connect', 'readStart', 'readStop', 'write', 'shutdown', 'close', 'queued', 'stats'])
      expect(typeof (t as unknown as Record<string, unknown>)[fn], fn).toBe('function');
    expect(t.stats()).toEqual({ sockets: 0, servers: 0 });
    expect(uvErrorName(-104)).toBe('ECONNRESET');
  });

  it('echoes through a native server (node:net client) and a native client (node:net server)', async () => {
    // native server, node:net client; the echo runs inside the dispatch
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
      if (ev.kind === E.DATA) expect(t.write(ev.id, ev.a as Buffer)).toBeGreaterThanOrEqual(0);
    };
    const client = peer(srv.port);
    await once(client, 'connect');
    const got = collect(client);
    client.write('hello native');
    const [sid] = await accepted(srv.id);
    const conn = log.find((e) => e.kind === E.CONNECTION)!;
    expect(conn).toMatchObject({ a: srv.id, b: LOOP4, c: client.localPort });
    await until(() => got.bytes().toString() === 'hello native', 'echo from the native server');
    // a Uint8Array view with a byte offset is written from its own bytes only
    const view = new Uint8Array(Buffer.from('xx-view-yy')).subarray(3, 7);
    expect(t.write(sid!, view)).toBe(0);
    await until(() => got.bytes().toString() === 'hello nativeview', 'the view bytes');
    const clientClosed = once(client, 'close');
    t.close(sid!);
    await waitEv(sid!, E.CLOSE, 'CLOSE of the accepted socket');
    await clientClosed;
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');

    // native client, node:net echo server
    const echo = createServer((s) => s.pipe(s));
    peers.push(echo);
    echo.listen(0, LOOP4);
    await once(echo, 'listening');
    const remote = once(echo, 'connection');
    react = (ev) => {
      if (ev.kind === E.CONNECT && ev.a === 0) {
        t.readStart(ev.id);
        t.write(ev.id, Buffer.from('ping from native'));
      }
    };
    const cid = nativeConnect(LOOP4, (echo.address() as AddressInfo).port);
    await until(() => dataOf(cid).toString() === 'ping from native', 'echo to the native client');
    const [s] = (await remote) as [Socket];
    expect(s.remotePort).toBe(t.address(cid)[1]);
    expect(eventsOf(cid, E.CONNECT)[0]!.a).toBe(0);
    t.close(cid);
    await waitEv(cid, E.CLOSE, 'CLOSE of the native client');
    const k = kindsOf(cid);
    expect([k[0], k.at(-1)]).toEqual([E.CONNECT, E.CLOSE]);
    expect(k.slice(1, -1).every((x) => x === E.DATA)).toBe(true);
  });

  it('readStop stops DATA (even inside the read loop; bytes read before it come in the same batch) and readStart resumes it', async () => {
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
      if (ev.kind === E.DATA && eventsOf(ev.id, E.DATA).length === 1) t.readStop(ev.id);
    };
    const client = peer(srv.port);
    await once(client, 'connect');
    const payload = randomBytes(1 << 20);
    client.write(payload);
    const [sid] = await accepted(srv.id);
    await waitEv(sid!, E.DATA, 'first DATA');
    await delay(250);
    // DATA after readStop: only what libuv read before the stop, queued in the same batch
    const firstBatch = eventsOf(sid!, E.DATA)[0]!.batch;
    expect(eventsOf(sid!, E.DATA).every((e) => e.batch === firstBatch)).toBe(true);
    const first = dataOf(sid!).length;
    expect(first).toBeLessThan(payload.length);
    t.readStop(sid!); // again: harmless
    t.readStart(sid!);
    await until(() => dataOf(sid!).length === payload.length, 'the rest after readStart');
    expect(sha(dataOf(sid!))).toBe(sha(payload));
    t.close(sid!);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
    await waitEv(sid!, E.CLOSE, 'CLOSE');
  });

  it('half-close: the peer ends first (END), then shutdown -> CLOSE without close()', async () => {
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
      if (ev.kind === E.END) {
        expect(t.write(ev.id, Buffer.from('pong'))).toBeGreaterThanOrEqual(0);
        expect(t.shutdown(ev.id)).toBe(0);
        expect(t.shutdown(ev.id)).toBe(0); // idempotent
      }
    };
    const client = peer(srv.port);
    await once(client, 'connect');
    const got = collect(client);
    client.end('ping');
    await once(client, 'end');
    expect(got.bytes().toString()).toBe('pong');
    const [sid] = await accepted(srv.id);
    await waitEv(sid!, E.CLOSE, 'CLOSE after END + shutdown');
    expect(kindsOf(sid!)).toEqual([E.CONNECTION, E.DATA, E.END, E.CLOSE]);
    expect(dataOf(sid!).toString()).toBe('ping');
    t.readStart(sid!); // after CLOSE: no-op
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('half-close: shutdown first (every queued byte arrives before the FIN), then the peer FIN -> CLOSE', async () => {
    const srv = listen();
    const payload = randomBytes(4 << 20);
    let afterShutdown = 0;
    react = (ev) => {
      if (ev.kind === E.CONNECTION) {
        t.readStart(ev.id);
        for (let off = 0; off < payload.length; off += 65536) t.write(ev.id, payload.subarray(off, off + 65536));
        expect(t.queued(ev.id)).toBeGreaterThan(0);
        expect(t.shutdown(ev.id)).toBe(0);
        afterShutdown = t.write(ev.id, Buffer.from('late'));
      }
    };
    const client = peer(srv.port, LOOP4, true);
    await once(client, 'connect');
    const got = collect(client);
    await once(client, 'end');
    expect(uvErrorName(afterShutdown)).toBe('EPIPE');
    expect(got.bytes().length).toBe(payload.length);
    expect(sha(got.bytes())).toBe(sha(payload));
    const [sid] = await accepted(srv.id);
    expect(has(sid!, E.CLOSE)).toBe(false); // half-open: still reading
    expect(t.stats().sockets).toBe(1);
    client.end('bye');
    await waitEv(sid!, E.CLOSE, 'CLOSE after the peer FIN');
    expect(dataOf(sid!).toString()).toBe('bye');
    const k = kindsOf(sid!).filter((x) => x !== E.DRAIN);
    expect(k).toEqual([E.CONNECTION, E.DATA, E.END, E.CLOSE]);
    expect(eventsOf(sid!, E.DRAIN)).toHaveLength(1);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('a peer reset mid-stream gives ERROR ECONNRESET (read) then CLOSE', async () => {
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
    };
    const client = peer(srv.port);
    await once(client, 'connect');
    client.write('some bytes');
    const [sid] = await accepted(srv.id);
    await waitEv(sid!, E.DATA, 'DATA');
    client.resetAndDestroy();
    await waitEv(sid!, E.CLOSE, 'CLOSE after the reset');
    expect(kindsOf(sid!)).toEqual([E.CONNECTION, E.DATA, E.ERROR, E.CLOSE]);
    const err = eventsOf(sid!, E.ERROR)[0]!;
    expect(uvErrorName(err.a as number)).toBe('ECONNRESET');
    expect(err.b).toBe('read');
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('connect to a closed port gives CONNECT ECONNREFUSED then CLOSE, one batch (ticks and microtasks run after it)', async () => {
    const port = await closedPort();
    const order: string[] = [];
    react = (ev) => {
      if (ev.kind === E.CONNECT) {
        order.push('CONNECT');
        process.nextTick(() => order.push('tick'));
        queueMicrotask(() => order.push('micro'));
      }
      if (ev.kind === E.CLOSE) order.push('CLOSE');
    };
    const id = nativeConnect(LOOP4, port);
    expect(log).toHaveLength(0); // never dispatched synchronously
    await waitEv(id, E.CLOSE, 'CLOSE after a refused connect');
    expect(kindsOf(id)).toEqual([E.CONNECT, E.CLOSE]);
    expect(uvErrorName(eventsOf(id, E.CONNECT)[0]!.a as number)).toBe('ECONNREFUSED');
    expect(order).toEqual(['CONNECT', 'CLOSE', 'tick', 'micro']);
    expect(lifeOf(id).map((e) => e.batch)).toEqual([0, 0]);
    expect(batches).toHaveLength(1);
  });

  it('write and shutdown before CONNECT are deferred; readStart before CONNECT reads once connected', async () => {
    const server = createServer({ allowHalfOpen: true });
    peers.push(server);
    server.listen(0, LOOP4);
    await once(server, 'listening');
    const conn = once(server, 'connection');
    const id = nativeConnect(LOOP4, (server.address() as AddressInfo).port);
    expect(t.write(id, Buffer.from('early'))).toBe(5);
    expect(t.queued(id)).toBe(5);
    expect(t.shutdown(id)).toBe(0);
    t.readStart(id);
    const [s] = (await conn) as [Socket];
    const got = collect(s);
    await once(s, 'end');
    expect(got.bytes().toString()).toBe('early');
    s.end('reply');
    await waitEv(id, E.CLOSE, 'CLOSE after both directions ended');
    expect(kindsOf(id)).toEqual([E.CONNECT, E.DRAIN, E.DATA, E.END, E.CLOSE]);
    expect(dataOf(id).toString()).toBe('reply');
  });

  it('backpressure: 8 MiB to a peer that does not read queues, then DRAIN once and every byte in order', async () => {
    const { srv, client, sid, payload, rets } = await stalledPeerWith8MiB(20);
    expect(rets.every((r) => r >= 0)).toBe(true);
    const firstQueued = rets.findIndex((r) => r > 0);
    expect(firstQueued).toBeGreaterThanOrEqual(0);
    for (let i = firstQueued + 1; i < rets.length; i++) expect(rets[i]).toBe(rets[i - 1]! + 65536);
    expect(t.queued(sid!)).toBe(rets.at(-1));
    await delay(100);
    expect(t.queued(sid!)).toBeGreaterThan(0);
    expect(has(sid!, E.DRAIN)).toBe(false);
    const got = collect(client);
    client.resume();
    await waitEv(sid!, E.DRAIN, 'DRAIN');
    expect(t.queued(sid!)).toBe(0);
    await until(() => got.bytes().length >= payload.length, 'all 8 MiB at the peer');
    expect(got.bytes().length).toBe(payload.length);
    expect(sha(got.bytes())).toBe(sha(payload));
    expect(eventsOf(sid!, E.DRAIN)).toHaveLength(1);
    t.close(sid!);
    t.closeServer(srv.id);
    await waitEv(sid!, E.CLOSE, 'CLOSE');
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('close() with queued writes cancels them cleanly: CLOSE only, the peer gets exactly the unqueued prefix', async () => {
    const { srv, client, sid, payload } = await stalledPeerWith8MiB(0);
    const queued = t.queued(sid!);
    expect(queued).toBeGreaterThan(0);
    const clientClosed = once(client, 'close');
    t.close(sid!);
    t.close(sid!); // idempotent
    expect(t.queued(sid!)).toBe(0);
    expect(uvErrorName(t.write(sid!, Buffer.from('x')))).toBe('EBADF');
    const got = collect(client);
    client.resume();
    await waitEv(sid!, E.CLOSE, 'CLOSE');
    await clientClosed;
    expect(kindsOf(sid!)).toEqual([E.CONNECTION, E.CLOSE]);
    expect(got.bytes().length).toBe(payload.length - queued);
    expect(sha(got.bytes())).toBe(sha(payload.subarray(0, payload.length - queued)));
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('close() of this and another socket inside a DATA dispatch stops all further events but CLOSE', async () => {
    const srv = listen();
    let other = -1;
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
      if (ev.kind === E.DATA && ev.id !== other && other !== -1) {
        t.close(ev.id);
        t.close(other);
        expect(t.write(ev.id, Buffer.from('x'))).toBeLessThan(0);
      }
    };
    const c1 = peer(srv.port);
    await once(c1, 'connect');
    const [first] = await accepted(srv.id);
    other = first!;
    const c2 = peer(srv.port);
    await once(c2, 'connect');
    const ids = await accepted(srv.id, 2);
    const second = ids[1]!;
    c2.write(randomBytes(1 << 20));
    c1.write('quiet one');
    await waitEv(second, E.CLOSE, 'CLOSE of the socket closed in its DATA');
    await waitEv(other, E.CLOSE, 'CLOSE of the other socket');
    expect(kindsOf(second)).toEqual([E.CONNECTION, E.DATA, E.CLOSE]);
    expect(kindsOf(other).at(-1)).toBe(E.CLOSE);
    expect(kindsOf(other).filter((k) => k === E.CLOSE)).toHaveLength(1);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('stale, unknown and mistyped-kind ids are harmless', async () => {
    const srv = listen();
    const cid = nativeConnect(LOOP4, srv.port);
    await waitEv(cid, E.CONNECT, 'CONNECT');
    const [sid] = await accepted(srv.id);
    t.close(cid);
    t.close(sid!);
    await waitEv(cid, E.CLOSE, 'CLOSE');
    await waitEv(sid!, E.CLOSE, 'CLOSE');
    const before = log.length;
    const buf = Buffer.from('x');
    for (const id of [cid, sid!, 0, -1, 1.5, NaN, Infinity, 1e9, 2 ** 32 + cid]) {
      t.readStart(id);
      t.readStop(id);
      expect(uvErrorName(t.write(id, buf))).toBe('EBADF');
      expect(uvErrorName(t.shutdown(id))).toBe('EBADF');
      expect(t.queued(id)).toBe(0);
      t.close(id);
      t.closeServer(id);
      expect(() => t.address(id)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    }
    // a server id given to socket calls, a socket id to closeServer
    const other = nativeConnect(LOOP4, srv.port);
    await waitEv(other, E.CONNECT, 'CONNECT');
    expect(uvErrorName(t.write(srv.id, buf))).toBe('EBADF');
    t.close(srv.id);
    t.readStart(srv.id);
    t.closeServer(other);
    await delay(20);
    expect(t.stats().servers).toBe(1);
    // (ids are reused: only events after `before` count)
    expect(log.slice(before).map((e) => e.kind).sort()).toEqual([E.CONNECTION, E.CONNECT]);
    const ids = await accepted(srv.id, 2);
    t.close(other);
    t.close(ids[1]!);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
    await until(isZero, 'all closed');
  });

  it('wrong argument types throw a TypeError naming the argument', async () => {
    const bad = t as unknown as Record<string, (...args: unknown[]) => unknown>;
    const typeErr = (re: RegExp) => expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(re) });
    expect(() => bad.init!('nope', arena, events)).toThrow(typeErr(/dispatch/));
    expect(() => bad.listen!(1, 0, 1, false)).toThrow(typeErr(/ip/));
    expect(() => bad.listen!(LOOP4, '0', 1, false)).toThrow(typeErr(/port/));
    expect(() => bad.listen!(LOOP4, 0, '1', false)).toThrow(typeErr(/backlog/));
    expect(() => bad.listen!(LOOP4, 0, 1, 'no')).toThrow(typeErr(/ipv6Only/));
    expect(() => bad.listen!(LOOP4)).toThrow(typeErr(/port/));
    expect(() => bad.connect!(null, 25)).toThrow(typeErr(/ip/));
    expect(() => bad.connect!(LOOP4, null)).toThrow(typeErr(/port/));
    expect(() => bad.connect!(LOOP4, 70000)).toThrow(RangeError);
    expect(() => bad.connect!(LOOP4, 1.5)).toThrow(RangeError);
    for (const fn of ['readStart', 'readStop', 'write', 'shutdown', 'close', 'queued', 'address', 'closeServer'])
      expect(() => bad[fn]!('1', Buffer.alloc(1)), fn).toThrow(typeErr(/id/));
    expect(() => bad.write!(1, 'text')).toThrow(typeErr(/data/));
    expect(() => bad.write!(1, new Uint16Array(2))).toThrow(typeErr(/data/));
    expect(() => bad.write!(1, new DataView(new ArrayBuffer(2)))).toThrow(typeErr(/data/));
    expect(() => bad.write!(1)).toThrow(typeErr(/data/));
    // invalid (non-numeric) addresses are not type errors: Error with code EINVAL
    expect(() => t.connect('localhost', 25)).toThrow(expect.objectContaining({ code: 'EINVAL', message: 'connect EINVAL localhost:25' }));
    expect(() => t.listen('300.1.1.1', 0, 1, false)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    await delay(10);
    expect(log).toHaveLength(0);
  });

  it('IPv6: listens on ::1 (ipv6Only) and accepts node:net and native clients there', async () => {
    const srv = listen('::1', true);
    expect(t.address(srv.id)).toEqual(['::1', srv.port, 6]);
    const client = peer(srv.port, '::1');
    await once(client, 'connect');
    const [sid] = await accepted(srv.id);
    expect(log.find((e) => e.id === sid)).toMatchObject({ kind: E.CONNECTION, b: '::1', c: client.localPort });
    const cid = nativeConnect('::1', srv.port);
    await waitEv(cid, E.CONNECT, 'CONNECT over ::1');
    expect(eventsOf(cid, E.CONNECT)[0]!.a).toBe(0);
    expect(t.address(cid)).toEqual(['::1', expect.any(Number), 6]);
    // ipv6Only: the same port on IPv4 is not served by this listener
    const v4 = nativeConnect(LOOP4, srv.port);
    await waitEv(v4, E.CLOSE, 'refused IPv4 connect');
    expect(uvErrorName(eventsOf(v4, E.CONNECT)[0]!.a as number)).toBe('ECONNREFUSED');
    const ids = await accepted(srv.id, 2);
    for (const id of [...ids, cid]) t.close(id);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
    await until(isZero, 'all closed');
  });

  it('dual-stack: a listener on :: accepts an IPv4 client as ::ffff:127.0.0.1', async () => {
    const srv = listen('::', false);
    expect(t.address(srv.id)).toEqual(['::', srv.port, 6]);
    const client = peer(srv.port, LOOP4);
    await once(client, 'connect');
    const [sid] = await accepted(srv.id);
    expect(log.find((e) => e.id === sid)).toMatchObject({ kind: E.CONNECTION, b: '::ffff:127.0.0.1', c: client.localPort });
    t.close(sid!);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
    await waitEv(sid!, E.CLOSE, 'CLOSE');
  });

  it('address() gives the resolved port; a taken port throws EADDRINUSE with code and message', async () => {
    const id = t.listen(LOOP4, 0, 511, false);
    born.set(id, log.length);
    liveServers.add(id);
    const [ip, port, family] = t.address(id);
    expect([ip, family]).toEqual([LOOP4, 4]);
    expect(port).toBeGreaterThan(0);
    const client = peer(port);
    await once(client, 'connect');
    let err: unknown;
    try {
      t.listen(LOOP4, port, 511, false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'listen', message: `listen EADDRINUSE ${LOOP4}:${port}`, address: LOOP4, port });
    expect(uvErrorName((err as { errno: number }).errno)).toBe('EADDRINUSE');
    const [sid] = await accepted(id);
    t.close(sid!);
    t.closeServer(id);
    await waitEv(id, E.SERVER_CLOSE, 'SERVER_CLOSE');
    await until(isZero, 'the failed listener is released too');
    expect(log.filter((e) => e.kind === E.SERVER_CLOSE)).toHaveLength(1);
  });

  it('closeServer gives one SERVER_CLOSE and new connects are refused', async () => {
    const srv = listen();
    t.closeServer(srv.id);
    t.closeServer(srv.id);
    expect(log).toHaveLength(0);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
    await delay(20);
    expect(log.filter((e) => e.kind === E.SERVER_CLOSE)).toHaveLength(1);
    expect(t.stats().servers).toBe(0);
    const client = netConnect(srv.port, LOOP4);
    const [err] = (await once(client, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('batches: 20 concurrent echo clients share batches, every socket keeps its order and its bytes', async () => {
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
      if (ev.kind === E.DATA) expect(t.write(ev.id, ev.a as Buffer)).toBeGreaterThanOrEqual(0);
      if (ev.kind === E.END) expect(t.shutdown(ev.id)).toBe(0);
    };
    const clients = Array.from({ length: 20 }, (_, i) => {
      const c = peer(srv.port, LOOP4, true);
      const payload = randomBytes(96 * 1024 + i * 997);
      const got = collect(c);
      const ended = once(c, 'end');
      const me = { c, payload, got, ended, port: -1 };
      c.on('connect', () => {
        me.port = c.localPort!;
        // in pieces, so that reads of many sockets interleave
        for (let off = 0; off < payload.length; off += 8192) c.write(payload.subarray(off, off + 8192));
        c.end();
      });
      return me;
    });
    for (const { ended } of clients) await ended;
    const ids = await accepted(srv.id, 20);
    for (const id of ids) await waitEv(id, E.CLOSE, 'CLOSE after END + shutdown');
    for (const { payload, got } of clients) expect(sha(got.bytes())).toBe(sha(payload));
    for (const id of ids) {
      const k = kindsOf(id).filter((x) => x !== E.DRAIN);
      expect(k[0]).toBe(E.CONNECTION);
      expect(k.slice(-2)).toEqual([E.END, E.CLOSE]);
      expect(k.slice(1, -2).every((x) => x === E.DATA)).toBe(true);
      // the native side received what it echoed, in order
      const mine = clients.find(({ port }) => port === eventsOf(id, E.CONNECTION)[0]!.c)!;
      expect(sha(dataOf(id))).toBe(sha(mine.payload));
    }
    // events of several sockets travelled together
    expect(batches.some((b) => b.ids.size > 1)).toBe(true);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('a full record ring is flushed from the read callback: 100 sockets readable in one poll, no DATA lost', async () => {
    // libuv accepts one connection per poll, but reads every readable socket of a poll
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
    };
    const clients = Array.from({ length: 100 }, () => peer(srv.port));
    await Promise.all(clients.map((c) => once(c, 'connect')));
    const ids = await accepted(srv.id, 100);
    expect(new Set(ids).size).toBe(100);
    await delay(20);
    batches = [];
    clients.forEach((c, i) => c.write(`hello ${i}`)); // all in flight before the native side polls
    for (const id of ids) await waitEv(id, E.DATA, 'DATA');
    const byPort = new Map(clients.map((c, i) => [c.localPort, `hello ${i}`]));
    for (const id of ids) expect(dataOf(id).toString()).toBe(byPort.get(eventsOf(id, E.CONNECTION)[0]!.c as number));
    expect(Math.max(...batches.map((b) => b.count))).toBe(RING); // a full ring, never more
    const closed = clients.map((c) => once(c, 'close'));
    for (const id of ids) t.close(id);
    await Promise.all(closed);
    for (const id of ids) await waitEv(id, E.CLOSE, 'CLOSE');
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('a full arena is flushed in the read callback: 8 MiB to one socket and 1 MiB each to 4 others, all bytes intact', async () => {
    const srv = listen();
    react = (ev) => {
      if (ev.kind === E.CONNECTION) t.readStart(ev.id);
    };
    const big = randomBytes(8 << 20);
    const small = Array.from({ length: 4 }, () => randomBytes(1 << 20));
    const senders = [big, ...small].map((payload) => {
      const c = peer(srv.port);
      c.on('connect', () => c.end(payload));
      return { c, payload };
    });
    const ids = await accepted(srv.id, 5);
    for (const id of ids) await waitEv(id, E.END, 'END');
    const byPort = new Map(senders.map((x) => [x.c.localPort, x.payload]));
    for (const id of ids) {
      const payload = byPort.get(eventsOf(id, E.CONNECTION)[0]!.c as number)!;
      expect(dataOf(id).length).toBe(payload.length);
      expect(sha(dataOf(id))).toBe(sha(payload));
    }
    // some batch's reads used the arena up to its reserve (the arena-full flush), none beyond
    const most = Math.max(...batches.map((b) => b.dataBytes));
    expect(most).toBeGreaterThan(ARENA_SIZE - ARENA_RESERVE);
    expect(most).toBeLessThanOrEqual(ARENA_SIZE);
    for (const id of ids) t.close(id);
    for (const id of ids) await waitEv(id, E.CLOSE, 'CLOSE');
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('close() gets its CLOSE promptly with nothing else on the loop, and the last SERVER_CLOSE before the loop ends (child process)', async () => {
    // The child's only handles are the addon's: a listener nobody connects to and one client
    // of a server in this process (its I/O happens here, not there). CLOSE is queued by a
    // close callback; only the prepare handle delivers it before the poll would block for good.
    const server = createServer((s) => s.on('error', () => {}));
    peers.push(server);
    server.listen(0, LOOP4);
    await once(server, 'listening');
    const script = `
      const t = require(${JSON.stringify(ADDON)});
      const arena = Buffer.alloc(256 * 1024), ev = new Int32Array(6 * 64);
      const seen = [];
      let closedAt = 0n, srv = 0;
      t.init((count) => {
        for (let p = 0; p < count * 6; p += 6) {
          const kind = ev[p], id = ev[p + 1];
          seen.push(kind);
          if (kind === 2) { closedAt = process.hrtime.bigint(); t.close(id); }
          if (kind === 7) { seen.push(Number(process.hrtime.bigint() - closedAt) / 1e6); t.closeServer(srv); }
          if (kind === 8) console.log(JSON.stringify(seen));
        }
      }, arena, ev);
      srv = t.listen('127.0.0.1', 0, 16, false);
      t.connect('127.0.0.1', ${(server.address() as AddressInfo).port});`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill(), 10_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    expect(code, err).toBe(0); // not killed: the loop neither hung nor exited early
    const seen = JSON.parse(out.trim()) as number[];
    expect([seen[0], seen[1], seen[3]]).toEqual([E.CONNECT, E.CLOSE, E.SERVER_CLOSE]);
    expect(seen[2]).toBeLessThan(1000); // milliseconds from close() to CLOSE
  });

  it('init checks the dispatch function, the arena and the events array', async () => {
    const bad = t as unknown as Record<string, (...args: unknown[]) => unknown>;
    const err = (name: string, re: RegExp) => expect.objectContaining({ name, message: expect.stringMatching(re) });
    expect(() => bad.init!('nope', arena, events)).toThrow(err('TypeError', /dispatch/));
    expect(() => bad.init!(batchDispatch)).toThrow(err('TypeError', /arena/));
    expect(() => bad.init!(batchDispatch, new Uint16Array(ARENA_SIZE), events)).toThrow(err('TypeError', /arena/));
    expect(() => bad.init!(batchDispatch, new ArrayBuffer(ARENA_SIZE), events)).toThrow(err('TypeError', /arena/));
    expect(() => bad.init!(batchDispatch, Buffer.alloc(ARENA_SIZE - 1), events)).toThrow(err('RangeError', /arena/));
    expect(() => bad.init!(batchDispatch, arena)).toThrow(err('TypeError', /events/));
    expect(() => bad.init!(batchDispatch, arena, new Uint32Array(6 * RING))).toThrow(err('TypeError', /events/));
    expect(() => bad.init!(batchDispatch, arena, new Int32Array(6 * RING + 1))).toThrow(err('RangeError', /events/));
    expect(() => bad.init!(batchDispatch, arena, new Int32Array(6 * (RING - 1)))).toThrow(err('RangeError', /events/));
    // none of these replaced the registration; nor can init run inside dispatch
    const srv = listen();
    let inside: unknown;
    react = (ev) => {
      if (ev.kind === E.CONNECTION) {
        try {
          t.init(batchDispatch, Buffer.alloc(ARENA_SIZE), new Int32Array(6 * RING));
        } catch (e) {
          inside = e;
        }
      }
    };
    const client = peer(srv.port);
    await once(client, 'connect');
    const [sid] = await accepted(srv.id);
    expect(inside).toMatchObject({ code: 'ERR_INVALID_STATE' });
    // a valid init outside dispatch replaces the arrays: events keep flowing through the new ones
    const arena2 = Buffer.alloc(ARENA_SIZE + 4096);
    const events2 = new Int32Array(6 * 2 * RING);
    let seen2 = 0;
    t.init((count) => {
      seen2 += count;
      for (let p = 0; p < count * 6; p += 6) if (events2[p] === E.CLOSE) log.push({ kind: E.CLOSE, id: events2[p + 1]!, batch: -1 });
    }, arena2, events2);
    try {
      t.close(sid!);
      await until(() => log.some((e) => e.kind === E.CLOSE && e.id === sid), 'CLOSE through the new arrays');
      expect(seen2).toBeGreaterThan(0);
    } finally {
      t.init(batchDispatch, arena, events);
    }
    liveSockets.delete(sid!);
    t.closeServer(srv.id);
    await waitEv(srv.id, E.SERVER_CLOSE, 'SERVER_CLOSE');
  });

  it('an exception thrown inside dispatch reaches process uncaughtException; the batch is consumed all the same (child process)', () => {
    const script = (handler: boolean) => `
      const net = require('node:net');
      const t = require(${JSON.stringify(ADDON)});
      const arena = Buffer.alloc(256 * 1024), ev = new Int32Array(6 * 64);
      const seen = [];
      let thrown = false;
      ${handler ? "process.on('uncaughtException', (e) => seen.push('caught: ' + e.message));" : ''}
      t.init((count) => {
        const kinds = [];
        for (let i = 0; i < count; i++) kinds.push(ev[i * 6]);
        seen.push(kinds);
        if (!thrown) {
          thrown = true;
          setTimeout(() => t.connect('127.0.0.1', port), 20); // a second batch: the first one is not delivered again
          throw new Error('boom from dispatch');
        }
        setTimeout(() => console.log(JSON.stringify({ seen, stats: t.stats() })), 20);
      }, arena, ev);
      let port;
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        port = s.address().port;
        s.close(() => t.connect('127.0.0.1', port));
      });`;
    const run = (handler: boolean) => spawnSync(process.execPath, ['-e', script(handler)], { encoding: 'utf8', timeout: 20_000 });
    const withHandler = run(true);
    expect(withHandler.status, withHandler.stderr).toBe(0);
    // a refused connect: CONNECT(ECONNREFUSED) and CLOSE in one batch, both times
    expect(JSON.parse(withHandler.stdout.trim())).toEqual({
      seen: [[E.CONNECT, E.CLOSE], 'caught: boom from dispatch', [E.CONNECT, E.CLOSE]],
      stats: { sockets: 0, servers: 0 },
    });
    const without = run(false);
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain('boom from dispatch');
    expect(without.stdout).toBe('');
  });

  it('the gateway dispatcher: a handler throwing on one record does not cost the other records of its batch (child process, NativeSocketTransport)', () => {
    // 12 sockets, then each client writes at once: the 12 DATA records come in one poll, one
    // batch. The first 'data' handler throws; the other 11 sockets must still get theirs.
    const script = `
      import net from 'node:net';
      import { nativeTransport } from ${JSON.stringify(TRANSPORT_SRC)};
      const errors = [];
      process.on('uncaughtException', (e) => errors.push(e.message));
      const tr = nativeTransport();
      let batch = 0, open = false, got = 0, accepted = 0, clientsClosed = 0;
      const batchOf = [];
      const clients = [];
      const listener = await tr.listen({ host: '127.0.0.1', port: 0, backlog: 511 }, (socket) => {
        const ignore = () => {};
        socket.setHandler({
          onSocketData() {
            // records of one batch run back to back: a nextTick marks its end
            if (!open) { open = true; batch++; process.nextTick(() => { open = false; }); }
            batchOf.push(batch);
            got++;
            socket.destroy();
            if (got === 1) throw new Error('boom in a data handler');
          },
          onSocketEnd: ignore, onSocketDrain: ignore, onSocketError: ignore, onSocketClose: ignore, onSocketConnect: ignore,
        });
        socket.resume();
        if (++accepted === 12) setTimeout(() => { for (const c of clients) c.write('x'); }, 20);
      });
      const { port } = listener.address();
      for (let i = 0; i < 12; i++) {
        const c = net.connect(port, '127.0.0.1');
        clients.push(c);
        c.on('error', () => {});
        c.on('close', () => {
          if (++clientsClosed === 12) listener.close(() => console.log(JSON.stringify({ errors, got, batchOf })));
        });
      }`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim()) as { errors: string[]; got: number; batchOf: number[] };
    expect(out.errors).toEqual(['boom in a data handler']);
    expect(out.got).toBe(12);
    // the throwing record's batch held others, and they were delivered in that same batch
    expect(out.batchOf.filter((b) => b === out.batchOf[0]).length).toBeGreaterThan(1);
  });

  it('loads in a worker thread with its own state; worker teardown with open sockets closes them', async () => {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const t = require(workerData.addon);
       const arena = Buffer.alloc(256 * 1024), ev = new Int32Array(6 * 64);
       t.init((count) => {
         for (let p = 0; p < count * 6; p += 6) {
           const kind = ev[p], id = ev[p + 1];
           if (kind === 1) t.readStart(id);
           if (kind === 3) { t.write(id, arena.subarray(ev[p + 2], ev[p + 2] + ev[p + 3])); parentPort.postMessage({ stats: t.stats() }); }
         }
       }, arena, ev);
       const s = t.listen('127.0.0.1', 0, 16, false);
       parentPort.postMessage({ port: t.address(s)[1] });`,
      { eval: true, workerData: { addon: ADDON } },
    );
    const [first] = (await once(worker, 'message')) as [{ port: number }];
    const client = peer(first.port);
    await once(client, 'connect');
    const got = collect(client);
    client.write('to the worker');
    const [second] = (await once(worker, 'message')) as [{ stats: unknown }];
    expect(second.stats).toEqual({ sockets: 1, servers: 1 });
    await until(() => got.bytes().toString() === 'to the worker', 'echo from the worker');
    expect(t.stats()).toEqual({ sockets: 0, servers: 0 }); // per-env state
    const closed = once(client, 'close');
    await worker.terminate();
    await closed; // the env clean-up hook closed the worker's socket
    const again = netConnect(first.port, LOOP4);
    const [err] = (await once(again, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    expect(log).toHaveLength(0); // nothing leaked into this env's dispatch
  });

  it('a worker that alone loaded the addon tears down cleanly with queued writes, a pending connect and a listener (child process)', () => {
    // Node unloads an addon with the last env that loaded it: every close callback must
    // have run by then (the async cleanup hook), or the loop jumps into unmapped code.
    const script = `
      const { Worker } = require('node:worker_threads');
      const net = require('node:net');
      const { once } = require('node:events');
      const worker = \`const { parentPort, workerData } = require('node:worker_threads');
        const t = require(workerData);
        const ev = new Int32Array(6 * 64);
        t.init((count) => {
          for (let p = 0; p < count * 6; p += 6) {
            const kind = ev[p], id = ev[p + 1];
            if (kind === 1) t.readStart(id);
            if (kind === 3) {
              for (let i = 0; i < 256; i++) t.write(id, Buffer.alloc(65536, 1));
              t.connect('127.0.0.1', 1);
              parentPort.postMessage(t.queued(id));
            }
          }
        }, Buffer.alloc(256 * 1024), ev);
        const s = t.listen('127.0.0.1', 0, 16, false);
        parentPort.postMessage(t.address(s)[1]);\`;
      (async () => {
        const out = [];
        for (let round = 0; round < 2; round++) {
          const w = new Worker(worker, { eval: true, workerData: ${JSON.stringify(ADDON)} });
          const [port] = await once(w, 'message');
          const c = net.connect(port, '127.0.0.1');
          c.on('error', () => {});
          await once(c, 'connect');
          c.pause();
          c.write('go');
          const [queued] = await once(w, 'message');
          const closed = once(c, 'close');
          c.resume();
          await w.terminate();
          await closed;
          out.push(queued > 0);
        }
        console.log(JSON.stringify(out));
      })();`;
    const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(res.signal, res.stderr).toBeNull();
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout.trim()).toBe('[true,true]');
  });
});
