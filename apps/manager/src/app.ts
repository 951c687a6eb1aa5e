import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import websocket from '@fastify/websocket';
import { count } from 'drizzle-orm';
import { SESSION_COOKIE, hashPassword, sessionUser } from './auth.js';
import { openStore, type Store } from './db/open.js';
import { users } from './db/schema.js';
import { ApiError } from './errors.js';
import { adminRoutes, VERSION } from './routes/admin.js';
import { eventRoutes } from './routes/events.js';
import { gatewayRoutes } from './routes/gateways.js';
import { installRoutes } from './routes/installs.js';
import { policyRoutes } from './routes/policy.js';
import { userRoutes } from './routes/users.js';
import { setupObservability, type ManagerMetrics, type LogExporter, type ObservabilityOptions } from './observability/index.js';
import { Manager } from './services/context.js';
import { FleetHub } from './services/fleet.js';

export interface ManagerDeps {
  /** SQLite file, or ':memory:' (tests). Default: `<dataDir>/manager.db`. */
  dbFile?: string;
  dataDir?: string;
  /** First-start admin password; default `SMTPGUARD_ADMIN_PASSWORD`, else generated and printed once. */
  adminPassword?: string;
  /** Where the generated password and operational notes go (default: stdout). */
  log?: (line: string) => void;
  /** Fastify's request logger (default off). */
  logger?: boolean;
  installTimeoutMs?: number;
  heartbeatSeconds?: number;
  liveQueueBytes?: number;
  loginRateLimit?: { max: number; timeWindow: number };
  /** Set the Secure flag on the session cookie (behind TLS). Default: on when `https` is given. */
  secureCookies?: boolean;
  /** Serve the API, console and gateway link over TLS with the admin's certificate (PEM). */
  https?: { key: Buffer; cert: Buffer };
  /** The console's static build; served at / when it exists. Default apps/console/dist. */
  consoleDir?: string | null;
  retentionIntervalMs?: number;
  now?: () => number;
  /** Metrics registry and log export options (see src/observability). */
  observability?: ObservabilityOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    manager: Manager;
    fleet: FleetHub;
    /** This app's Prometheus registry (served on its own port by main.ts). */
    metrics: ManagerMetrics;
    logExport: LogExporter;
  }
}

const DEFAULT_CONSOLE_DIR = new URL('../../console/dist', import.meta.url).pathname;

async function ensureAdmin(store: Store, deps: ManagerDeps, log: (line: string) => void, now: number): Promise<void> {
  const n = store.db.select({ n: count() }).from(users).get()?.n ?? 0;
  if (n > 0) return;
  let password = deps.adminPassword ?? process.env.SMTPGUARD_ADMIN_PASSWORD;
  const generated = !password;
  if (!password) password = randomBytes(15).toString('base64url');
  store.db.insert(users).values({ username: 'admin', passwordHash: await hashPassword(password), role: 'admin', createdAt: now }).run();
  if (generated) log(`smtpguard manager: created user "admin" with generated password: ${password}  (shown once; change it after logging in)`);
  else log('smtpguard manager: created user "admin" with the password from SMTPGUARD_ADMIN_PASSWORD');
}

/** The manager as a Fastify instance, not listening: tests use `app.inject`, main.ts listens. */
export async function buildApp(deps: ManagerDeps = {}): Promise<FastifyInstance> {
  const log = deps.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = deps.now ?? Date.now;
  const dbFile = deps.dbFile ?? join(deps.dataDir ?? 'data', 'manager.db');
  if (dbFile !== ':memory:') mkdirSync(dirname(dbFile), { recursive: true });
  const store = openStore(dbFile, { log });
  await ensureAdmin(store, deps, log, now());

  const manager = new Manager(store, {
    installTimeoutMs: deps.installTimeoutMs ?? 10_000,
    heartbeatSeconds: deps.heartbeatSeconds ?? 10,
    enrollKeyTtlMs: 24 * 3600_000,
    liveQueueBytes: deps.liveQueueBytes ?? 1024 * 1024,
    now,
    log,
  });
  const fleet = new FleetHub(manager);

  const app = Fastify({
    ...(deps.https ? { https: deps.https } : {}),
    logger: deps.logger ?? false,
    bodyLimit: 4 * 1024 * 1024,
    trustProxy: false,
  });
  app.decorate('manager', manager);
  app.decorate('fleet', fleet);
  // zod validates (http.ts); JSON Schemas on routes are for the OpenAPI document only.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (error instanceof ApiError) return reply.code(error.status).send(error.body());
    const status = error.statusCode ?? 500;
    if (status === 429) return reply.code(429).send({ error: 'rate_limited', message: 'too many attempts; try again in a minute' });
    if (status === 415) return reply.code(415).send({ error: 'unsupported_media_type', message: 'send the body as application/json' });
    if (status >= 400 && status < 500) {
      const message = error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError ? 'body: not valid JSON' : `body: ${error.message}`;
      return reply.code(400).send({ error: 'bad_request', message, field: 'body' });
    }
    manager.options.log(`smtpguard manager: ${req.method} ${req.url}: ${error.stack ?? error.message}`);
    return reply.code(500).send({ error: 'internal', message: 'internal error (logged on the manager)' });
  });

  await app.register(cookie);
  app.decorateRequest('sessionUser', null);
  app.addHook('onRequest', async (req) => {
    req.sessionUser = sessionUser(manager.db, req.cookies[SESSION_COOKIE], now());
  });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: () => new ApiError('rate_limited', 'too many attempts; try again in a minute'),
  });
  await app.register(websocket, { options: { maxPayload: 8 * 1024 * 1024 } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'smtpguard manager API', version: VERSION, description: 'See apps/manager/API.md. Bodies are the zod schemas of @smtpguard/contracts.' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  userRoutes(app, manager, { secureCookies: deps.secureCookies ?? deps.https !== undefined, loginRateLimit: deps.loginRateLimit ?? { max: 10, timeWindow: 60_000 } });
  policyRoutes(app, manager);
  installRoutes(app, manager, fleet);
  gatewayRoutes(app, manager, fleet);
  eventRoutes(app, manager);
  adminRoutes(app, manager);
  const observability = setupObservability(app, manager, fleet, deps.observability);
  app.decorate('metrics', observability.metrics);
  app.decorate('logExport', observability.exporter);

  const consoleDir = deps.consoleDir === undefined ? DEFAULT_CONSOLE_DIR : deps.consoleDir;
  const hasConsole = consoleDir !== null && existsSync(join(consoleDir, 'index.html'));
  if (hasConsole) await app.register(fastifyStatic, { root: consoleDir, wildcard: false });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (hasConsole && req.method === 'GET' && !path.startsWith('/api/') && path !== '/api') return reply.sendFile('index.html');
    return reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${path}` });
  });

  const applyRetention = () => {
    try {
      manager.events.applyRetention(manager.settings(), now());
    } catch (err) {
      log(`smtpguard manager: retention: ${(err as Error).message}`);
    }
  };
  applyRetention();
  const retention = setInterval(applyRetention, deps.retentionIntervalMs ?? 60_000);
  retention.unref();

  // The fleet-link parser thread starts with the server (a listening manager expects gateways); an app only
  // used through inject starts it with its first link, if any.
  app.addHook('onListen', async () => fleet.startParser());
  app.addHook('preClose', async () => {
    clearInterval(retention);
    fleet.closeAll();
    manager.live.closeAll();
  });
  app.addHook('onClose', async () => {
    await fleet.close();
    await store.close();
  });
  return app;
}
