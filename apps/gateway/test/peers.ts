/**
 * Real peers for the gateway tests: a recording SMTP upstream (records exactly the bytes it
 * received), a raw SMTP client, and launchers for smtp-sink, smtp-source, swaks and python.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LOCALHOST = '127.0.0.1';

export function tempDir(prefix = 'smtpguard-gw-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll until `check` is true (no fixed sleeps in assertions). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

// ---- recording upstream ---------------------------------------------------------------

export interface UpstreamOptions {
  /** Greeting line(s) without CRLF; default "220 recorder.test ESMTP". null: never greet. */
  greeting?: string | null;
  /** EHLO keywords after the first line. */
  extensions?: string[];
  /** Do not read from the socket at all after the greeting (backpressure tests). */
  noRead?: boolean;
  /** After a 220 to STARTTLS, send this many raw bytes and stop parsing (stand-in for TLS). */
  afterStarttlsSend?: number;
  /** Never answer the end of data (data-end timeout tests). */
  noDataReply?: boolean;
  /** Stop reading right after sending 354 until `resumeReading()` (backpressure tests). */
  stallInData?: boolean;
  /** Called for each connection when it opens. */
  onConnection?: (conn: UpstreamConnection) => void;
}

export const DEFAULT_EXTENSIONS = ['PIPELINING', 'SIZE 52428800', '8BITMIME', 'AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES', 'SMTPUTF8'];

export function ehloReply(lines: string[]): string {
  return lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
}

export class UpstreamConnection {
  #receivedChunks: Buffer[] = [];
  receivedBytes = 0;
  sent: Buffer = Buffer.alloc(0);
  /** Command lines as received (without CRLF), in order. */
  commands: string[] = [];
  /** Message bodies exactly as received between 354 and the terminating ".": dot-stuffed, CRLF included. */
  messages: Buffer[] = [];
  xclient: string | null = null;
  closed: Promise<void>;
  #mode: 'cmd' | 'data' | 'raw' = 'cmd';
  #pending: Buffer = Buffer.alloc(0);
  #msgChunks: Buffer[] = [];
  #tail: Buffer = Buffer.from('\r\n');

  constructor(
    readonly socket: Socket,
    readonly options: UpstreamOptions,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    if (options.greeting !== null) this.send(`${options.greeting ?? '220 recorder.test ESMTP'}\r\n`);
    if (options.noRead) {
      socket.pause();
      return;
    }
    socket.on('data', (chunk: Buffer) => {
      this.#receivedChunks.push(chunk);
      this.receivedBytes += chunk.length;
      this.#feed(chunk);
    });
  }

