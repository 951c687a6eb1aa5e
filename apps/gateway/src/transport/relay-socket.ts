import { isIP } from 'node:net';

/**
 * What a session needs of a TCP socket and a listener: the subset of node:net's Socket and
 * Server it uses. Two transports provide it: node:net itself (`node-transport.ts`) and the
 * native libuv transport (`native-transport.ts`), which skips Node's stream machinery.
 *
 * Semantics are node:net's with `allowHalfOpen: true`: 'end' when the peer's FIN is read,
 * `end()` sends ours after queued writes, and the socket closes once both are done;
 * 'error' (if any) comes before 'close', and 'close' comes exactly once.
 */
export interface RelaySocket {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** Bytes accepted by write() but not yet handed to the kernel. */
  readonly writableLength: number;
  /** Bytes read but not yet delivered as 'data'. */
  readonly readableLength: number;
  /** False once writableLength reaches the high-water mark: wait for 'drain'. */
  write(data: Uint8Array | string): boolean;
  end(data?: Uint8Array | string): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  cork(): void;
  uncork(): void;
  /** Where this socket's events go from now on (a socket has one owner: no emitter needed). */
  setHandler(handler: RelaySocketHandler): void;
}

/**
 * A socket's events, as direct calls (node:net's 'data', 'end', 'drain', 'error', 'close',
 * 'connect'). One object can own several sockets: each call names its socket.
 */
export interface RelaySocketHandler {
  onSocketData(socket: RelaySocket, chunk: Buffer): void;
  onSocketEnd(socket: RelaySocket): void;
  onSocketDrain(socket: RelaySocket): void;
  onSocketError(socket: RelaySocket, err: Error): void;
  onSocketClose(socket: RelaySocket): void;
  onSocketConnect(socket: RelaySocket): void;
}

const ignore = () => {};
/** Until a handler is set: events are dropped (an error too: nobody owns the socket yet). */
export const IGNORE_EVENTS: RelaySocketHandler = {
  onSocketData: ignore,
  onSocketEnd: ignore,
  onSocketDrain: ignore,
  onSocketError: ignore,
  onSocketClose: ignore,
  onSocketConnect: ignore,
};

export interface RelayListener {
  /** The bound address (the port resolved when 0 was asked). */
  address(): { address: string; port: number };
  /** Stop accepting; `done` runs once the listener is closed. */
  close(done: () => void): void;
}

export interface ListenOptions {
  host: string;
  port: number;
  backlog: number;
  /** Bytes queued per socket before write() returns false. */
  highWaterMark?: number;
  /** Errors after listening (accept failures); the listener keeps going. */
  onError(err: Error): void;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Accepted sockets start paused: nothing is read until resume(). */
  listen(options: ListenOptions, onConnection: (socket: RelaySocket) => void): Promise<RelayListener>;
  /** Connects to host:port (a name is resolved first); emits 'connect', or 'error' then 'close'. Reads once connected unless paused. */
  connect(host: string, port: number, highWaterMark?: number): RelaySocket;
}

export type TransportKind = 'native' | 'node';

/** A transport named in a flag or the environment; `what` names where it came from. */
export function parseTransportKind(value: string, what: string): TransportKind {
  if (value === 'native' || value === 'node') return value;
  throw new Error(`${what}: expected native or node, got ${JSON.stringify(value)}`);
}

let lastHost = '';
let lastVersion = 0;
/** node:net's isIP (a regular expression), remembered for the last host: every connection asks about the same upstream. */
export function ipVersion(host: string): number {
  if (host !== lastHost) {
    lastVersion = isIP(host);
    lastHost = host;
  }
  return lastVersion;
}
