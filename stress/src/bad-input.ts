/**
 * Bad input everywhere:
 * - fuzzed bodies (random JSON shapes that no strict schema accepts, garbage bytes, truncated
 *   JSON, wrong content types, oversized bodies) to every POST/PUT/PATCH route of API.md with
 *   an admin session: 4xx, never 5xx, and the store is unchanged (draft, revisions, installs,
 *   users, profiles, exceptions, gateways, settings, events);
 * - malformed WebSocket frames on the fleet link and the console stream: an `error` frame or a
 *   close for each, the manager stays up;
 * - wrong, replayed, superseded or revoked gateway credentials and used enrollment keys: refused.
 */
import WebSocket from 'ws';
import { marker, type ManagerApi } from './api.js';
import { HOST, waitFor } from './procs.js';
import { ScenarioResult } from './report.js';
import { sendAttack } from './smtp.js';
import { Stack } from './stack.js';

export interface BadInputOptions {
  bodiesPerRoute: number;
  seed: number;
}

export const BAD_SHORT: BadInputOptions = { bodiesPerRoute: 30, seed: 8 };
export const BAD_FULL: BadInputOptions = { bodiesPerRoute: 300, seed: 8 };

/** Small deterministic PRNG (mulberry32) so a failure can be replayed with the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = ['', ' ', '\u0000', '<script>alert(1)</script>', "' OR 1=1 --", '../../etc/passwd', '\ud800', '💥'.repeat(50), 'A'.repeat(5000), '%s%n', '${7*7}', '__proto__', 'NaN', '-1', '1e309'];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 4 ? 6 : 9));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MIN_VALUE][Math.floor(r() * 7)];
    case 3:
    case 4:
      return NASTY_STRINGS[Math.floor(r() * NASTY_STRINGS.length)];
    case 5:
      return Math.floor(r() * 1e6);
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[randomKey(r)] = randomValue(r, depth + 1);
      return o;
    }
  }
}

const KNOWN_KEYS = ['username', 'password', 'role', 'currentPassword', 'newPassword', 'disabled', 'settings', 'name', 'comment', 'thresholds', 'copyFrom', 'action', 'protection', 'source', 'destination', 'gateway', 'gateways', 'profileId', 'retentionDays', 'retentionMaxRows', 'key', 'version'];
function randomKey(r: () => number): string {
  return r() < 0.6 ? KNOWN_KEYS[Math.floor(r() * KNOWN_KEYS.length)]! : `k${Math.floor(r() * 1000)}`;
}

/** A body no route accepts: a non-object, or an object carrying a key no (strict) schema knows. */
function invalidBody(r: () => number, i: number): { body: string | Buffer; contentType: string; kind: string } {
  const kind = i % 10;
  switch (kind) {
    case 0:
      // Starts with 0xff: never valid JSON, whatever follows.
      return { body: Buffer.from([0xff, ...Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256))]), contentType: 'application/json', kind: 'garbage bytes' };
    case 1:
      return { body: `{"zz":${JSON.stringify(randomValue(r, 0))}`, contentType: 'application/json', kind: 'truncated JSON' };
    case 2:
      return { body: JSON.stringify([randomValue(r, 0), randomValue(r, 0)]), contentType: 'application/json', kind: 'array' };
    case 3:
      return { body: JSON.stringify(NASTY_STRINGS[Math.floor(r() * NASTY_STRINGS.length)]), contentType: 'application/json', kind: 'string' };
    case 4:
      // Not `null`: the manager treats a JSON null body as {} (reported; see the stress README).
      return { body: String([0, -1, 1e308, 'false', 'true'][Math.floor(r() * 5)]), contentType: 'application/json', kind: 'scalar' };
    case 5:
      return { body: JSON.stringify({ a: 1 }), contentType: ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x'][Math.floor(r() * 4)]!, kind: 'wrong content type' };
    case 6: {
      let v: unknown = { zz: 1 };
      for (let d = 0; d < 2000; d++) v = { n: v };
      return { body: JSON.stringify(v), contentType: 'application/json', kind: 'deep nesting' };
    }
    case 7:
      return { body: `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"zz${i}":1}`, contentType: 'application/json', kind: 'prototype keys' };
    case 8:
      return { body: JSON.stringify({ settings: 'x'.repeat(5 * 1024 * 1024), zz: 1 }), contentType: 'application/json', kind: 'oversized' };
    default: {
      const o: Record<string, unknown> = {};
      const n = 1 + Math.floor(r() * 5);
      for (let j = 0; j < n; j++) o[randomKey(r)] = randomValue(r, 1);
      o[`zz_unknown_${i}`] = randomValue(r, 3);
      return { body: JSON.stringify(o), contentType: 'application/json', kind: 'random object + unknown key' };
    }
  }
}

