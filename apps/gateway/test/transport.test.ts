import { afterEach, describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli.js';
import { loadNativeTransport, nativeTransportError } from '../src/transport/native-binding.js';
import { startTestGateway, type TestGateway } from './harness.js';
import { RawClient, RecordingUpstream, until } from './peers.js';

const CONVERSATION = [
  'EHLO client.test',
  'MAIL FROM:<a@example.org>',
  'RCPT TO:<b@example.net>',
  'DATA',
];
const BODY = 'Subject: transports\r\n\r\nline one\r\n..leading dot\r\n\xe9\xff binary\r\n.\r\n';

/** One conversation through a gateway on `transport`: what the client and the upstream saw. */
async function converse(transport: 'native' | 'node' | undefined): Promise<{ kind: string; client: string; upstream: Buffer }> {
  const upstream = await RecordingUpstream.start();
  const gateway: TestGateway = await startTestGateway(upstream.port, transport ? { transport } : {});
  try {
    const client = await RawClient.connect(gateway.port);
    await client.reply();
    for (const line of CONVERSATION) await client.command(line);
    client.send(BODY);
    await client.reply();
    await client.command('QUIT');
    await client.waitClosed();
    const conn = await upstream.connection();
    await until(() => conn.receivedBytes > 0 && conn.commands.includes('QUIT'), 'QUIT upstream');
    return { kind: gateway.gw.transport, client: client.text(), upstream: conn.received };
  } finally {
    await gateway.close();
    await upstream.close();
  }
}

describe('transports', () => {
  const savedEnv = process.env.SMTPGUARD_TRANSPORT;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.SMTPGUARD_TRANSPORT;
    else process.env.SMTPGUARD_TRANSPORT = savedEnv;
  });

  it('the native transport is built, loads, and is the default', async () => {
    delete process.env.SMTPGUARD_TRANSPORT;
    const native = loadNativeTransport();
    expect(native, `native transport: ${nativeTransportError()} (pnpm --filter @smtpguard/gateway build compiles it)`).not.toBeNull();
    const { kind } = await converse(undefined);
    expect(kind).toBe('native');
  });

  it('node:net and the native transport relay the same conversation byte for byte', async () => {
    const viaNative = await converse('native');
    const viaNode = await converse('node');
    expect(viaNative.kind).toBe('native');
    expect(viaNode.kind).toBe('node');
    expect(viaNative.client).toMatch(/^220 [^]*\r\n250 [^]*354 [^]*250 [^]*221 [^]*\r\n$/);
    expect(viaNative.client).toBe(viaNode.client);
    expect(viaNative.upstream.equals(viaNode.upstream)).toBe(true);
    expect(viaNative.upstream.toString('latin1')).toContain('..leading dot\r\n\xe9\xff binary\r\n.\r\n');
  });

  it('SMTPGUARD_TRANSPORT=node selects node:net; a bad value is refused by name', async () => {
    process.env.SMTPGUARD_TRANSPORT = 'node';
    expect((await converse(undefined)).kind).toBe('node');
    process.env.SMTPGUARD_TRANSPORT = 'fast';
    const upstream = await RecordingUpstream.start();
    await expect(startTestGateway(upstream.port)).rejects.toThrow(/SMTPGUARD_TRANSPORT: expected native or node, got "fast"/);
    await upstream.close();
  });

  it('--transport takes native or node and names anything else', () => {
    const base = ['--upstream', '127.0.0.1:25'];
    expect(parseCli([...base, '--transport', 'node']).transport).toBe('node');
    expect(parseCli([...base, '--transport', 'native']).transport).toBe('native');
    expect(parseCli(base).transport).toBeUndefined();
    expect(() => parseCli([...base, '--transport', 'uv'])).toThrow(/--transport: expected native or node, got "uv"/);
  });
});
