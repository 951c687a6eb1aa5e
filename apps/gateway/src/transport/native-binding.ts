/**
 * Loader and types for the native TCP transport (native/transport.c, built by
 * scripts/build-native.mjs into native/build/transport.node).
 *
 * Events reach the single dispatch function registered with init(), always from libuv
 * callbacks (never synchronously from a call into the addon), through napi_make_callback
 * (nextTicks and microtasks run after each dispatch). Per socket id, in order:
 *   CONNECTION (accepted) or CONNECT (connect()),
 *   DATA* [END] (DATA never follows END; reading stops at END),
 *   DRAIN whenever the addon's write queue goes from non-empty to empty,
 *   at most one ERROR, immediately followed by CLOSE; CLOSE is always last.
 * ERROR may follow END (a write or shutdown failing after the peer's FIN); END never
 * follows ERROR. A failed CONNECT is followed directly by CLOSE. Once a socket is closing
 * (close(), a failure, or a negative write()/shutdown() result other than EBADF/EPIPE) CLOSE
 * is the only event it still gets. With END received and shutdown() completed the addon
 * closes the socket itself. write/shutdown/readStart may be called before CONNECT: they take
 * effect once connected. Ids are unique across live sockets and servers; after CLOSE /
 * SERVER_CLOSE returns the id may be reused (fresh ids are preferred until the id table is
 * full, so reuse is rare, but JS must forget the id at CLOSE).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

export const NativeEvent = {
  CONNECTION: 1,
  CONNECT: 2,
  DATA: 3,
  END: 4,
  ERROR: 5,
  DRAIN: 6,
  CLOSE: 7,
  SERVER_CLOSE: 8,
} as const;
export type NativeEventKind = (typeof NativeEvent)[keyof typeof NativeEvent];

export interface NativeTransport {
  /** Registers the dispatch function for this env; calling again replaces it. Call before anything else. */
  /**
   * Registers the dispatch function and the inbox for this env (calling again replaces both).
   * Reads land in `inbox` (at least 4096 bytes; up to 64 KiB of it is used): DATA's `a` is the
   * length, and the bytes must be copied out inside that dispatch (the next read overwrites them).
   */
  init(dispatch: (kind: number, id: number, a?: unknown, b?: unknown, c?: unknown) => void, inbox: Uint8Array): void;
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
