import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { Counters } from './counters.js';
import type { DurationHistogram } from './engine-timing.js';

/** What the fleet agent's spool reports (absent on a standalone gateway). */
export interface SpoolStats {
  pending: number;
  bytes: number;
  dropped: number;
}

export interface GatewayMetricsOptions {
  counters: Counters;
  /** The fleet spool, when the gateway is managed. */
  spool?: () => SpoolStats | null;
  /** process_* and nodejs_* metrics (RSS, CPU, event-loop lag). Off in tests: it starts a monitor per registry. */
  processMetrics?: boolean;
  prefix?: string;
}

/**
 * The gateway's Prometheus registry. Nothing is counted twice: every figure is read from the
 * gateway's `Counters` (plain numbers the sessions increment) when Prometheus scrapes.
 * One registry per gateway instance (no prom-client global).
 */
export function gatewayRegistry(options: GatewayMetricsOptions): Registry {
  const { counters: c } = options;
  const prefix = options.prefix ?? 'smtpguard_gateway';
  const registry = new Registry();
  const registers = [registry];
  /** A counter mirrored from a plain number at scrape time. */
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name: `${prefix}_${name}`,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const labelled = (name: string, help: string, labelNames: string[], read: () => Array<[Record<string, string>, number]>) =>
    new Counter({
      name: `${prefix}_${name}`,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  const gauge = (name: string, help: string, read: () => number | null) =>
    new Gauge({
      name: `${prefix}_${name}`,
      help,
      registers,
      collect() {
        const v = read();
        if (v === null) this.reset();
        else this.set(v);
      },
    });

  counter('connections_total', 'Client connections accepted.', () => c.connectionsAccepted);
  gauge('connections_active', 'Client connections open now.', () => c.connectionsActive);
  counter('connections_rejected_total', 'Client connections refused (connection limit or shutdown).', () => c.connectionsRejected);
  counter('upstream_failures_total', 'Upstream connections that failed before a greeting.', () => c.upstreamFailures);
  counter('timeouts_total', 'Sessions closed by a timeout.', () => c.timeouts);
  counter('proxy_header_errors_total', 'Connections closed for a missing or bad PROXY header.', () => c.proxyHeaderErrors);
  counter('engine_errors_total', 'Inspection engine errors.', () => c.engineErrors);
  labelled('messages_total', 'Messages by outcome (accepted by the upstream, or rejected).', ['outcome'], () => [
    [{ outcome: 'accepted' }, c.messagesAccepted],
    [{ outcome: 'rejected' }, c.messagesRejected],
  ]);
  labelled('bytes_total', 'Bytes by direction: read from the client, written to the server, read from the server, written to the client.', ['direction'], () => [
    [{ direction: 'from_client' }, c.bytesFromClient],
    [{ direction: 'to_server' }, c.bytesToServer],
    [{ direction: 'from_server' }, c.bytesFromServer],
    [{ direction: 'to_client' }, c.bytesToClient],
  ]);
  labelled('events_total', 'Inspection events by protection and action.', ['protection', 'action'], () => {
    const out: Array<[Record<string, string>, number]> = [];
    for (const [protection, counts] of c.events) {
      out.push([{ protection, action: 'detect' }, counts.detect]);
      out.push([{ protection, action: 'prevent' }, counts.prevent]);
    }
    return out;
  });
  registry.registerMetric(histogramMetric(`${prefix}_engine_seconds`, 'Time spent in inspection engine calls (one observation per chunk or end, each direction).', c.engineTime));

  if (options.spool) {
    const spool = options.spool;
    gauge('spool_pending_events', 'Events in the on-disk spool not yet acknowledged by the manager.', () => spool()?.pending ?? null);
    gauge('spool_bytes', 'Bytes of the on-disk event spool.', () => spool()?.bytes ?? null);
    counter('spool_dropped_events_total', 'Events dropped because the spool was full.', () => spool()?.dropped ?? 0);
  }
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** A prom-client metric object over a plain-number histogram (read at scrape time). */
function histogramMetric(name: string, help: string, h: DurationHistogram): Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      values: [
        ...h.cumulative().map(([le, value]) => ({ metricName: `${name}_bucket`, labels: { le: le === Number.POSITIVE_INFINITY ? '+Inf' : le }, value })),
        { metricName: `${name}_sum`, labels: {}, value: h.sum },
        { metricName: `${name}_count`, labels: {}, value: h.count },
      ],
    }),
    reset: () => undefined,
  };
  return metric as unknown as Metric;
}

export { startMetricsServer, type MetricsServer } from '@smtpguard/metrics-server';
