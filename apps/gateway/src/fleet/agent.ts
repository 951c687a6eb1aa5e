import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  FLEET_PROTOCOL_VERSION,
  canonicalJson,
  describeZodError,
  zEnrollResponse,
  zInstalledPolicy,
  zManagerMessage,
  zPolicy,
  type GatewayCounters,
  type GatewayMessageInput,
  type InspectionEvent,
  type InstalledPolicy,
  type ManagerMessage,
} from '@smtpguard/contracts';
import { Spool, type SpoolOptions } from './spool.js';

/**
 * The gateway's end of the fleet link.
 *
 * 1. `restorePolicy()` (synchronous, before the proxy accepts anything): loads the last
 *    installed policy from `<dataDir>/policy.json` and applies it, so enforcement never waits
 *    for the manager — after a restart, or while the manager is down.
 * 2. `start()`: enrolls once with the one-time key (credential saved to
 *    `<dataDir>/credential.json`, mode 0600), then keeps one authenticated WebSocket open,
 *    reconnecting with jittered exponential back-off.
 * 3. `sink.write(event)` spools every event on disk (`<dataDir>/spool`); batches are shipped in
 *    order, a bounded window in flight, deleted only when the manager acknowledges them, and
 *    re-sent from the first unacknowledged one after any reconnect or restart.
 * 4. Installs are validated (hash, zPolicy, revision), applied, persisted, and answered
 *    installed / failed with the reason.
 */
export interface FleetAgentOptions {
  /** http(s)://host:port of the manager. */
  managerUrl: string;
  dataDir: string;
  /** One-time key; only used when the data dir holds no credential yet. */
  enrollKey?: string;
  version?: string;
  /** Install a validated policy document (zPolicy input); throw to refuse it (the message is the reason). */
  applyPolicy: (policy: unknown, meta: { revision: number; hash: string; profile?: string }) => void;
  /** Gateway counters for heartbeats (spool counters are added). */
  counters?: () => Partial<GatewayCounters>;
  heartbeatMs?: number;
  batchSize?: number;
  /** Batches in flight before waiting for acks. */
  window?: number;
  backoff?: { minMs: number; maxMs: number };
  spool?: Omit<SpoolOptions, 'dir'>;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class EnrollmentError extends Error {
  override name = 'EnrollmentError';
}

interface Credential {
  managerUrl: string;
  gatewayId: string;
  name: string;
  credential: string;
}

const hashOf = (policy: unknown) => createHash('sha256').update(canonicalJson(policy)).digest('hex');

function writeDurable(path: string, content: string, mode = 0o644): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content, { mode });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(join(path, '..'), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* directory fsync unsupported */
  }
}

