// `pnpm start`: the whole stack on embedded defaults, in one terminal; Ctrl-C stops it all.
//   manager + console  http://127.0.0.1:8080   (SQLite in DATA/manager)
//   gateway            127.0.0.1:2525 -> sink   (enrolled with the manager on first start)
//   sink MTA           127.0.0.1:2526           (keeps the last messages in DATA/sink)
// DATA is ./data, or SMTPGUARD_DATA. A second start reuses it: same admin, same gateway.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const data = resolve(process.env.INIT_CWD ?? process.cwd(), process.env.SMTPGUARD_DATA ?? 'data');
const MANAGER = 'http://127.0.0.1:8080';
mkdirSync(data, { recursive: true });

const children = [];
let stopping = false;

function launch(name, args, env = {}) {
  // Each part in its own process group: pnpm does not pass signals on to what it runs, so
  // stopping kills the whole group (pnpm, tsx and node alike), however we were stopped.
  const child = spawn('pnpm', ['--silent', ...args], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: root, ...env } });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix}exited (${signal ?? code}); stopping the stack`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  const signalAll = (signal) => {
    for (const child of children) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // that group is gone already
      }
    }
  };
  signalAll('SIGTERM');
  setTimeout(() => {
    signalAll('SIGKILL');
    process.exit(code);
  }, 5000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function waitFor(url, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

function smtpOpen(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function api(path, cookie, body) {
  const res = await fetch(MANAGER + path, {
    method: body ? 'POST' : 'GET',
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function main() {
  const managerData = resolve(data, 'manager');
  const gatewayData = resolve(data, 'gateway');
  const firstStart = !existsSync(managerData);
  // On first start the password is chosen here, so this script can enroll the gateway with it.
  const password = process.env.SMTPGUARD_ADMIN_PASSWORD ?? (firstStart ? randomBytes(12).toString('base64url') : undefined);

  launch('sink', ['--filter', '@smtpguard/sink', 'start', '--listen', '127.0.0.1:2526', '--dir', resolve(data, 'sink')]);
  launch('manager', ['--filter', '@smtpguard/manager', 'start', '--listen', '127.0.0.1:8080', '--data', managerData], password ? { SMTPGUARD_ADMIN_PASSWORD: password } : {});
  await waitFor(`${MANAGER}/api/health`, 120);

  // The bundled gateway (built by set-up) starts faster and holds less memory than the sources under tsx.
  const gatewayScript = existsSync(resolve(root, 'apps/gateway/dist/main.mjs')) ? 'start:dist' : 'start';
  const gatewayArgs = ['--filter', '@smtpguard/gateway', gatewayScript, '--listen', '127.0.0.1:2525', '--upstream', '127.0.0.1:2526', '--name', 'gateway-1', '--manager', MANAGER, '--data', gatewayData, '--metrics', '127.0.0.1:9465'];
  if (existsSync(resolve(gatewayData, 'credential.json'))) {
    launch('gateway', gatewayArgs);
  } else {
    if (!password) throw new Error(`the gateway in ${gatewayData} is not enrolled and the admin password is unknown: set SMTPGUARD_ADMIN_PASSWORD, or remove ${data} to start afresh`);
    const login = await api('/api/auth/login', null, { username: 'admin', password });
    const cookie = login.headers.get('set-cookie').split(';')[0];
    const gateways = await (await api('/api/gateways', cookie)).json();
    const existing = gateways.gateways.find((g) => g.name === 'gateway-1');
    const key = existing
      ? await (await api(`/api/gateways/${existing.id}/enrollment-key`, cookie, {})).json()
      : await (await api('/api/gateways', cookie, { name: 'gateway-1' })).json();
    launch('gateway', [...gatewayArgs, '--enroll-key', key.enrollmentKey]);
    await waitFor(`${MANAGER}/api/health`, 10);
    // Let the gateway connect, then install the default policy so it runs a numbered revision.
    for (let i = 0; i < 60; i++) {
      const list = await (await api('/api/gateways', cookie)).json();
      if (list.gateways.some((g) => g.name === 'gateway-1' && g.status === 'online')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await api('/api/install', cookie, { comment: 'initial policy (pnpm start)' });
  }

  // Say "running" only once the gateway accepts connections.
  for (let i = 0; i < 240 && !(await smtpOpen(2525)); i++) await new Promise((r) => setTimeout(r, 250));

  console.log(`
smtpguard is running (data in ${data})
  console   ${MANAGER}   user admin${firstStart && !process.env.SMTPGUARD_ADMIN_PASSWORD ? `, password ${password}  (shown once)` : ''}
  gateway   smtp://127.0.0.1:2525  ->  sink MTA 127.0.0.1:2526 (messages in ${resolve(data, 'sink')})
  try       swaks --server 127.0.0.1:2525 --from alice@example.org --to bob@example.com
  metrics   http://127.0.0.1:9464/metrics (manager)   http://127.0.0.1:9465/metrics (gateway)
Ctrl-C stops everything.
`);
}

main().catch((err) => {
  console.error(`smtpguard start: ${err.message}`);
  stop(1);
});
