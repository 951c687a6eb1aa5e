/**
 * NativeSocket's contract (node:net's, as the session relies on it) under batched delivery,
 * driven by a scripted addon: the test writes the records and calls the dispatch itself, so
 * every interleaving is exact. The real addon's own behaviour is in native-binding.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { NATIVE_RECORD_INTS, NativeEvent, type NativeTransport } from '../src/transport/native-binding.js';
import { NativeSocketTransport } from '../src/transport/native-transport.js';
import type { RelaySocket, RelaySocketHandler } from '../src/transport/relay-socket.js';

const UV_ECONNRESET = -104;

/** An addon that does nothing by itself: the test queues records and flushes them. */
function scriptedAddon() {
  let dispatch!: (count: number) => void;
  let arena!: Uint8Array;
  let events!: Int32Array;
  let nrec = 0;
  let arenaOff = 0;
  const calls: string[] = [];
  const state = { queued: 0, writeResult: 0 };
  const native: NativeTransport = {
    init(d, a, e) {
      dispatch = d as (count: number) => void;
      arena = a;
      events = e;
    },
    listen: () => 1,
    address: () => ['127.0.0.1', 2525, 4],
    closeServer: () => {},
    connect: () => 7,
    readStart: (id) => void calls.push(`readStart ${id}`),
    readStop: (id) => void calls.push(`readStop ${id}`),
    write: (id, data) => {
      calls.push(`write ${id} ${Buffer.from(data).toString()}`);
      return state.writeResult;
    },
    shutdown: () => 0,
    close: (id) => void calls.push(`close ${id}`),
    queued: () => state.queued,
    stats: () => ({ sockets: 0, servers: 0 }),
  };
  const push = (kind: number, id: number, a = 0, b = 0) => {
    events.set([kind, id, a, b, 0, 0], nrec * NATIVE_RECORD_INTS);
    nrec++;
  };
  return {
    native,
    calls,
    state,
    data(id: number, text: string) {
      const bytes = Buffer.from(text);
      arena.set(bytes, arenaOff);
      push(NativeEvent.DATA, id, arenaOff, bytes.length);
      arenaOff += bytes.length;
    },
    record: push,
    flush() {
      const n = nrec;
      nrec = 0;
      arenaOff = 0;
      dispatch(n);
    },
  };
}

/** What a session would see, in order. */
function recorder(): RelaySocketHandler & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    onSocketData: (_s: RelaySocket, chunk: Buffer) => void log.push(`data ${chunk.toString()}`),
    onSocketEnd: () => void log.push('end'),
    onSocketDrain: () => void log.push('drain'),
    onSocketError: (_s: RelaySocket, err: Error) => void log.push(`error ${(err as NodeJS.ErrnoException).code}`),
    onSocketClose: () => void log.push('close'),
    onSocketConnect: () => void log.push('connect'),
  };
}

const tick = () => new Promise<void>((r) => process.nextTick(r));

async function connected() {
  const addon = scriptedAddon();
  const transport = new NativeSocketTransport(addon.native);
  const socket = transport.connect('127.0.0.1', 25);
  const events = recorder();
  socket.setHandler(events);
  addon.record(NativeEvent.CONNECT, 7, 0);
  addon.flush();
  await tick();
  return { addon, socket, events };
}

