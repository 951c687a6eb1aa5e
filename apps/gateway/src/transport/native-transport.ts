import { Buffer } from 'node:buffer';
import { lookup } from 'node:dns';
import { lookup as lookupAddress } from 'node:dns/promises';
import {
  loadNativeTransport,
  NATIVE_RECORD_INTS,
  NativeEvent,
  NativeSyscall,
  uvErrorName,
  type NativeTransport,
} from './native-binding.js';
import { IGNORE_EVENTS, ipVersion, type ListenOptions, type RelayListener, type RelaySocket, type RelaySocketHandler, type Transport } from './relay-socket.js';

/** node:net's default for sockets on Node 20. */
const DEFAULT_HIGH_WATER_MARK = 16 * 1024;

/**
 * A libuv error as node:net reports it (code, errno, syscall), for the same log lines. An Error
 * to its users (instanceof, name, message, stack) that never runs Error's constructor: that
 * captures a stack even with a limit of 0, and a stack would only show the dispatch. Clients
 * that reset instead of closing are routine (smtp-source resets every connection), and with
 * the constructor their errors cost ~2% of the gateway's CPU at 10 KB x 20 sessions.
 */
class TransportError implements Error {
  /** 'Error', from Error.prototype (see below). */
  declare readonly name: string;
  readonly message: string;
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(errno: number, syscall: string) {
    const code = uvErrorName(errno);
    this.message = `${syscall} ${code}`;
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }

  get stack(): string {
    return `${this.name}: ${this.message}`;
  }
}
Object.setPrototypeOf(TransportError.prototype, Error.prototype);

/**
 * A socket of the native transport. The addon owns the file descriptor and the write queue;
 * this object keeps node:net's contract (see RelaySocket) for the session. The addon hands
 * over its events in batches, so bytes it read before a pause() took effect can still arrive:
 * they are held (with a FIN behind them) until resume(), as node:net holds its read buffer.
 */
class NativeSocket implements RelaySocket {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  destroyed = false;
  writableEnded = false;

  /** -1 while a name is being resolved. */
  #id = -1;
  #connected: boolean;
  #paused: boolean;
  #readEnded = false;
  #queued = 0;
  #corked = 0;
  #corkedChunks: Uint8Array[] = [];
  /** Writes made before the connection exists (node:net buffers those too). */
  #early: Uint8Array[] = [];
  #closeEmitted = false;
  /** An error from inside a call (write, shutdown): reported later (see later()), and 'close' waits for it. */
  #pendingError: TransportError | null = null;
  #closeOwed = false;
  /** write() returned false: 'drain' is owed once the queue is empty. */
  #needDrain = false;
  /** Read while paused (at most one batch of the addon's): delivered on resume(). */
  #held: Buffer[] | null = null;
  /** The FIN read behind held bytes or while paused: 'end' once they are delivered. */
  #heldEnd = false;
  #flowScheduled = false;
  /** Where events go: a direct call, no emitter (one handler per socket: its session). */
  #handler: RelaySocketHandler = IGNORE_EVENTS;

  constructor(
    private readonly owner: NativeSocketTransport,
    private readonly highWaterMark: number,
    accepted: boolean,
  ) {
    this.#connected = accepted;
    this.#paused = accepted;
  }

