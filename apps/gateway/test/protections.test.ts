import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG, zInspectionEvent, type Action, type ProtectionId } from '@smtpguard/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { only, startTestGateway, type TestGateway } from './harness.js';
import { RawClient, RecordingUpstream, python, swaks, tempDir, until, type UpstreamConnection, type UpstreamOptions } from './peers.js';

/**
 * For every protection of the catalog (malicious-code is wired later): Detect logs and
 * passes, Prevent logs and blocks (the client gets the catalog's reply, the upstream never
 * receives the blocked command or the end of a blocked message), Inactive does nothing.
 * Each scenario runs with only its protection active, through the gateway, to a recording
 * upstream.
 */

type Step = [send: string | Buffer, replies: number];

interface Scenario {
  id: Exclude<ProtectionId, 'malicious-code'>;
  settings?: Record<string, unknown>;
  upstream?: UpstreamOptions;
  /** Conversation before the offending input (each step: bytes, then how many replies to read). */
  before: Step[];
  /** The offending input and how many replies it gets when it is let through. */
  attack: Step;
  /** Whether the offending input (or the end of the blocked message) reached the upstream. */
  reached(conn: UpstreamConnection): boolean;
  /** What the client gets when it is let through (Detect / Inactive). */
  passReply: RegExp;
  /** Prevent: a reply the client must see before the catalog's reply (max-bad-commands). */
  preventAlsoSees?: RegExp;
}

const EHLO: Step = ['EHLO client.test\r\n', 1];
const MAIL: Step = ['MAIL FROM:<alice@example.org>\r\n', 1];
const RCPT: Step = ['RCPT TO:<bob@example.net>\r\n', 1];
const DATA: Step = ['DATA\r\n', 1];
const ENDED = (conn: UpstreamConnection) => conn.messages.length > 0 || conn.receivedText().includes('\r\n.\r\n');

