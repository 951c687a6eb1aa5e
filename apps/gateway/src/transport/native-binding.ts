/**
 * Loader and types for the native TCP transport (native/transport.c, built by
 * scripts/build-native.mjs into native/build/transport.node).
 *
 * Events are queued as records and delivered in batches to the single dispatch function
 * registered with init(): dispatch(count), always from libuv callbacks (never synchronously
 * from a call into the addon), through napi_make_callback (nextTicks and microtasks run
 * after each batch, not after each record). A batch is flushed right after the poll phase
 * (a check handle), before the poll (a prepare handle: records queued by close callbacks and
 * the pending phase), and from a libuv callback that fills the record ring or leaves the
 * arena with less than 64 KiB + 128 bytes free. Records are in the order the events
 * happened, across all sockets.
 *
 * A record is 6 int32 in `events`, record i at [6*i, 6*i+6): [kind, id, a, b, c, d].
 *   CONNECTION  a = server id, b/c = offset/length in `arena` of the peer address (latin1
 *               text; "" and port 0 when the peer was already gone), d = peer port
 *   CONNECT     a = 0 or a negative libuv error
 *   DATA        a/b = offset/length of the bytes in `arena`
 *   END, DRAIN, CLOSE, SERVER_CLOSE: no arguments
 *   ERROR       a = negative libuv error, b = syscall number (NativeSyscall[b])
 *   NONE (0)    a record voided by close() after it was queued: skip it
 * JS must consume the batch (copy DATA and address bytes out of the arena) before dispatch
 * returns: afterwards, or when it throws, the addon reuses the records and the arena from
 * offset 0. A throw is re-raised as an uncaught exception (process 'uncaughtException'); the
 * batch is consumed either way, so a dispatcher should finish the batch before rethrowing.
 *
 * Per socket id, in order:
 *   CONNECTION (accepted) or CONNECT (connect()),
 *   DATA* [END] (DATA never follows END; reading stops at END),
 *   DRAIN whenever the addon's write queue went from non-empty to empty,
 *   at most one ERROR, immediately followed by CLOSE; CLOSE is always last.
 * ERROR may follow END (a write or shutdown failing after the peer's FIN); END never
 * follows ERROR. A failed CONNECT is followed directly by CLOSE. Once a socket is closing
 * (close(), a failure, or a negative write()/shutdown() result other than EBADF/EPIPE) CLOSE
 * is the only event it still gets (records queued before close() are voided to NONE). With
 * END received and shutdown() completed the addon closes the socket itself.
 * write/shutdown/readStart may be called before CONNECT: they take effect once connected
 * (possibly before JS has the CONNECT record). Ids are unique across live sockets and
 * servers, and within a batch an id names one socket; after CLOSE / SERVER_CLOSE has been
 * delivered the id may be reused (fresh ids are preferred until the id table is full, so
 * reuse is rare, but JS must forget the id at CLOSE).
 *
 * Because records are delivered after the event happened:
 *  - DATA, and END behind it, may arrive after readStop(): what libuv read before the stop,
 *    queued in the batch. A paused socket must hold them.
 *  - DRAIN says the queue became empty at some point; JS may have written again since (the
 *    queue refilled). Check queued(id) before acting on it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

export const NativeEvent = {
  NONE: 0,
  CONNECTION: 1,
  CONNECT: 2,
  DATA: 3,
  END: 4,
  ERROR: 5,
  DRAIN: 6,
  CLOSE: 7,
  SERVER_CLOSE: 8,
} as const;

/** ERROR's b: the failing system call. */
export const NativeSyscall = ['', 'read', 'write', 'shutdown'] as const;

/** Int32s per record in the events array: [kind, id, a, b, c, d]. */
export const NATIVE_RECORD_INTS = 6;

export interface NativeTransport {
  /**
   * Registers the dispatch function, the arena (at least 256 KiB, all of it used) and the
   * events array (an Int32Array, a multiple of 6 long, at least 64 records) for this env.
   * Calling again replaces all three (not from inside dispatch; undelivered records move to
   * the new arrays). dispatch(count) gets `count` records (see above).
   */
  init(dispatch: (count: number) => void, arena: Uint8Array, events: Int32Array): void;
  /** Numeric IPv4/IPv6 address. Throws an Error with `code` (e.g. EADDRINUSE), `errno`, `syscall`. */
  listen(ip: string, port: number, backlog: number, ipv6Only: boolean): number;
  /** Local address of a server (or a socket): [ip, port, family]. Throws (code EBADF) for a closed id. */
  address(serverId: number): [string, number, 4 | 6];
  /** Stop accepting; SERVER_CLOSE follows. Idempotent. */
  closeServer(serverId: number): void;
  /** Starts connecting; CONNECT follows. Throws (code EINVAL) only for an invalid address. */
  connect(ip: string, port: number): number;
  readStart(id: number): void;
  readStop(id: number): void;
  /**
   * Bytes queued in the addon after this write (0: all went to the kernel), or a negative
   * libuv error: EBADF (unknown/closing), EPIPE (after shutdown; the socket stays open), or an
   * immediate write failure (the addon closes the socket; CLOSE follows, no ERROR).
   */
  write(id: number, data: Uint8Array): number;
  /** FIN after the queued writes. 0, or a negative libuv error (EBADF; a failure closes the socket). */
  shutdown(id: number): number;
  /** Close now (queued writes are dropped); CLOSE follows. Idempotent. */
  close(id: number): void;
  queued(id: number): number;
  stats(): { sockets: number; servers: number };
}

const CANDIDATES = ['../../native/build/transport.node', '../native/build/transport.node'];

let loaded: NativeTransport | null | undefined;
let loadError: string | null = null;

/** The addon, or null (see nativeTransportError()) when it is not built or fails to load. */
export function loadNativeTransport(): NativeTransport | null {
  if (loaded !== undefined) return loaded;
  const tried: string[] = [];
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (!existsSync(path)) {
      tried.push(path);
      continue;
    }
    try {
      loaded = createRequire(import.meta.url)(path) as NativeTransport;
      loadError = null;
      return loaded;
    } catch (err) {
      loaded = null;
      loadError = `failed to load ${path}: ${err instanceof Error ? err.message : String(err)}`;
      return null;
    }
  }
  loaded = null;
  loadError = `native transport not built (run scripts/build-native.mjs); looked for ${tried.join(', ')}`;
  return null;
}

/** Why loadNativeTransport() returned null, or null when it loaded (or was not tried yet). */
export function nativeTransportError(): string | null {
  return loadError;
}

/** 'ECONNRESET' for -104 and so on (libuv error codes are negative errno values). */
export function uvErrorName(code: number): string {
  try {
    return getSystemErrorName(code);
  } catch {
    return `UNKNOWN_${code}`;
  }
}