  /** Everything received, in order. */
  get received(): Buffer {
    if (this.#receivedChunks.length > 1) this.#receivedChunks = [Buffer.concat(this.#receivedChunks)];
    return this.#receivedChunks[0] ?? Buffer.alloc(0);
  }

  send(text: string | Buffer): boolean {
    const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    this.sent = Buffer.concat([this.sent, buf]);
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(buf);
  }

  #feed(chunk: Buffer): void {
    if (this.#mode === 'raw') return;
    if (this.#mode === 'data') {
      const joined = Buffer.concat([this.#tail, chunk]);
      const idx = joined.indexOf('\r\n.\r\n');
      if (idx < 0) {
        this.#msgChunks.push(chunk);
        this.#tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 4)));
        return;
      }
      const all = Buffer.concat([...this.#msgChunks, chunk]);
      const prev = all.length - chunk.length;
      this.messages.push(Buffer.from(all.subarray(0, Math.max(0, prev + idx + 2 - this.#tail.length))));
      const rest = chunk.subarray(idx + 5 - this.#tail.length);
      this.#msgChunks = [];
      this.#tail = Buffer.from('\r\n');
      this.#mode = 'cmd';
      if (!this.options.noDataReply) this.send(`250 2.0.0 Ok: queued as M${this.messages.length}\r\n`);
      if (rest.length) this.#feed(rest);
      return;
    }
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      const nl = this.#pending.indexOf(0x0a);
      if (nl < 0) return;
      const line = this.#pending.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.#pending = this.#pending.subarray(nl + 1);
      this.commands.push(line);
      this.#command(line);
      if (this.#mode !== 'cmd') {
        const rest = this.#pending;
        this.#pending = Buffer.alloc(0);
        if (rest.length) this.#feed(rest);
        return;
      }
    }
  }

  resumeReading(): void {
    this.socket.resume();
  }

  receivedText(): string {
    return this.received.toString('latin1');
  }

  #command(line: string): void {
    const verb = (line.split(' ')[0] ?? '').toUpperCase();
    const ext = this.options.extensions ?? DEFAULT_EXTENSIONS;
    switch (verb) {
      case 'EHLO':
        this.send(ehloReply(['recorder.test', ...ext]));
        break;
      case 'HELO':
        this.send('250 recorder.test\r\n');
        break;
      case 'MAIL':
        this.send('250 2.1.0 Ok\r\n');
        break;
      case 'RCPT':
        this.send('250 2.1.5 Ok\r\n');
        break;
      case 'DATA':
        this.send('354 End data with <CR><LF>.<CR><LF>\r\n');
        this.#mode = 'data';
        if (this.options.stallInData) this.socket.pause();
        break;
      case 'RSET':
      case 'NOOP':
        this.send('250 2.0.0 Ok\r\n');
        break;
      case 'VRFY':
        this.send('252 2.0.0 Cannot VRFY\r\n');
        break;
      case 'HELP':
        this.send('214 2.0.0 See RFC 5321\r\n');
        break;
      case 'AUTH':
        this.send('235 2.7.0 Authentication successful\r\n');
        break;
      case 'XCLIENT':
        this.xclient = line.slice(8);
        this.send('220 recorder.test ESMTP (after XCLIENT)\r\n');
        break;
      case 'STARTTLS':
        this.send('220 2.0.0 Ready to start TLS\r\n');
        this.#mode = 'raw';
        if (this.options.afterStarttlsSend) this.#sendBulk(this.options.afterStarttlsSend);
        break;
      case 'QUIT':
        this.send('221 2.0.0 Bye\r\n');
        this.socket.end();
        break;
      default:
        this.send('502 5.5.2 Error: command not recognized\r\n');
    }
  }

  /** Write n bytes, honouring backpressure; `bulkWritten` tells how far it got. */
  bulkWritten = 0;
  bulkDone: Promise<void> = Promise.resolve();
  #sendBulk(total: number): void {
    const chunk = Buffer.alloc(64 * 1024, 0x17);
    this.bulkDone = (async () => {
      while (this.bulkWritten < total && !this.socket.destroyed) {
        const n = Math.min(chunk.length, total - this.bulkWritten);
        this.bulkWritten += n;
        if (!this.socket.write(chunk.subarray(0, n))) await once(this.socket, 'drain');
      }
    })().catch(() => {});
  }
}

export class RecordingUpstream {
  readonly connections: UpstreamConnection[] = [];
  port = 0;
  #server: Server;
  #waiters: Array<() => void> = [];

  constructor(readonly options: UpstreamOptions = {}) {
    this.#server = createServer((socket) => {
      const conn = new UpstreamConnection(socket, this.options);
      this.connections.push(conn);
      this.options.onConnection?.(conn);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async start(options: UpstreamOptions = {}): Promise<RecordingUpstream> {
    const upstream = new RecordingUpstream(options);
    await new Promise<void>((resolve) => upstream.#server.listen(0, LOCALHOST, resolve));
    upstream.port = (upstream.#server.address() as AddressInfo).port;
    return upstream;
  }

  async connection(index = 0, timeoutMs = 5_000): Promise<UpstreamConnection> {
    await until(() => this.connections.length > index, `upstream connection #${index}`, timeoutMs);
    return this.connections[index]!;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

// ---- raw client --------------------------------------------------------------------------

/** A byte-exact SMTP client: send what you want, read replies one at a time. */
export class RawClient {
  received: Buffer = Buffer.alloc(0);
  ended = false;
  closed: Promise<void>;
  #cursor = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => (this.received = Buffer.concat([this.received, c])));
    socket.on('end', () => (this.ended = true));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, host = LOCALHOST, first?: Buffer): Promise<RawClient> {
    const socket = connect({ port, host });
    await once(socket, 'connect');
    if (first) socket.write(first);
    return new RawClient(socket);
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  text(): string {
    return this.received.toString('latin1');
  }

  /** The next complete reply (all its lines, CRLF included). */
  async reply(timeoutMs = 5_000): Promise<string> {
    let result: string | null = null;
    const scan = () => {
      const text = this.received.subarray(this.#cursor).toString('latin1');
      let pos = 0;
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl < 0) return false;
        const line = text.slice(pos, nl);
        pos = nl + 1;
        if (!/^\d{3}-/.test(line)) {
          result = text.slice(0, pos);
          this.#cursor += Buffer.byteLength(result, 'latin1');
          return true;
        }
      }
    };
    try {
      await until(() => scan() || (this.ended && !scan() && true), 'a reply', timeoutMs);
    } catch {
      throw new Error(`no complete reply; received so far: ${JSON.stringify(this.text())}`);
    }
    if (result === null) throw new Error(`connection ended without a reply; received: ${JSON.stringify(this.text())}`);
    return result;
  }

  /** Send a command and return its reply. */
  async command(line: string): Promise<string> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await Promise.race([
      this.closed,
      delay(timeoutMs).then(() => {
        throw new Error(`connection not closed; received: ${JSON.stringify(this.text())}`);
      }),
    ]);
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- processes ---------------------------------------------------------------------------

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitForPort(port: number, host = LOCALHOST, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs) throw new Error(`nothing listening on ${host}:${port}`);
    await delay(25);
  }
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function launch(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Proc {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('latin1')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('latin1')));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Run to completion; reject after timeoutMs. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = launch(cmd, args, opts);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Postfix's smtp-sink on an ephemeral port (as root it needs -u nobody). */
export async function startSmtpSink(extra: string[] = []): Promise<Proc & { port: number }> {
  const port = await freePort();
  const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
  const proc = launch('/usr/sbin/smtp-sink', [...user, ...extra, `${LOCALHOST}:${port}`, '256']);
  await waitForPort(port);
  return Object.assign(proc, { port });
}

export function swaks(port: number, args: string[], timeoutMs = 20_000) {
  return run('swaks', ['--server', LOCALHOST, '--port', String(port), '--silent', '1', ...args], { timeoutMs });
}

export function python(script: string, args: string[] = [], timeoutMs = 30_000) {
  return run('python3', ['-c', script, ...args], { timeoutMs });
}

export function smtpSource(port: number, args: string[], timeoutMs = 60_000) {
  return run('/usr/sbin/smtp-source', [...args, `${LOCALHOST}:${port}`], { timeoutMs });
}
