import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Counters } from './counters.js';
import { toEvent, type EventSink } from './events.js';
import type { InspectorFactory, InspectorLike, Verdict } from './inspector.js';
import type { LiveSetMember } from './live-set.js';
import type { FailMode, HostPort, Timeouts } from './options.js';
import type { InstalledPolicy } from './policy-source.js';
import { parseProxyHeader } from './proxy-protocol.js';
import { ReplyReader, replies } from './smtp-replies.js';
import { IGNORE_EVENTS, ipVersion, type RelaySocket, type RelaySocketHandler, type Transport } from './transport/relay-socket.js';

export interface SessionContext {
  name: string;
  upstream: HostPort;
  timeouts: Timeouts;
  xclient: boolean;
  proxyProtocol: boolean;
  failMode: FailMode;
  logger: Logger;
  counters: Counters;
  events: EventSink;
  inspectorFactory: InspectorFactory;
  /** How sockets are made: node:net or the native transport. */
  transport: Transport;
  /** logger.isLevelEnabled('debug'), computed once. */
  debug: boolean;
  /** The shortest of the relay phases' timeouts: the furthest out a session's timer is armed. */
  timerCap: number;
  /** Both sockets of a session are closed (a call, not a promise per connection). */
  sessionEnded(session: Session): void;
}

type Phase = 'proxy-header' | 'connecting' | 'xclient' | 'relay' | 'closing';
type TimerKind = keyof Timeouts;

const GRACE_MS = 5_000;
const DATA_END = Buffer.from('\r\n.\r\n');
const R354 = Buffer.from('354');
const NL354 = Buffer.from('\n354');
const CRLF = Buffer.from('\r\n');

