import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './harness.js';
import { RawClient, RecordingUpstream, python, smtpSource, startSmtpSink, swaks, tempDir, until, type Proc } from './peers.js';

/** Printable 8-bit-clean body lines (CRLF, no leading dots, < 1000 bytes), deterministic. */
function body(bytes: number, eightBit = false): Buffer {
  const lines: string[] = [];
  let n = 0;
  let i = 0;
  while (n < bytes) {
    const line = `line ${i++} ${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}${eightBit ? ' caf\u00e9 na\u00efve' : ''}\r\n`;
    lines.push(line);
    n += Buffer.byteLength(line, 'latin1');
  }
  return Buffer.from(lines.join(''), 'latin1');
}

describe('a clean conversation passes byte-for-byte, with no event (every protection in Detect)', () => {
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await RecordingUpstream.start();
    gateway = await startTestGateway(upstream.port, { action: 'detect' });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('relays a raw conversation exactly, both directions, and counts its bytes', async () => {
    const before = upstream.connections.length;
    const client = await RawClient.connect(gateway.port);
    const sent: Buffer[] = [];
    const send = (s: string | Buffer) => {
      const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
      sent.push(b);
      client.send(b);
    };
    expect(await client.reply()).toBe('220 recorder.test ESMTP\r\n');
    send('EHLO client.test\r\n');
    expect(await client.reply()).toMatch(/^250-recorder.test\r\n[\s\S]*250 SMTPUTF8\r\n$/);
    send('MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n');
    expect(await client.reply()).toBe('250 2.1.0 Ok\r\n');
    send('RCPT TO:<bob@example.net>\r\n');
    expect(await client.reply()).toBe('250 2.1.5 Ok\r\n');
    send('DATA\r\n');
    expect(await client.reply()).toMatch(/^354 /);
    const message = Buffer.concat([
      Buffer.from('Subject: hello\r\n\r\n..a stuffed dot line\r\nbytes \xe9\xff\x80 8-bit\r\n', 'latin1'),
      body(20_000),
    ]);
    send(Buffer.concat([message, Buffer.from('.\r\n')]));
    expect(await client.reply()).toMatch(/^250 2.0.0 Ok: queued/);
    send('QUIT\r\n');
    expect(await client.reply()).toBe('221 2.0.0 Bye\r\n');
    await client.waitClosed();

    const conn = await upstream.connection(before);
    await conn.closed;
    expect(conn.received.equals(Buffer.concat(sent))).toBe(true);
    expect(client.received.equals(conn.sent)).toBe(true);
    expect(conn.messages[0]!.equals(message)).toBe(true);
    expect(gateway.sink.events).toEqual([]);
    await until(() => gateway.gw.counters.connectionsActive === 0, 'session closed');
    const c = gateway.gw.counters.snapshot();
    expect(c.bytes.fromClient).toBeGreaterThanOrEqual(conn.received.length);
    expect(c.bytes.toServer).toBeGreaterThanOrEqual(conn.received.length);
    expect(c.bytes.toClient).toBeGreaterThanOrEqual(conn.sent.length);
    expect(c.messages.accepted).toBe(1);
    expect(c.connections.accepted).toBe(1);
  });

  it('relays a pipelined transaction (one write for MAIL, RCPTs and DATA) exactly', async () => {
    const before = upstream.connections.length;
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    expect(await client.command('EHLO client.test')).toContain('PIPELINING');
    const batch = 'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n';
    client.send(batch);
    expect(await client.reply()).toBe('250 2.1.0 Ok\r\n');
    expect(await client.reply()).toBe('250 2.1.5 Ok\r\n');
    expect(await client.reply()).toBe('250 2.1.5 Ok\r\n');
    expect(await client.reply()).toMatch(/^354 /);
    client.send('Subject: pipelined\r\n\r\nhi\r\n.\r\nQUIT\r\n');
    expect(await client.reply()).toMatch(/^250 /);
    expect(await client.reply()).toBe('221 2.0.0 Bye\r\n');
    await client.waitClosed();
    const conn = await upstream.connection(before);
    expect(conn.receivedText()).toBe(`EHLO client.test\r\n${batch}Subject: pipelined\r\n\r\nhi\r\n.\r\nQUIT\r\n`);
    expect(client.received.equals(conn.sent)).toBe(true);
    expect(gateway.sink.events).toEqual([]);
  });

  it('swaks: AUTH PLAIN, 8BITMIME body and pipelining arrive intact', async () => {
    const before = upstream.connections.length;
    const dir = tempDir();
    const data = Buffer.concat([Buffer.from('Subject: swaks 8bit\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\n', 'latin1'), body(50_000, true)]);
    writeFileSync(join(dir, 'msg.eml'), data);
    const result = await swaks(gateway.port, [
      '--from', 'alice@example.org', '--to', 'bob@example.net', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 's3cret',
      '--pipeline', '--data', `@${join(dir, 'msg.eml')}`, '--ehlo', 'swaks.test',
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const conn = await upstream.connection(before);
    await conn.closed;
    expect(conn.commands.some((c) => c.startsWith('AUTH PLAIN '))).toBe(true);
    expect(conn.commands).toContain('MAIL FROM:<alice@example.org>');
    expect(conn.messages).toHaveLength(1);
    // swaks ends DATA with "\r\n.\r\n" after the file: one extra CRLF, its own doing.
    expect(conn.messages[0]!.equals(Buffer.concat([data, Buffer.from('\r\n')]))).toBe(true);
    expect(gateway.sink.events).toEqual([]);
  });

  it('python smtplib: 40 messages on one connection and a 5 MB message arrive intact', async () => {
    const before = upstream.connections.length;
    const dir = tempDir();
    const small = body(3_000);
    const large = body(5 * 1024 * 1024, true);
    writeFileSync(join(dir, 'small.eml'), small);
    writeFileSync(join(dir, 'large.eml'), large);
    const script = `
import smtplib, sys
port, small, large = int(sys.argv[1]), open(sys.argv[2], 'rb').read(), open(sys.argv[3], 'rb').read()
s = smtplib.SMTP('127.0.0.1', port, local_hostname='py.test', timeout=30)
s.ehlo()
for i in range(40):
    s.sendmail('sender%d@example.org' % i, ['rcpt%d@example.net' % i], small)
s.sendmail('big@example.org', ['bob@example.net'], large, mail_options=['BODY=8BITMIME', 'SIZE=%d' % len(large)])
s.quit()
print('ok')
`;
    const result = await python(script, [String(gateway.port), join(dir, 'small.eml'), join(dir, 'large.eml')], 60_000);
    expect(result.stdout + result.stderr).toContain('ok');
    const conn = await upstream.connection(before);
    await conn.closed;
    expect(conn.messages).toHaveLength(41);
    for (let i = 0; i < 40; i++) expect(conn.messages[i]!.equals(small)).toBe(true);
    expect(conn.messages[40]!.equals(large)).toBe(true);
    expect(gateway.sink.events).toEqual([]);
  });

  it('binary-safe: random 8-bit bytes in a message body pass unchanged in both directions', async () => {
    const before = upstream.connections.length;
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO client.test');
    await client.command('MAIL FROM:<a@example.org> BODY=8BITMIME');
    await client.command('RCPT TO:<b@example.net>');
    expect(await client.command('DATA')).toMatch(/^354/);
    // 8-bit text lines: no NUL, no bare CR/LF, under 1000 bytes, no leading dot.
    const lines: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const raw = randomBytes(300).map((b) => (b === 0 || b === 0x0a || b === 0x0d || b === 0x2e ? 0x41 : b));
      lines.push(Buffer.concat([raw, Buffer.from('\r\n')]));
    }
    const message = Buffer.concat(lines);
    client.send(Buffer.concat([message, Buffer.from('.\r\n')]));
    expect(await client.reply()).toMatch(/^250 /);
    expect(await client.command('QUIT')).toMatch(/^221/);
    const conn = await upstream.connection(before);
    await conn.closed;
    expect(conn.messages[0]!.equals(message)).toBe(true);
    expect(gateway.sink.events).toEqual([]);
  });
});

describe("in front of Postfix's smtp-sink", () => {
  let sink: Proc & { port: number };
  let gateway: TestGateway;

  beforeAll(async () => {
    sink = await startSmtpSink();
    gateway = await startTestGateway(sink.port, { action: 'detect' });
  });
  afterAll(async () => {
    await gateway.close();
    await sink.stop();
  });

  it('smtp-source: 5 sessions x 20 messages of 10 KB each, no event, nothing lost', async () => {
    const result = await smtpSource(gateway.port, ['-s', '5', '-m', '100', '-d', '-r', '20', '-l', '10240', '-f', 'src@example.org', '-t', 'sink@example.net']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(gateway.sink.events).toEqual([]);
    await until(() => gateway.gw.counters.connectionsActive === 0, 'sessions closed');
    expect(gateway.gw.counters.connectionsAccepted).toBeGreaterThanOrEqual(5);
    expect(gateway.gw.counters.bytesToServer).toBeGreaterThan(100 * 10240);
  });

  it('swaks with pipelining and a 2 MB message through the gateway to smtp-sink', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.eml'), Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), body(2 * 1024 * 1024)]));
    const result = await swaks(gateway.port, [
      '--from', 'a@example.org', '--to', 'b@example.net', '--pipeline', '--data', `@${join(dir, 'big.eml')}`,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(gateway.sink.events).toEqual([]);
  });
});