const scenarios: Scenario[] = [
  {
    id: 'bad-server-greeting',
    upstream: { greeting: '554 5.3.2 No SMTP service here' },
    before: [],
    attack: ['', 1],
    reached: () => true,
    passReply: /^554 5\.3\.2 No SMTP service here\r\n$/,
  },
  {
    id: 'binary-data',
    before: [EHLO],
    attack: [Buffer.from('MAIL FROM:<al\x01\x02\x7fice@example.org>\r\n', 'latin1'), 1],
    reached: (c) => c.receivedText().includes('MAIL FROM:<al\x01'),
    passReply: /^250 2\.1\.0/,
  },
  {
    id: 'exchange-commands',
    upstream: { extensions: ['PIPELINING', 'XEXCH50', 'ENHANCEDSTATUSCODES'] },
    before: [EHLO],
    attack: ['XEXCH50 2 2\r\n', 1],
    reached: (c) => c.commands.some((l) => l.startsWith('XEXCH50')),
    passReply: /^502 5\.5\.2/,
  },
  {
    id: 'non-compliant',
    before: [EHLO],
    attack: ['MAIL FROM:<alice@example.org>\n', 1],
    reached: (c) => c.commands.some((l) => l.startsWith('MAIL FROM')),
    passReply: /^250 2\.1\.0/,
  },
  {
    id: 'private-commands',
    before: [EHLO],
    attack: ['XFOOBAR something\r\n', 1],
    reached: (c) => c.commands.includes('XFOOBAR something'),
    passReply: /^502 5\.5\.2/,
  },
  {
    id: 'recipient-no-domain',
    before: [EHLO, MAIL],
    attack: ['RCPT TO:<bob>\r\n', 1],
    reached: (c) => c.commands.includes('RCPT TO:<bob>'),
    passReply: /^250 2\.1\.5/,
  },
  {
    id: 'starttls',
    upstream: { extensions: ['PIPELINING', 'STARTTLS', 'ENHANCEDSTATUSCODES'] },
    before: [EHLO],
    attack: ['STARTTLS\r\n', 1],
    reached: (c) => c.commands.includes('STARTTLS'),
    passReply: /^220 2\.0\.0 Ready to start TLS/,
  },
  {
    id: 'unknown-commands',
    before: [EHLO],
    attack: ['FOOBAR something\r\n', 1],
    reached: (c) => c.commands.includes('FOOBAR something'),
    passReply: /^502 5\.5\.2/,
  },
  {
    id: 'max-bad-commands',
    settings: { limit: 2 },
    before: [EHLO, ['BAD1\r\n', 1], ['BAD2\r\n', 1]],
    attack: ['BAD3\r\n', 1],
    // The third error reply itself is the trigger: the command was forwarded; what is blocked is the rest of the session.
    reached: (c) => c.commands.includes('BAD3'),
    passReply: /^502 5\.5\.2/,
    preventAlsoSees: /502 5\.5\.2 Error: command not recognized\r\n421 4\.7\.0/,
  },
  {
    id: 'max-data-line-length',
    before: [EHLO, MAIL, RCPT, DATA],
    attack: [`Subject: long line\r\n\r\n${'a'.repeat(2000)}\r\nshort\r\n.\r\n`, 1],
    reached: ENDED,
    passReply: /^250 2\.0\.0 Ok: queued/,
  },
  {
    id: 'max-email-size',
    settings: { limit: 5000 },
    before: [EHLO, MAIL, RCPT, DATA],
    attack: [`Subject: big\r\n\r\n${`${'b'.repeat(78)}\r\n`.repeat(250)}.\r\n`, 1],
    reached: ENDED,
    passReply: /^250 2\.0\.0 Ok: queued/,
  },
  {
    id: 'max-no-effect-commands',
    settings: { limit: 3 },
    before: [EHLO, ['NOOP\r\n', 1], ['RSET\r\n', 1], ['HELP\r\n', 1]],
    attack: ['NOOP\r\n', 1],
    reached: (c) => c.commands.filter((l) => l === 'NOOP').length === 2,
    passReply: /^250 2\.0\.0 Ok/,
  },
  {
    id: 'max-recipients',
    settings: { limit: 2 },
    before: [EHLO, MAIL, ['RCPT TO:<r1@example.net>\r\n', 1], ['RCPT TO:<r2@example.net>\r\n', 1]],
    attack: ['RCPT TO:<r3@example.net>\r\n', 1],
    reached: (c) => c.commands.includes('RCPT TO:<r3@example.net>'),
    passReply: /^250 2\.1\.5/,
  },
  {
    id: 'max-command-line-length',
    before: [EHLO],
    attack: [`MAIL FROM:<${'a'.repeat(600)}@example.org>\r\n`, 1],
    reached: (c) => c.receivedText().includes('a'.repeat(600)),
    passReply: /^250 2\.1\.0/,
  },
  {
    id: 'max-commands',
    settings: { limit: 3 },
    before: [EHLO, ['NOOP\r\n', 1], ['NOOP\r\n', 1]],
    attack: ['RSET\r\n', 1],
    reached: (c) => c.commands.includes('RSET'),
    passReply: /^250 2\.0\.0 Ok/,
  },
];

