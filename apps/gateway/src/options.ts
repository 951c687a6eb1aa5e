import type { Logger } from 'pino';
import type { EventSink } from './events.js';
import type { InspectorFactory } from './inspector.js';
import type { PolicySource } from './policy-source.js';
import type { TransportKind } from './transport/relay-socket.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Timeouts in milliseconds; defaults are RFC 5321 4.5.3.2. */
export interface Timeouts {
  /** Upstream connect + its 220 greeting (and the XCLIENT exchange, when enabled). */
  greeting: number;
  /** No byte in either direction while a command (or its reply) is due. */
  command: number;
  /** Between two chunks of message data from the client (after 354, before the final "."). */
  dataBlock: number;
  /** From the client's end of data until the upstream's reply to it. */
  dataEnd: number;
  /** The PROXY protocol header, when the listener expects one. */
  proxyHeader: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  greeting: 5 * 60_000,
  command: 5 * 60_000,
  dataBlock: 3 * 60_000,
  dataEnd: 10 * 60_000,
  proxyHeader: 10_000,
};

export type FailMode = 'closed' | 'open';

export interface GatewayOptions {
  /** Where to listen; default 127.0.0.1:2525. Host "::" listens on IPv6 (and IPv4 where dual-stack). */
  listen?: Partial<HostPort>;
  /** The protected MTA. */
  upstream: HostPort;
  /** Current policy; swappable at runtime (new connections use the new one). */
  policy: PolicySource;
  /** Where inspection events go. */
  events: EventSink;
  /** Gateway name stamped on events and used in synthesized replies / the XCLIENT EHLO. */
  name?: string;
  logger?: Logger;
  timeouts?: Partial<Timeouts>;
  /** Concurrent client connections; over it the client gets 421 4.3.2 and is closed. Default 1000. */
  maxConnections?: number;
  /** Send XCLIENT ADDR/PORT to an upstream that advertises it. Default false. */
  xclient?: boolean;
  /** Expect a PROXY protocol v1 or v2 header on every accepted connection. Default false. */
  proxyProtocol?: boolean;
  /** What an engine error does to the connection: 'closed' (421 and close, default) or 'open' (pass uninspected). */
  failMode?: FailMode;
  /**
   * Time every engine call into counters.engineTime, the histogram `--metrics` serves. Default
   * true; the CLI turns it off when no metrics endpoint would read it (two clock reads per call).
   */
  timeEngine?: boolean;
  /** Test seam: how inspectors are made. Default: the engine's createInspector. */
  inspectorFactory?: InspectorFactory;
  /**
   * 'native' (the libuv addon: 0.5–0.75 of node:net's CPU per message), or 'node' (node:net).
   * Default: SMTPGUARD_TRANSPORT, else native when the addon loads, else node.
   */
  transport?: TransportKind;
  /** Socket high-water mark in bytes before reading from the other side pauses. Default 16 KiB (node:net's on Node 20). */
  highWaterMark?: number;
}

export function parseHostPort(value: string, what: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]*):(\d+)$/.exec(value);
  if (!m) throw new Error(`${what}: expected HOST:PORT or [IPV6]:PORT, got ${JSON.stringify(value)}`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what}: port out of range in ${JSON.stringify(value)}`);
  return { host: m[1] || '127.0.0.1', port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
