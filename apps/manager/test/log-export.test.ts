import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { zLogExportTestResponse, zLogExportView, zStoredEvent, type InspectionEvent, type LogExportConfigRequest } from '@smtpguard/contracts';
import { cef, cefHeader, cefValue, eventMessage, headerField, octetFrame, rfc5424, sdValue } from '../src/observability/syslog.js';
import { buildApp } from '../src/app.js';
import { makeEvent } from './fixtures.js';
import { makeApp, until, type TestApp } from './helpers.js';
import { OctetDeframer, StreamReceiver, UdpReceiver, parseCef, parseRfc5424 } from './syslog-receiver.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const fast = { observability: { logExport: { retryMinMs: 20, retryMaxMs: 200, pollMs: 50, connectTimeoutMs: 2000 } } };

async function app(deps: Parameters<typeof makeApp>[0] = {}): Promise<TestApp> {
  const t = await makeApp({ ...fast, ...deps });
  cleanups.push(() => t.app.close());
  return t;
}


let seqs = 0;
/** Commits events the way the fleet link does (ingest, then publish). */
function commit(t: TestApp, events: InspectionEvent[], gateway = 'gw-a') {
  const m = t.app.manager;
  const stored = m.events.ingest(`gw_${gateway}`, gateway, 1, events.map((event) => ({ seq: ++seqs, event })));
  m.live.publish(stored);
  return stored;
}

async function configure(t: TestApp, body: LogExportConfigRequest, cookie = t.admin) {
  return t.as(cookie, { method: 'PUT', url: '/api/log-export', payload: body });
}

async function view(t: TestApp) {
  return zLogExportView.parse(JSON.parse((await t.as(t.admin, { method: 'GET', url: '/api/log-export' })).body));
}

/** The attacker controls command, detail, HELO and MAIL FROM: put every special character in them. */
const HOSTILE = 'a|b\\c=d\r\ne]"f <script>alert(1)</script> ü';

describe('syslog formatting', () => {
  it('RFC 5424 header: PRI, version, header fields reduced to PRINTUSASCII, SD values escaped', () => {
    const line = rfc5424({
      facility: 16,
      severity: 3,
      time: '2026-01-01T12:00:00.000Z',
      hostname: 'gw a\nb',
      appName: 'smtpguard',
      msgId: 'non-compliant',
      structuredData: [['meta', { sequenceId: '7' }], ['x', { v: 'a"b]c\\' }]],
      msg: 'hello',
    });
    expect(line).toBe('<131>1 2026-01-01T12:00:00.000Z gw_a_b smtpguard - non-compliant [meta sequenceId="7"][x v="a\\"b\\]c\\\\"] hello');
    expect(headerField('', 10)).toBe('-');
    expect(headerField('x'.repeat(40), 32)).toHaveLength(32);
    expect(sdValue('"]\\')).toBe('\\"\\]\\\\');
    expect(octetFrame('héllo').toString()).toBe('6 héllo');
  });

  it('CEF: header escapes | and \\, extensions escape \\ = and line breaks; attacker bytes stay data', () => {
    expect(cefHeader('a|b\\c\nd')).toBe('a\\|b\\\\c d');
    expect(cefValue('a=b\\c\r\nd|e')).toBe('a\\=b\\\\c\\r\\nd|e');
    const e = zStoredEvent.parse({
      ...makeEvent('non-compliant', { command: HOSTILE, detail: HOSTILE, context: { helo: HOSTILE, mailFrom: HOSTILE, rcptCount: 2, state: 'mail' } }),
      id: 41,
      gatewayId: 'gw_1',
      gateway: 'gw-a',
      seq: 3,
      receivedAt: '2026-01-01T12:00:01.000Z',
    });
    const line = cef(e);
    expect(line.split('\n')).toHaveLength(1);
    const { header, ext } = parseCef(line);
    expect(header).toEqual(['0', 'smtpguard', 'smtpguard', '0.1.0', 'non-compliant', e.attackName, '8']);
    expect(ext).toMatchObject({
      src: '192.0.2.10',
      spt: String(e.client.port),
      dst: '198.51.100.5',
      dpt: '25',
      act: 'prevent',
      msg: HOSTILE,
      cs1: e.attackInfo,
      cs1Label: 'Attack Information',
      cs2: HOSTILE,
      cs2Label: 'Command',
      cs4: HOSTILE,
      suser: HOSTILE,
      externalId: '41',
      dvchost: 'gw-a',
    });
    // The whole syslog line stays one line and its header is intact.
    const msg = parseRfc5424(eventMessage(e, { format: 'cef', facility: 16 }));
    expect(msg).toMatchObject({ pri: 16 * 8 + 3, version: 1, hostname: 'gw-a', appName: 'smtpguard', msgId: 'non-compliant' });
    expect(msg.structuredData).toBe('[meta sequenceId="41"][origin software="smtpguard" swVersion="0.1.0"]');
    const json = parseRfc5424(eventMessage(e, { format: 'json', facility: 16 }));
    expect(JSON.parse(json.msg)).toEqual(e);
  });

  it('deframer splits octet-counted frames across chunk boundaries', () => {
    const d = new OctetDeframer();
    const bytes = Buffer.concat([octetFrame('one'), octetFrame('twö'), octetFrame('three')]);
    const out = [...d.push(bytes.subarray(0, 5)), ...d.push(bytes.subarray(5, 9)), ...d.push(bytes.subarray(9))];
    expect(out).toEqual(['one', 'twö', 'three']);
  });
});