/** Everything a fuzzed request must not change. */
async function snapshot(api: ManagerApi): Promise<Record<string, unknown>> {
  const get = async (p: string) => (await api.req('GET', p)).body;
  const draft = (await get('/api/draft')) as Record<string, unknown>;
  const gateways = ((await get('/api/gateways')) as { gateways: Array<Record<string, unknown>> }).gateways.map((g) => ({ id: g.id, name: g.name, profileId: g.profileId, targetRevision: g.targetRevision, revoked: g.status === 'revoked' }));
  const users = ((await get('/api/users')) as { users: Array<Record<string, unknown>> }).users.map((u) => ({ id: u.id, username: u.username, role: u.role, disabled: u.disabled }));
  return {
    draft: { document: draft.document, basedOnRevision: draft.basedOnRevision, changes: draft.changes },
    revisions: ((await get('/api/revisions')) as { revisions: unknown[] }).revisions.length,
    installs: ((await get('/api/installs')) as { installs: unknown[] }).installs.length,
    users,
    profiles: await get('/api/profiles'),
    exceptions: await get('/api/exceptions'),
    gateways,
    settings: await get('/api/settings'),
    events: await api.eventTotal(),
  };
}

interface WsProbe {
  opened: boolean;
  status?: number;
  closeCode?: number;
  frames: Array<{ type: string; [k: string]: unknown }>;
  ws?: WebSocket;
}

