import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A real deployment: the manager serves HTTPS with a certificate the admin provides, and a
 * gateway on another host trusts it through NODE_EXTRA_CA_CERTS, enrolls and links over wss.
 */
const dir = mkdtempSync(join(tmpdir(), 'manager-tls-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=manager.test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

function start(cmd: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; waitFor: (re: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn('node', ['--import', 'tsx', ...cmd], { cwd: join(import.meta.dirname, '..', '..', '..'), env: { ...process.env, ...env } });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const waitFor = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = re.exec(text);
        if (m) {
          clearInterval(timer);
          resolve(m);
        }
      }, 100);
      child.once('exit', () => setTimeout(() => reject(new Error(`exited: ${text}`)), 200));
    });
  return { child, output: () => text, waitFor };
}

function call(port: number, path: string, body?: unknown, cookie?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', ca: readFileSync(cert), headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) } },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: data ? JSON.parse(data) : null }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('TLS for the API and the fleet link', () => {
  it('serves HTTPS with the admin certificate; a gateway trusting it enrolls and links over wss', async () => {
    const manager = start(['apps/manager/src/main.ts', '--listen', '127.0.0.1:0', '--data', join(dir, 'manager'), '--metrics', '0', '--tls-cert', cert, '--tls-key', key], {
      SMTPGUARD_ADMIN_PASSWORD: 'tls-test-password',
    });
    const port = Number((await manager.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/))[1]);
    const login = await call(port, '/api/auth/login', { username: 'admin', password: 'tls-test-password' });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/; Secure/i);
    const cookie = setCookie.split(';')[0]!;
    const created = await call(port, '/api/gateways', { name: 'remote-1' }, cookie);
    expect(created.status).toBe(201);

    const gateway = start(
      ['apps/gateway/src/main.ts', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:9', '--manager', `https://127.0.0.1:${port}`, '--data', join(dir, 'gateway'), '--enroll-key', created.json.enrollmentKey, '--events', join(dir, 'events.jsonl')],
      { NODE_EXTRA_CA_CERTS: cert },
    );
    let status = '';
    for (let i = 0; i < 100 && status !== 'online'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await call(port, '/api/gateways', undefined, cookie)).json.gateways[0].status;
    }
    expect(status, gateway.output()).toBe('online');
  }, 60_000);

  it('a certificate and key that do not belong together stop start-up with a clear message', async () => {
    const otherKey = join(dir, 'other-key.pem');
    execFileSync('openssl', ['genrsa', '-out', otherKey, '2048'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'x'), '');
    const manager = start(['apps/manager/src/main.ts', '--listen', '127.0.0.1:0', '--data', join(dir, 'manager2'), '--metrics', '0', '--tls-cert', cert, '--tls-key', otherKey]);
    const code = await new Promise<number | null>((resolve) => manager.child.once('exit', resolve));
    expect(code).toBe(2);
    expect(manager.output()).toMatch(/smtpguard manager: cannot (start|listen)/);
  }, 60_000);

  it('--tls-cert without --tls-key is refused', async () => {
    const manager = start(['apps/manager/src/main.ts', '--data', join(dir, 'manager3'), '--tls-cert', cert]);
    const code = await new Promise<number | null>((resolve) => manager.child.once('exit', resolve));
    expect(code).toBe(2);
    expect(manager.output()).toContain('--tls-cert and --tls-key go together');
  }, 30_000);
});
