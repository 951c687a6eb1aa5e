/**
 * Black-box process harness: the manager, gateways and the upstream MTA run as separate
 * processes on 127.0.0.1 (ephemeral ports, temp data dirs), each in its own process group so
 * a SIGKILL reaches the real server under pnpm and tsx, and cleanup never leaves one behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HOST = '127.0.0.1';
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const start = Date.now();
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    await delay(everyMs);
  }
}

const tempDirs: string[] = [];
export function tempDir(prefix = 'sg-stress-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, HOST, r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** True once something accepts TCP connections on the port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: HOST, port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

const live = new Set<Proc>();

/** A spawned process group. */
export class Proc {
  readonly child: ChildProcess;
  private out = '';
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  constructor(
    readonly label: string,
    cmd: string,
    args: string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, ...opts.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b: Buffer) => {
      this.out += b.toString('utf8');
      if (this.out.length > 64_000) this.out = this.out.slice(-32_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        live.delete(this);
        r(code);
      }),
    );
    live.add(this);
  }

  get pid(): number {
    return this.child.pid!;
  }
  get running(): boolean {
    return this.exitCode === undefined;
  }
  output(): string {
    return this.out;
  }

  /** Signal the whole process group. */
  signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, sig);
    } catch {
      /* already gone */
    }
  }

  /** SIGKILL the group and wait for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
    await this.waitGroupGone(5000);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) {
      this.signal('SIGKILL');
      return;
    }
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
    this.signal('SIGKILL'); // stragglers (tsx's child) in the group
    await this.waitGroupGone(5000);
  }

  private async waitGroupGone(ms: number): Promise<void> {
    const start = Date.now();
    while (groupPids(this.pid).length > 0 && Date.now() - start < ms) await delay(20);
  }

  /** Resident set size (KiB) of the biggest process in the group: the server itself under pnpm/tsx. */
  rssKiB(): number {
    let max = 0;
    for (const pid of groupPids(this.pid)) max = Math.max(max, rssOf(pid));
    return max;
  }
}

function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after comm: state ppid pgrp ...
      if (Number(rest[2]) === pgid && rest[0] !== 'Z') out.push(Number(name));
    } catch {
      /* exited */
    }
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Kill every process this module started (afterAll, also after failures). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}

// ---- the apps -------------------------------------------------------------------------

export const ADMIN_PASSWORD = 'stress-admin-password-1';

export function spawnManager(port: number, dataDir: string): Proc {
  return new Proc('manager', 'pnpm', ['--silent', '--filter', '@smtpguard/manager', 'start', '--', '--listen', `${HOST}:${port}`, '--data', dataDir], {
    env: { SMTPGUARD_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
}

export async function startManager(port: number, dataDir: string): Promise<Proc> {
  const p = spawnManager(port, dataDir);
  await waitFor(
    async () => {
      if (!p.running) throw new Error(`manager exited: ${p.output().slice(-2000)}`);
      const r = await fetch(`http://${HOST}:${port}/api/health`).catch(() => null);
      return r?.ok;
    },
    'manager health',
    60_000,
    100,
  );
  return p;
}

export interface GatewaySpec {
  name: string;
  port: number;
  upstreamPort: number;
  managerUrl: string;
  dataDir: string;
  enrollKey?: string;
  extra?: string[];
  /** Raise the open-files limit of the gateway's shell (bounded). */
  nofile?: number;
}

export function spawnGateway(g: GatewaySpec): Proc {
  const args = [
    '--silent', '--filter', '@smtpguard/gateway', 'start', '--',
    '--listen', `${HOST}:${g.port}`, '--upstream', `${HOST}:${g.upstreamPort}`,
    '--name', g.name, '--manager', g.managerUrl, '--data', g.dataDir,
    '--log-level', 'warn',
    ...(g.enrollKey ? ['--enroll-key', g.enrollKey] : []),
    ...(g.extra ?? []),
  ];
  if (g.nofile) {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const n = Math.min(g.nofile, 16_384);
    return new Proc(`gateway ${g.name}`, 'bash', ['-c', `ulimit -n ${n} 2>/dev/null || ulimit -n $(ulimit -Hn); exec pnpm ${quoted}`]);
  }
  return new Proc(`gateway ${g.name}`, 'pnpm', args);
}

export async function startGateway(g: GatewaySpec): Promise<Proc> {
  const p = spawnGateway(g);
  await waitFor(
    async () => {
      if (!p.running) throw new Error(`gateway ${g.name} exited: ${p.output().slice(-2000)}`);
      return portOpen(g.port);
    },
    `gateway ${g.name} listening`,
    60_000,
    100,
  );
  return p;
}

/** Postfix's smtp-sink as the protected MTA (a real, fast SMTP server). */
export function spawnSmtpSink(port: number): Proc {
  const root = process.getuid?.() === 0;
  const args = [...(root ? ['-u', 'nobody'] : []), '-m', '4000', `${HOST}:${port}`, '1024'].join(' ');
  // Its own (bounded) open-files limit: the slow-client scenario holds 1,000+ upstream connections.
  return new Proc('smtp-sink', 'bash', ['-c', `ulimit -n 8192 2>/dev/null || ulimit -n $(ulimit -Hn); exec /usr/sbin/smtp-sink ${args}`]);
}

export async function startSmtpSink(port: number): Promise<Proc> {
  if (!existsSync('/usr/sbin/smtp-sink')) throw new Error('Postfix smtp-sink is missing (apt-get install postfix)');
  const p = spawnSmtpSink(port);
  await waitFor(async () => {
    if (!p.running) throw new Error(`smtp-sink exited: ${p.output()}`);
    return portOpen(port);
  }, 'smtp-sink listening');
  return p;
}