describe('log export API', () => {
  it('admin only; zod names the bad field; changes are audited; the private key is never returned', async () => {
    const t = await app();
    expect((await t.as(t.operator, { method: 'GET', url: '/api/log-export' })).statusCode).toBe(403);
    expect((await t.as(null, { method: 'GET', url: '/api/log-export' })).statusCode).toBe(401);
    expect((await configure(t, { enabled: false, host: '127.0.0.1', port: 514, transport: 'tcp', format: 'json' }, t.operator)).statusCode).toBe(403);
    expect((await t.as(t.operator, { method: 'POST', url: '/api/log-export/test' })).statusCode).toBe(403);

    const empty = await view(t);
    expect(empty.config).toBeNull();
    expect(empty.status).toMatchObject({ state: 'unconfigured', pending: 0, sent: 0, cursor: null });

    const bad = await configure(t, { enabled: true, host: 'siem.example.net', port: 70000, transport: 'tcp', format: 'json' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).field).toBe('body.port');
    const badHost = await configure(t, { enabled: true, host: 'tcp://siem', port: 514, transport: 'tcp', format: 'json' });
    expect(JSON.parse(badHost.body).field).toBe('body.host');
    const badTransport = await t.as(t.admin, { method: 'PUT', url: '/api/log-export', payload: { enabled: true, host: 'siem', port: 514, transport: 'smtp', format: 'json' } });
    expect(JSON.parse(badTransport.body).field).toBe('body.transport');

    const dir = mkdtempSync(join(tmpdir(), 'sg-tls-'));
    const { cert, key } = selfSigned(dir);
    const saved = await configure(t, { enabled: false, host: 'siem.example.net', port: 6514, transport: 'tls', format: 'cef', tls: { ca: cert, cert, key } });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).not.toContain('PRIVATE KEY');
    const v = zLogExportView.parse(JSON.parse(saved.body));
    expect(v.config).toMatchObject({ enabled: false, host: 'siem.example.net', port: 6514, transport: 'tls', format: 'cef', facility: 16, tls: { hasKey: true } });
    expect(v.status.state).toBe('disabled');

    // Saving again without the key keeps it; "" removes it.
    const kept = zLogExportView.parse(JSON.parse((await configure(t, { enabled: false, host: 'siem.example.net', port: 6514, transport: 'tls', format: 'cef', tls: { ca: cert, cert } })).body));
    expect(kept.config?.tls.hasKey).toBe(true);
    const removed = zLogExportView.parse(JSON.parse((await configure(t, { enabled: false, host: 'siem.example.net', port: 6514, transport: 'tls', format: 'cef', tls: { key: '' } })).body));
    expect(removed.config?.tls).toEqual({ hasKey: false });

    const audit = JSON.parse((await t.as(t.admin, { method: 'GET', url: '/api/audit' })).body);
    const entries = audit.entries.filter((e: { action: string }) => e.action === 'log-export.update');
    expect(entries).toHaveLength(3);
    expect(entries[2]).toMatchObject({ user: 'admin', target: 'log export', before: null, after: { host: 'siem.example.net', transport: 'tls', tls: { hasKey: true } } });
    expect(JSON.stringify(audit)).not.toContain('PRIVATE KEY');
  });
});

