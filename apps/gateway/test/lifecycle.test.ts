import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { engineInspectorFactory, type InspectorFactory, type InspectorLike } from '../src/inspector.js';
import { PolicyError } from '../src/policy-source.js';
import { proxyV1, proxyV2 } from '../src/proxy-protocol.js';
import { startTestGateway, type TestGateway } from './harness.js';
import { LOCALHOST, RawClient, RecordingUpstream, delay, freePort, startSmtpSink, swaks, until } from './peers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
async function upstreamWith(options: ConstructorParameters<typeof RecordingUpstream>[0] = {}) {
  const upstream = await RecordingUpstream.start(options);
  cleanups.push(() => upstream.close());
  return upstream;
}
async function gatewayTo(port: number, opts: Parameters<typeof startTestGateway>[1] = {}): Promise<TestGateway> {
  const gateway = await startTestGateway(port, opts);
  cleanups.push(() => gateway.close());
  return gateway;
}

describe('upstream unavailable: the client gets 421 4.4.0, never a hang or a silent accept', () => {
  it('nothing listens upstream', async () => {
    const gateway = await gatewayTo(await freePort());
    const client = await RawClient.connect(gateway.port);
    expect(await client.reply()).toMatch(/^421 4\.4\.0 gw\.test /);
    await client.waitClosed();
    expect(gateway.gw.counters.upstreamFailures).toBe(1);
  });

  it('the upstream accepts and closes without a greeting', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, LOCALHOST, r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const gateway = await gatewayTo((server.address() as AddressInfo).port);
    const client = await RawClient.connect(gateway.port);
    expect(await client.reply()).toMatch(/^421 4\.4\.0 /);
    await client.waitClosed();
  });

  it('the upstream never greets: greeting timeout', async () => {
    const upstream = await upstreamWith({ greeting: null });
    const gateway = await gatewayTo(upstream.port, { timeouts: { greeting: 300 } });
    const client = await RawClient.connect(gateway.port);
    expect(await client.reply()).toMatch(/^421 4\.4\.0 /);
    await client.waitClosed();
    await (await upstream.connection(0)).closed;
  });
});

describe('timeouts', () => {
  it('idle command timeout: 421 4.4.2 and both sides closed', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { timeouts: { command: 300 } });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    expect(await client.command('EHLO idle.test')).toMatch(/^250/);
    expect(await client.reply()).toMatch(/^421 4\.4\.2 gw\.test /);
    await client.waitClosed();
    await (await upstream.connection(0)).closed;
    expect(gateway.gw.counters.timeouts).toBe(1);
  });

  it('data-block timeout: a stalled message is never completed upstream', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { timeouts: { command: 20_000, dataBlock: 300 } });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO slow.test');
    await client.command('MAIL FROM:<a@example.org>');
    await client.command('RCPT TO:<b@example.net>');
    expect(await client.command('DATA')).toMatch(/^354/);
    client.send('Subject: stalled\r\n\r\nhalf a message\r\n');
    expect(await client.reply()).toMatch(/^421 4\.4\.2 /);
    await client.waitClosed();
    const conn = await upstream.connection(0);
    await conn.closed;
    expect(conn.messages).toHaveLength(0);
  });

  it('activity restarts the timeouts: a client that keeps talking (commands, then a trickled message) is never cut off', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { timeouts: { command: 300, dataBlock: 300 } });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    // 6 commands 150 ms apart: 900 ms in all, three times the command timeout.
    for (let i = 0; i < 6; i++) {
      expect(await client.command(i === 0 ? 'EHLO busy.test' : 'NOOP')).toMatch(/^250/);
      await delay(150);
    }
    await client.command('MAIL FROM:<a@example.org>');
    await client.command('RCPT TO:<b@example.net>');
    expect(await client.command('DATA')).toMatch(/^354/);
    client.send('Subject: trickled\r\n\r\n');
    for (let i = 0; i < 6; i++) {
      await delay(150);
      client.send(`line ${i}\r\n`);
    }
    expect(await client.command('.')).toMatch(/^250/);
    expect(gateway.gw.counters.timeouts).toBe(0);
    // Then silence: the command timeout still ends the session.
    expect(await client.reply()).toMatch(/^421 4\.4\.2 /);
    await client.waitClosed();
    expect(gateway.gw.counters.timeouts).toBe(1);
    const conn = await upstream.connection(0);
    expect(conn.messages).toHaveLength(1);
  });

  it('data-end timeout: an upstream that never answers the end of data', async () => {
    const upstream = await upstreamWith({ noDataReply: true });
    const gateway = await gatewayTo(upstream.port, { timeouts: { command: 20_000, dataBlock: 20_000, dataEnd: 300 } });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO c.test');
    await client.command('MAIL FROM:<a@example.org>');
    await client.command('RCPT TO:<b@example.net>');
    await client.command('DATA');
    client.send('Subject: x\r\n\r\nbody\r\n.\r\n');
    expect(await client.reply()).toMatch(/^421 4\.4\.2 /);
    await client.waitClosed();
  });
});

