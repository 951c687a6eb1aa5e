#!/usr/bin/env node
/**
 * Standalone gateway: `pnpm gateway --listen HOST:PORT --upstream HOST:PORT [--policy FILE]
 * [--default-action prevent|detect|inactive] [--events FILE]`.
 *
 * Wiring only: flags → PolicySource + EventSink + logger → startGateway. The fleet link
 * (src/fleet/, flags --manager URL --enroll-key KEY --data DIR) plugs in here: it feeds
 * the same PolicySource with installs (`policy.set(...)`) and adds its spooling EventSink
 * next to (or instead of) the JSON-lines sink, e.g. `new MultiSink([file, spool])`.
 */
import pino from 'pino';
import { CliError, HelpRequested, loadPolicy, parseCli, type CliConfig } from './cli.js';
import { JsonLinesSink, MultiSink, type EventSink } from './events.js';
import { EnrollmentError, FleetAgent } from './fleet/agent.js';
import { gatewayRegistry, startMetricsServer, type MetricsServer } from './metrics.js';
import { formatHostPort } from './options.js';
import { startGateway, type Gateway } from './server.js';

function eventSink(config: CliConfig): EventSink {
  return config.eventsFile ? new JsonLinesSink({ path: config.eventsFile }) : new JsonLinesSink({ stream: process.stdout });
}

async function main(): Promise<void> {
  let config: CliConfig;
  let policy: ReturnType<typeof loadPolicy>;
  try {
    config = parseCli(process.argv.slice(2));
    policy = loadPolicy(config.policyFile, config.defaultAction);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(err.message);
      process.exit(0);
    }
    if (err instanceof CliError) {
      process.stderr.write(`smtpguard gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Events own stdout when they have no file: logs then go to stderr.
  const logger = pino({ level: config.logLevel, base: { svc: 'gateway' } }, pino.destination({ fd: config.eventsFile ? 1 : 2, sync: false }));
  // Fleet link: the last installed revision is in force before the listener opens.
  let gateway: Gateway | undefined;
  let agent: FleetAgent | undefined;
  if (config.managerUrl && config.dataDir) {
    agent = new FleetAgent({
      managerUrl: config.managerUrl,
      dataDir: config.dataDir,
      ...(config.enrollKey ? { enrollKey: config.enrollKey } : {}),
      version: '0.1.0',
      applyPolicy: (input) => policy.setFromInput(input),
      counters: () => {
        const c = gateway?.counters;
        let detected = 0;
        let prevented = 0;
        for (const e of c?.events.values() ?? []) {
          detected += e.detect;
          prevented += e.prevent;
        }
        return { connections: c?.connectionsAccepted ?? 0, activeConnections: c?.connectionsActive ?? 0, detected, prevented, events: detected + prevented };
      },
      log: (level, message, fields) => logger[level](fields ?? {}, message),
    });
    agent.restorePolicy();
    try {
      await agent.start();
    } catch (err) {
      if (err instanceof EnrollmentError) {
        process.stderr.write(`smtpguard gateway: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
  }
  const events: EventSink = agent ? (config.eventsFile ? new MultiSink([eventSink(config), agent.sink]) : agent.sink) : eventSink(config);
  const name = config.name ?? agent?.gatewayName ?? undefined;

  gateway = await startGateway({
    listen: config.listen,
    upstream: config.upstream,
    policy,
    events,
    logger,
    ...(name ? { name } : {}),
    timeouts: config.timeouts,
    maxConnections: config.maxConnections,
    xclient: config.xclient,
    proxyProtocol: config.proxyProtocol,
    failMode: config.failMode,
    ...(config.transport ? { transport: config.transport } : {}),
    // Only an endpoint reads the engine-time histogram.
    timeEngine: config.metrics !== undefined,
  });
  let metrics: MetricsServer | undefined;
  if (config.metrics) {
    const registry = gatewayRegistry({ counters: gateway.counters, ...(agent ? { spool: () => agent.spool } : {}), processMetrics: true });
    try {
      metrics = await startMetricsServer(registry, config.metrics);
    } catch (err) {
      process.stderr.write(`smtpguard gateway: --metrics ${formatHostPort(config.metrics)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      process.exit(2);
    }
    logger.info({ metrics: `http://${formatHostPort(metrics.address)}/metrics` }, 'metrics listening');
  }
  logger.info(
    { revision: policy.current().revision, defaultAction: config.defaultAction ?? null, events: config.eventsFile ?? (agent ? 'manager' : 'stdout'), manager: config.managerUrl ?? null },
    'policy loaded',
  );

  // tsx turns on source maps: then every socket error (a client's RST is routine) pays a
  // source-mapped stack trace. Stack positions in logs refer to the transpiled code instead.
  if (!process.env.SMTPGUARD_SOURCE_MAPS) process.setSourceMapsEnabled(false);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    void gateway!
      .close(config.shutdownDeadlineMs)
      .then(() => events.close?.())
      .then(() => metrics?.close())
      .then(() => {
        logger.flush();
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (err) => {
    // Never die on a stray error in one session; log it loudly instead.
    logger.error({ err: err.message, stack: err.stack }, 'uncaught exception');
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`smtpguard gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