  get readableLength(): number {
    let n = 0;
    if (this.#held) for (const c of this.#held) n += c.length;
    return n;
  }

  get writableLength(): number {
    let n = this.#queued;
    for (const c of this.#early) n += c.length;
    for (const c of this.#corkedChunks) n += c.length;
    return n;
  }

  setHandler(handler: RelaySocketHandler): void {
    this.#handler = handler;
  }

  attach(id: number): void {
    this.#id = id;
  }

  write(data: Uint8Array | string): boolean {
    if (this.destroyed || this.writableEnded) return false;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let ok: boolean;
    if (this.#corked > 0) {
      this.#corkedChunks.push(bytes);
      ok = this.writableLength < this.highWaterMark;
    } else ok = this.#send(bytes);
    if (!ok) this.#needDrain = true;
    return ok;
  }

  #send(bytes: Uint8Array): boolean {
    if (!this.#connected) {
      this.#early.push(bytes);
      return this.writableLength < this.highWaterMark;
    }
    if (bytes.length === 0) return this.#queued < this.highWaterMark;
    const queued = this.owner.native.write(this.#id, bytes);
    if (queued < 0) {
      // The addon is closing the socket; its CLOSE follows.
      this.#fail(new TransportError(queued, 'write'));
      return false;
    }
    this.#queued = queued;
    // Owed a 'drain' but the addon queued nothing (flushed early or corked writes): it sends no DRAIN.
    if (queued === 0 && this.#needDrain) this.owner.later(() => this.#drained());
    return queued < this.highWaterMark;
  }

  #drained(): void {
    if (!this.#needDrain || this.destroyed || this.writableLength > 0) return;
    this.#needDrain = false;
    this.#handler.onSocketDrain(this);
  }

  cork(): void {
    this.#corked += 1;
  }

  uncork(): void {
    if (this.#corked === 0) return;
    this.#corked -= 1;
    if (this.#corked > 0 || this.#corkedChunks.length === 0) return;
    const chunks = this.#corkedChunks;
    this.#corkedChunks = [];
    // One buffer, one system call: what cork/uncork buys with node:net's writev.
    if (!this.destroyed) this.#send(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  }

  end(data?: Uint8Array | string): this {
    if (this.destroyed || this.writableEnded) return this;
    if (data !== undefined) this.write(data);
    if (this.#corked > 0) {
      this.#corked = 1;
      this.uncork();
    }
    this.writableEnded = true;
    if (this.#connected) this.#shutdown();
    return this;
  }

  #shutdown(): void {
    const status = this.owner.native.shutdown(this.#id);
    if (status < 0) this.#fail(new TransportError(status, 'shutdown'));
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (this.#id >= 0) this.owner.native.close(this.#id);
    else this.owner.later(() => this.#emitClose()); // still resolving: nothing native to close
    return this;
  }

  pause(): this {
    if (!this.#paused) {
      this.#paused = true;
      if (this.#connected && !this.#readEnded && !this.destroyed) this.owner.native.readStop(this.#id);
    }
    return this;
  }

  resume(): this {
    if (this.#paused) {
      this.#paused = false;
      if (this.#connected && !this.#readEnded && !this.destroyed) this.owner.native.readStart(this.#id);
      if ((this.#held || this.#heldEnd) && !this.#flowScheduled) {
        // Like node:net, later: the caller may be inside a 'data' handler.
        this.#flowScheduled = true;
        this.owner.later(() => this.#flow());
      }
    }
    return this;
  }

  /** Delivers what was held while paused, in order, stopping if paused again. */
  #flow(): void {
    this.#flowScheduled = false;
    const held = this.#held;
    while (held && held.length && !this.#paused && !this.destroyed) this.#handler.onSocketData(this, held.shift()!);
    if (held && held.length === 0 && this.#held === held) this.#held = null;
    if (this.#heldEnd && !this.#held && !this.#paused && !this.destroyed) {
      this.#heldEnd = false;
      this.#handler.onSocketEnd(this);
    }
  }

  /** Fails a socket the addon never had (bad address, name not resolved): 'error', then 'close'. */
  abort(err: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.owner.later(() => {
      this.#handler.onSocketError(this, err);
      this.#emitClose();
    });
  }

  /**
   * An error found inside a call the session made (write, shutdown): reported later, as
   * node:net does on the next tick, so that the session is not re-entered; 'close' follows it.
   */
  #fail(err: TransportError): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#pendingError = err;
    this.owner.later(() => this.#emitPendingError());
  }

  #emitPendingError(): void {
    const err = this.#pendingError;
    this.#pendingError = null;
    if (err) this.#handler.onSocketError(this, err);
    if (this.#closeOwed) this.#emitClose();
  }

  #emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#handler.onSocketClose(this);
  }

  // ---- events from the addon (NativeSocketTransport.dispatch) ----

  onConnect(status: number): void {
    if (status < 0) {
      this.#failNow(new TransportError(status, 'connect'));
      return;
    }
    if (this.destroyed) return;
    this.#connected = true;
    const early = this.#early;
    this.#early = [];
    if (early.length) this.#send(early.length === 1 ? early[0]! : Buffer.concat(early));
    if (this.destroyed) return;
    if (this.writableEnded) this.#shutdown();
    if (!this.#paused && !this.destroyed) this.owner.native.readStart(this.#id);
    this.#handler.onSocketConnect(this);
  }

  onData(chunk: Buffer): void {
    if (this.destroyed) return;
    if (this.#paused || this.#held) (this.#held ??= []).push(chunk);
    else this.#handler.onSocketData(this, chunk);
  }

  onEnd(): void {
    this.#readEnded = true;
    if (this.destroyed) return;
    if (this.#paused || this.#held) this.#heldEnd = true;
    else this.#handler.onSocketEnd(this);
  }

  onError(code: number, syscall: string): void {
    this.#failNow(new TransportError(code, syscall));
  }

  /** A failure the addon reports in its batch (not from inside a session call): at once. */
  #failNow(err: TransportError): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#handler.onSocketError(this, err);
  }

  onDrain(): void {
    // The queue may have refilled since the addon emptied it (events come in batches).
    this.#queued = this.owner.native.queued(this.#id);
    this.#drained();
  }

  onClose(): void {
    this.destroyed = true;
    // An error still on its way comes first; else 'close' at once, from the batch (never inside a session's own call).
    if (this.#pendingError) this.#closeOwed = true;
    else this.#emitClose();
  }
}

interface ServerEntry {
  onConnection: (s: RelaySocket) => void;
  highWaterMark: number;
  /** Set by close(): runs at SERVER_CLOSE. */
  closed?: () => void;
}

/** The native transport: one per process (the addon keeps its state per Node environment). */
export class NativeSocketTransport implements Transport {
  readonly kind = 'native' as const;
  #sockets: (NativeSocket | undefined)[] = [];
  #servers = new Map<number, ServerEntry>();
  /** Inside #dispatch: later() queues to #owed, run after the batch's last record. */
  #inBatch = false;
  #owed: Array<() => void> = [];

  /** Where the addon reads to (and writes peer addresses); records give offset and length, copied out at once. */
  readonly #arena = Buffer.alloc(1 << 20);
  readonly #arenaBuffer = this.#arena.buffer;
  readonly #arenaOffset = this.#arena.byteOffset;
  /** The batch's records: [kind, id, a, b, c, d] each. */
  readonly #events = new Int32Array(NATIVE_RECORD_INTS * 1024);

  constructor(readonly native: NativeTransport) {
    native.init((count) => this.#dispatch(count), this.#arena, this.#events);
  }

  /**
   * One batch. A throwing handler must not cost other sockets their events (the addon reuses
   * the batch once this returns): the first exception is rethrown after the last record.
   */
  #dispatch(count: number): void {
    const ev = this.#events;
    let failed = false;
    let first: unknown;
    this.#inBatch = true;
    for (let p = 0, end = count * NATIVE_RECORD_INTS; p < end; p += NATIVE_RECORD_INTS) {
      try {
        this.#event(ev[p]!, ev[p + 1]!, ev[p + 2]!, ev[p + 3]!, ev[p + 4]!, ev[p + 5]!);
      } catch (err) {
        if (!failed) {
          failed = true;
          first = err;
        }
      }
    }
    // What the records' handlers deferred, in order, and what that defers in turn. A new array
    // after, not length = 0: that setter is a runtime call, and most batches defer nothing.
    const owed = this.#owed;
    if (owed.length > 0) {
      for (let i = 0; i < owed.length; i++) {
        try {
          owed[i]!();
        } catch (err) {
          if (!failed) {
            failed = true;
            first = err;
          }
        }
      }
      this.#owed = [];
    }
    this.#inBatch = false;
    if (failed) throw first;
  }

  /**
   * Runs `fn` after the call that asked for it has returned: at the end of the batch being
   * dispatched (the addon's events arrive in one), else on the next tick. Never re-enters the
   * caller, as process.nextTick; cheaper inside a batch, where a session's routine deferrals
   * happen (a shutdown failing on a reset client): a tick costs 1.5k-3.5k instructions (its
   * object, then processTicksAndRejections), about 1% of what a message costs the gateway.
   */
  later(fn: () => void): void {
    if (this.#inBatch) this.#owed.push(fn);
    else process.nextTick(fn);
  }

  #event(kind: number, id: number, a: number, b: number, c: number, d: number): void {
    if (kind === NativeEvent.CONNECTION) {
      const server = this.#servers.get(a);
      if (!server) {
        this.native.close(id);
        return;
      }
      const socket = new NativeSocket(this, server.highWaterMark, true);
      socket.attach(id);
      socket.remoteAddress = this.#arena.toString('latin1', b, b + c);
      socket.remotePort = d;
      this.#sockets[id] = socket;
      server.onConnection(socket);
      return;
    }
    if (kind === NativeEvent.SERVER_CLOSE) {
      const server = this.#servers.get(id);
      this.#servers.delete(id);
      server?.closed?.();
      return;
    }
    const socket = this.#sockets[id];
    if (!socket) return;
    switch (kind) {
      case NativeEvent.DATA: {
        // Small chunks come from Node's shared pool: no allocation of their own. A view and
        // set(), not arena.copy(): that makes the same view after reading .buffer through a
        // getter, a runtime call per chunk (2% of the gateway's instructions per message).
        const chunk = Buffer.allocUnsafe(b);
        chunk.set(new Uint8Array(this.#arenaBuffer, this.#arenaOffset + a, b));
        socket.onData(chunk);
        break;
      }
      case NativeEvent.CONNECT:
        socket.onConnect(a);
        break;
      case NativeEvent.END:
        socket.onEnd();
        break;
      case NativeEvent.DRAIN:
        socket.onDrain();
        break;
      case NativeEvent.ERROR:
        socket.onError(a, NativeSyscall[b] ?? 'unknown');
        break;
      case NativeEvent.CLOSE:
        this.#sockets[id] = undefined;
        socket.onClose();
        break;
      // NONE: voided by close()
    }
  }

  async listen(options: ListenOptions, onConnection: (socket: RelaySocket) => void): Promise<RelayListener> {
    const ip = ipVersion(options.host) ? options.host : (await lookupAddress(options.host)).address;
    const id = this.native.listen(ip, options.port, options.backlog, false);
    const server: ServerEntry = { onConnection, highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK };
    this.#servers.set(id, server);
    let closing = false;
    return {
      address: () => {
        const [address, port] = this.native.address(id);
        return { address, port };
      },
      close: (done) => {
        if (closing) return;
        closing = true;
        server.closed = done;
        this.native.closeServer(id);
      },
    };
  }

  connect(host: string, port: number, highWaterMark = DEFAULT_HIGH_WATER_MARK): RelaySocket {
    const socket = new NativeSocket(this, highWaterMark, false);
    const open = (ip: string) => {
      if (socket.destroyed) return;
      let id: number;
      try {
        id = this.native.connect(ip, port);
      } catch (err) {
        socket.abort(err as Error);
        return;
      }
      socket.remoteAddress = ip;
      socket.remotePort = port;
      socket.attach(id);
      this.#sockets[id] = socket;
    };
    if (ipVersion(host)) open(host);
    else
      lookup(host, (err, address) => {
        if (err) socket.abort(err);
        else open(address);
      });
    return socket;
  }
}

let instance: NativeSocketTransport | null | undefined;

/** The native transport, or null when the addon is not built or does not load here (see nativeTransportError()). */
export function nativeTransport(): Transport | null {
  if (instance === undefined) {
    const native = loadNativeTransport();
    instance = native ? new NativeSocketTransport(native) : null;
  }
  return instance;
}