describe('connection limit', () => {
  it('over maxConnections the client gets 421 4.3.2 and is closed; a freed slot is reused', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { maxConnections: 2 });
    const a = await RawClient.connect(gateway.port);
    const b = await RawClient.connect(gateway.port);
    expect(await a.reply()).toMatch(/^220 /);
    expect(await b.reply()).toMatch(/^220 /);
    const c = await RawClient.connect(gateway.port);
    expect(await c.reply()).toMatch(/^421 4\.3\.2 gw\.test /);
    await c.waitClosed();
    expect(gateway.gw.counters.connectionsRejected).toBe(1);
    expect(await a.command('QUIT')).toMatch(/^221/);
    await a.waitClosed();
    await until(() => gateway.gw.counters.connectionsActive === 1, 'slot freed');
    const d = await RawClient.connect(gateway.port);
    expect(await d.reply()).toMatch(/^220 /);
    b.close();
    d.close();
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, lets a session finish before the deadline', async () => {
    const upstream = await upstreamWith();
    const gateway = await startTestGateway(upstream.port);
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    const closing = gateway.gw.close(10_000);
    await delay(50);
    await expect(RawClient.connect(gateway.port)).rejects.toThrow(/ECONNREFUSED/);
    // The open session still works.
    expect(await client.command('EHLO late.test')).toMatch(/^250/);
    expect(await client.command('QUIT')).toMatch(/^221/);
    await closing;
    await client.waitClosed();
  });

  it('at the deadline every remaining session gets 421 and is closed; a message in flight is not delivered', async () => {
    const upstream = await upstreamWith();
    const gateway = await startTestGateway(upstream.port);
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO busy.test');
    await client.command('MAIL FROM:<a@example.org>');
    await client.command('RCPT TO:<b@example.net>');
    await client.command('DATA');
    client.send('Subject: in flight\r\n\r\npartial\r\n');
    // Two more, idle at different points: every open session gets its 421, not only the first.
    const greeted = await RawClient.connect(gateway.port);
    await greeted.reply();
    const helloed = await RawClient.connect(gateway.port);
    await helloed.reply();
    await helloed.command('EHLO idle.test');
    await gateway.gw.close(300);
    for (const c of [client, greeted, helloed]) {
      expect(await c.reply()).toMatch(/^421 4\.3\.2 gw\.test .*shutting down/);
      await c.waitClosed();
    }
    expect(gateway.gw.sessions()).toHaveLength(0);
    const conn = await upstream.connection(0);
    await conn.closed;
    expect(conn.messages).toHaveLength(0);
  });
});

