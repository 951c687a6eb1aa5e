import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp, type ManagerDeps } from '../src/app.js';

export const ADMIN_PASSWORD = 'admin-password-1';
export const OPERATOR_PASSWORD = 'operator-password-1';

export interface Res {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface TestApp {
  app: FastifyInstance;
  admin: string;
  operator: string;
  logs: string[];
  /** inject with a session cookie (or none). */
  as(cookie: string | null, opts: InjectOptions): Promise<Res>;
}

export function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = res.headers['set-cookie'];
  const first = Array.isArray(set) ? set[0] : String(set);
  return String(first).split(';')[0]!;
}

export async function makeApp(deps: ManagerDeps = {}): Promise<TestApp> {
  const logs: string[] = [];
  const app = await buildApp({ dbFile: ':memory:', adminPassword: ADMIN_PASSWORD, log: (l) => logs.push(l), consoleDir: null, installTimeoutMs: 1500, ...deps });
  const login = async (username: string, password: string) => {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
    return cookieOf(res);
  };
  const admin = await login('admin', ADMIN_PASSWORD);
  const created = await app.inject({ method: 'POST', url: '/api/users', headers: { cookie: admin }, payload: { username: 'olga', password: OPERATOR_PASSWORD, role: 'operator' } });
  if (created.statusCode !== 201 && created.statusCode !== 409) throw new Error(created.body);
  const operator = await login('olga', OPERATOR_PASSWORD);
  return {
    app,
    admin,
    operator,
    logs,
    as: async (cookie, opts) => app.inject({ ...opts, headers: { ...(opts.headers ?? {}), ...(cookie ? { cookie } : {}) } }),
  };
}

/** Polls `check` every 10 ms; fails naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
