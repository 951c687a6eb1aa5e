/** A small SMTP client on net.Socket: one command at a time, bounded waits, never hangs. */
import { connect, type Socket } from 'node:net';
import { HOST } from './procs.js';

export interface Reply {
  code: number;
  text: string;
}

/** code 0 = the connection closed before a reply; -1 = no reply within the wait. */
export const CLOSED = 0;
export const TIMEOUT = -1;

export class SmtpClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static open(port: number, timeoutMs = 10_000): Promise<SmtpClient> {
    return new Promise((res, rej) => {
      const s = connect({ host: HOST, port });
      const t = setTimeout(() => {
        s.destroy();
        rej(new Error('connect timeout'));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        res(new SmtpClient(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        rej(e);
      });
    });
  }

  /** Reads one (possibly multi-line) reply. */
  async reply(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines: string[] = [];
      let pos = 0;
      for (;;) {
        const nl = this.buf.indexOf('\n', pos);
        if (nl < 0) break;
        const line = this.buf.slice(pos, nl).replace(/\r$/, '');
        pos = nl + 1;
        lines.push(line);
        if (/^\d{3}(?: |$)/.test(line)) {
          this.buf = this.buf.slice(pos);
          return { code: Number(line.slice(0, 3)), text: lines.join('\n') };
        }
      }
      if (this.closed) return { code: CLOSED, text: this.buf };
      const left = deadline - Date.now();
      if (left <= 0) return { code: TIMEOUT, text: this.buf };
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(data: string): void {
    if (!this.closed) this.socket.write(data, 'latin1');
  }

  async cmd(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Waits (bounded) for the peer to close. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }
}

export interface MailResult {
  ok: boolean;
  /** The replies in order ("greeting", "EHLO", ...). */
  steps: Array<[string, Reply]>;
  ms: number;
  /** The last reply seen (the one that ended the conversation). */
  last: Reply;
}

/** One whole message: greeting, EHLO, MAIL, RCPT, DATA, QUIT. ok = the upstream accepted it (250 after the dot). */
export async function sendMail(port: number, o: { from: string; to: string[]; body?: string; helo?: string; timeoutMs?: number }): Promise<MailResult> {
  const t0 = performance.now();
  const steps: Array<[string, Reply]> = [];
  const w = o.timeoutMs ?? 15_000;
  let c: SmtpClient;
  try {
    c = await SmtpClient.open(port, w);
  } catch (err) {
    const r = { code: CLOSED, text: (err as Error).message };
    return { ok: false, steps: [['connect', r]], ms: performance.now() - t0, last: r };
  }
  const done = (ok: boolean, last: Reply): MailResult => {
    c.destroy();
    return { ok, steps, ms: performance.now() - t0, last };
  };
  try {
    const step = async (name: string, p: Promise<Reply>, want: number) => {
      const r = await p;
      steps.push([name, r]);
      return r.code === want ? null : r;
    };
    let bad = await step('greeting', c.reply(w), 220);
    if (bad) return done(false, bad);
    bad = await step('EHLO', c.cmd(`EHLO ${o.helo ?? 'client.example.org'}`, w), 250);
    if (bad) return done(false, bad);
    bad = await step('MAIL', c.cmd(`MAIL FROM:<${o.from}>`, w), 250);
    if (bad) return done(false, bad);
    for (const rcpt of o.to) {
      bad = await step('RCPT', c.cmd(`RCPT TO:<${rcpt}>`, w), 250);
      if (bad) return done(false, bad);
    }
    bad = await step('DATA', c.cmd('DATA', w), 354);
    if (bad) return done(false, bad);
    const body = (o.body ?? `Subject: stress\r\n\r\nhello\r\n`).replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    c.write(body.endsWith('\r\n') ? body : `${body}\r\n`);
    bad = await step('dot', c.cmd('.', w), 250);
    if (bad) return done(false, bad);
    const last = steps[steps.length - 1]![1];
    c.write('QUIT\r\n');
    await c.reply(2000);
    return done(true, last);
  } catch (err) {
    return done(false, { code: CLOSED, text: (err as Error).message });
  }
}

/**
 * The attack used throughout: markup in a malformed MAIL FROM (Non Compliant SMTP, Prevent in
 * the default profile: 421 4.7.0 and close). `marker` ends up in the event's command.
 */
export async function sendAttack(port: number, marker: string, timeoutMs = 15_000): Promise<{ reply: Reply; ms: number }> {
  const t0 = performance.now();
  let c: SmtpClient;
  try {
    c = await SmtpClient.open(port, timeoutMs);
  } catch (err) {
    return { reply: { code: CLOSED, text: (err as Error).message }, ms: performance.now() - t0 };
  }
  try {
    const g = await c.reply(timeoutMs);
    if (g.code !== 220) return { reply: g, ms: performance.now() - t0 };
    const e = await c.cmd('EHLO attacker.example', timeoutMs);
    if (e.code !== 250) return { reply: e, ms: performance.now() - t0 };
    const r = await c.cmd(`MAIL FROM:<<img src=x onerror=alert(1)>${marker}@example.org>`, timeoutMs);
    if (r.code === 250) {
      c.write('QUIT\r\n');
      await c.reply(2000);
    }
    return { reply: r, ms: performance.now() - t0 };
  } finally {
    c.destroy();
  }
}