describe('PROXY protocol on the listener', () => {
  it('v1: the real client address reaches the session (and XCLIENT)', async () => {
    const upstream = await upstreamWith({ extensions: ['PIPELINING', 'XCLIENT NAME ADDR PORT PROTO HELO'] });
    const gateway = await gatewayTo(upstream.port, { proxyProtocol: true, xclient: true });
    const client = await RawClient.connect(gateway.port, LOCALHOST, proxyV1({ address: '203.0.113.7', port: 40000 }, { address: '198.51.100.1', port: 25 }));
    expect(await client.reply()).toBe('220 recorder.test ESMTP (after XCLIENT)\r\n');
    expect(gateway.gw.sessions()[0]!.clientEndpoint).toEqual({ address: '203.0.113.7', port: 40000 });
    expect(await client.command('EHLO proxied.test')).toMatch(/^250/);
    const conn = await upstream.connection(0);
    expect(conn.xclient).toBe('ADDR=203.0.113.7 PORT=40000');
    client.close();
  });

  it('v2 (IPv6 source), with the client\'s first command in the same packet', async () => {
    const upstream = await upstreamWith({ extensions: ['PIPELINING', 'XCLIENT NAME ADDR PORT'] });
    const gateway = await gatewayTo(upstream.port, { proxyProtocol: true, xclient: true });
    const header = proxyV2({ address: '2001:db8::7', port: 51000 }, { address: '2001:db8::1', port: 25 });
    const client = await RawClient.connect(gateway.port, LOCALHOST, header);
    expect(await client.reply()).toMatch(/^220 /);
    expect(await client.command('EHLO v6.test')).toMatch(/^250/);
    const conn = await upstream.connection(0);
    expect(conn.xclient).toBe('ADDR=IPV6:2001:db8::7 PORT=51000');
    expect(gateway.gw.sessions()[0]!.clientEndpoint.address).toBe('2001:db8::7');
    expect(conn.commands.at(-1)).toBe('EHLO v6.test');
    client.close();
  });

  it('a connection without a valid header is closed without reaching the upstream', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { proxyProtocol: true });
    const client = await RawClient.connect(gateway.port, LOCALHOST, Buffer.from('EHLO direct.test\r\n'));
    await client.waitClosed();
    expect(client.received.length).toBe(0);
    expect(upstream.connections).toHaveLength(0);
    expect(gateway.gw.counters.proxyHeaderErrors).toBe(1);
  });
});

describe('XCLIENT to the upstream', () => {
  it('off by default: the upstream sees exactly the client\'s conversation', async () => {
    const upstream = await upstreamWith({ extensions: ['PIPELINING', 'XCLIENT NAME ADDR PORT'] });
    const gateway = await gatewayTo(upstream.port);
    const client = await RawClient.connect(gateway.port);
    expect(await client.reply()).toBe('220 recorder.test ESMTP\r\n');
    await client.command('EHLO plain.test');
    expect((await upstream.connection(0)).commands).toEqual(['EHLO plain.test']);
    client.close();
  });

  it('on: gateway EHLO + XCLIENT ADDR/PORT first, then the client gets the post-XCLIENT greeting and talks as usual', async () => {
    const upstream = await upstreamWith({ extensions: ['PIPELINING', 'XCLIENT NAME ADDR PORT PROTO HELO LOGIN'] });
    const gateway = await gatewayTo(upstream.port, { xclient: true });
    const client = await RawClient.connect(gateway.port);
    expect(await client.reply()).toBe('220 recorder.test ESMTP (after XCLIENT)\r\n');
    expect(await client.command('EHLO real.test')).toMatch(/^250-recorder.test/);
    const conn = await upstream.connection(0);
    expect(conn.commands).toEqual(['EHLO gw.test', `XCLIENT ADDR=127.0.0.1 PORT=${client.socket.localPort}`, 'EHLO real.test']);
    client.close();
  });

  it('on, but the upstream does not offer XCLIENT ADDR (smtp-sink): its own greeting is relayed and mail flows', async () => {
    const sink = await startSmtpSink();
    cleanups.push(() => sink.stop());
    const gateway = await gatewayTo(sink.port, { xclient: true, action: 'detect' });
    const result = await swaks(gateway.port, ['--from', 'a@example.org', '--to', 'b@example.net']);
    expect(result.code, result.stdout).toBe(0);
    expect(gateway.sink.events).toEqual([]);
  });
});

