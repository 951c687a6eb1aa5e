import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import {
  zLogExportConfigRequest,
  type LogExportConfig,
  type LogExportConfigRequest,
  type LogExportStatus,
  type LogExportTestResponse,
  type LogExportView,
  type StoredEvent,
} from '@smtpguard/contracts';
import { eventMessage, octetFrame, testMessage } from './syslog.js';
import { openTransport, type SyslogTransport } from './transport.js';

/** The stored configuration (the private key included). */
export interface StoredLogExportConfig {
  enabled: boolean;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  format: 'json' | 'cef';
  facility: number;
  tls: { ca?: string; cert?: string; key?: string; servername?: string };
}

export interface LogExporterOptions {
  now?: () => number;
  log?: (line: string) => void;
  /** Events per write (one TCP write, one cursor update). */
  batchSize?: number;
  /** Back-off after a failure: starts at `retryMinMs`, doubles up to `retryMaxMs`. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How often the table is polled when nothing announces new events. */
  pollMs?: number;
  connectTimeoutMs?: number;
  /** Called after each batch written (metrics). */
  onSent?: (count: number) => void;
  onError?: () => void;
}

/** The API's view of a stored configuration: the private key replaced by `hasKey`. */
export function publicConfig(c: StoredLogExportConfig): LogExportConfig {
  const tls: LogExportConfig['tls'] = { hasKey: Boolean(c.tls.key) };
  if (c.tls.ca) tls.ca = c.tls.ca;
  if (c.tls.cert) tls.cert = c.tls.cert;
  if (c.tls.servername) tls.servername = c.tls.servername;
  return { enabled: c.enabled, host: c.host, port: c.port, transport: c.transport, format: c.format, facility: c.facility, tls };
}

/**
 * Forwards committed events, in id order, to a syslog receiver. The cursor (id of the last
 * event forwarded) lives in SQLite (`log_export`) and moves only after a successful write,
 * so a receiver or manager restart resumes right after it: nothing lost within what the
 * events table keeps (retention), nothing sent twice on TCP/TLS unless a write was cut off
 * mid-flight. UDP is best effort: a datagram the kernel accepted counts as sent.
 */
export class LogExporter {
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly batchSize: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly pollMs: number;
  private config: StoredLogExportConfig | null;
  private cursor: number | null;
  private transport: SyslogTransport | null = null;
  /** Bumped on every (re)configuration and on stop: a stale loop sees it and ends. */
  private generation = 0;
  private wake: (() => void) | null = null;
  private state: LogExportStatus['state'] = 'unconfigured';
  private sent = 0;
  private lastSentAt: number | null = null;
  private lastError: { time: number; message: string } | null = null;
  private nextRetryAt: number | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly stmts: {
    read: Database.Statement;
    pending: Database.Statement;
    maxId: Database.Statement;
    row: Database.Statement;
    saveConfig: Database.Statement;
    saveCursor: Database.Statement;
  };