function openWs(url: string, headers: Record<string, string>): Promise<WsProbe> {
  return new Promise((resolve) => {
    const p: WsProbe = { opened: false, frames: [] };
    const ws = new WebSocket(url, { headers });
    p.ws = ws;
    ws.on('message', (d) => {
      try {
        p.frames.push(JSON.parse(String(d)));
      } catch {
        p.frames.push({ type: 'unparseable' });
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      p.status = res.statusCode;
      ws.terminate();
      resolve(p);
    });
    ws.on('open', () => {
      p.opened = true;
      resolve(p);
    });
    ws.on('close', (code) => {
      p.closeCode = code;
      resolve(p);
    });
    ws.on('error', () => resolve(p));
  });
}

export async function runBadInput(o: BadInputOptions): Promise<ScenarioResult> {
  const res = new ScenarioResult('bad-input');
  const stack = await Stack.start({ gateways: ['fuzz-real'] });
  try {
    const api = stack.api;
    const gwPort = stack.gw('fuzz-real').spec.port;
    // Some state to protect: events, an exception, a second profile, an operator.
    for (let i = 0; i < 3; i++) await sendAttack(gwPort, marker('z', i));
    await waitFor(async () => (await api.eventTotal()) >= 3, 'seed events', 15_000, 200);
    const exc = await api.ok<{ id: number }>('POST', '/api/exceptions', { protection: 'max-recipients', source: '10.9.0.0/16', action: 'detect', comment: 'stress fixture' });
    const prof = await api.ok<{ id: number }>('POST', '/api/profiles', { name: 'Stress_Profile', comment: 'fixture' });
    const user = await api.ok<{ id: number }>('POST', '/api/users', { username: 'stress-operator', password: 'operator-password-123', role: 'operator' });
    const fuzzGw = await api.createGateway('fuzz-link');
    const realGwId = stack.gw('fuzz-real').id;
    const before = await snapshot(api);

    // ---- credentials
    const enrollUrl = `${api.url}/api/fleet/enroll`;
    const enroll = async (key: string) => {
      const resp = await fetch(enrollUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
      return { status: resp.status, body: (await resp.json().catch(() => null)) as { credential?: string } | null };
    };
    const wsUrl = `ws://${HOST}:${stack.managerPort}/api/fleet/ws`;
    const first = await enroll(fuzzGw.enrollmentKey);
    const cred1 = first.body?.credential ?? '';
    const replayKey = await enroll(fuzzGw.enrollmentKey);
    const realKeyAgain = await enroll('sgk_this-key-does-not-exist-0000');
    const wrongCred = await openWs(wsUrl, { authorization: 'Bearer sgc_wrong-credential-0000000000000000' });
    const noCred = await openWs(wsUrl, {});
    const mangled = await openWs(wsUrl, { authorization: `Bearer ${cred1.slice(0, -2)}xx` });
    const good1 = await openWs(wsUrl, { authorization: `Bearer ${cred1}` });
    await waitFor(() => good1.frames.some((f) => f.type === 'welcome') || good1.closeCode !== undefined, 'welcome', 10_000).catch(() => {});
    res.check('credentials: fresh enrollment works, its credential opens the link', first.status === 200 && good1.opened && good1.frames[0]?.type === 'welcome', { status: first.status, frames: good1.frames.slice(0, 1) });
    res.check('credentials: a used enrollment key is refused (401)', replayKey.status === 401, replayKey);
    res.check('credentials: an unknown enrollment key is refused (401)', realKeyAgain.status === 401, realKeyAgain);
    res.check('credentials: wrong, missing or altered credential refused on upgrade (401)', wrongCred.status === 401 && noCred.status === 401 && mangled.status === 401, { wrong: wrongCred.status, none: noCred.status, mangled: mangled.status });

    // ---- malformed frames on the fleet link (the link of fuzz-link, not of a real gateway)
    const malformed: Array<[string, string | Buffer, boolean]> = [
      ['not JSON', '{{{{ not json', false],
      ['binary', Buffer.from([0, 1, 2, 0xff, 0xfe]), true],
      ['JSON scalar', '42', false],
      ['unknown type', JSON.stringify({ type: 'become-admin' }), false],
      ['events with bad epoch', JSON.stringify({ type: 'events', epoch: 'x', events: [] }), false],
      ['events with a bad event', JSON.stringify({ type: 'events', epoch: 1, events: [{ seq: 1, event: { time: 'yesterday' } }] }), false],
      ['negative seq', JSON.stringify({ type: 'events', epoch: 1, events: [{ seq: -5, event: {} }] }), false],
      ['hello with garbage', JSON.stringify({ type: 'hello', protocol: 'x', spool: 5 }), false],
      ['heartbeat with huge counters', JSON.stringify({ type: 'heartbeat', counters: { connections: 'a'.repeat(100_000) } }), false],
      ['install-result for a bogus install', JSON.stringify({ type: 'install-result', installId: 99999, revision: 1, hash: 'x', status: 'installed' }), false],
      ['deeply nested', '['.repeat(5000) + ']'.repeat(5000), false],
    ];
    const fleetOutcome: Record<string, string> = {};
    let fleetBad = 0;
    for (const [name, frame, binary] of malformed) {
      const link = good1.closeCode === undefined && good1.ws?.readyState === WebSocket.OPEN ? good1 : await openWs(wsUrl, { authorization: `Bearer ${cred1}` });
      const n0 = link.frames.length;
      link.ws!.send(frame, { binary });
      await waitFor(() => link.frames.slice(n0).some((f) => f.type === 'error') || link.closeCode !== undefined, `reaction to ${name}`, 5000).catch(() => {});
      const reaction = link.closeCode !== undefined ? `closed ${link.closeCode}` : link.frames.slice(n0).find((f) => f.type === 'error') ? 'error frame' : 'nothing';
      fleetOutcome[name] = reaction;
      if (reaction === 'nothing') fleetBad += 1;
    }
    // Oversized frame: over the 8 MiB payload limit.
    const big = good1.ws?.readyState === WebSocket.OPEN ? good1 : await openWs(wsUrl, { authorization: `Bearer ${cred1}` });
    big.ws!.send('x'.repeat(9 * 1024 * 1024));
    await waitFor(() => big.closeCode !== undefined, 'close after an oversized frame', 10_000).catch(() => {});
    fleetOutcome['9 MiB frame'] = big.closeCode !== undefined ? `closed ${big.closeCode}` : 'nothing';
    res.figure('fleet link: malformed frame → reaction', Object.entries(fleetOutcome).map(([k, v]) => `${k}: ${v}`).join('; '));
    res.check('fleet link: every malformed frame gets an error frame or a close', fleetBad === 0 && big.closeCode !== undefined, fleetOutcome);

    // Superseded and revoked credentials.
    const key2 = await api.ok<{ enrollmentKey: string }>('POST', `/api/gateways/${fuzzGw.id}/enrollment-key`);
    const second = await enroll(key2.enrollmentKey);
    const cred2 = second.body?.credential ?? '';
    const oldCred = await openWs(wsUrl, { authorization: `Bearer ${cred1}` });
    const newCred = await openWs(wsUrl, { authorization: `Bearer ${cred2}` });
    res.check('credentials: the old credential is refused once a new key was used (replay)', second.status === 200 && oldCred.status === 401 && newCred.opened, { second: second.status, old: oldCred.status, new: newCred.opened });
    newCred.ws?.terminate();
    await api.ok('POST', `/api/gateways/${fuzzGw.id}/revoke`);
    const revoked = await openWs(wsUrl, { authorization: `Bearer ${cred2}` });
    res.check('credentials: a revoked gateway credential is refused (401)', revoked.status === 401, { status: revoked.status });

    // ---- malformed frames on the console stream
    const streamUrl = `ws://${HOST}:${stack.managerPort}/api/events/stream`;
    const noSession = await openWs(streamUrl, {});
    res.check('console stream: no session → refused', noSession.status === 401 || noSession.closeCode !== undefined, { status: noSession.status, close: noSession.closeCode });
    const badFilters = await openWs(`${streamUrl}?protection=not-a-protection&from=yesterday`, { cookie: api.cookie });
    await waitFor(() => badFilters.closeCode !== undefined, 'close on bad filters', 5000).catch(() => {});
    res.check('console stream: bad filters → error frame, close 4000', badFilters.closeCode === 4000 && badFilters.frames.some((f) => f.type === 'error'), { close: badFilters.closeCode, frames: badFilters.frames.map((f) => f.type) });
    const streamMalformed: Array<[string, string | Buffer, boolean]> = [
      ['not JSON', 'hello?', false],
      ['binary', Buffer.from([0xde, 0xad, 0xbe, 0xef]), true],
      ['unknown type', JSON.stringify({ type: 'drop-table', data: {} }), false],
      ['filters wrong shape', JSON.stringify({ type: 'filters', data: { protection: 12, from: [] } }), false],
      ['filters as array', JSON.stringify([{ type: 'filters' }]), false],
      ['deeply nested', '{"a":'.repeat(3000) + '1' + '}'.repeat(3000), false],
    ];
    const streamOutcome: Record<string, string> = {};
    let streamBad = 0;
    let live = await openWs(streamUrl, { cookie: api.cookie });
    for (const [name, frame, binary] of streamMalformed) {
      if (live.closeCode !== undefined || live.ws?.readyState !== WebSocket.OPEN) live = await openWs(streamUrl, { cookie: api.cookie });
      const n0 = live.frames.length;
      live.ws!.send(frame, { binary });
      await waitFor(() => live.frames.slice(n0).some((f) => f.type === 'error') || live.closeCode !== undefined, `reaction to ${name}`, 5000).catch(() => {});
      const reaction = live.closeCode !== undefined ? `closed ${live.closeCode}` : live.frames.slice(n0).find((f) => f.type === 'error') ? 'error frame' : 'nothing';
      streamOutcome[name] = reaction;
      if (reaction === 'nothing') streamBad += 1;
    }
    // The stream still delivers events after all that.
    const n0 = live.frames.length;
    await sendAttack(gwPort, marker('z', 99));
    await waitFor(() => live.frames.slice(n0).some((f) => f.type === 'event'), 'an event on the stream after the malformed frames', 10_000).catch(() => {});
    const stillLive = live.frames.slice(n0).some((f) => f.type === 'event');
    live.ws?.terminate();
    res.figure('console stream: malformed frame → reaction', Object.entries(streamOutcome).map(([k, v]) => `${k}: ${v}`).join('; '));
    res.check('console stream: every malformed frame gets an error frame or a close', streamBad === 0, streamOutcome);
    res.check('console stream: still delivers events afterwards (or reconnects)', stillLive);

    // ---- fuzzed API bodies (last: login and enroll are rate-limited per address afterwards)
    const beforeFuzz = await snapshot(api);
    const routes: Array<{ method: string; path: string; bodyless?: boolean }> = [
      { method: 'POST', path: '/api/auth/login' },
      { method: 'POST', path: '/api/auth/logout', bodyless: true },
      { method: 'POST', path: '/api/auth/password' },
      { method: 'POST', path: '/api/users' },
      { method: 'PATCH', path: `/api/users/${user.id}` },
      { method: 'PATCH', path: '/api/users/1' },
      { method: 'PUT', path: '/api/protections/max-recipients/settings' },
      { method: 'PUT', path: '/api/protections/malicious-code/settings' },
      { method: 'POST', path: '/api/profiles' },
      { method: 'PATCH', path: `/api/profiles/${prof.id}` },
      { method: 'PUT', path: '/api/profiles/1/overrides/max-recipients' },
      { method: 'POST', path: '/api/exceptions' },
      { method: 'PUT', path: `/api/exceptions/${exc.id}` },
      { method: 'POST', path: '/api/draft/discard', bodyless: true },
      { method: 'POST', path: '/api/install' },
      { method: 'POST', path: '/api/revisions/1/rollback' },
      { method: 'POST', path: '/api/gateways' },
      { method: 'PATCH', path: `/api/gateways/${realGwId}` },
      { method: 'POST', path: `/api/gateways/${realGwId}/enrollment-key`, bodyless: true },
      { method: 'POST', path: `/api/gateways/${realGwId}/revoke`, bodyless: true },
      { method: 'PUT', path: '/api/settings' },
      { method: 'POST', path: '/api/fleet/enroll' },
    ];
    const r = prng(o.seed);
    const statusCounts = new Map<number, number>();
    const fiveHundreds: string[] = [];
    const non4xx: string[] = [];
    let requests = 0;
    let resets = 0;
    const t0 = performance.now();
    for (const route of routes) {
      for (let i = 0; i < o.bodiesPerRoute; i++) {
        let b = invalidBody(r, i);
        // A body-less route ignores a well-formed body (that is not an error): only unparseable ones.
        if (route.bodyless && !['garbage bytes', 'truncated JSON'].includes(b.kind)) b = { ...invalidBody(r, 1), kind: 'truncated JSON' };
        let status: number;
        try {
          status = (await api.req(route.method, route.path, b.body, { raw: true, contentType: b.contentType, timeoutMs: 15_000 })).status;
        } catch (err) {
          // Over the 4 MiB body limit the manager answers 413 and closes while the upload is
          // still going: the client may only see the reset.
          status = b.kind === 'oversized' ? 413 : -1;
          if (b.kind === 'oversized') resets += 1;
          else non4xx.push(`${route.method} ${route.path} [${b.kind}] → ${(err as Error).message}`);
        }
        requests += 1;
        statusCounts.set(status, (statusCounts.get(status) ?? 0) + 1);
        if (status >= 500) fiveHundreds.push(`${route.method} ${route.path} [${b.kind}] → ${status}`);
        else if (status !== -1 && (status < 400 || status > 499)) non4xx.push(`${route.method} ${route.path} [${b.kind}] → ${status}`);
      }
    }
    const fuzzMs = performance.now() - t0;
    const me = await api.req('GET', '/api/auth/me');
    const after = await snapshot(api);
    res.figure('API fuzz: routes × bodies = requests', `${routes.length} × ${o.bodiesPerRoute} = ${requests}`);
    res.figure('API fuzz: status counts', JSON.stringify(Object.fromEntries([...statusCounts.entries()].sort())));
    res.figure('API fuzz: oversized bodies cut off by a reset (counted as 413)', resets);
    res.figure('API fuzz: requests/s', requests / (fuzzMs / 1000));
    res.check('API fuzz: no 5xx', fiveHundreds.length === 0, fiveHundreds.slice(0, 10));
    res.check('API fuzz: every invalid body answered 4xx', non4xx.length === 0, non4xx.slice(0, 10));
    const changed = Object.keys(beforeFuzz).filter((k) => JSON.stringify(beforeFuzz[k]) !== JSON.stringify(after[k]));
    res.check('API fuzz: store unchanged (draft, revisions, installs, users, profiles, exceptions, gateways, settings, events)', changed.length === 0, Object.fromEntries(changed.map((k) => [k, { before: beforeFuzz[k], after: after[k] }])));
    res.check('API fuzz: admin session still valid', me.status === 200);

    // ---- nothing crashed, nothing stored from the junk
    const health = await fetch(`${api.url}/api/health`).then((x) => x.status);
    const total = await api.eventTotal();
    res.check('manager healthy and running after everything', health === 200 && stack.manager.running);
    res.check('events: only the real attack was added (none from junk frames)', total === (before.events as number) + 1, { before: before.events, after: total });
    await waitFor(async () => (await api.gateways()).find((g) => g.name === 'fuzz-real')?.status === 'online', 'the real gateway still online', 15_000, 250).catch(() => {});
    res.check('the real gateway is still online', (await api.gateways()).find((g) => g.name === 'fuzz-real')?.status === 'online');
    return res;
  } finally {
    await stack.stop();
  }
}