describe('backpressure', () => {
  it('a client that stops reading while the upstream sends a lot: the gateway stops reading the upstream', async () => {
    const total = 64 * 1024 * 1024;
    const upstream = await upstreamWith({ extensions: ['PIPELINING', 'STARTTLS'], afterStarttlsSend: total });
    const gateway = await gatewayTo(upstream.port);
    const socket = connect({ port: gateway.port, host: LOCALHOST });
    socket.on('error', () => {});
    await once(socket, 'connect');
    let text = '';
    const onData = (c: Buffer) => (text += c.toString('latin1'));
    socket.on('data', onData);
    socket.write('EHLO reader.test\r\n');
    await until(() => text.includes('250 STARTTLS'), 'EHLO reply');
    socket.write('STARTTLS\r\n');
    await until(() => text.includes('220 2.0.0 Ready'), 'STARTTLS reply');
    socket.pause();
    socket.removeListener('data', onData);
    const conn = await upstream.connection(0);
    // Wait until the upstream's writes stall.
    let last = -1;
    while (conn.bulkWritten !== last) {
      last = conn.bulkWritten;
      await delay(300);
    }
    expect(conn.bulkWritten).toBeLessThan(total / 2);
    const buffered = gateway.gw.sessions()[0]!.buffered();
    expect(buffered.toClient + buffered.fromServer).toBeLessThan(4 * 1024 * 1024);
    // Once the client reads again everything arrives, in order and complete.
    // Bulk bytes that came in with the 220 reply, before the pause.
    let received = Buffer.byteLength(text.slice(text.indexOf('220 2.0.0 Ready') + '220 2.0.0 Ready to start TLS\r\n'.length), 'latin1');
    let bad = 0;
    socket.on('data', (c: Buffer) => {
      received += c.length;
      for (let i = 0; i < c.length; i += 4096) if (c[i] !== 0x17) bad++;
    });
    socket.resume();
    await until(() => received >= total, 'all bytes', 30_000);
    expect(received).toBe(total);
    expect(bad).toBe(0);
    socket.destroy();
  });

  it('an upstream that stops reading while the client sends a large message: the gateway stops reading the client', async () => {
    const upstream = await upstreamWith({ stallInData: true });
    // 64 MB is over the default Maximum Email Size: lift it (0 disables the limit).
    const gateway = await gatewayTo(upstream.port, { policy: { protections: { 'max-email-size': { settings: { limit: 0 } } } } });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO writer.test');
    await client.command('MAIL FROM:<a@example.org>');
    await client.command('RCPT TO:<b@example.net>');
    expect(await client.command('DATA')).toMatch(/^354/);
    const line = Buffer.from(`${'x'.repeat(78)}\r\n`);
    const block = Buffer.concat(Array(800).fill(line)); // 64 KB
    const blocks = 1024; // 64 MB
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < blocks; i++) {
        written += block.length;
        if (!client.socket.write(block)) await once(client.socket, 'drain');
      }
      client.socket.write('.\r\n');
    })();
    let last = -1;
    while (written !== last) {
      last = written;
      await delay(300);
    }
    // Kernel socket buffers on loopback hold several MB; the gateway itself holds little.
    expect(written).toBeLessThan((blocks * block.length) / 2);
    const buffered = gateway.gw.sessions()[0]!.buffered();
    expect(buffered.toServer + buffered.fromClient).toBeLessThan(4 * 1024 * 1024);
    const conn = await upstream.connection(0);
    conn.resumeReading();
    await writer;
    expect(await client.reply(30_000)).toMatch(/^250 2\.0\.0 Ok: queued/);
    expect(conn.messages[0]!.length).toBe(blocks * block.length);
    client.close();
  });
});

describe('flow control with the engine holding input', () => {
  it('a client that sends its message before the 354 (engine pauses the client, then resumes): the message arrives intact', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { action: 'inactive' });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO eager.test');
    await client.command('MAIL FROM:<a@example.org>');
    await client.command('RCPT TO:<b@example.net>');
    const body = Buffer.from(`${'y'.repeat(78)}\r\n`.repeat(20_000)); // 1.6 MB, far over the engine's hold mark
    client.send(Buffer.concat([Buffer.from('DATA\r\n'), body, Buffer.from('.\r\n')]));
    expect(await client.reply()).toMatch(/^354 /);
    expect(await client.reply(20_000)).toMatch(/^250 2\.0\.0 Ok: queued/);
    const conn = await upstream.connection(0);
    expect(conn.messages[0]!.equals(body)).toBe(true);
    client.close();
  });

  it('a batch client (whole transaction, QUIT, then FIN at once) gets every reply and its message is delivered', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { action: 'inactive' });
    const client = await RawClient.connect(gateway.port);
    client.socket.end('EHLO batch.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: batch\r\n\r\nhi\r\n.\r\nQUIT\r\n');
    await client.waitClosed();
    const replies = client.text().split('\r\n').filter((l) => /^\d{3} /.test(l)).map((l) => l.slice(0, 3));
    expect(replies).toEqual(['220', '250', '250', '250', '354', '250', '221']);
    expect((await upstream.connection(0)).messages).toHaveLength(1);
  });

  it('a client that sends QUIT and half-closes at once still gets the 221', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port);
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO brief.test');
    client.socket.end('QUIT\r\n');
    expect(await client.reply()).toBe('221 2.0.0 Bye\r\n');
    // Closed by the gateway once the upstream is done, not by its 5 s clean-up of stale sockets.
    await client.waitClosed(2_500);
  });
});