  constructor(
    sqlite: Database.Database,
    private readonly options: LogExporterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.batchSize = options.batchSize ?? 200;
    this.retryMinMs = options.retryMinMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.pollMs = options.pollMs ?? 1000;
    this.stmts = {
      read: sqlite.prepare('SELECT id, gateway_id AS gatewayId, seq, received_at AS receivedAt, data FROM events WHERE id > ? ORDER BY id LIMIT ?'),
      pending: sqlite.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE id > ? LIMIT 10000000)'),
      maxId: sqlite.prepare('SELECT coalesce(max(id), 0) AS id FROM events'),
      row: sqlite.prepare('SELECT config, cursor FROM log_export WHERE id = 1'),
      saveConfig: sqlite.prepare(
        'INSERT INTO log_export (id, config, cursor, updated_at, updated_by) VALUES (1, @config, @cursor, @now, @by) ON CONFLICT(id) DO UPDATE SET config = @config, cursor = @cursor, updated_at = @now, updated_by = @by',
      ),
      saveCursor: sqlite.prepare('UPDATE log_export SET cursor = ? WHERE id = 1'),
    };
    const row = this.stmts.row.get() as { config: string | null; cursor: number | null } | undefined;
    this.config = row?.config ? (JSON.parse(row.config) as StoredLogExportConfig) : null;
    this.cursor = row?.cursor ?? null;
  }

  /** Starts forwarding if the stored configuration is enabled (manager start-up). */
  start(): void {
    this.restart();
  }

  /** New events were committed: forward them now rather than at the next poll. */
  kick(): void {
    this.wake?.();
  }

  storedConfig(): StoredLogExportConfig | null {
    return this.config;
  }

  view(): LogExportView {
    return { config: this.config ? publicConfig(this.config) : null, status: this.status() };
  }

  status(): LogExportStatus {
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      state: this.config ? (this.config.enabled ? this.state : 'disabled') : 'unconfigured',
      cursor: this.cursor,
      pending: this.pending(),
      sent: this.sent,
      lastSentAt: iso(this.lastSentAt),
      lastError: this.lastError ? { time: iso(this.lastError.time)!, message: this.lastError.message } : null,
      nextRetryAt: this.state === 'retrying' ? iso(this.nextRetryAt) : null,
      delivery: this.config?.transport === 'udp' ? 'best-effort' : 'reliable',
    };
  }

  /** Events committed after the cursor (0 while never enabled). */
  pending(): number {
    if (this.cursor === null) return 0;
    return (this.stmts.pending.get(this.cursor) as { n: number }).n;
  }

  get sentCount(): number {
    return this.sent;
  }
  get connected(): boolean {
    return this.state === 'connected';
  }

  /**
   * Saves a configuration (validated by the route) and applies it at once. The first time
   * export is enabled the cursor starts at the newest event: what was committed before is not
   * replayed. Later changes keep the cursor (a new target gets what the old one had not).
   * A missing `tls.key` keeps the stored key; `""` removes it.
   */
  configure(input: LogExportConfigRequest, by: string): StoredLogExportConfig {
    const parsed = zLogExportConfigRequest.parse(input);
    const tls: StoredLogExportConfig['tls'] = {};
    if (parsed.tls?.ca) tls.ca = parsed.tls.ca;
    if (parsed.tls?.cert) tls.cert = parsed.tls.cert;
    if (parsed.tls?.servername) tls.servername = parsed.tls.servername;
    const key = parsed.tls?.key === undefined ? this.config?.tls.key : parsed.tls.key || undefined;
    if (key) tls.key = key;
    const config: StoredLogExportConfig = {
      enabled: parsed.enabled,
      host: parsed.host,
      port: parsed.port,
      transport: parsed.transport,
      format: parsed.format,
      facility: parsed.facility,
      tls,
    };
    if (this.cursor === null && config.enabled) this.cursor = (this.stmts.maxId.get() as { id: number }).id;
    this.stmts.saveConfig.run({ config: JSON.stringify(config), cursor: this.cursor, now: this.now(), by });
    this.config = config;
    this.lastError = null;
    this.restart();
    return config;
  }

  /** One test message on a fresh connection with the saved configuration. */
  async test(): Promise<LogExportTestResponse> {
    const c = this.config;
    if (!c) return { ok: false, message: 'log export is not configured yet' };
    let t: SyslogTransport | null = null;
    try {
      t = await openTransport({ ...c, connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000 }, octetFrame);
      await t.send([testMessage({ format: c.format, facility: c.facility, hostname: hostname(), time: new Date(this.now()).toISOString() })]);
      return {
        ok: true,
        message: `test message sent to ${c.host}:${c.port} over ${c.transport.toUpperCase()}${c.transport === 'udp' ? ' (UDP: delivery is not confirmed)' : ''}`,
      };
    } catch (err) {
      return { ok: false, message: `${c.host}:${c.port} over ${c.transport.toUpperCase()}: ${describe(err)}` };
    } finally {
      t?.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    this.kick();
    this.transport?.close();
    this.transport = null;
    // A loop waiting on a connect (up to connectTimeoutMs) ends on its own and touches
    // nothing once stopped: shutdown does not wait for it beyond a second.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private restart(): void {
    this.generation += 1;
    this.transport?.close();
    this.transport = null;
    this.kick();
    const c = this.config;
    if (this.stopped || !c || !c.enabled) {
      this.state = c ? 'disabled' : 'unconfigured';
      return;
    }
    const gen = this.generation;
    const previous = this.loop ?? Promise.resolve();
    this.loop = previous
      .catch(() => undefined)
      .then(() => this.run(gen, c))
      .catch((err: unknown) => this.log(`log export: stopped on an unexpected error: ${describe(err)}`));
  }

  private async run(gen: number, c: StoredLogExportConfig): Promise<void> {
    let backoff = this.retryMinMs;
    const live = () => gen === this.generation && !this.stopped;
    while (live()) {
      try {
        if (!this.transport || !this.transport.alive) {
          this.transport?.close();
          this.transport = null;
          this.state = 'connecting';
          const t = await openTransport({ ...c, connectTimeoutMs: this.options.connectTimeoutMs ?? 10_000 }, octetFrame);
          if (!live()) {
            t.close();
            return;
          }
          this.transport = t;
          this.state = 'connected';
          this.log(`log export: connected to ${c.host}:${c.port} (${c.transport})`);
        }
        const rows = this.stmts.read.all(this.cursor ?? 0, this.batchSize) as Array<{ id: number; gatewayId: string; seq: number; receivedAt: number; data: string }>;
        if (rows.length === 0) {
          await this.sleep(this.pollMs);
          continue;
        }
        const messages = rows.map((r) => {
          const event = { ...(JSON.parse(r.data) as Omit<StoredEvent, 'id' | 'gatewayId' | 'seq' | 'receivedAt'>), id: r.id, gatewayId: r.gatewayId, seq: r.seq, receivedAt: new Date(r.receivedAt).toISOString() } as StoredEvent;
          return eventMessage(event, { format: c.format, facility: c.facility });
        });
        await this.transport.send(messages);
        if (!live()) return; // reconfigured mid-write: the new loop re-reads from the cursor
        const last = rows[rows.length - 1]!.id;
        this.cursor = last;
        this.stmts.saveCursor.run(last);
        this.sent += rows.length;
        this.lastSentAt = this.now();
        this.options.onSent?.(rows.length);
        backoff = this.retryMinMs;
      } catch (err) {
        if (!live()) return;
        this.transport?.close();
        this.transport = null;
        const message = describe(err);
        if (this.lastError?.message !== message) this.log(`log export: ${c.host}:${c.port} (${c.transport}): ${message}; retrying`);
        this.lastError = { time: this.now(), message };
        this.options.onError?.();
        this.state = 'retrying';
        this.nextRetryAt = this.now() + backoff;
        await this.sleep(backoff, false);
        backoff = Math.min(backoff * 2, this.retryMaxMs);
      }
    }
  }

  /** Waits `ms`, or less when `kick()` is called (unless `wakeable` is false: back-off is kept). */
  private sleep(ms: number, wakeable = true): Promise<void> {
    return new Promise<void>((resolve) => {
      const gen = this.generation;
      const timer = setTimeout(done, ms);
      timer.unref?.();
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === wake) self.wake = null;
        resolve();
      }
      // A back-off sleep ignores new events but still ends on reconfiguration or stop.
      const wake = () => {
        if (wakeable || gen !== self.generation || self.stopped) done();
      };
      this.wake = wake;
    });
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.code === 'ENOTFOUND') return `host not found`;
  if (e?.code === 'ECONNRESET') return 'connection reset by the receiver';
  return e?.message ?? String(err);
}