/** "::ffff:1.2.3.4" → "1.2.3.4"; undefined → "". */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function xtext(value: string): string {
  return value.replace(/[^\x21-\x2a\x2c-\x3c\x3e-\x7e]/g, (c) => `+${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * One client connection and its upstream connection. Bytes in either direction go
 * through the inspector; its verdicts are executed in order (write upstream, write
 * client, record findings, then close what it asks). The session owns the timers and
 * the flow control; the inspector owns every SMTP decision.
 */
export class Session implements RelaySocketHandler, LiveSetMember {
  readonly client: RelaySocket;
  /** Its slot among the gateway's open sessions. */
  liveSetIndex = -1;
  upstream: RelaySocket | null = null;
  readonly clientEndpoint: { address: string; port: number };
  serverEndpoint: { address: string; port: number };

  #ctx: SessionContext;
  #logger: Logger | null = null;
  #policy: InstalledPolicy;
  #inspector: InspectorLike | null = null;
  #phase: Phase;
  /** Fail-open after an engine error, or the engine stopped inspecting (TLS): bytes are spliced. */
  #passthrough = false;
  #pendingClient: Buffer[] = [];

  #enginePause = false;
  #upstreamBlocked = false;
  #clientBlocked = false;
  #clientPaused = true;
  #upstreamPaused = false;

  #upstreamAborted = false;
  #upstreamClosed = false;
  #clientClosed = false;
  #clientEnded = false;
  #serverBytesRelayed = false;
  #closing = false;
  #graceArmed = false;

  /** The XCLIENT exchange reads the upstream first; then this is null and replies go to the engine. */
  #xclientData: ((chunk: Buffer) => void) | null = null;
  /** Destroys an aborted upstream that does not finish its writes in time. */
  #abortTimer: NodeJS.Timeout | null = null;

  /**
   * One timer per session, armed lazily: activity only moves #deadline forward (no timer
   * work per chunk); the timer, when it fires early, re-arms for what is left. It is
   * re-armed at once only when a phase with a shorter timeout makes the deadline earlier.
   */
  #timer: NodeJS.Timeout | null = null;
  #timerKind: TimerKind | null = null;
  #deadline = 0;
  #timerDue = 0;
  #grace: NodeJS.Timeout | null = null;
  #greeted = false;
  #inData = false;
  #awaitingDataEnd = false;
  #dataTail: Buffer = Buffer.alloc(0);
  #ended = false;
  #endedWaiters: Array<() => void> | null = null;

  constructor(
    readonly id: string,
    client: RelaySocket,
    policy: InstalledPolicy,
    ctx: SessionContext,
  ) {
    this.client = client;
    this.#ctx = ctx;
    this.#policy = policy;
    this.clientEndpoint = { address: normalizeAddress(client.remoteAddress), port: client.remotePort ?? 0 };
    this.serverEndpoint = { address: ctx.upstream.host, port: ctx.upstream.port };
    this.#phase = ctx.proxyProtocol ? 'proxy-header' : 'connecting';

    client.setHandler(this);

    if (ctx.proxyProtocol) {
      this.#armTimer('proxyHeader');
      this.#setClientPaused(false);
    } else {
      this.#connectUpstream();
    }
  }

  /** Per-connection child logger, made on first use (a child per connection costs at accept time). */
  get #log(): Logger {
    return (this.#logger ??= this.#ctx.logger.child({ conn: this.id }));
  }

  #debug(obj: object | string, msg?: string): void {
    if (!this.#ctx.debug) return;
    if (typeof obj === 'string') this.#log.debug(obj);
    else this.#log.debug(obj, msg);
  }

  /** Bytes held in user space for this session (flow-control test hook and status). */
  buffered(): { toClient: number; toServer: number; fromClient: number; fromServer: number } {
    return {
      toClient: this.client.writableLength,
      toServer: this.upstream?.writableLength ?? 0,
      fromClient: this.client.readableLength + this.#pendingClient.reduce((n, b) => n + b.length, 0),
      fromServer: this.upstream?.readableLength ?? 0,
    };
  }

  /** Resolves once both sockets are closed (for shutdown; made only when asked for). */
  get done(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    return new Promise((resolve) => (this.#endedWaiters ??= []).push(resolve));
  }

  get phase(): Phase {
    return this.#phase;
  }

  // ---- socket events (RelaySocketHandler) ---------------------------------------------------

  onSocketData(socket: RelaySocket, chunk: Buffer): void {
    if (socket === this.client) this.#onClientData(chunk);
    else if (this.#xclientData) this.#xclientData(chunk);
    else this.#onServerData(chunk);
  }

  onSocketEnd(socket: RelaySocket): void {
    if (socket === this.client) this.#onClientEnd();
    else this.#onUpstreamEnd();
  }

  onSocketDrain(socket: RelaySocket): void {
    if (socket === this.client) this.#clientBlocked = false;
    else this.#upstreamBlocked = false;
    this.#updateFlow();
  }

  onSocketError(socket: RelaySocket, err: Error): void {
    if (socket === this.client) this.#debug({ err: err.message }, 'client socket error');
    else if (!this.#serverBytesRelayed && !this.#upstreamAborted) {
      const { host, port } = this.#ctx.upstream;
      this.#log.warn({ err: err.message, upstream: `${host}:${port}` }, 'upstream unavailable');
    } else this.#debug({ err: err.message }, 'upstream socket error');
  }

  onSocketClose(socket: RelaySocket): void {
    if (socket === this.client) {
      this.#onClientClose();
      return;
    }
    if (this.#abortTimer) clearTimeout(this.#abortTimer);
    this.#onUpstreamClose();
  }

  onSocketConnect(socket: RelaySocket): void {
    if (socket !== this.upstream || this.#closing) return;
    const { host, port } = this.#ctx.upstream;
    // The configured address when it is one (saves a getpeername per connection), else what it resolved to.
    if (ipVersion(host) === 0) this.serverEndpoint = { address: normalizeAddress(socket.remoteAddress) || host, port };
    if (this.#ctx.xclient) {
      this.#phase = 'xclient';
      this.#runXclient(socket);
    } else {
      this.#startRelay(null);
    }
  }

  // ---- set-up ---------------------------------------------------------------------------

  #onProxyHeaderData(chunk: Buffer): void {
    const buf = this.#pendingClient.length ? Buffer.concat([...this.#pendingClient, chunk]) : chunk;
    this.#pendingClient = [];
    const result = parseProxyHeader(buf);
    if (result.status === 'more') {
      this.#pendingClient.push(buf);
      return;
    }
    if (result.status === 'error') {
      this.#ctx.counters.proxyHeaderErrors += 1;
      this.#log.warn({ reason: result.message }, 'PROXY protocol header rejected');
      this.#closeBoth(null);
      return;
    }
    if (result.header.source) {
      this.clientEndpoint.address = normalizeAddress(result.header.source.address);
      this.clientEndpoint.port = result.header.source.port;
    }
    this.#debug({ proxy: result.header }, 'PROXY protocol header');
    if (result.rest.length) this.#pendingClient.push(result.rest);
    this.#setClientPaused(true);
    this.#phase = 'connecting';
    this.#connectUpstream();
  }

  #connectUpstream(): void {
    this.#armTimer('greeting');
    const { host, port } = this.#ctx.upstream;
    const upstream = this.#ctx.transport.connect(host, port);
    this.upstream = upstream;
    upstream.setHandler(this);
  }

  /**
   * XCLIENT: read the upstream's greeting, EHLO as the gateway, and if XCLIENT is
   * advertised send the real client's address; the upstream's reply to XCLIENT (a fresh
   * 220 greeting) is what the client and the engine see as the greeting. Otherwise the
   * original greeting is relayed. Either way the client's own EHLO comes next, so the
   * engine inspects the client's conversation from its very first byte.
   */
  #runXclient(upstream: RelaySocket): void {
    let reader = new ReplyReader();
    let step: 'greeting' | 'ehlo' | 'xclient' = 'greeting';
    let greeting: Buffer | null = null;
    const finish = (greetingBytes: Buffer) => {
      this.#xclientData = null;
      this.#startRelay(greetingBytes);
    };
    const onData = (chunk: Buffer) => {
      this.#ctx.counters.bytesFromServer += chunk.length;
      let reply: ReturnType<ReplyReader['push']>;
      try {
        reply = reader.push(chunk);
      } catch (err) {
        if (step === 'greeting') {
          // Not a reply: let the engine judge it (Bad SMTP Server Greeting).
          finish(Buffer.concat([reader.pending()]));
          return;
        }
        this.#log.warn({ err: (err as Error).message, step }, 'XCLIENT exchange: bad upstream reply');
        this.#upstreamFailed();
        return;
      }
      if (!reply) return;
      if (step === 'greeting') {
        greeting = Buffer.from(reply.raw);
        if (reply.code !== 220) {
          finish(Buffer.concat([reply.raw, reply.rest]));
          return;
        }
        step = 'ehlo';
        reader = new ReplyReader();
        upstream.write(`EHLO ${this.#ctx.name}\r\n`);
        return;
      }
      if (step === 'ehlo') {
        const xclientLine = reply.code === 250 ? reply.lines.slice(1).find((l) => /^\d{3}[ -]XCLIENT(\s|$)/i.test(l)) : undefined;
        const attrs = new Set((xclientLine?.slice(4).trim().split(/\s+/).slice(1) ?? []).map((a) => a.toUpperCase()));
        if (!attrs.has('ADDR')) {
          this.#debug({ code: reply.code }, 'upstream does not offer XCLIENT ADDR; relaying its greeting');
          finish(greeting!);
          return;
        }
        const addr = this.clientEndpoint.address.includes(':') ? `IPV6:${this.clientEndpoint.address}` : this.clientEndpoint.address;
        let command = `XCLIENT ADDR=${xtext(addr)}`;
        if (attrs.has('PORT')) command += ` PORT=${this.clientEndpoint.port}`;
        step = 'xclient';
        reader = new ReplyReader();
        upstream.write(`${command}\r\n`);
        return;
      }
      // step === 'xclient'
      if (reply.code === 220) {
        this.#debug({ client: this.clientEndpoint }, 'XCLIENT accepted');
        finish(Buffer.concat([reply.raw, reply.rest]));
      } else {
        this.#log.warn({ reply: reply.lines.join(' | ').slice(0, 200) }, 'upstream refused XCLIENT; relaying its greeting');
        finish(greeting!);
      }
    };
    this.#xclientData = onData;
  }

  #startRelay(firstServerBytes: Buffer | null): void {
    if (this.#closing) return;
    this.#phase = 'relay';
    try {
      this.#inspector = this.#ctx.inspectorFactory(this.#policy.compiled, {
        clientAddress: this.clientEndpoint.address,
        serverAddress: this.serverEndpoint.address,
        gateway: this.#ctx.name,
      });
    } catch (err) {
      if (!this.#engineFailed(err, 'createInspector')) return;
    }
    // Bytes the client sent with its PROXY header were sent before any greeting: they come first.
    const early = this.#pendingClient;
    this.#pendingClient = [];
    for (const chunk of early) this.#onClientData(chunk, true);
    if (firstServerBytes && firstServerBytes.length) {
      // The XCLIENT path already counted these bytes as received.
      this.#ctx.counters.bytesFromServer -= firstServerBytes.length;
      this.#onServerData(firstServerBytes);
    }
    this.#updateFlow();
  }

  // ---- relay ----------------------------------------------------------------------------

  #onClientData(chunk: Buffer, replay = false): void {
    if (this.#phase === 'proxy-header') {
      this.#onProxyHeaderData(chunk);
      return;
    }
    if (this.#closing || this.client.writableEnded) return; // session over: drain and drop
    if (this.#phase !== 'relay') {
      // Not expected (the client is paused until relay starts), but keep order if it happens.
      if (!replay) this.#pendingClient.push(chunk);
      return;
    }
    this.#ctx.counters.bytesFromClient += chunk.length;
    if (this.#passthrough || !this.#inspector) {
      this.#trackClient(chunk);
      this.#writeUpstream(chunk);
      this.#updateFlow();
      return;
    }
    const inspector = this.#inspector;
    const verdict = this.#inspect(() => inspector.fromClient(chunk), 'fromClient', chunk, 'client');
    if (verdict) this.#apply(verdict);
    this.#armTimer(this.#currentTimerKind());
  }

  #onServerData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#ctx.counters.bytesFromServer += chunk.length;
    this.#greeted = true;
    if (this.#passthrough || !this.#inspector) {
      this.#trackServer(chunk);
      this.#writeClient(chunk);
      this.#updateFlow();
      return;
    }
    const inspector = this.#inspector;
    const verdict = this.#inspect(() => inspector.fromServer(chunk), 'fromServer', chunk, 'server');
    if (verdict) this.#apply(verdict);
    this.#armTimer(this.#currentTimerKind());
  }

  #apply(v: Verdict): void {
    // Several buffers (a multi-line reply is one per line) go out in one writev, not one syscall each.
    if (v.toServer.length === 1) this.#writeUpstream(v.toServer[0]!);
    else if (v.toServer.length > 1 && this.upstream) {
      this.upstream.cork();
      for (let i = 0; i < v.toServer.length; i++) this.#writeUpstream(v.toServer[i]!);
      this.upstream.uncork();
    }
    if (v.toClient.length === 1) this.#writeClient(v.toClient[0]!);
    else if (v.toClient.length > 1) {
      this.client.cork();
      for (let i = 0; i < v.toClient.length; i++) this.#writeClient(v.toClient[i]!);
      this.client.uncork();
    }
    if (v.toClient.length) this.#serverBytesRelayed = true;
    if (v.findings.length) {
      const stamp = {
        connectionId: this.id,
        gateway: this.#ctx.name,
        client: this.clientEndpoint,
        server: this.serverEndpoint,
        policyRevision: this.#policy.revision,
      };
      const now = new Date();
      for (let i = 0; i < v.findings.length; i++) {
        const finding = v.findings[i]!;
        this.#ctx.counters.countEvent(finding.protectionId, finding.action);
        this.#log.info({ protection: finding.protectionId, action: finding.action, command: finding.command }, 'inspection event');
        try {
          this.#ctx.events.write(toEvent(finding, stamp, now));
        } catch (err) {
          this.#log.error({ err: (err as Error).message }, 'event sink failed');
        }
      }
    }
    // Indexed loops: the engine's shared empty arrays are frozen, and for-of over them is not inlined.
    for (let i = 0; i < v.notices.length; i++) {
      const notice = v.notices[i]!;
      switch (notice.kind) {
        case 'message-complete':
          if (notice.accepted) this.#ctx.counters.messagesAccepted += 1;
          else this.#ctx.counters.messagesRejected += 1;
          break;
        case 'message-rejected':
          this.#ctx.counters.messagesRejected += 1;
          break;
        case 'uninspected':
          this.#log.info({ reason: notice.reason, detail: notice.detail }, 'session continues uninspected');
          break;
        case 'upstream-aborted':
          this.#log.info({ reason: notice.reason }, 'upstream aborted by policy');
          break;
        default:
          this.#log.warn({ notice }, 'inspector notice');
          break;
      }
    }
    if (v.closeServer) this.#abortUpstream();
    // A client that already sent its FIN can be told nothing more once the upstream is gone
    // (the engine only answers client input): end it, whether or not the verdict says so.
    if (v.closeClient || (v.closeServer && this.#clientEnded)) this.#endClient();
    this.#enginePause = v.pauseClient;
    if (this.#inspector && !this.#inspector.inspecting && !this.#passthrough && !v.closeClient) {
      // TLS after STARTTLS: the engine would only copy bytes; splice instead.
      this.#passthrough = true;
      this.#enginePause = false;
    }
    this.#updateFlow();
  }

  /** Run one inspector call; on a throw apply the fail mode and return null. */
  #inspect(call: () => Verdict, what: string, raw: Buffer | null, from: 'client' | 'server' | null): Verdict | null {
    try {
      return call();
    } catch (err) {
      if (this.#engineFailed(err, what) && raw && from) {
        if (from === 'client') this.#writeUpstream(raw);
        else this.#writeClient(raw);
      }
      return null;
    }
  }

  /** Returns true when the session goes on uninspected (fail-open). */
  #engineFailed(err: unknown, what: string): boolean {
    this.#ctx.counters.engineErrors += 1;
    const failMode = this.#ctx.failMode;
    this.#log.error(
      { event: 'engine-error', failMode, call: what, err: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined },
      failMode === 'open' ? 'inspection engine error: fail-open, session continues uninspected' : 'inspection engine error: fail-closed, session closed with 421',
    );
    if (failMode === 'open') {
      this.#passthrough = true;
      this.#enginePause = false;
      this.#inspector = null;
      return true;
    }
    this.#closeBoth(replies.engineFailure(this.#ctx.name));
    return false;
  }

  #writeUpstream(bytes: Uint8Array): void {
    const upstream = this.upstream;
    if (!upstream || this.#upstreamAborted || upstream.destroyed || upstream.writableEnded) return;
    this.#ctx.counters.bytesToServer += bytes.length;
    if (!upstream.write(bytes)) this.#upstreamBlocked = true;
  }

  #writeClient(bytes: Uint8Array): void {
    const client = this.client;
    if (client.destroyed || client.writableEnded) return;
    this.#serverBytesRelayed = true;
    this.#ctx.counters.bytesToClient += bytes.length;
    if (!client.write(bytes)) this.#clientBlocked = true;
  }

  #setClientPaused(paused: boolean): void {
    if (paused === this.#clientPaused) return;
    this.#clientPaused = paused;
    if (paused) this.client.pause();
    else this.client.resume();
  }

  /**
   * Flow control. The client is read only when the inspector wants more, the upstream is
   * taking our writes, and the client itself is taking our writes (a client that never
   * reads its replies cannot make us buffer them). The upstream is read only while the
   * client is taking our writes.
   */
  #updateFlow(): void {
    if (this.#phase !== 'relay' || this.#closing) return;
    this.#setClientPaused(this.#enginePause || this.#upstreamBlocked || this.#clientBlocked);
    const upstream = this.upstream;
    if (!upstream) return;
    const pauseUp = this.#clientBlocked;
    if (pauseUp !== this.#upstreamPaused) {
      this.#upstreamPaused = pauseUp;
      if (pauseUp) upstream.pause();
      else upstream.resume();
    }
  }

  // ---- timers ---------------------------------------------------------------------------

  // Uninspected sessions (fail-open) follow DATA themselves; inspected ones ask the engine.
  #trackServer(chunk: Buffer): void {
    if (this.#awaitingDataEnd) this.#awaitingDataEnd = false;
    if (!this.#inData && chunk.length >= 4 && (chunk.indexOf(R354) === 0 || chunk.indexOf(NL354) >= 0)) {
      this.#inData = true;
      this.#dataTail = CRLF; // a message ending at once (".\r\n") also counts
    }
    this.#armTimer(this.#currentTimerKind());
  }

  #trackClient(chunk: Buffer): void {
    if (this.#inData) {
      const head = Buffer.concat([this.#dataTail, chunk.subarray(0, 4)]);
      if (head.indexOf(DATA_END) >= 0 || chunk.indexOf(DATA_END) >= 0) {
        this.#inData = false;
        this.#awaitingDataEnd = true;
      } else {
        this.#dataTail = chunk.length >= 4 ? Buffer.from(chunk.subarray(chunk.length - 4)) : head.subarray(-4);
      }
    }
    this.#armTimer(this.#currentTimerKind());
  }

  #currentTimerKind(): TimerKind {
    const inspector = this.#passthrough ? null : this.#inspector;
    if (inspector) {
      switch (inspector.phase) {
        case 'greeting':
          return 'greeting';
        case 'message':
          return 'dataBlock';
        case 'message-end':
          return 'dataEnd';
        default:
          return 'command';
      }
    }
    if (!this.#greeted) return 'greeting';
    if (this.#inData) return 'dataBlock';
    if (this.#awaitingDataEnd) return 'dataEnd';
    return 'command';
  }

  #armTimer(kind: TimerKind): void {
    if (this.#closing) return;
    const ms = this.#ctx.timeouts[kind];
    const now = performance.now();
    this.#timerKind = kind;
    this.#deadline = now + ms;
    if (this.#timer && this.#deadline >= this.#timerDue) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#startTimer(ms, now);
  }

  #startTimer(ms: number, now: number): void {
    // Never further out than the shortest relay timeout: a later phase with a shorter one (DATA's
    // 3 minutes after the greeting's 5) then only moves #deadline, it never re-arms the timer.
    const wait = Math.min(ms, this.#ctx.timerCap);
    this.#timerDue = now + wait;
    this.#timer = setTimeout(() => this.#onTimer(), wait);
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = null;
    if (this.#closing) return;
    const now = performance.now();
    // Timers may fire a little early (whole milliseconds): only activity since re-arms.
    if (this.#deadline - now >= 1) {
      this.#startTimer(this.#deadline - now, now);
      return;
    }
    this.#onTimeout(this.#timerKind!);
  }

  #onTimeout(kind: TimerKind): void {
    this.#ctx.counters.timeouts += 1;
    this.#log.info({ timeout: kind, ms: this.#ctx.timeouts[kind] }, 'session timed out');
    if (kind === 'proxyHeader') {
      this.#ctx.counters.proxyHeaderErrors += 1;
      this.#closeBoth(null);
    } else if (kind === 'greeting' && !this.#serverBytesRelayed) {
      this.#ctx.counters.upstreamFailures += 1;
      this.#closeBoth(replies.upstreamUnavailable(this.#ctx.name));
    } else {
      this.#closeBoth(replies.timeout(this.#ctx.name));
    }
  }

  // ---- endings --------------------------------------------------------------------------

  #upstreamFailed(): void {
    this.#ctx.counters.upstreamFailures += 1;
    this.#closeBoth(replies.upstreamUnavailable(this.#ctx.name));
  }

  #onClientEnd(): void {
    this.#clientEnded = true;
    if (this.#closing) return;
    if (this.#phase !== 'relay') {
      this.#closeBoth(null);
      return;
    }
    if (this.#inspector && !this.#passthrough) {
      // The inspector may still hold client bytes it has not forwarded (a pipelined batch
      // waiting for replies): the upstream must not see the client's FIN before them. The
      // inspector says closeServer once everything is forwarded and answered; the session
      // timers bound the wait.
      const inspector = this.#inspector;
      const verdict = this.#inspect(() => inspector.clientEnded(), 'clientEnded', null, null);
      if (verdict) this.#apply(verdict);
      return;
    }
    // Spliced (TLS, fail-open): every byte is already forwarded; pass the FIN on.
    if (this.upstream && !this.#upstreamAborted && !this.upstream.destroyed) this.upstream.end();
  }

  #onClientClose(): void {
    this.#clientClosed = true;
    if (this.upstream && !this.upstream.destroyed) {
      if (this.#phase === 'relay' && !this.#closing) this.upstream.end();
      else this.upstream.destroy();
    }
    this.#graceTimer();
    this.#maybeDone();
  }

  #onUpstreamEnd(): void {
    if (this.#upstreamAborted || this.#closing) return;
    if (this.#phase !== 'relay' || !this.#serverBytesRelayed) {
      this.#log.warn('upstream closed before its greeting');
      this.#upstreamFailed();
      return;
    }
    if (this.#inspector && !this.#passthrough) {
      const inspector = this.#inspector;
      const verdict = this.#inspect(() => inspector.serverEnded(), 'serverEnded', null, null);
      if (verdict) this.#apply(verdict);
    }
    this.#endClient();
  }

  #onUpstreamClose(): void {
    this.#upstreamClosed = true;
    if (!this.#upstreamAborted && !this.#closing && !this.#clientClosed) {
      if (this.#phase !== 'relay' || !this.#serverBytesRelayed) this.#upstreamFailed();
      else if (!this.client.writableEnded) {
        // Closed without a FIN we saw (reset): treat as its end.
        this.#onUpstreamEnd();
      }
    }
    this.#maybeDone();
  }

  /** Close the upstream at once (after what was written): a prevented message never gets its end of data. */
  #abortUpstream(): void {
    const upstream = this.upstream;
    this.#upstreamAborted = true;
    this.#upstreamBlocked = false;
    if (!upstream || upstream.destroyed) return;
    if (upstream.writableLength === 0) upstream.destroy();
    else {
      upstream.end();
      this.#abortTimer = setTimeout(() => upstream.destroy(), GRACE_MS);
      this.#abortTimer.unref();
    }
  }

  #endClient(): void {
    if (!this.client.writableEnded) this.client.end();
    this.#graceTimer();
  }

  /** 421 (or nothing) to the client, abort the upstream, close the client: the end of the session. */
  #closeBoth(reply: string | null): void {
    if (this.#closing) return;
    if (reply && !this.client.destroyed && !this.client.writableEnded) {
      this.#ctx.counters.bytesToClient += reply.length;
      this.client.write(reply);
    }
    this.#closing = true;
    this.#phase = 'closing';
    if (this.#timer) clearTimeout(this.#timer);
    this.#abortUpstream();
    this.#endClient();
    // A client that stopped reading must not keep the socket open.
    this.client.resume();
  }

  #graceTimer(): void {
    // Whatever is still open GRACE_MS after one side finished is destroyed.
    if (this.#graceArmed) return;
    this.#graceArmed = true;
    this.#grace = setTimeout(() => {
      this.client.destroy();
      this.upstream?.destroy();
    }, GRACE_MS);
    this.#grace.unref();
  }

  #maybeDone(): void {
    if (!this.#clientClosed) return;
    if (this.upstream && !this.#upstreamClosed && !this.upstream.destroyed) return;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#grace) clearTimeout(this.#grace);
    this.#timer = null;
    this.#closing = true;
    if (this.#ended) return;
    this.#ended = true;
    this.#ctx.sessionEnded(this);
    if (this.#endedWaiters) for (const resolve of this.#endedWaiters) resolve();
  }

  /** Graceful shutdown deadline reached: 421 and close. */
  shutdownNow(): void {
    if (this.#closing) {
      this.client.destroy();
      this.upstream?.destroy();
      return;
    }
    this.#closeBoth(replies.shuttingDown(this.#ctx.name));
  }

  /** Client refused before any session (limit or shutdown). */
  static refuse(client: RelaySocket, reply: string): void {
    const t = setTimeout(() => client.destroy(), GRACE_MS);
    t.unref();
    // Whatever it sends is read and dropped; errors are routine here.
    client.setHandler({ ...IGNORE_EVENTS, onSocketClose: () => clearTimeout(t) });
    client.end(reply);
    client.resume();
  }
}
