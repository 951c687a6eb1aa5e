import type { FastifyInstance } from 'fastify';
import type { StoredEvent } from '@smtpguard/contracts';
import type { Manager } from '../services/context.js';
import { committedEvents, type Committed } from '../services/events.js';
import type { FleetHub } from '../services/fleet.js';
import { LogExporter, type LogExporterOptions } from './log-export.js';
import { ManagerMetrics } from './metrics.js';
import { logExportRoutes } from './routes.js';

export { LogExporter } from './log-export.js';
export { ManagerMetrics } from './metrics.js';
export { startMetricsServer, type MetricsServer } from '@smtpguard/metrics-server';

export interface ObservabilityOptions {
  /** Log export timings (tests shorten the back-off). */
  logExport?: Omit<LogExporterOptions, 'now' | 'log' | 'onSent' | 'onError'>;
  /** process_* / nodejs_* metrics (main.ts turns them on). */
  processMetrics?: boolean;
}

export interface Observability {
  metrics: ManagerMetrics;
  exporter: LogExporter;
}

/**
 * Metrics and log export for one manager app: the registry (per app), the HTTP request
 * counter (onResponse), the committed-events counter and the exporter's wake-up (both fed
 * where every committed batch passes: LiveHub.publish), the log export routes, and the
 * exporter's start/stop with the app.
 */
export function setupObservability(app: FastifyInstance, m: Manager, fleet: FleetHub, options: ObservabilityOptions = {}): Observability {
  let metrics: ManagerMetrics | undefined;
  const exporter = new LogExporter(m.store.sqlite, {
    ...options.logExport,
    now: () => m.now(),
    log: m.options.log,
    onSent: (n) => metrics?.logExportSent.inc(n),
    onError: () => metrics?.logExportErrors.inc(),
  });
  metrics = new ManagerMetrics({
    sqlite: m.store.sqlite,
    liveClients: () => m.live.size,
    isOnline: (id) => fleet.isOnline(id),
    exporter,
    ...(options.processMetrics ? { processMetrics: true } : {}),
  });
  const mm = metrics;

  const publish = m.live.publish.bind(m.live);
  m.live.publish = (events: StoredEvent[] | Committed) => {
    const committed = Array.isArray(events) ? committedEvents(events) : events;
    // One counter call per (protection, action) in the batch, not one per event.
    const counts = new Map<string, { protection: string; action: string; n: number }>();
    committed.forEachKind((protection, action) => {
      const key = `${protection}\u0000${action}`;
      const c = counts.get(key);
      if (c) c.n += 1;
      else counts.set(key, { protection, action, n: 1 });
    });
    for (const c of counts.values()) mm.eventsCommitted.inc({ protection: c.protection, action: c.action }, c.n);
    publish(committed);
    if (committed.size > 0) exporter.kick();
  };

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    mm.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    mm.httpSeconds.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  logExportRoutes(app, m, exporter);
  app.addHook('onReady', async () => exporter.start());
  app.addHook('preClose', async () => exporter.stop());
  return { metrics: mm, exporter };
}