describe('NativeSocket under batched delivery', () => {
  it('bytes and a FIN read before a pause took effect are held, and delivered in order on resume', async () => {
    const { addon, socket, events } = await connected();
    addon.data(7, 'MAIL FROM:<a@b>\r\n');
    socket.pause(); // as a session would inside the first record's handler, here before the batch
    addon.data(7, 'RCPT TO:<c@d>\r\n');
    addon.record(NativeEvent.END, 7);
    addon.flush();
    expect(events.log).toEqual(['connect']);
    expect(socket.readableLength).toBe('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n'.length);
    socket.resume();
    expect(events.log).toEqual(['connect']); // on the next tick, as node:net
    await tick();
    expect(events.log).toEqual(['connect', 'data MAIL FROM:<a@b>\r\n', 'data RCPT TO:<c@d>\r\n', 'end']);
    expect(socket.readableLength).toBe(0);
    expect(addon.calls).toContain('readStop 7');
  });

  it('pausing again while held bytes are delivered stops the delivery; the rest waits for the next resume', async () => {
    const { addon, socket, events } = await connected();
    const pausingOnFirst = { ...events, onSocketData: (s: RelaySocket, chunk: Buffer) => {
      events.onSocketData(s, chunk);
      s.pause();
    } };
    socket.setHandler(pausingOnFirst);
    socket.pause();
    addon.data(7, 'one');
    addon.data(7, 'two');
    addon.flush();
    socket.resume();
    await tick();
    expect(events.log).toEqual(['connect', 'data one']);
    socket.resume();
    await tick();
    expect(events.log).toEqual(['connect', 'data one', 'data two']);
  });

  it('a DRAIN whose queue has refilled since is not a drain; the next empty one is, once', async () => {
    const { addon, socket, events } = await connected();
    addon.state.writeResult = 64 * 1024; // queued past the high-water mark
    expect(socket.write('x'.repeat(10))).toBe(false);
    addon.state.queued = 4096; // JS wrote again before the DRAIN record was delivered
    addon.record(NativeEvent.DRAIN, 7);
    addon.flush();
    await tick();
    expect(events.log).toEqual(['connect']);
    addon.state.queued = 0;
    addon.record(NativeEvent.DRAIN, 7);
    addon.record(NativeEvent.DRAIN, 7);
    addon.flush();
    await tick();
    expect(events.log).toEqual(['connect', 'drain']);
  });

  it("the addon's ERROR and CLOSE in one batch: 'error' then 'close', nothing after", async () => {
    const { addon, events } = await connected();
    addon.data(7, 'last words');
    addon.record(NativeEvent.ERROR, 7, UV_ECONNRESET, 1);
    addon.record(NativeEvent.CLOSE, 7);
    addon.data(7, 'stale'); // cannot happen with the real addon; ignored all the same
    addon.flush();
    expect(events.log).toEqual(['connect', 'data last words', 'error ECONNRESET', 'close']);
  });

  it('the error it reports reads as node:net\'s: an Error with code, errno, syscall, message and a stack line', async () => {
    const { addon, socket } = await connected();
    let seen: unknown;
    socket.setHandler({ ...recorder(), onSocketError: (_s: RelaySocket, err: Error) => void (seen = err) });
    addon.record(NativeEvent.ERROR, 7, UV_ECONNRESET, 1);
    addon.flush();
    const err = seen as NodeJS.ErrnoException;
    expect(err).toBeInstanceOf(Error);
    expect({ name: err.name, message: err.message, code: err.code, errno: err.errno, syscall: err.syscall }).toEqual({
      name: 'Error',
      message: 'read ECONNRESET',
      code: 'ECONNRESET',
      errno: UV_ECONNRESET,
      syscall: 'read',
    });
    expect(err.stack).toBe('Error: read ECONNRESET');
    expect(String(err)).toBe('Error: read ECONNRESET');
  });

  it("a write that fails inside the session's call: 'error' on the next tick, and a CLOSE in the meantime waits for it", async () => {
    const { addon, socket, events } = await connected();
    addon.state.writeResult = UV_ECONNRESET;
    expect(socket.write('QUIT\r\n')).toBe(false);
    expect(events.log).toEqual(['connect']); // never re-entered from inside write()
    addon.record(NativeEvent.CLOSE, 7);
    addon.flush();
    expect(events.log).toEqual(['connect']);
    await tick();
    expect(events.log).toEqual(['connect', 'error ECONNRESET', 'close']);
  });

  it("a write that fails inside a record's handler: 'error' after the handler returns, then the batch's CLOSE; all before the batch ends", async () => {
    const { addon, socket, events } = await connected();
    addon.state.writeResult = UV_ECONNRESET;
    socket.setHandler({ ...events, onSocketData: (s: RelaySocket, chunk: Buffer) => {
      events.onSocketData(s, chunk);
      expect(s.write('221 bye\r\n')).toBe(false);
      events.log.push('handler returned');
    } });
    addon.data(7, 'QUIT');
    addon.record(NativeEvent.CLOSE, 7);
    addon.flush();
    // No tick awaited: what the handler deferred ran at the end of the batch.
    expect(events.log).toEqual(['connect', 'data QUIT', 'handler returned', 'error ECONNRESET', 'close']);
    await tick();
    expect(events.log).toHaveLength(5);
  });
});