function throwingFactory(trigger: string, where: 'fromClient' | 'create' = 'fromClient'): InspectorFactory {
  return (compiled, connection) => {
    if (where === 'create') throw new Error('injected: cannot create inspector');
    const real = engineInspectorFactory(compiled, connection);
    const inspector: InspectorLike = {
      fromClient(chunk) {
        if (Buffer.from(chunk).includes(trigger)) throw new Error('injected engine failure');
        return real.fromClient(chunk);
      },
      fromServer: (chunk) => real.fromServer(chunk),
      clientEnded: () => real.clientEnded(),
      serverEnded: () => real.serverEnded(),
      get inspecting() {
        return real.inspecting;
      },
      get phase() {
        return real.phase;
      },
    };
    return inspector;
  };
}

describe('engine errors never crash the gateway', () => {
  it('fail-closed (default): 421 and close, the offending bytes never reach the upstream', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { inspectorFactory: throwingFactory('BOOM') });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    expect(await client.command('EHLO ok.test')).toMatch(/^250/);
    client.send('NOOP BOOM\r\n');
    expect(await client.reply()).toMatch(/^421 4\.3\.0 gw\.test /);
    await client.waitClosed();
    const conn = await upstream.connection(0);
    await conn.closed;
    expect(conn.receivedText()).not.toContain('BOOM');
    expect(gateway.gw.counters.engineErrors).toBe(1);
    // The gateway still serves new connections.
    const next = await RawClient.connect(gateway.port);
    expect(await next.reply()).toMatch(/^220 /);
    next.close();
  });

  it('fail-closed when the inspector cannot even be created', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { inspectorFactory: throwingFactory('', 'create') });
    const client = await RawClient.connect(gateway.port);
    expect(await client.reply()).toMatch(/^421 4\.3\.0 /);
    await client.waitClosed();
  });

  it('fail-open: the session goes on uninspected and the bytes pass through', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { inspectorFactory: throwingFactory('BOOM'), failMode: 'open' });
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    await client.command('EHLO ok.test');
    expect(await client.command('NOOP BOOM')).toBe('250 2.0.0 Ok\r\n');
    expect(await client.command('MAIL FROM:<a@example.org>')).toMatch(/^250/);
    expect(await client.command('QUIT')).toMatch(/^221/);
    await client.waitClosed();
    const conn = await upstream.connection(0);
    expect(conn.commands).toEqual(['EHLO ok.test', 'NOOP BOOM', 'MAIL FROM:<a@example.org>', 'QUIT']);
    expect(gateway.gw.counters.engineErrors).toBe(1);
  });
});

describe('policy swap at runtime', () => {
  it('new connections get the new policy, open ones keep theirs; a bad policy is refused naming the field', async () => {
    const upstream = await upstreamWith();
    const seen: unknown[] = [];
    const gateway = await gatewayTo(upstream.port, {
      inspectorFactory: (compiled, connection) => {
        seen.push(compiled);
        return engineInspectorFactory(compiled, connection);
      },
    });
    const a = await RawClient.connect(gateway.port);
    await a.reply();
    expect(() => gateway.gw.setPolicy({ protections: { 'max-recipients': { settings: { limit: -1 } } } })).toThrow(PolicyError);
    expect(() => gateway.gw.setPolicy({ protections: { 'max-recipients': { settings: { limit: -1 } } } })).toThrow(/protections\.max-recipients\.settings\.limit/);
    const installed = gateway.gw.setPolicy({ revision: 7, protections: { 'max-recipients': { settings: { limit: 5 } } } });
    expect(installed.revision).toBe(7);
    const b = await RawClient.connect(gateway.port);
    await b.reply();
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(installed.compiled);
    expect(seen[0]).not.toBe(installed.compiled);
    a.close();
    b.close();
  });
});

describe('listener', () => {
  it('listens on IPv6 (::1)', async () => {
    const upstream = await upstreamWith();
    const gateway = await gatewayTo(upstream.port, { listen: { host: '::1', port: 0 } });
    expect(gateway.gw.address.host).toBe('::1');
    const client = await RawClient.connect(gateway.port, '::1');
    expect(await client.reply()).toMatch(/^220 /);
    expect(gateway.gw.sessions()[0]!.clientEndpoint.address).toBe('::1');
    client.close();
  });
});
