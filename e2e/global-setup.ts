import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FullConfig } from '@playwright/test';

/**
 * Starts the real stack on 127.0.0.1 ephemeral ports with a temp data dir:
 *   upstream MTA  Postfix smtp-sink
 *   manager       apps/manager (serves the built console from apps/console/dist)
 *   gateway       apps/gateway, enrolled with the manager by a one-time key
 * and an operator user. Tests read the addresses from process.env (SG_*).
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ADMIN_PASSWORD = 'e2e-admin-password';
export const OPERATOR_PASSWORD = 'e2e-operator-password';
export const GATEWAY_NAME = 'gw-e2e';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
function start(name: string, cmd: string, args: string[], logDir: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.on('close', (code, signal) => log.end(`\n[e2e] ${name} exited code=${code} signal=${signal}\n`));
  children.push(child);
  return child;
}

function stopAll(): void {
  for (const c of children.reverse()) {
    if (c.exitCode !== null || c.pid === undefined) continue;
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`e2e setup: timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

async function json(base: string, method: string, path: string, cookie: string, body?: unknown): Promise<{ status: number; body: any; cookie: string }> {
  const res = await fetch(base + path, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const tmp = mkdtempSync(join(tmpdir(), 'smtpguard-e2e-'));
  const logDir = join(ROOT, 'e2e', 'artifacts', 'logs');
  mkdirSync(logDir, { recursive: true });
  const [managerPort, upstreamPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${managerPort}`;
  process.on('exit', stopAll);

  try {
    // Upstream MTA: Postfix's smtp-sink accepts every message and discards it.
    const sinkArgs = process.getuid?.() === 0 ? ['-u', 'nobody', `127.0.0.1:${upstreamPort}`, '100'] : [`127.0.0.1:${upstreamPort}`, '100'];
    start('upstream', '/usr/sbin/smtp-sink', sinkArgs, logDir);

    start('manager', process.execPath, ['--import', 'tsx', 'apps/manager/src/main.ts', '--listen', `127.0.0.1:${managerPort}`, '--data', join(tmp, 'manager')], logDir, {
      SMTPGUARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    await waitFor('the manager', async () => ((await fetch(`${base}/api/health`)).ok ? true : undefined));
    const index = await fetch(`${base}/`);
    const html = await index.text();
    if (!html.includes('<div id="root">')) throw new Error('e2e setup: the manager does not serve the console; run "pnpm --filter @smtpguard/console build" first');

    const login = await json(base, 'POST', '/api/auth/login', '', { username: 'admin', password: ADMIN_PASSWORD });
    if (login.status !== 200) throw new Error(`e2e setup: admin login failed: ${login.status} ${JSON.stringify(login.body)}`);
    const cookie = login.cookie;
    const op = await json(base, 'POST', '/api/users', cookie, { username: 'operator', password: OPERATOR_PASSWORD, role: 'operator' });
    if (op.status !== 201) throw new Error(`e2e setup: creating the operator failed: ${op.status} ${JSON.stringify(op.body)}`);

    const gw = await json(base, 'POST', '/api/gateways', cookie, { name: GATEWAY_NAME });
    if (gw.status !== 201) throw new Error(`e2e setup: creating the gateway failed: ${gw.status} ${JSON.stringify(gw.body)}`);
    start(
      'gateway',
      process.execPath,
      [
        '--import',
        'tsx',
        'apps/gateway/src/main.ts',
        '--listen',
        `127.0.0.1:${gatewayPort}`,
        '--upstream',
        `127.0.0.1:${upstreamPort}`,
        '--manager',
        base,
        '--enroll-key',
        gw.body.enrollmentKey,
        '--data',
        join(tmp, 'gateway'),
        '--name',
        GATEWAY_NAME,
        '--events',
        join(tmp, 'gateway-events.jsonl'),
      ],
      logDir,
    );
    await waitFor(
      'the gateway to enroll and come online',
      async () => {
        const r = await json(base, 'GET', '/api/gateways', cookie);
        return r.body?.gateways?.some((g: { name: string; status: string }) => g.name === GATEWAY_NAME && g.status === 'online') ? true : undefined;
      },
      60_000,
    );

    Object.assign(process.env, {
      SG_BASE_URL: base,
      SG_GATEWAY_PORT: String(gatewayPort),
      SG_UPSTREAM_PORT: String(upstreamPort),
      SG_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SG_OPERATOR_PASSWORD: OPERATOR_PASSWORD,
      SG_GATEWAY_NAME: GATEWAY_NAME,
    });
  } catch (err) {
    stopAll();
    throw err;
  }

  return async () => {
    stopAll();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(tmp, { recursive: true, force: true });
  };
}
