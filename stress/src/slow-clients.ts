/**
 * Slow clients: COUNT connections trickle a byte every few seconds (which, by RFC 5321, re-arms
 * the gateway's idle timer) while a normal client delivers mail; then they go silent and the
 * gateway's command timeout (set low with --timeout-command) must close every one of them
 * with 421 4.4.2. The normal client's delivery time is compared with an idle baseline taken
 * in the same run, before the slow clients connect.
 */
import { median, percentile } from './api.js';
import { delay, Proc, REPO, waitFor } from './procs.js';
import { ScenarioResult } from './report.js';
import { sendMail } from './smtp.js';
import { Stack } from './stack.js';

export interface SlowOptions {
  count: number;
  trickleMs: number;
  holdMs: number;
  timeoutSeconds: number;
  deliveries: number;
}

export const SLOW_SHORT: SlowOptions = { count: 1000, trickleMs: 2000, holdMs: 15_000, timeoutSeconds: 4, deliveries: 10 };
export const SLOW_FULL: SlowOptions = { count: 1000, trickleMs: 3000, holdMs: 60_000, timeoutSeconds: 5, deliveries: 40 };

interface WorkerStatus {
  t: number;
  phase: string;
  opened: number;
  greeted: number;
  connectErrors: number;
  closed: number;
  closedDuringHold: number;
  got421_442: number;
  got421_other: number;
  bytesSent: number;
  final?: boolean;
  closeAllMs?: number | null;
}

export async function runSlowClients(o: SlowOptions): Promise<ScenarioResult> {
  const res = new ScenarioResult('slow-clients');
  const nofile = Math.min(16_384, 1024 + 4 * o.count);
  // Default --max-connections is 1000: the slow clients plus the normal one need more.
  const stack = await Stack.start({
    gateways: ['slow-gw'],
    gatewayExtra: ['--timeout-command', String(o.timeoutSeconds), '--timeout-greeting', String(o.timeoutSeconds), '--max-connections', String(o.count + 100)],
    nofile,
  });
  let worker: Proc | undefined;
  try {
    const port = stack.gw('slow-gw').spec.port;
    const mail = (i: number) => sendMail(port, { from: `normal${i}@example.org`, to: ['bob@example.com'], body: `Subject: normal ${i}\r\n\r\nhello\r\n`, timeoutMs: 10_000 });
    // Idle baseline (after one warm-up message).
    await mail(-1);
    const baseline: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await mail(i);
      if (r.ok) baseline.push(r.ms);
      await delay(100);
    }
    const tsx = `${REPO}/stress/node_modules/tsx/dist/cli.mjs`;
    worker = new Proc('trickle-worker', 'bash', ['-c', `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "${process.execPath}" "${tsx}" src/trickle-worker.ts ${port} ${o.count} ${o.trickleMs} ${o.holdMs} ${o.timeoutSeconds * 1000 + 20_000}`], { cwd: `${REPO}/stress` });
    const status = (): WorkerStatus | null => {
      const lines = worker!.output().trim().split('\n').filter((l) => l.startsWith('{'));
      return lines.length ? (JSON.parse(lines[lines.length - 1]!) as WorkerStatus) : null;
    };
    const rampStart = performance.now();
    await waitFor(() => {
      if (!worker!.running && !status()?.final) throw new Error(`worker exited: ${worker!.output().slice(-1000)}`);
      const s = status();
      return s && s.greeted + s.closed >= o.count;
    }, 'slow clients connected', 30_000, 100);
    const rampMs = performance.now() - rampStart;
    const atFull = status()!;
    // Normal client during the hold phase, spread over it.
    const during: number[] = [];
    const failures: string[] = [];
    const spacing = Math.max(100, (o.holdMs - rampMs - 3000) / o.deliveries);
    for (let i = 0; i < o.deliveries; i++) {
      const r = await mail(100 + i);
      if (r.ok) during.push(r.ms);
      else failures.push(`${r.last.code} ${r.last.text}`);
      await delay(spacing);
    }
    const beforeSilence = status()!;
    await waitFor(() => status()?.final, 'slow clients closed by the gateway (or the worker deadline)', o.holdMs + o.timeoutSeconds * 1000 + 60_000, 200);
    const fin = status()!;
    const afterMail = await mail(999);
    const gwCounters = (await stack.api.gateways()).find((g) => g.name === 'slow-gw');

    res.figure('slow connections opened / greeted', `${atFull.opened} / ${atFull.greeted}`);
    res.figure('ramp to all connected ms', rampMs);
    res.figure('trickle interval ms / gateway idle timeout s', `${o.trickleMs} / ${o.timeoutSeconds}`);
    res.figure('slow connections still open at end of trickle', beforeSilence.opened - beforeSilence.closed);
    res.figure('normal delivery ms idle baseline p50', median(baseline));
    res.figure('normal delivery ms under 1000 slow p50 / max', `${median(during).toFixed(1)} / ${Math.max(...during).toFixed(1)}`);
    res.figure('slowdown factor (p50 under load / idle)', median(during) / median(baseline));
    res.figure('closed after going silent: all within ms', fin.closeAllMs ?? 'not all closed');
    res.figure("421 replies other than 4.4.2", JSON.stringify((fin as unknown as { other: unknown }).other));
    res.figure('closes with 421 4.4.2 / other 421 / none', `${fin.got421_442} / ${fin.got421_other} / ${fin.closed - fin.got421_442 - fin.got421_other}`);
    res.figure('gateway heartbeat counters', JSON.stringify(gwCounters?.counters ?? null));

    res.check(`all ${o.count} slow clients connected and greeted`, atFull.greeted === o.count && atFull.connectErrors === 0, atFull);
    res.check('trickling clients are kept open while they trickle (timer re-armed by traffic)', fin.closedDuringHold === 0, { closedDuringHold: fin.closedDuringHold });
    res.check('normal client delivered every message during the slow-client flood', failures.length === 0 && during.length === o.deliveries, failures.slice(0, 3));
    res.check('idle timeout closed every silent slow client', fin.closed === o.count, { closed: fin.closed });
    res.check('each got 421 4.4.2 (timeout) before the close', fin.got421_442 === o.count, { got421_442: fin.got421_442, other: fin.got421_other });
    res.check('mail flows after the flood', afterMail.ok, afterMail.last);
    res.check('gateway still running', stack.gw('slow-gw').proc.running);
    return res;
  } finally {
    await worker?.stop(1000);
    await stack.stop();
  }
}
