/**
 * Slow-client worker (own process, so its open-files limit is raised in its own shell):
 * `tsx trickle-worker.ts PORT COUNT INTERVAL_MS HOLD_MS SILENT_MAX_MS`.
 * Opens COUNT connections, then sends one byte of "NOOP\r\n" every INTERVAL_MS on each for
 * HOLD_MS, then goes silent and waits (at most SILENT_MAX_MS) for the gateway to close them.
 * Prints one JSON status line per second and a final {"final":true,...} line.
 */
import { connect, type Socket } from 'node:net';

const [port, count, interval, hold, silentMax] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const TEXT = 'NOOP\r\n';
const other: Record<string, number> = {};
const st = { other, opened: 0, greeted: 0, connectErrors: 0, closed: 0, closedDuringHold: 0, got421_442: 0, got421_other: 0, bytesSent: 0 };
const sockets: Socket[] = [];
let phase: 'hold' | 'silent' = 'hold';
const t0 = Date.now();
let silentAt = 0;
let lastCloseAt = 0;

function open(i: number): void {
  const s = connect({ host: '127.0.0.1', port });
  sockets.push(s);
  let buf = '';
  let greeted = false;
  let pos = 0;
  let timer: NodeJS.Timeout | null = null;
  s.setEncoding('latin1');
  s.on('connect', () => (st.opened += 1));
  s.on('data', (d: string) => {
    buf += d;
    if (!greeted && /^220[ -]/m.test(buf)) {
      greeted = true;
      st.greeted += 1;
      const tick = () => {
        if (phase !== 'hold' || s.destroyed) return;
        s.write(TEXT[pos % TEXT.length]!);
        pos += 1;
        st.bytesSent += 1;
      };
      // One byte now, then one per interval (staggered by less than one interval).
      tick();
      setTimeout(() => {
        tick();
        if (!s.destroyed) timer = setInterval(tick, interval);
      }, (i * 37) % interval);
    }
    if (buf.length > 4096) buf = buf.slice(-1024);
  });
  s.on('error', () => {
    if (!greeted && st.opened === 0) st.connectErrors += 1;
  });
  s.on('close', () => {
    if (timer) clearInterval(timer);
    st.closed += 1;
    lastCloseAt = Date.now();
    if (phase === 'hold') st.closedDuringHold += 1;
    if (/421 4\.4\.2/.test(buf)) st.got421_442 += 1;
    else if (/^421/m.test(buf)) {
      st.got421_other += 1;
      const line = /^421[^\r\n]*/m.exec(buf)![0].slice(0, 60);
      other[line] = (other[line] ?? 0) + 1;
    }
  });
}

const report = (extra: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ t: Date.now() - t0, phase, ...st, ...extra })}\n`);
const ticker = setInterval(() => report(), 1000);

// Ramp up: 100 connections every 50 ms.
for (let i = 0; i < count; i += 100) {
  for (let j = i; j < Math.min(count, i + 100); j++) open(j);
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, hold));
phase = 'silent';
silentAt = Date.now();
report({ silentStart: true });
const deadline = Date.now() + silentMax;
while (st.closed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
clearInterval(ticker);
report({ final: true, closeAllMs: st.closed >= count ? lastCloseAt - silentAt : null });
for (const s of sockets) s.destroy();
process.exit(0);
