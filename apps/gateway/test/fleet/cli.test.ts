import { existsSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '@smtpguard/manager';
import { LOCALHOST, RecordingUpstream, freePort, launch, python, run, tempDir, until, type Proc } from '../peers.js';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tsxCli = resolve(pkg, 'node_modules/tsx/dist/cli.mjs');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
const cli = (args: string[], initCwd?: string) => run(process.execPath, [tsxCli, 'src/main.ts', ...args], { cwd: pkg, ...(initCwd ? { env: { INIT_CWD: initCwd } } : {}) });

describe('gateway CLI with --manager', () => {
  it('bad fleet flags stop start-up with a clear message', async () => {
    const noData = await cli(['--upstream', '127.0.0.1:25', '--manager', 'http://127.0.0.1:1']);
    expect(noData.code).toBe(2);
    expect(noData.stderr).toContain('--manager needs --data DIR');
    const badUrl = await cli(['--upstream', '127.0.0.1:25', '--manager', 'ftp://x', '--data', 'd']);
    expect(badUrl.stderr).toContain('--manager: expected an http:// or https:// URL');
    const keyAlone = await cli(['--upstream', '127.0.0.1:25', '--enroll-key', 'k']);
    expect(keyAlone.stderr).toContain('only make sense with --manager');
  });

  it('enrolls with --enroll-key (relative --data against INIT_CWD), receives an install, enforces it; a wrong key is refused', async () => {
    const app = await buildApp({ dbFile: ':memory:', adminPassword: 'cli-admin-password', log: () => {}, consoleDir: null, installTimeoutMs: 5000 });
    cleanups.push(() => app.close());
    await app.listen({ host: LOCALHOST, port: 0 });
    const managerUrl = `http://${LOCALHOST}:${(app.server.address() as AddressInfo).port}`;
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'cli-admin-password' } });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const created = JSON.parse((await app.inject({ method: 'POST', url: '/api/gateways', headers: { cookie }, payload: { name: 'gw-cli', profileId: 2 } })).body);
    const upstream = await RecordingUpstream.start();
    cleanups.push(() => upstream.close());
    const dir = tempDir();

    const wrong = await cli(['--upstream', `127.0.0.1:${upstream.port}`, '--manager', managerUrl, '--enroll-key', 'sgk_wrong-key-123', '--data', 'node'], dir);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('the manager refused enrollment (401): enrollment key is unknown, used or expired');

    const port = await freePort();
    const proc: Proc = launch(process.execPath, [tsxCli, 'src/main.ts', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${upstream.port}`, '--manager', managerUrl, '--enroll-key', created.enrollmentKey, '--data', 'node'], {
      cwd: pkg,
      env: { INIT_CWD: dir },
    });
    cleanups.push(() => proc.stop());
    await until(() => app.fleet.isOnline(created.gateway.id) || proc.child.exitCode !== null, 'gateway link', 20_000);
    expect(proc.child.exitCode).toBeNull();
    expect(statSync(join(dir, 'node', 'credential.json')).mode & 0o777).toBe(0o600);
    await app.inject({ method: 'PUT', url: '/api/protections/max-recipients/settings', headers: { cookie }, payload: { settings: { limit: 1 } } });
    const install = JSON.parse((await app.inject({ method: 'POST', url: '/api/install', headers: { cookie }, payload: {} })).body);
    expect(install.results).toEqual([expect.objectContaining({ gateway: 'gw-cli', status: 'installed' })]);
    expect(existsSync(join(dir, 'node', 'policy.json'))).toBe(true);
    const rcpts = await python(
      "import smtplib,sys\ns=smtplib.SMTP('127.0.0.1',int(sys.argv[1]),timeout=10)\ns.ehlo('c.example')\ns.mail('a@example.org')\nprint(s.rcpt('a@example.net')[0], s.rcpt('b@example.net')[0])\ns.quit()",
      [String(port)],
    );
    expect(rcpts.stdout.trim()).toBe('250 452');
    await until(() => {
      const n = app.manager.events.count();
      return n >= 1;
    }, 'the event reaches the manager');
    const events = JSON.parse((await app.inject({ method: 'GET', url: '/api/events', headers: { cookie } })).body).events;
    expect(events[0]).toMatchObject({ gateway: 'gw-cli', protectionId: 'max-recipients', action: 'prevent', policyRevision: 1 });
  });
});
