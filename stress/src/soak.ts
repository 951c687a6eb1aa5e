/**
 * Soak: mixed benign and attack traffic through two gateways into one manager. Samples the
 * RSS of every process and the event lag (attack sent → event frame on the console's live
 * stream); checks both stay flat and that every attack's event is stored exactly once.
 */
import { marker, markerOf, median, percentile, type StoredEvent } from './api.js';
import { delay, waitFor } from './procs.js';
import { ScenarioResult } from './report.js';
import { sendAttack, sendMail } from './smtp.js';
import { Stack } from './stack.js';

export interface SoakOptions {
  durationMs: number;
  /** Conversations started per second, over both gateways. */
  ratePerSec: number;
  /** Share of conversations that are attacks. */
  attackShare: number;
  sampleMs: number;
  /** Flat = last-quarter median ≤ factor × first-quarter median. */
  rssFactor: number;
  lagFactor: number;
  /** Lag medians under this many ms count as flat whatever the ratio (noise floor). */
  lagFloorMs: number;
}

export const SOAK_SHORT: SoakOptions = { durationMs: 40_000, ratePerSec: 30, attackShare: 0.3, sampleMs: 1000, rssFactor: 1.5, lagFactor: 3, lagFloorMs: 250 };
export const SOAK_FULL: SoakOptions = { durationMs: 600_000, ratePerSec: 40, attackShare: 0.3, sampleMs: 5000, rssFactor: 1.5, lagFactor: 3, lagFloorMs: 250 };

const MAX_INFLIGHT = 64;

