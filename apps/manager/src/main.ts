import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { buildApp } from './app.js';
import { startMetricsServer, type MetricsServer } from './observability/index.js';

const USAGE = `usage: pnpm manager [--listen HOST:PORT] [--data DIR] [--metrics HOST:PORT]
  --listen HOST:PORT  address to serve the API, the console and the gateway link (default 127.0.0.1:8080)
  --data DIR          directory for manager.db (default ./data)
  --metrics HOST:PORT Prometheus GET /metrics on its own port (default 127.0.0.1:9464; 0 = off)
  --tls-cert FILE     serve HTTPS (API, console, gateway link) with this PEM certificate (chain)
  --tls-key FILE      ... and its PEM private key; both or neither
environment: SMTPGUARD_ADMIN_PASSWORD sets the first admin password (else one is generated and printed once)`;

function fail(message: string): never {
  process.stderr.write(`smtpguard manager: ${message}\n${USAGE}\n`);
  process.exit(2);
}

export interface MetricsListen {
  host: string;
  port: number;
  /** Given on the command line (a busy port is then fatal); the default only warns. */
  explicit: boolean;
}

function hostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(value);
  if (!m) fail(`${flag} ${JSON.stringify(value)}: expected HOST:PORT, e.g. 127.0.0.1:8080`);
  const port = Number(m[2]);
  if (port > 65535) fail(`${flag} ${JSON.stringify(value)}: port must be 0-65535`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function parseArgs(argv: string[]): {
  host: string;
  port: number;
  dataDir: string;
  metrics: MetricsListen | null;
  tls: { cert: string; key: string } | null;
} {
  let listen = '127.0.0.1:8080';
  let data = './data';
  let metrics: string | undefined;
  let tlsCert: string | undefined;
  let tlsKey: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') fail(`${flag} needs a value`);
      return v;
    };
    if (flag === '--listen') listen = value();
    else if (flag === '--data') data = value();
    else if (flag === '--metrics') metrics = value();
    else if (flag === '--tls-cert') tlsCert = value();
    else if (flag === '--tls-key') tlsKey = value();
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown option ${JSON.stringify(arg)}`);
  }
  const { host, port } = hostPort('--listen', listen);
  const base = process.env.INIT_CWD ?? process.cwd();
  const dataDir = isAbsolute(data) ? data : resolve(base, data);
  const metricsListen = metrics === '0' || metrics === 'off' ? null : { ...hostPort('--metrics', metrics ?? '127.0.0.1:9464'), explicit: metrics !== undefined };
  if ((tlsCert === undefined) !== (tlsKey === undefined)) fail('--tls-cert and --tls-key go together');
  const tls = tlsCert && tlsKey ? { cert: isAbsolute(tlsCert) ? tlsCert : resolve(base, tlsCert), key: isAbsolute(tlsKey) ? tlsKey : resolve(base, tlsKey) } : null;
  return { host, port, dataDir, metrics: metricsListen, tls };
}

/** mkdir -p without `recursive: true`, which spins forever under /proc on Node 20. */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  mkdirSync(dir);
}

async function main() {
  const { host, port, dataDir, metrics, tls } = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  let https: { cert: Buffer; key: Buffer } | undefined;
  if (tls) {
    const read = (flag: string, file: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        return fail(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    https = { cert: read('--tls-cert', tls.cert), key: read('--tls-key', tls.key) };
  }
  try {
    makeDirs(dataDir);
    if (!statSync(dataDir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    fail(`data directory ${dataDir} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp({ dataDir, logger: false, observability: { processMetrics: true }, ...(https ? { https } : {}) });
  } catch (err) {
    // A certificate that does not match its key, for instance, is refused here.
    return fail(`cannot start: ${(err as Error).message}`);
  }
  try {
    await app.listen({ host, port });
  } catch (err) {
    fail(`cannot listen on ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const address = app.server.address();
  const shown = typeof address === 'object' && address ? `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` : `${host}:${port}`;
  process.stdout.write(`smtpguard manager listening on ${https ? 'https' : 'http'}://${shown} (data ${dataDir}); API docs at /api/docs\n`);
  let metricsServer: MetricsServer | null = null;
  if (metrics) {
    try {
      metricsServer = await startMetricsServer(app.metrics.registry, metrics);
      const a = metricsServer.address;
      process.stdout.write(`smtpguard manager metrics on http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/metrics\n`);
    } catch (err) {
      const why = `cannot serve metrics on ${metrics.host}:${metrics.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      if (metrics.explicit) {
        await app.close();
        fail(why);
      }
      // The default port is busy (another manager on this host): run without metrics.
      process.stderr.write(`smtpguard manager: ${why}; continuing without metrics (set --metrics HOST:PORT or --metrics 0)\n`);
    }
  }
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    Promise.all([app.close(), metricsServer?.close()]).then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`smtpguard manager: ${(err as Error).message}\n`);
  process.exit(1);
});