function replyLine(id: ProtectionId): string {
  const r = CATALOG[id].preventReply;
  return `${r.code} ${r.enhanced} ${r.text}\r\n`;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(id: ProtectionId, action: Action, settings?: Record<string, unknown>, upstreamOptions: UpstreamOptions = {}) {
  const upstream = await RecordingUpstream.start(upstreamOptions);
  const gateway = await startTestGateway(upstream.port, { policy: only(id, action, settings) });
  cleanups.push(() => upstream.close(), () => gateway.close());
  return { upstream, gateway };
}

async function play(s: Scenario, action: Action) {
  const { upstream, gateway } = await setup(s.id, action, s.settings, s.upstream);
  const client = await RawClient.connect(gateway.port);
  const greeting = s.id === 'bad-server-greeting' ? null : await client.reply();
  const conversation: string[] = [];
  for (const [bytes, n] of s.before) {
    client.send(bytes);
    for (let i = 0; i < n; i++) conversation.push(await client.reply());
  }
  const mark = client.received.length;
  if (s.attack[0].length) client.send(s.attack[0]);
  return { upstream, gateway, client, greeting, conversation, mark };
}

/** The client's bytes after `mark`, once `done` holds. */
async function afterAttack(client: RawClient, mark: number, done: () => boolean): Promise<string> {
  await until(done, `the reply to the attack; got ${JSON.stringify(client.text().slice(mark))}`);
  return client.received.subarray(mark).toString('latin1');
}

function eventsOf(gateway: TestGateway) {
  return gateway.sink.events.map((e) => ({ protectionId: e.protectionId, action: e.action }));
}

describe.each(scenarios)('$id', (s) => {
  const scope = CATALOG[s.id].preventReply.scope;

  it('Prevent: logs, blocks, and the client gets the catalog reply', async () => {
    const { upstream, gateway, client, conversation, mark } = await play(s, 'prevent');
    const expected = replyLine(s.id);
    const got = await afterAttack(client, mark, () => client.text().slice(mark).includes(expected));
    if (s.preventAlsoSees) expect(got).toMatch(s.preventAlsoSees);
    else expect(got.startsWith(expected), got).toBe(true);
    if (scope === 'close') {
      await client.waitClosed();
      const conn = await upstream.connection(0);
      await conn.closed;
    } else {
      // The session goes on: the client can still talk and end politely.
      await client.reply();
      client.send('QUIT\r\n');
      expect(await client.reply()).toMatch(/^221 /);
    }
    await until(() => gateway.sink.events.length > 0, 'the event');
    expect(eventsOf(gateway)).toContainEqual({ protectionId: s.id, action: 'prevent' });
    expect(gateway.sink.events.every((e) => e.protectionId === s.id)).toBe(true);
    if (s.id !== 'bad-server-greeting' && s.id !== 'max-bad-commands') {
      const conn = await upstream.connection(0);
      expect(s.reached(conn)).toBe(false);
    }
    if (s.id === 'exchange-commands') expect(conversation[0]).not.toMatch(/XEXCH50/);
    if (s.id === 'starttls') expect(conversation[0]).not.toMatch(/STARTTLS/);
    if (s.id === 'bad-server-greeting') expect(client.text()).not.toContain('554');
  });

  it('Detect: logs and passes the conversation unchanged', async () => {
    const { upstream, gateway, client, conversation, mark } = await play(s, 'detect');
    const got = await afterAttack(client, mark, () => s.passReply.test(client.text().slice(mark)));
    expect(got).toMatch(s.passReply);
    await until(() => gateway.sink.events.length > 0, 'the event');
    expect(eventsOf(gateway)).toContainEqual({ protectionId: s.id, action: 'detect' });
    expect(gateway.sink.events.every((e) => e.action === 'detect')).toBe(true);
    const conn = await upstream.connection(0);
    await until(() => s.reached(conn), 'the offending input upstream');
    // Byte-for-byte both ways.
    client.close();
    await conn.closed;
    expect(client.received.equals(conn.sent)).toBe(true);
    if (s.id === 'exchange-commands') expect(conversation[0]).toMatch(/XEXCH50/);
    if (s.id === 'starttls') expect(conversation[0]).toMatch(/STARTTLS/);
    // Every event is a well-formed tracker-log entry.
    for (const event of gateway.sink.events) {
      expect(() => zInspectionEvent.parse(event)).not.toThrow();
      expect(event.attackName).toBe(CATALOG[s.id].attackName);
      expect(event.attackInfo).toBe(CATALOG[s.id].attackInfo);
      expect(event.client.address).toBe('127.0.0.1');
      expect(event.server).toEqual({ address: '127.0.0.1', port: upstream.port });
      expect(event.gateway).toBe('gw.test');
    }
    expect(gateway.gw.counters.snapshot().events[s.id]?.detect).toBeGreaterThan(0);
  });

  it('Inactive: no event, conversation unchanged', async () => {
    const { upstream, gateway, client, mark } = await play(s, 'inactive');
    const got = await afterAttack(client, mark, () => s.passReply.test(client.text().slice(mark)));
    expect(got).toMatch(s.passReply);
    const conn = await upstream.connection(0);
    await until(() => s.reached(conn), 'the offending input upstream');
    client.close();
    await conn.closed;
    expect(client.received.equals(conn.sent)).toBe(true);
    expect(gateway.sink.events).toEqual([]);
  });
});

describe('protections with real clients', () => {
  it('swaks: a recipient without a domain is refused with 550 5.1.3 (Prevent), the good one delivered', async () => {
    const { upstream, gateway } = await setup('recipient-no-domain', 'prevent');
    const result = await swaks(gateway.port, ['--from', 'a@example.org', '--to', 'bob,carol@example.net']);
    expect(result.stdout).toContain('550 5.1.3 Recipient address must include a domain');
    const conn = await upstream.connection(0);
    await conn.closed;
    expect(conn.commands).toContain('RCPT TO:<carol@example.net>');
    expect(conn.commands).not.toContain('RCPT TO:<bob>');
    expect(conn.messages).toHaveLength(1);
    expect(eventsOf(gateway)).toEqual([{ protectionId: 'recipient-no-domain', action: 'prevent' }]);
  });

  it('python smtplib: a message over Maximum Email Size is refused 552 5.3.4 and never completed upstream', async () => {
    const { upstream, gateway } = await setup('max-email-size', 'prevent', { limit: 100_000, checkSizeParameter: false });
    const dir = tempDir();
    writeFileSync(join(dir, 'big.eml'), `Subject: big\r\n\r\n${`${'z'.repeat(98)}\r\n`.repeat(3000)}`);
    const script = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
try:
    s.sendmail('a@example.org', ['b@example.net'], open(sys.argv[2], 'rb').read())
    print('accepted')
except smtplib.SMTPDataError as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
try:
    s.quit()
except Exception:
    pass
`;
    const result = await python(script, [String(gateway.port), join(dir, 'big.eml')]);
    expect(result.stdout, result.stderr).toContain('refused 552 5.3.4 Message size exceeds fixed maximum message size');
    const first = await upstream.connection(0);
    await first.closed;
    expect(first.messages).toHaveLength(0);
    expect(eventsOf(gateway)[0]).toEqual({ protectionId: 'max-email-size', action: 'prevent' });
  });

  it('python smtplib: recipients over Maximum Number of Recipients get 452 4.5.3, the first ones are delivered', async () => {
    const { upstream, gateway } = await setup('max-recipients', 'prevent', { limit: 3 });
    const script = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
refused = s.sendmail('a@example.org', ['r%d@example.net' % i for i in range(5)], b'Subject: many\\r\\n\\r\\nhi\\r\\n')
print(sorted((k, v[0]) for k, v in refused.items()))
s.quit()
`;
    const result = await python(script, [String(gateway.port)]);
    expect(result.stdout, result.stderr).toContain("[('r3@example.net', 452), ('r4@example.net', 452)]");
    const conn = await upstream.connection(0);
    await conn.closed;
    // smtplib writes verbs in lower case.
    expect(conn.commands.filter((c) => /^rcpt /i.test(c))).toEqual(['rcpt TO:<r0@example.net>', 'rcpt TO:<r1@example.net>', 'rcpt TO:<r2@example.net>']);
    expect(conn.messages).toHaveLength(1);
    expect(eventsOf(gateway)).toEqual([
      { protectionId: 'max-recipients', action: 'prevent' },
      { protectionId: 'max-recipients', action: 'prevent' },
    ]);
  });
});
