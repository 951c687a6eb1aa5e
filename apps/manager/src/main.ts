import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { buildApp } from './app.js';

const USAGE = `usage: pnpm manager [--listen HOST:PORT] [--data DIR]
  --listen HOST:PORT  address to serve the API, the console and the gateway link (default 127.0.0.1:8080)
  --data DIR          directory for manager.db (default ./data)
environment: SMTPGUARD_ADMIN_PASSWORD sets the first admin password (else one is generated and printed once)`;

function fail(message: string): never {
  process.stderr.write(`smtpguard manager: ${message}\n${USAGE}\n`);
  process.exit(2);
}

export function parseArgs(argv: string[]): { host: string; port: number; dataDir: string } {
  let listen = '127.0.0.1:8080';
  let data = './data';
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
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown option ${JSON.stringify(arg)}`);
  }
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (!m) fail(`--listen ${JSON.stringify(listen)}: expected HOST:PORT, e.g. 127.0.0.1:8080`);
  const port = Number(m[2]);
  if (port > 65535) fail(`--listen ${JSON.stringify(listen)}: port must be 0-65535`);
  const base = process.env.INIT_CWD ?? process.cwd();
  const dataDir = isAbsolute(data) ? data : resolve(base, data);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port, dataDir };
}

/** mkdir -p without `recursive: true`, which spins forever under /proc on Node 20. */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  mkdirSync(dir);
}

async function main() {
  const { host, port, dataDir } = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  try {
    makeDirs(dataDir);
    if (!statSync(dataDir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    fail(`data directory ${dataDir} is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const app = await buildApp({ dataDir, logger: false });
  try {
    await app.listen({ host, port });
  } catch (err) {
    fail(`cannot listen on ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const address = app.server.address();
  const shown = typeof address === 'object' && address ? `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}` : `${host}:${port}`;
  process.stdout.write(`smtpguard manager listening on http://${shown} (data ${dataDir}); API docs at /api/docs\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    app.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`smtpguard manager: ${(err as Error).message}\n`);
  process.exit(1);
});