describe('log export to a receiver on loopback', () => {
  it('TCP + JSON: RFC 5424 frames in order; receiver stopped, events committed, receiver back: every event exactly once, in order', async () => {
    const receiver = await new StreamReceiver().start();
    cleanups.push(() => receiver.stop());
    const t = await app();
    commit(t, [makeEvent('exchange-commands')]); // before export is enabled: not replayed
    const res = await configure(t, { enabled: true, host: '127.0.0.1', port: receiver.port, transport: 'tcp', format: 'json' });
    expect(res.statusCode).toBe(200);

    const first = commit(t, Array.from({ length: 20 }, (_, i) => makeEvent(i % 2 ? 'non-compliant' : 'max-recipients', { action: i % 3 ? 'prevent' : 'detect', command: HOSTILE })));
    await until(() => receiver.messages.length === 20, '20 events');
    const m0 = receiver.messages[0]!;
    expect(m0).toMatchObject({ version: 1, appName: 'smtpguard', procId: '-', hostname: 'gw-a' });
    expect(receiver.errors).toEqual([]);
    const payloads = receiver.messages.map((m) => zStoredEvent.parse(JSON.parse(m.msg)));
    expect(payloads.map((p) => p.id)).toEqual(first.map((e) => e.id));
    expect(payloads[1]).toMatchObject({ protectionId: 'non-compliant', command: HOSTILE, gateway: 'gw-a' });
    expect(receiver.messages.map((m) => m.msgId)).toEqual(first.map((e) => e.protectionId));
    expect(receiver.messages.map((m) => m.timestamp)).toEqual(first.map((e) => e.time));
    // Severity from the catalog (High -> 3 for non-compliant), facility local0.
    expect(receiver.messages[1]!.pri).toBe(16 * 8 + 3);
    await until(() => t.app.logExport.status().pending === 0, 'cursor saved');
    expect(t.app.logExport.status()).toMatchObject({ state: 'connected', sent: 20, pending: 0, cursor: first[19]!.id, delivery: 'reliable' });

    // The receiver goes away; events keep coming.
    await receiver.stop();
    await until(() => !t.app.logExport.connected, 'exporter saw the close');
    const during = commit(t, Array.from({ length: 30 }, () => makeEvent('unknown-commands')));
    await until(() => t.app.logExport.status().lastError !== null, 'an error reported');
    const down = await view(t);
    expect(down.status.state).toBe('retrying');
    expect(down.status.pending).toBe(30);
    expect(down.status.lastError?.message).toMatch(/refused/);

    await receiver.start(); // same port
    const after = commit(t, Array.from({ length: 5 }, () => makeEvent('max-recipients')));
    await until(() => receiver.messages.length === 55, 'backlog delivered');
    const ids = receiver.messages.map((m) => zStoredEvent.parse(JSON.parse(m.msg)).id);
    expect(ids).toEqual([...first, ...during, ...after].map((e) => e.id));
    expect(new Set(ids).size).toBe(55);
    await until(() => t.app.logExport.status().pending === 0, 'caught up');
    expect((await view(t)).status).toMatchObject({ state: 'connected', sent: 55, pending: 0 });

    // A crashed receiver (connections reset, not closed) and a burst while it is down.
    await receiver.stop('reset');
    await until(() => !t.app.logExport.connected, 'exporter saw the reset');
    const crash = commit(t, Array.from({ length: 40 }, () => makeEvent('binary-data')));
    await until(() => t.app.logExport.status().state === 'retrying', 'retrying');
    await receiver.start();
    await until(() => receiver.messages.length === 95, 'burst delivered after the crash');
    const all = receiver.messages.map((m) => zStoredEvent.parse(JSON.parse(m.msg)).id);
    expect(all).toEqual([...first, ...during, ...after, ...crash].map((e) => e.id));
    await until(() => t.app.logExport.status().pending === 0, 'caught up again');

    // Metrics follow.
    const metrics = await t.app.metrics.registry.metrics();
    expect(metrics).toMatch(/^smtpguard_manager_log_export_sent_total 95$/m);
    expect(metrics).toMatch(/^smtpguard_manager_log_export_pending_events 0$/m);
    expect(metrics).toMatch(/^smtpguard_manager_log_export_errors_total [1-9]\d*$/m);
  });

  it('the cursor survives a manager restart: events committed while the receiver was down are forwarded once by the next manager', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-logexp-'));
    const dbFile = join(dir, 'manager.db');
    const receiver = await new StreamReceiver().start();
    cleanups.push(() => receiver.stop());
    const t1 = await makeApp({ ...fast, dbFile });
    await configure(t1, { enabled: true, host: '127.0.0.1', port: receiver.port, transport: 'tcp', format: 'cef' });
    // Recent events: the next manager applies retention (30 days) at start-up.
    const recent = () => makeEvent('exchange-commands', { time: new Date().toISOString() });
    const a = commit(t1, Array.from({ length: 10 }, recent));
    await until(() => receiver.messages.length === 10, 'first 10');
    await until(() => t1.app.logExport.status().pending === 0, 'cursor saved');
    await receiver.stop();
    await until(() => !t1.app.logExport.connected, 'exporter saw the close');
    const b = commit(t1, Array.from({ length: 10 }, recent));
    await t1.app.close();

    await receiver.start();
    const second = await buildApp({ ...fast, dbFile, adminPassword: 'unused', log: () => {}, consoleDir: null });
    cleanups.push(() => second.close());
    await second.ready();
    await until(() => receiver.messages.length === 20, 'backlog after restart');
    const ids = receiver.messages.map((m) => Number(parseCef(m.msg).ext.externalId));
    expect(ids).toEqual([...a, ...b].map((e) => e.id));
    const { header, ext } = parseCef(receiver.messages[0]!.msg);
    expect(header.slice(0, 7)).toEqual(['0', 'smtpguard', 'smtpguard', '0.1.0', 'exchange-commands', a[0]!.attackName, '10']);
    expect(ext).toMatchObject({ src: '192.0.2.10', dst: '198.51.100.5', dpt: '25', act: 'prevent', cs2: 'XEXCH50 2 2' });
  });

  it('UDP + CEF: one datagram per event, status says best effort; the test button sends a test message', async () => {
    const receiver = await new UdpReceiver().start();
    cleanups.push(() => receiver.stop());
    const t = await app();
    await configure(t, { enabled: true, host: '127.0.0.1', port: receiver.port, transport: 'udp', format: 'cef', facility: 4 });
    const events = commit(t, Array.from({ length: 5 }, () => makeEvent('max-recipients', { detail: HOSTILE })));
    await until(() => receiver.messages.length === 5, 'five datagrams');
    expect(receiver.messages.map((m) => Number(parseCef(m.msg).ext.externalId))).toEqual(events.map((e) => e.id));
    expect(parseCef(receiver.messages[0]!.msg).ext.msg).toBe(HOSTILE);
    expect(receiver.messages[0]!.pri).toBe(4 * 8 + 4); // Medium -> warning
    expect((await view(t)).status.delivery).toBe('best-effort');

    const test = zLogExportTestResponse.parse(JSON.parse((await t.as(t.admin, { method: 'POST', url: '/api/log-export/test' })).body));
    expect(test.ok).toBe(true);
    await until(() => receiver.messages.length === 6, 'test message');
    expect(receiver.messages[5]).toMatchObject({ msgId: 'test', appName: 'smtpguard' });
    expect(parseCef(receiver.messages[5]!.msg).header[4]).toBe('test');
  });

  it('TLS with an admin-provided CA: events arrive; a receiver the CA did not sign is refused and reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-tls-'));
    const good = selfSigned(join(dir, 'good'));
    const other = selfSigned(join(dir, 'other'));
    const receiver = await new StreamReceiver({ key: good.key, cert: good.cert }).start();
    cleanups.push(() => receiver.stop());
    const t = await app();

    // Wrong CA: nothing is sent, the error names the certificate problem, the test button says so.
    await configure(t, { enabled: true, host: '127.0.0.1', port: receiver.port, transport: 'tls', format: 'json', tls: { ca: other.cert } });
    const pending = commit(t, [makeEvent('non-compliant'), makeEvent('starttls', { action: 'detect' })]);
    await until(() => t.app.logExport.status().lastError !== null, 'certificate error');
    expect(t.app.logExport.status().lastError?.message).toMatch(/certificate|self.signed/i);
    const failed = zLogExportTestResponse.parse(JSON.parse((await t.as(t.admin, { method: 'POST', url: '/api/log-export/test' })).body));
    expect(failed.ok).toBe(false);
    expect(receiver.messages).toHaveLength(0);

    // The right CA: the two pending events arrive, in order, then the test message.
    await configure(t, { enabled: true, host: '127.0.0.1', port: receiver.port, transport: 'tls', format: 'json', tls: { ca: good.cert } });
    await until(() => receiver.messages.length === 2, 'events over TLS');
    expect(receiver.messages.map((m) => JSON.parse(m.msg).id)).toEqual(pending.map((e) => e.id));
    const ok = zLogExportTestResponse.parse(JSON.parse((await t.as(t.admin, { method: 'POST', url: '/api/log-export/test' })).body));
    expect(ok).toMatchObject({ ok: true });
    await until(() => receiver.messages.length === 3, 'test message over TLS');
    expect(JSON.parse(receiver.messages[2]!.msg)).toMatchObject({ type: 'test' });
  });

  it('test button with no receiver: a clear failure, nothing thrown', async () => {
    const t = await app();
    const closed = await new StreamReceiver().start();
    const port = closed.port;
    await closed.stop();
    await configure(t, { enabled: false, host: '127.0.0.1', port, transport: 'tcp', format: 'json' });
    const res = zLogExportTestResponse.parse(JSON.parse((await t.as(t.admin, { method: 'POST', url: '/api/log-export/test' })).body));
    expect(res).toEqual({ ok: false, message: `127.0.0.1:${port} over TCP: connection refused` });
  });
});

/** A self-signed certificate for 127.0.0.1 / localhost (it is its own CA). */
function selfSigned(dir: string): { key: string; cert: string } {
  execFileSync('mkdir', ['-p', dir]);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}