export async function runSoak(o: SoakOptions): Promise<ScenarioResult> {
  const res = new ScenarioResult('soak');
  const names = ['soak-a', 'soak-b'];
  const stack = await Stack.start({ gateways: names });
  try {
    const sent = new Map<number, { gw: string; t: number; code: number }>();
    const streamSeen = new Map<number, number>();
    const lags: Array<{ t: number; lag: number }> = [];
    let start = performance.now();
    const stream = await stack.api.stream((e: StoredEvent, at) => {
      const m = markerOf(e, 's');
      if (m === null) return;
      streamSeen.set(m, (streamSeen.get(m) ?? 0) + 1);
      const s = sent.get(m);
      if (s && streamSeen.get(m) === 1) lags.push({ t: s.t - start, lag: at - s.t });
    });

    const procs = () => [['manager', stack.manager] as const, ...stack.gateways.map((g) => [g.spec.name, g.proc] as const)];
    const rss: Array<{ t: number; kib: Record<string, number> }> = [];
    let benignOk = 0;
    let benignFail = 0;
    const benignFailures: string[] = [];
    const attackReplies = new Map<string, number>();
    let inflight = 0;
    let skipped = 0;
    let n = 0;
    const benignMs: number[] = [];

    start = performance.now();
    const sampler = setInterval(() => {
      const kib: Record<string, number> = {};
      for (const [name, p] of procs()) kib[name] = p.rssKiB();
      rss.push({ t: performance.now() - start, kib });
    }, o.sampleMs);
    const interval = 1000 / o.ratePerSec;
    let next = start;
    while (performance.now() - start < o.durationMs) {
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await delay(wait);
      if (inflight >= MAX_INFLIGHT) {
        skipped += 1;
        continue;
      }
      const i = n++;
      const gw = stack.gateways[i % stack.gateways.length]!;
      inflight += 1;
      const attack = (i * 7919) % 100 < o.attackShare * 100;
      const job = attack
        ? (async () => {
            const t = performance.now();
            const r = await sendAttack(gw.spec.port, marker('s', i));
            sent.set(i, { gw: gw.spec.name, t, code: r.reply.code });
            const key = r.reply.text.split('\n').pop()!.slice(0, 9);
            attackReplies.set(key, (attackReplies.get(key) ?? 0) + 1);
          })()
        : (async () => {
            const r = await sendMail(gw.spec.port, { from: `user${i}@example.org`, to: [`rcpt${i}@example.com`], body: `Subject: soak ${i}\r\n\r\n${'benign line of text\r\n'.repeat(20)}` });
            if (r.ok) {
              benignOk += 1;
              benignMs.push(r.ms);
            } else {
              benignFail += 1;
              if (benignFailures.length < 5) benignFailures.push(`${r.last.code} ${r.last.text}`);
            }
          })();
      void job.finally(() => (inflight -= 1));
    }
    await waitFor(() => inflight === 0, 'conversations to finish', 60_000);
    clearInterval(sampler);
    const attacks = [...sent.entries()];
    const judged = attacks.filter(([, s]) => s.code === 421);
    // Every judged attack's event reaches the live stream (bounded wait), then the store.
    await waitFor(() => judged.every(([m]) => streamSeen.has(m)), 'every attack on the live stream', 60_000, 200).catch(() => {});
    const stored = new Map<string, StoredEvent[]>();
    for (const name of names) stored.set(name, (await stack.api.allEvents(name)).filter((e) => markerOf(e, 's') !== null));
    stream.close();

    // ---- figures
    const dur = (performance.now() - start) / 1000;
    res.figure('duration s', dur);
    res.figure('conversations (benign ok / fail)', `${benignOk} / ${benignFail}`);
    res.figure('attacks sent', attacks.length);
    res.figure('attack replies', [...attackReplies.entries()].map(([k, v]) => `${k}×${v}`).join(', '));
    res.figure('starts skipped (in-flight cap)', skipped);
    res.figure('benign delivery ms p50/p99', `${median(benignMs).toFixed(1)} / ${percentile(benignMs, 99).toFixed(1)}`);
    const q = o.durationMs / 4;
    const firstLag = lags.filter((l) => l.t < q).map((l) => l.lag);
    const lastLag = lags.filter((l) => l.t >= 3 * q).map((l) => l.lag);
    res.figure('event lag ms p50 / p99 / max', `${median(lags.map((l) => l.lag)).toFixed(1)} / ${percentile(lags.map((l) => l.lag), 99).toFixed(1)} / ${Math.max(...lags.map((l) => l.lag)).toFixed(1)}`);
    res.figure('event lag median ms first→last quarter', `${median(firstLag).toFixed(1)} → ${median(lastLag).toFixed(1)}`);
    const firstRss = rss.filter((s) => s.t < q);
    const lastRss = rss.filter((s) => s.t >= 3 * q);
    for (const [name] of procs()) {
      const a = median(firstRss.map((s) => s.kib[name] ?? 0)) / 1024;
      const b = median(lastRss.map((s) => s.kib[name] ?? 0)) / 1024;
      const peak = Math.max(...rss.map((s) => s.kib[name] ?? 0)) / 1024;
      res.figure(`RSS MiB ${name} first→last quarter (peak)`, `${a.toFixed(1)} → ${b.toFixed(1)} (${peak.toFixed(1)})`);
      res.check(`RSS of ${name} flat (last-quarter median ≤ ${o.rssFactor}× first)`, b <= a * o.rssFactor, { firstMiB: a, lastMiB: b });
    }
    const lf = median(firstLag);
    const ll = median(lastLag);
    res.check(`event lag flat (last-quarter median ≤ ${o.lagFactor}× first, or ≤ ${o.lagFloorMs} ms)`, lastLag.length > 0 && (ll <= lf * o.lagFactor || ll <= o.lagFloorMs), { firstMs: lf, lastMs: ll });

    // ---- behaviour
    res.check('benign mail all delivered', benignFail === 0 && benignOk > 0, benignFailures);
    res.check('every attack refused with 421 4.7.0', attacks.length > 0 && judged.length === attacks.length, Object.fromEntries(attackReplies));
    for (const name of names) {
      const mine = judged.filter(([, s]) => s.gw === name).map(([m]) => m);
      const evs = stored.get(name)!;
      const byMarker = new Map<number, number>();
      for (const e of evs) byMarker.set(markerOf(e, 's')!, (byMarker.get(markerOf(e, 's')!) ?? 0) + 1);
      const missing = mine.filter((m) => !byMarker.has(m));
      const dupMarkers = [...byMarker.entries()].filter(([, c]) => c > 1);
      const seqs = new Set<string>();
      let dupSeq = 0;
      for (const e of evs) {
        const k = `${e.gatewayId}/${e.seq}`;
        if (seqs.has(k)) dupSeq += 1;
        seqs.add(k);
      }
      res.figure(`${name}: attacks judged / events stored`, `${mine.length} / ${evs.length}`);
      res.check(`${name}: every attack stored exactly once`, missing.length === 0 && dupMarkers.length === 0 && evs.length === mine.length, { missing: missing.slice(0, 5), dup: dupMarkers.slice(0, 5), sent: mine.length, stored: evs.length });
      res.check(`${name}: no duplicate (gateway, seq)`, dupSeq === 0, { dupSeq });
    }
    const streamDup = [...streamSeen.values()].filter((c) => c > 1).length;
    res.figure('live stream: events seen / frame seq gaps', `${streamSeen.size} / ${stream.seqGaps}`);
    res.check('live stream saw every attack exactly once, no frame gap', judged.every(([m]) => streamSeen.get(m) === 1) && streamDup === 0 && stream.seqGaps === 0, { missing: judged.filter(([m]) => !streamSeen.has(m)).length, streamDup, gaps: stream.seqGaps });
    for (const [name, p] of procs()) res.check(`${name} still running`, p.running);
    return res;
  } finally {
    await stack.stop();
  }
}