export class FleetAgent extends EventEmitter<{
  connected: [];
  disconnected: [code: number, reason: string];
  installed: [InstalledPolicy];
  'install-failed': [revision: number, reason: string];
  acked: [last: number];
}> {
  readonly spool: Spool;
  readonly sink: { write(event: InspectionEvent): void; close(): Promise<void> };
  installed: InstalledPolicy | null = null;
  private credential: Credential | null = null;
  private ws: WebSocket | null = null;
  private welcomed = false;
  private nextSend = 1;
  private inflight = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatMs: number;
  private stopped = false;
  private readonly started = Date.now();
  private eventsWritten = 0;
  private lastRx = 0;
  private detail: string | undefined;
  private readonly log: NonNullable<FleetAgentOptions['log']>;

  constructor(private readonly options: FleetAgentOptions) {
    super();
    mkdirSync(options.dataDir, { recursive: true });
    this.log = options.log ?? (() => {});
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.spool = new Spool({ dir: join(options.dataDir, 'spool'), ...options.spool });
    this.spool.on('synced', () => this.pump());
    this.spool.on('full', () => {
      // The heartbeat reports the live dropped count; this only logs.
      this.log('error', 'event spool full: new events are dropped until the manager acknowledges', { dropped: this.spool.dropped });
    });
    this.sink = {
      // Never throws into the proxy: a spool that cannot write (disk full, closed) drops and counts.
      write: (event) => {
        this.eventsWritten += 1;
        try {
          this.spool.append(event);
        } catch (err) {
          this.spool.dropped += 1;
          const detail = `event spool cannot write: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
          if (this.detail !== detail) this.log('error', detail);
          this.detail = detail;
        }
      },
      close: async () => this.close(),
    };
    const credFile = join(options.dataDir, 'credential.json');
    if (existsSync(credFile)) this.credential = JSON.parse(readFileSync(credFile, 'utf8')) as Credential;
  }

  get connected(): boolean {
    return this.welcomed;
  }
  get gatewayName(): string | null {
    return this.credential?.name ?? null;
  }

  /** Applies the persisted policy (if any) now. Returns it, or null. A corrupt file is reported, not fatal. */
  restorePolicy(): InstalledPolicy | null {
    const file = join(this.options.dataDir, 'policy.json');
    if (!existsSync(file)) return null;
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as { policy?: unknown; hash?: string };
      const parsed = zInstalledPolicy.safeParse(raw);
      if (!parsed.success) throw new Error(describeZodError(parsed.error));
      if (hashOf(raw.policy) !== parsed.data.hash) throw new Error('hash does not match the policy');
      this.options.applyPolicy(raw.policy, { revision: parsed.data.revision, hash: parsed.data.hash, ...(parsed.data.profile ? { profile: parsed.data.profile } : {}) });
      this.installed = parsed.data;
      this.log('info', 'restored last installed policy', { revision: parsed.data.revision });
      return parsed.data;
    } catch (err) {
      this.detail = `saved policy ${file} unusable: ${(err as Error).message}`;
      this.log('error', this.detail);
      return null;
    }
  }

  /** Enrolls if needed (throws EnrollmentError with the manager's reason), then connects in the background. */
  async start(): Promise<void> {
    if (!this.credential || (this.options.enrollKey && this.credential.managerUrl !== this.options.managerUrl)) {
      if (!this.options.enrollKey) throw new EnrollmentError(`not enrolled: no credential in ${this.options.dataDir}; start once with --enroll-key KEY`);
      await this.enroll(this.options.enrollKey);
    } else if (this.options.enrollKey) {
      this.log('info', 'already enrolled: --enroll-key ignored', { gateway: this.credential.name });
    }
    this.connect();
  }

  private async enroll(key: string): Promise<void> {
    const url = new URL('/api/fleet/enroll', this.options.managerUrl);
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key, ...(this.options.version ? { version: this.options.version } : {}) }) });
    } catch (err) {
      throw new EnrollmentError(`cannot reach the manager at ${this.options.managerUrl} to enroll: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) throw new EnrollmentError(`the manager refused enrollment (${res.status}): ${body.message ?? res.statusText}`);
    const parsed = zEnrollResponse.safeParse(body);
    if (!parsed.success) throw new EnrollmentError(`unexpected enrollment answer: ${describeZodError(parsed.error)}`);
    this.credential = { managerUrl: this.options.managerUrl, ...parsed.data };
    writeDurable(join(this.options.dataDir, 'credential.json'), JSON.stringify(this.credential), 0o600);
    chmodSync(join(this.options.dataDir, 'credential.json'), 0o600);
    this.log('info', 'enrolled', { gateway: parsed.data.name, id: parsed.data.gatewayId });
  }

  private connect(): void {
    if (this.stopped || !this.credential) return;
    const url = new URL('/api/fleet/ws', this.options.managerUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.credential.credential}` }, handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on('open', () => {
      this.inflight = 0;
      this.nextSend = this.spool.firstUnacked();
      this.send({
        type: 'hello',
        protocol: FLEET_PROTOCOL_VERSION,
        ...(this.options.version ? { version: this.options.version } : {}),
        installedRevision: this.installed?.revision ?? null,
        installedHash: this.installed?.hash ?? null,
        spool: { epoch: this.spool.epoch, pending: this.spool.pending },
      });
    });
    ws.on('message', (data: Buffer) => {
      this.lastRx = Date.now();
      this.onMessage(data);
    });
    ws.on('pong', () => (this.lastRx = Date.now()));
    ws.on('unexpected-response', (_req, res) => {
      const reason = res.statusCode === 401 ? 'credential refused (revoked? enroll again with a new key)' : `HTTP ${res.statusCode}`;
      this.detail = `manager refused the link: ${reason}`;
      this.log('error', this.detail);
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (this.attempt === 0) this.log('warn', 'manager link error', { error: err.message });
    });
    ws.on('close', (code, reason) => {
      const wasUp = this.welcomed;
      this.welcomed = false;
      if (this.ws === ws) this.ws = null;
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
      if (wasUp) {
        this.log('warn', 'manager link closed', { code, reason: reason.toString() });
        this.emit('disconnected', code, reason.toString());
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const { minMs, maxMs } = this.options.backoff ?? { minMs: 250, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(this.attempt, 20));
    // Equal jitter: never sooner than half the ceiling, so a fleet does not reconnect in lockstep.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private send(msg: GatewayMessageInput): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private onMessage(data: Buffer): void {
    let msg: ManagerMessage;
    try {
      const parsed = zManagerMessage.safeParse(JSON.parse(data.toString('utf8')));
      if (!parsed.success) {
        this.log('warn', 'invalid message from the manager', { error: describeZodError(parsed.error) });
        return;
      }
      msg = parsed.data;
    } catch {
      this.log('warn', 'non-JSON frame from the manager');
      return;
    }
    switch (msg.type) {
      case 'welcome':
        this.welcomed = true;
        this.attempt = 0;
        if (this.detail?.startsWith('manager refused')) this.detail = undefined;
        this.heartbeatMs = this.options.heartbeatMs ?? msg.heartbeatSeconds * 1000;
        this.heartbeat();
        this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatMs);
        this.log('info', 'connected to the manager', { gateway: msg.name });
        this.emit('connected');
        this.pump();
        return;
      case 'ack':
        if (msg.epoch !== this.spool.epoch) return;
        this.spool.ack(msg.first, msg.last);
        this.inflight = Math.max(0, this.inflight - 1);
        this.emit('acked', msg.last);
        this.pump();
        return;
      case 'install':
        this.install(msg);
        return;
      case 'error':
        this.log('warn', 'manager reported an error', { message: msg.message });
        return;
    }
  }

  /** Sends spooled batches while the window allows. */
  private pump(): void {
    if (!this.welcomed || !this.ws) return;
    const batchSize = this.options.batchSize ?? 500;
    const window = this.options.window ?? 4;
    while (this.inflight < window) {
      const records = this.spool.read(this.nextSend, batchSize);
      if (records.length === 0) return;
      // Built as text: the spool keeps each event as JSON already.
      const frame = `{"type":"events","epoch":${this.spool.epoch},"events":[${records.map((r) => `{"seq":${r.seq},"event":${r.json}}`).join(',')}]}`;
      this.ws.send(frame);
      this.nextSend = records[records.length - 1]!.seq + 1;
      this.inflight += 1;
    }
  }

  private heartbeat(): void {
    // The manager answers pings; silence for three heartbeats means a dead link: reconnect.
    if (this.ws && Date.now() - this.lastRx > 3 * this.heartbeatMs) {
      this.log('warn', 'manager link silent, reconnecting');
      this.ws.terminate();
      return;
    }
    this.ws?.ping();
    const base = this.options.counters?.() ?? {};
    const degraded = this.detail !== undefined || this.spool.dropped > 0;
    this.send({
      type: 'heartbeat',
      time: new Date().toISOString(),
      status: degraded ? 'degraded' : 'ok',
      ...(this.detail ? { detail: this.detail } : this.spool.dropped > 0 ? { detail: `spool full: ${this.spool.dropped} events dropped` } : {}),
      uptimeSeconds: (Date.now() - this.started) / 1000,
      installedRevision: this.installed?.revision ?? null,
      counters: {
        ...base,
        events: base.events ?? this.eventsWritten,
        spoolPending: this.spool.pending,
        spoolBytes: this.spool.bytes,
        spoolDropped: this.spool.dropped,
      },
    });
  }

  private install(msg: Extract<ManagerMessage, { type: 'install' }>): void {
    const fail = (reason: string) => {
      this.log('error', 'policy install refused', { revision: msg.revision, reason });
      this.send({ type: 'install-result', installId: msg.installId, revision: msg.revision, hash: msg.hash, status: 'failed', reason });
      this.emit('install-failed', msg.revision, reason);
    };
    if (hashOf(msg.policy) !== msg.hash) return fail('hash mismatch: the policy changed in transit');
    const parsed = zPolicy.safeParse(msg.policy);
    if (!parsed.success) return fail(`invalid policy:\n${describeZodError(parsed.error)}`);
    if (parsed.data.revision !== msg.revision) return fail(`policy says revision ${parsed.data.revision ?? '(none)'}, install says ${msg.revision}`);
    const record: InstalledPolicy = { revision: msg.revision, hash: msg.hash, profile: msg.profile, installedAt: new Date().toISOString(), policy: parsed.data };
    const file = join(this.options.dataDir, 'policy.json');
    const staged = `${file}.staged`;
    try {
      // Stage durably, apply, then commit by rename: what is on disk is what runs.
      writeDurable(staged, JSON.stringify({ ...record, policy: msg.policy }));
    } catch (err) {
      return fail(`cannot save the policy: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      this.options.applyPolicy(msg.policy, { revision: msg.revision, hash: msg.hash, profile: msg.profile });
    } catch (err) {
      rmSync(staged, { force: true });
      return fail((err as Error).message);
    }
    try {
      renameSync(staged, file);
    } catch (err) {
      this.log('error', 'policy applied but not saved', { error: (err as Error).message });
    }
    this.installed = record;
    this.log('info', 'policy installed', { revision: msg.revision, profile: msg.profile });
    this.send({ type: 'install-result', installId: msg.installId, revision: msg.revision, hash: msg.hash, status: 'installed' });
    this.emit('installed', record);
  }

  /** Stops the link and closes the spool (everything appended is synced). */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'gateway stopping');
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      });
    }
    this.spool.close();
  }
}
