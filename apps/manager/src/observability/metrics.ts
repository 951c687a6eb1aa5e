import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type Database from 'better-sqlite3';
import type { LogExporter } from './log-export.js';

export interface ManagerMetricsSources {
  sqlite: Database.Database;
  /** Console WebSockets on the live stream now. */
  liveClients: () => number;
  /** Whether a gateway has an open fleet link now. */
  isOnline: (gatewayId: string) => boolean;
  exporter: LogExporter;
  /** process_* / nodejs_* metrics; off in tests (prom-client starts a monitor per registry). */
  processMetrics?: boolean;
}

const INSTALL_STATUSES = ['pending', 'installed', 'failed', 'unreachable'] as const;

/**
 * The manager's Prometheus registry, one per `buildApp()` (tests build many apps; nothing is
 * global). Counters the manager increments (HTTP requests, committed events, log export) and
 * gauges read when Prometheus scrapes (install results, gateways, their spools, live clients).
 */
export class ManagerMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: Histogram<'method' | 'route'>;
  readonly eventsCommitted: Counter<'protection' | 'action'>;
  readonly logExportSent: Counter;
  readonly logExportErrors: Counter;

  constructor(src: ManagerMetricsSources) {
    const registers = [this.registry];
    const p = 'smtpguard_manager';
    this.httpRequests = new Counter({ name: `${p}_http_requests_total`, help: 'HTTP requests by method, route pattern and status code.', labelNames: ['method', 'route', 'status'], registers });
    this.httpSeconds = new Histogram({
      name: `${p}_http_request_seconds`,
      help: 'HTTP request duration by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
      registers,
    });
    this.eventsCommitted = new Counter({ name: `${p}_events_committed_total`, help: 'Events committed from the fleet link (duplicates not counted), by protection and action.', labelNames: ['protection', 'action'], registers });
    this.logExportSent = new Counter({ name: `${p}_log_export_sent_total`, help: 'Events forwarded to the syslog receiver.', registers });
    this.logExportErrors = new Counter({ name: `${p}_log_export_errors_total`, help: 'Failed log export attempts (connect or write); each is retried with back-off.', registers });
    new Gauge({
      name: `${p}_log_export_pending_events`,
      help: 'Events committed but not yet forwarded to the syslog receiver.',
      registers,
      collect() {
        this.set(src.exporter.pending());
      },
    });
    new Gauge({
      name: `${p}_log_export_connected`,
      help: '1 while the log export has a connection to its receiver.',
      registers,
      collect() {
        this.set(src.exporter.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}_live_clients`,
      help: 'Console WebSockets on the live event stream.',
      registers,
      collect() {
        this.set(src.liveClients());
      },
    });
    const installs = src.sqlite.prepare('SELECT status, count(*) AS n FROM install_results GROUP BY status');
    new Gauge({
      name: `${p}_install_results`,
      help: 'Per-gateway install results by status (every install kept in the database).',
      labelNames: ['status'],
      registers,
      collect() {
        const counts = new Map((installs.all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n]));
        for (const status of INSTALL_STATUSES) this.set({ status }, counts.get(status) ?? 0);
      },
    });
    const gatewayRows = src.sqlite.prepare('SELECT id, name, enrolled_at AS enrolledAt, revoked_at AS revokedAt, counters FROM gateways');
    type Row = { id: string; name: string; enrolledAt: number | null; revokedAt: number | null; counters: string | null };
    const rows = () => gatewayRows.all() as Row[];
    new Gauge({
      name: `${p}_gateways`,
      help: 'Gateways by status.',
      labelNames: ['status'],
      registers,
      collect() {
        const counts: Record<string, number> = { online: 0, offline: 0, 'pending-enrollment': 0, revoked: 0 };
        for (const r of rows()) {
          const status = r.revokedAt !== null ? 'revoked' : r.enrolledAt === null ? 'pending-enrollment' : src.isOnline(r.id) ? 'online' : 'offline';
          counts[status]! += 1;
        }
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
    /** Spool figures each gateway reported in its last heartbeat. */
    const spoolGauge = (name: string, help: string, field: 'spoolPending' | 'spoolBytes' | 'spoolDropped') =>
      new Gauge({
        name: `${p}_gateway_${name}`,
        help,
        labelNames: ['gateway'],
        registers,
        collect() {
          this.reset();
          for (const r of rows()) {
            if (r.revokedAt !== null || !r.counters) continue;
            const value = (JSON.parse(r.counters) as Record<string, unknown>)[field];
            if (typeof value === 'number') this.set({ gateway: r.name }, value);
          }
        },
      });
    spoolGauge('spool_pending_events', "Events in the gateway's spool not yet acknowledged (last heartbeat).", 'spoolPending');
    spoolGauge('spool_bytes', "Bytes of the gateway's spool (last heartbeat).", 'spoolBytes');
    spoolGauge('spool_dropped_events', 'Events the gateway dropped because its spool was full (last heartbeat).', 'spoolDropped');
    if (src.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
