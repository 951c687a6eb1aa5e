/**
 * Faults, one stack (manager, gateway fault-gw, smtp-sink), in order:
 * A. manager SIGKILLed and restarted mid-flood: every attack's event is stored exactly once.
 * B. revision 2 installed (non-compliant → Detect); manager stopped; gateway SIGKILLed and
 *    restarted while the manager is still down: it enforces revision 2 at once; the events it
 *    spooled meanwhile arrive (once) when the manager is back.
 * C. upstream MTA down: clients get 421 4.4.0 promptly, never a hang; back: mail flows.
 * D. spool limit: an in-process gateway + FleetAgent (the gateway's documented in-process API;
 *    the CLI has no flag for the spool limit) with a small `spool.maxBytes`, manager down:
 *    the proxy never waits, events over the limit are refused and counted in `dropped`,
 *    pending + dropped = events, heartbeats report the drops (degraded), nothing spooled is lost.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PolicySource, startGateway } from '@smtpguard/gateway';
// Not re-exported by the package index: the fleet agent is wired by the gateway's main.ts.
import { FleetAgent } from '../../apps/gateway/src/fleet/agent.js';
import { marker, markerOf, median, type StoredEvent } from './api.js';
import { delay, tempDir, waitFor } from './procs.js';
import { ScenarioResult } from './report.js';
import { CLOSED, sendAttack, sendMail, SmtpClient, TIMEOUT } from './smtp.js';
import { Stack } from './stack.js';

export interface FaultOptions {
  floodMs: number;
  floodRate: number;
  downClients: number;
  spoolAttacks: number;
  spoolMaxBytes: number;
}

export const FAULTS_SHORT: FaultOptions = { floodMs: 12_000, floodRate: 25, downClients: 30, spoolAttacks: 60, spoolMaxBytes: 16_384 };
export const FAULTS_FULL: FaultOptions = { floodMs: 60_000, floodRate: 40, downClients: 200, spoolAttacks: 300, spoolMaxBytes: 65_536 };

function exactlyOnce(events: StoredEvent[], tag: string, expected: number[]): { missing: number[]; dup: number[]; dupSeq: number; extra: number } {
  const count = new Map<number, number>();
  for (const e of events) {
    const m = markerOf(e, tag);
    if (m !== null) count.set(m, (count.get(m) ?? 0) + 1);
  }
  const seqs = new Set<string>();
  let dupSeq = 0;
  for (const e of events) {
    const k = `${e.gatewayId}/${e.seq}`;
    if (seqs.has(k)) dupSeq += 1;
    seqs.add(k);
  }
  const want = new Set(expected);
  return {
    missing: expected.filter((m) => !count.has(m)),
    dup: [...count.entries()].filter(([, c]) => c > 1).map(([m]) => m),
    dupSeq,
    extra: [...count.keys()].filter((m) => !want.has(m)).length,
  };
}

export async function runFaults(o: FaultOptions): Promise<ScenarioResult> {
  const res = new ScenarioResult('faults');
  const stack = await Stack.start({ gateways: ['fault-gw'] });
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const gw = () => stack.gw('fault-gw');
    const port = gw().spec.port;

    // ---- A. manager killed and restarted mid-flood
    {
      const sent: number[] = [];
      const replies = new Map<string, number>();
      let n = 0;
      let inflight = 0;
      const t0 = performance.now();
      let killedAt = 0;
      let backAt = 0;
      let restarting: Promise<void> | null = null;
      while (performance.now() - t0 < o.floodMs) {
        const el = performance.now() - t0;
        if (!killedAt && el > o.floodMs * 0.25) {
          killedAt = el;
          await stack.manager.kill();
          restarting = (async () => {
            await delay(o.floodMs * 0.15);
            await stack.restartManager();
            backAt = performance.now() - t0;
          })();
        }
        const i = n++;
        inflight += 1;
        void sendAttack(port, marker('a', i)).then((r) => {
          inflight -= 1;
          const k = r.reply.text.split('\n').pop()!.slice(0, 9);
          replies.set(k, (replies.get(k) ?? 0) + 1);
          if (r.reply.code === 421) sent.push(i);
        });
        await delay(1000 / o.floodRate);
      }
      await restarting;
      await waitFor(() => inflight === 0, 'flood to finish', 30_000);
      const convergeStart = performance.now();
      let events: StoredEvent[] = [];
      await waitFor(async () => {
        events = (await stack.api.allEvents('fault-gw')).filter((e) => markerOf(e, 'a') !== null);
        return events.length >= sent.length;
      }, 'every flood event stored after the manager restart', 60_000, 250).catch(() => {});
      await delay(1500); // late duplicates would show up here
      events = (await stack.api.allEvents('fault-gw')).filter((e) => markerOf(e, 'a') !== null);
      const x = exactlyOnce(events, 'a', sent);
      res.figure('A manager SIGKILL at / back at (s into flood)', `${(killedAt / 1000).toFixed(1)} / ${(backAt / 1000).toFixed(1)}`);
      res.figure('A attacks sent / refused 421 / events stored', `${n} / ${sent.length} / ${events.length}`);
      res.figure('A attack replies', JSON.stringify(Object.fromEntries(replies)));
      res.figure('A catch-up after flood ms', performance.now() - convergeStart);
      res.check('A: gateway kept refusing attacks while the manager was down', sent.length === n, Object.fromEntries(replies));
      res.check('A: every event stored exactly once across the manager kill/restart', x.missing.length === 0 && x.dup.length === 0 && x.dupSeq === 0 && x.extra === 0, { ...x, missing: x.missing.slice(0, 5) });
    }

    // ---- B. gateway killed and restarted while the manager is down: last installed revision enforced
    {
      const ov = await stack.api.req('PUT', '/api/profiles/1/overrides/non-compliant', { action: 'detect' });
      const inst = await stack.api.install('stress: non-compliant to detect');
      const rev2 = inst.revision;
      const before = await sendAttack(port, marker('b', 0));
      res.check('B: revision 2 installed (non-compliant → Detect) and enforced', ov.status === 200 && inst.results.every((r) => r.status === 'installed') && before.reply.code !== 421, { ov: ov.status, inst: inst.results, reply: before.reply });
      await stack.manager.kill();
      await gw().proc.kill();
      const restartT = performance.now();
      const proc = await stack.restartGateway('fault-gw');
      const upMs = performance.now() - restartT;
      const after: number[] = [];
      const codes: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const r = await sendAttack(port, marker('b', i));
        codes.push(r.reply.code);
        if (r.reply.code !== CLOSED && r.reply.code !== TIMEOUT) after.push(i);
      }
      const mail = await sendMail(port, { from: 'alice@example.org', to: ['bob@example.com'] });
      res.figure('B gateway restart (manager down) to listening ms', upMs);
      res.figure('B attack replies after restart (rev 2 = pass, Detect)', codes.join(','));
      res.check('B: restarted gateway (manager down) enforces revision 2 (attack detected, not refused)', proc.running && codes.every((c) => c === 250), codes);
      res.check('B: restarted gateway (manager down) delivers clean mail', mail.ok, mail.last);
      await stack.restartManager();
      await stack.api.waitOnline(['fault-gw']);
      let evs: StoredEvent[] = [];
      await waitFor(async () => {
        evs = (await stack.api.allEvents('fault-gw')).filter((e) => markerOf(e, 'b') !== null);
        return evs.length >= 6;
      }, 'events spooled while the manager was down', 30_000, 250).catch(() => {});
      await delay(1000);
      evs = (await stack.api.allEvents('fault-gw')).filter((e) => markerOf(e, 'b') !== null);
      const x = exactlyOnce(evs, 'b', [0, 1, 2, 3, 4, 5]);
      const revs = evs.map((e) => e.policyRevision as number);
      const gws = await stack.api.gateways();
      const g = gws.find((z) => z.name === 'fault-gw');
      res.figure('B events stored (policyRevision)', `${evs.length} (${[...new Set(revs)].join(',')})`);
      res.check('B: those events arrive exactly once after the manager is back, tagged revision 2', x.missing.length === 0 && x.dup.length === 0 && x.dupSeq === 0 && revs.every((r) => r === rev2) && evs.every((e) => e.action === 'detect'), { ...x, revs });
      res.check('B: manager sees the gateway on revision 2', g?.installedRevision === rev2, { installed: g?.installedRevision, rev2 });
      // Back to Prevent for the rest.
      await stack.api.req('DELETE', '/api/profiles/1/overrides/non-compliant');
      await stack.api.install('stress: back to automatic');
    }

    // ---- C. upstream MTA down and back
    {
      await stack.upstream.kill();
      const waits: number[] = [];
      const codes = new Map<string, number>();
      await Promise.all(
        Array.from({ length: o.downClients }, async () => {
          const t = performance.now();
          let text = 'connect failed';
          try {
            const c = await SmtpClient.open(port, 10_000);
            const r = await c.reply(30_000);
            text = r.code === TIMEOUT ? 'NO REPLY (hang)' : r.code === CLOSED ? 'closed without reply' : r.text.split('\n').pop()!;
            await c.waitClosed(5000);
            if (!c.closed) text += ' (not closed)';
            c.destroy();
          } catch {
            /* counted as connect failed */
          }
          waits.push(performance.now() - t);
          const k = text.replace(/fault-gw /, '').slice(0, 60);
          codes.set(k, (codes.get(k) ?? 0) + 1);
        }),
      );
      // A real client too: swaks (if installed) must see the 421 and give up, not hang.
      let swaks = 'not installed';
      if (existsSync('/usr/bin/swaks')) {
        const t = performance.now();
        const out = spawnSync('/usr/bin/swaks', ['--server', `127.0.0.1:${port}`, '--from', 'alice@example.org', '--to', 'bob@example.com', '--timeout', '20'], { encoding: 'utf8', timeout: 30_000 });
        swaks = `${/<\*\* +(421 4\.4\.0[^\n]*)/.exec(out.stdout)?.[1] ?? out.stdout.slice(-200)} (exit ${out.status}, ${(performance.now() - t).toFixed(0)} ms)`;
        res.check('C: swaks gets 421 4.4.0 and exits', /421 4\.4\.0/.test(out.stdout) && out.status !== null, swaks);
      }
      res.figure('C upstream down: swaks', swaks);
      const ok421 = [...codes.entries()].filter(([k]) => k.startsWith('421 4.4.0')).reduce((a, [, v]) => a + v, 0);
      res.figure('C upstream down: replies', JSON.stringify(Object.fromEntries(codes)));
      res.figure('C upstream down: reply time ms p50 / max', `${median(waits).toFixed(1)} / ${Math.max(...waits).toFixed(1)}`);
      res.check('C: upstream down → every client gets 421 4.4.0 and is closed, no hang', ok421 === o.downClients, Object.fromEntries(codes));
      await stack.restartUpstream();
      const mails = await Promise.all(Array.from({ length: 5 }, (_, i) => sendMail(port, { from: `back${i}@example.org`, to: ['bob@example.com'] })));
      res.figure('C upstream back: deliveries ok', `${mails.filter((m) => m.ok).length}/5`);
      res.check('C: upstream back → mail flows', mails.every((m) => m.ok), mails.map((m) => m.last.text));
    }

    // ---- D. spool limit (in-process gateway with a small spool), manager down
    {
      const { id, enrollmentKey } = await stack.api.createGateway('spool-gw');
      const dataDir = join(tempDir('sg-stress-spool-'), 'node');
      const policy = PolicySource.fromInput({});
      const agent = new FleetAgent({
        managerUrl: stack.api.url,
        dataDir,
        enrollKey: enrollmentKey,
        applyPolicy: (input) => policy.setFromInput(input),
        heartbeatMs: 500,
        backoff: { minMs: 100, maxMs: 500 },
        // Segments well under the limit, as with the defaults (4 MiB of 256 MiB): the newest
        // segment is never deleted, so with segmentBytes ≥ maxBytes a full spool stays full.
        spool: { maxBytes: o.spoolMaxBytes, segmentBytes: Math.floor(o.spoolMaxBytes / 8) },
      });
      agent.restorePolicy();
      await agent.start();
      cleanups.push(() => agent.close());
      const gateway = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: stack.upstreamPort }, policy, events: agent.sink, name: 'spool-gw' });
      cleanups.push(() => gateway.close(1000));
      await stack.api.waitOnline(['spool-gw']);
      const inst = await stack.api.install('stress: spool-gw revision');
      res.check('D: in-process gateway enrolled and installed', inst.results.every((r) => r.status === 'installed'), inst.results);
      await stack.manager.kill();
      await waitFor(() => !agent.connected, 'agent notices the manager is gone', 10_000);
      const spoolGwPort = gateway.address.port;
      const codes: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < o.spoolAttacks; i++) {
        const r = await sendAttack(spoolGwPort, marker('d', i));
        codes.push(r.reply.code);
        times.push(r.ms);
      }
      await delay(50);
      agent.spool.sync();
      const pendingAtFull = agent.spool.pending;
      const dropped = agent.spool.dropped;
      const bytes = agent.spool.bytes;
      const mail = await sendMail(spoolGwPort, { from: 'alice@example.org', to: ['bob@example.com'] });
      res.figure('D spool limit bytes / bytes used', `${o.spoolMaxBytes} / ${bytes}`);
      res.figure('D attacks / spooled (pending) / dropped', `${o.spoolAttacks} / ${pendingAtFull} / ${dropped}`);
      res.figure('D attack reply ms p50 / max with spool full', `${median(times).toFixed(1)} / ${Math.max(...times).toFixed(1)}`);
      res.check('D: proxy never waits for the spool (every attack refused 421, clean mail delivered)', codes.every((c) => c === 421) && mail.ok, { codes: [...new Set(codes)], mail: mail.last });
      res.check('D: spool refuses events over its limit (dropped > 0, bytes ≤ limit)', dropped > 0 && bytes <= o.spoolMaxBytes, { dropped, bytes });
      res.check('D: counts add up (pending + dropped = events)', pendingAtFull + dropped === o.spoolAttacks, { pendingAtFull, dropped });
      await stack.restartManager();
      await waitFor(() => agent.connected, 'agent reconnects', 20_000);
      let evs: StoredEvent[] = [];
      await waitFor(async () => {
        evs = (await stack.api.allEvents('spool-gw')).filter((e) => markerOf(e, 'd') !== null);
        return evs.length >= pendingAtFull && agent.spool.pending === 0;
      }, 'spooled events delivered', 30_000, 250).catch(() => {});
      await delay(1200); // a heartbeat with the counters
      evs = (await stack.api.allEvents('spool-gw')).filter((e) => markerOf(e, 'd') !== null);
      // The oldest are kept, the newest refused: the stored ones are exactly the first `pending`.
      const x = exactlyOnce(evs, 'd', Array.from({ length: pendingAtFull }, (_, i) => i));
      const view = (await stack.api.gateways()).find((g) => g.id === id);
      res.figure('D events stored after manager back', evs.length);
      res.figure('D manager view of spool-gw', `${view?.health as string} ${view?.detail as string} ${JSON.stringify(view?.counters)}`);
      res.check('D: the oldest events are kept and each arrives exactly once', x.missing.length === 0 && x.dup.length === 0 && x.dupSeq === 0 && x.extra === 0, { ...x, missing: x.missing.slice(0, 5) });
      res.check('D: heartbeats report the drops (degraded, spoolDropped)', view?.health === 'degraded' && view?.counters?.spoolDropped === dropped, { health: view?.health, counters: view?.counters });
      const more = await sendAttack(spoolGwPort, marker('d', 100_000));
      await waitFor(async () => (await stack.api.allEvents('spool-gw')).some((e) => markerOf(e, 'd') === 100_000), 'a new event after the spool drained', 15_000, 200).catch(() => {});
      const got = (await stack.api.allEvents('spool-gw')).some((e) => markerOf(e, 'd') === 100_000);
      res.check('D: once acknowledged, the spool takes events again', more.reply.code === 421 && got);
    }
    res.check('manager and gateway processes running at the end', stack.manager.running && gw().proc.running);
    return res;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await stack.stop();
  }
}
