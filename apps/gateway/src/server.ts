import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Action } from '@smtpguard/contracts';
import pino from 'pino';
import { Counters } from './counters.js';
import { timedInspectorFactory } from './engine-timing.js';
import { engineInspectorFactory } from './inspector.js';
import { LiveSet } from './live-set.js';
import { DEFAULT_TIMEOUTS, type GatewayOptions, type HostPort, type Timeouts } from './options.js';
import type { InstalledPolicy, PolicySource } from './policy-source.js';
import { Session, type SessionContext } from './session.js';
import { replies } from './smtp-replies.js';
import { chooseTransport } from './transport/choose.js';
import { nativeTransportError } from './transport/native-binding.js';
import type { RelaySocket, TransportKind } from './transport/relay-socket.js';

export interface Gateway {
  /** Where it listens (the ephemeral port resolved). */
  address: HostPort;
  counters: Counters;
  policy: PolicySource;
  /** Which transport carries the sockets. */
  transport: TransportKind;
  /** Validate, compile and install a policy document (zPolicy shape) for new connections; throws PolicyError naming bad fields. */
  setPolicy(input: unknown, overrideAction?: Action): InstalledPolicy;
  /** Open sessions (status pages, tests). */
  sessions(): Session[];
  /**
   * Graceful shutdown: stop accepting, let sessions finish up to `deadlineMs` (default 30 s),
   * then 421 and close the rest. Resolves when every session is closed.
   */
  close(deadlineMs?: number): Promise<void>;
}

/** Connection ids: unique per process start (random prefix) and ordered within it (counter). */
const idPrefix = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
let idCounter = 0;
function connectionId(): string {
  idCounter += 1;
  return `${idPrefix}-${idCounter.toString(36)}`;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const counters = new Counters();
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const maxConnections = options.maxConnections ?? 1000;
  const name = options.name ?? hostname();
  const transport = chooseTransport(options.transport);
  const nativeError = nativeTransportError();
  if (transport.kind === 'node' && nativeError && options.transport === undefined) {
    logger.warn({ reason: nativeError }, 'native transport unavailable: using node:net (1.3 to 2 times the CPU per message)');
  }
  const sessions = new LiveSet<Session>();
  const debug = logger.isLevelEnabled('debug');
  const ctx: SessionContext = {
    name,
    upstream: options.upstream,
    timeouts,
    xclient: options.xclient ?? false,
    proxyProtocol: options.proxyProtocol ?? false,
    failMode: options.failMode ?? 'closed',
    logger,
    counters,
    events: options.events,
    inspectorFactory:
      options.timeEngine === false
        ? (options.inspectorFactory ?? engineInspectorFactory)
        : timedInspectorFactory(options.inspectorFactory ?? engineInspectorFactory, counters.engineTime),
    transport,
    debug,
    timerCap: Math.min(timeouts.greeting, timeouts.command, timeouts.dataBlock, timeouts.dataEnd),
    sessionEnded: (session) => {
      sessions.delete(session);
      counters.connectionsActive -= 1;
      if (debug) logger.debug({ conn: session.id }, 'connection closed');
    },
  };
  let shuttingDown = false;

  const onConnection = (socket: RelaySocket) => {
    if (shuttingDown || sessions.size >= maxConnections) {
      counters.connectionsRejected += 1;
      logger.warn({ client: socket.remoteAddress, active: sessions.size, shuttingDown }, 'connection refused');
      Session.refuse(socket, shuttingDown ? replies.shuttingDown(name) : replies.tooManyConnections(name));
      return;
    }
    counters.connectionsAccepted += 1;
    counters.connectionsActive += 1;
    const session = new Session(connectionId(), socket, options.policy.current(), ctx);
    sessions.add(session);
    if (debug) logger.debug({ conn: session.id, client: session.clientEndpoint }, 'connection accepted');
  };

  const host = options.listen?.host ?? '127.0.0.1';
  const port = options.listen?.port ?? 2525;
  const server = await transport.listen(
    {
      host,
      port,
      backlog: 511,
      ...(options.highWaterMark ? { highWaterMark: options.highWaterMark } : {}),
      onError: (err) => logger.error({ err: err.message }, 'listener error'),
    },
    onConnection,
  );
  const bound = server.address();
  logger.info({ listen: `${bound.address}:${bound.port}`, transport: transport.kind, upstream: `${options.upstream.host}:${options.upstream.port}` }, 'gateway listening');

  let closing: Promise<void> | null = null;
  return {
    address: { host: bound.address, port: bound.port },
    counters,
    policy: options.policy,
    transport: transport.kind,
    setPolicy(input, overrideAction) {
      const installed = options.policy.setFromInput(input, overrideAction);
      logger.info({ revision: installed.revision }, 'policy installed');
      return installed;
    },
    sessions: () => sessions.toArray(),
    close(deadlineMs = 30_000) {
      if (closing) return closing;
      shuttingDown = true;
      logger.info({ active: sessions.size, deadlineMs }, 'shutting down');
      closing = (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const all = () => Promise.all(sessions.toArray().map((s) => s.done));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
        const outcome = await Promise.race([all().then(() => 'drained' as const), deadline]);
        clearTimeout(timer);
        if (outcome === 'deadline') {
          logger.warn({ active: sessions.size }, 'shutdown deadline reached: closing sessions with 421');
          for (const session of sessions.toArray()) session.shutdownNow();
          await all();
        }
        await stopped;
        logger.info('gateway stopped');
      })();
      return closing;
    },
  };
}
