import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synth } from '@smtpguard/capture';
import { replayCapture, replayTranscript, runCli } from '../src/index.js';

const CORPUS = new URL('../../../fixtures/corpus/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'inspect-test-'));

function cli(args: string[], opts: { tty?: boolean; cwd?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCli(args, {
    env: { INIT_CWD: opts.cwd ?? dir },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: opts.tty ?? false,
  });
  const json = opts.tty ? [] : out.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, out, err, json };
}

const LONG = `# a hand-written case
S: 220 mx.example.com ESMTP
C: EHLO ${'x'.repeat(600)}
S: 500 5.5.2 line too long
C: QUIT
S: 221 bye
`;
writeFileSync(join(dir, 'long.txt'), LONG);

describe('pnpm inspect', () => {
  it('replays a transcript: one JSON line per event, a connection summary, a closing summary', () => {
    const { code, json } = cli(['long.txt']);
    expect(code).toBe(0);
    expect(json.map((j) => j.type)).toEqual(['finding', 'connection', 'summary']);
    expect(json[0]).toMatchObject({ protectionId: 'max-command-line-length', action: 'prevent', direction: 'client', streamOffset: 0, connection: 1 });
    expect(json[1]).toMatchObject({ type: 'connection', commands: 2, replies: 3, unmatchedReplies: 0, findings: { prevent: 1, detect: 0 } });
    expect(json[1]!.firstPrevent).toMatchObject({ protectionId: 'max-command-line-length', direction: 'client', streamOffset: 0 });
    expect(json[2]).toMatchObject({ type: 'summary', kind: 'transcript', smtpConnections: 1, totals: { findings: 1, prevent: 1 } });
  });

  it('--default-action detect reports the same finding as detect', () => {
    const { json } = cli(['long.txt', '--default-action', 'detect']);
    expect(json[0]).toMatchObject({ protectionId: 'max-command-line-length', action: 'detect' });
  });

  it('--policy: a protection set inactive does not fire; exceptions apply to gateway "replay"', () => {
    writeFileSync(join(dir, 'off.json'), JSON.stringify({ protections: { 'max-command-line-length': { action: 'inactive' } } }));
    expect(cli(['long.txt', '--policy', 'off.json']).json.filter((j) => j.type === 'finding')).toEqual([]);
    writeFileSync(join(dir, 'exc.json'), JSON.stringify({ exceptions: [{ protection: '*', gateway: 'replay', action: 'detect' }] }));
    expect(cli(['long.txt', '--policy', 'exc.json']).json[0]).toMatchObject({ action: 'detect' });
  });

  it('a bad policy names the field and exits 2', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ protections: { 'max-recipients': { settings: { limit: -1 } } } }));
    const r = cli(['long.txt', '--policy', 'bad.json']);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/protections\.max-recipients\.settings\.limit/);
  });

  it('bad options exit 2 with usage', () => {
    expect(cli([]).code).toBe(2);
    expect(cli(['long.txt', '--default-action', 'block']).code).toBe(2);
    expect(cli(['long.txt', '--nope']).code).toBe(2);
  });

  it('resolves FILE against INIT_CWD (where the user ran pnpm), not the package directory', () => {
    const r = cli(['suricata-verify/smtp-long-command/input.pcap'], { cwd: CORPUS });
    expect(r.code).toBe(0);
    expect(r.json.find((j) => j.type === 'finding')).toMatchObject({ protectionId: 'max-command-line-length', packet: 7 });
    expect(r.json.find((j) => j.type === 'finding')!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('a damaged capture: what was readable is replayed, the offset is reported, exit 1', () => {
    const r = cli(['suricata-verify/smtp-to-comma/10.7.29.101_49898-178.63.41.150_25.pcap'], { cwd: CORPUS });
    expect(r.code).toBe(1);
    expect(r.json.find((j) => j.type === 'error')).toMatchObject({ offset: 3695 });
    expect(r.json.find((j) => j.type === 'connection')).toMatchObject({ commands: 8 });
    expect(r.err.join('\n')).toMatch(/byte offset 3695/);
  });

  it('unreadable input: exit 2 with byte offset', () => {
    writeFileSync(join(dir, 'junk.bin'), Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
    const r = cli(['junk.bin']);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/not a pcap, pcapng or transcript.*byte offset 0/);
    writeFileSync(join(dir, 'badesc.txt'), 'S: 220 hi\nC: EHLO \\q\n');
    const t = cli(['badesc.txt']);
    expect(t.code).toBe(2);
    expect(t.err.join('\n')).toMatch(/byte offset 10: line 2/);
    const header = Buffer.from(synth.writePcap([]).subarray(0, 24));
    writeFileSync(join(dir, 'cut.pcap'), Buffer.concat([header, Buffer.alloc(7)]));
    const c = cli(['cut.pcap']);
    expect(c.code).toBe(2);
    expect(c.err.join('\n')).toMatch(/byte offset 24/);
    expect(cli(['missing.pcap']).code).toBe(2);
  });

  it('human table on a terminal: attacker bytes are escaped', () => {
    writeFileSync(join(dir, 'esc.txt'), 'S: 220 hi\nC: EHLO ok\nS: 250 ok\nC: X\\x1b[31mEVIL\\x07 now\nS: 500 no\n');
    const r = cli(['esc.txt'], { tty: true });
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/connection 1 /);
    expect(text).toMatch(/would PREVENT unknown-commands/);
    expect(text).toMatch(/\\x1b\[31mEVIL/);
    // No raw control byte at all reaches the terminal.
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(text).toMatch(/totals: \d+ findings/);
  });
});

describe('replay library', () => {
  const C = { address: '192.0.2.7', port: 50000 };
  const S = { address: '198.51.100.9', port: 25 };

  it('a prevented verdict is reported, not enacted: the recording keeps being inspected', () => {
    // Recipient 101+ would be refused by the gateway, but the recorded server accepted them
    // and the session went on: replay stays in step with what was recorded.
    const rcpts = Array.from({ length: 102 }, (_, i) => `C: RCPT TO:<u${i}@example.com>\nS: 250 ok`).join('\n--\n');
    const t = `S: 220 mx ESMTP\n--\nC: EHLO c\n--\nS: 250 ok\n--\nC: MAIL FROM:<a@example.com>\n--\nS: 250 ok\n--\n${rcpts}\n--\nC: DATA\n--\nS: 354 go\n--\nC: hi\nC: .\n--\nS: 250 queued\n--\nC: QUIT\n--\nS: 221 bye\n`;
    const r = replayTranscript(t);
    const c = r.connections[0]!;
    expect(c.protections).toEqual([{ protectionId: 'max-recipients', action: 'prevent', count: 2 }]);
    expect(c.firstPrevent).toMatchObject({ protectionId: 'max-recipients', direction: 'client' });
    expect(c.messages).toBe(1);
    expect(c.unmatchedReplies).toBe(0);
    expect(c.pendingCommands).toBe(0);
  });

  it('finds SMTP by content on an unusual port and fixes a wrong role guess', () => {
    const conv = new synth.TcpConversation({ address: '10.9.9.9', port: 4000 }, { address: '10.9.9.8', port: 3000 });
    // No handshake in the capture, and the server speaks first from the higher port.
    conv.server('220 odd port ESMTP\r\n').client('EHLO c\r\n').server('250 ok\r\n').client('QUIT\r\n').server('221 bye\r\n');
    const pcap = synth.writePcap(conv.packets.map((p) => ({ frame: synth.linkFrame(1, p) })));
    const r = replayCapture(pcap);
    expect(r.input.smtpConnections).toBe(1);
    const c = r.connections[0]!;
    expect(c.server).toEqual({ address: '10.9.9.8', port: 3000 });
    expect(c.smtpBy).toBe('greeting');
    expect(c.commands).toBe(2);
    expect(c.unmatchedReplies).toBe(0);
  });

  it('a TCP gap stops inspection of that connection and says where', () => {
    const conv = new synth.TcpConversation(C, S).handshake();
    conv.server('220 mx\r\n').client('EHLO c\r\n').server('250 ok\r\n');
    conv.send('client', 'MAIL FROM:<lost@example.com>\r\n', true);
    conv.server('250 ok\r\n').client(`RCPT TO:<${'y'.repeat(600)}@example.com>\r\n`).server('250 ok\r\n');
    const r = replayCapture(synth.writePcap(conv.packets.map((p) => ({ frame: synth.linkFrame(101, p) })), { linkType: 101 }));
    const c = r.connections[0]!;
    expect(c.gaps).toEqual([{ from: 'client', offset: 8, bytes: 30, reason: 'acked' }]);
    expect(c.uninspected).toMatchObject({ reason: 'gap', from: 'client', offset: 8 });
    // The over-long RCPT after the gap is not judged: inspection stopped.
    expect(c.protections).toEqual([]);
    expect(c.commands).toBe(1);
  });

  it('a mid-stream capture that does not start at a greeting or EHLO is not inspected', () => {
    const conv = new synth.TcpConversation(C, S);
    conv.client('RCPT TO:<a@b.example>\r\n').server('250 ok\r\n');
    const r = replayCapture(synth.writePcap(conv.packets.map((p) => ({ frame: synth.linkFrame(1, p) }))));
    expect(r.connections[0]!.uninspected).toMatchObject({ reason: 'mid-stream' });
    expect(r.connections[0]!.protections).toEqual([]);
  });

  it('IPv6 in pcapng over SLL2 replays like anything else', () => {
    const conv = new synth.TcpConversation({ address: '2001:db8::7', port: 50000 }, { address: '2001:db8::25', port: 587 }).handshake();
    conv.server('220 v6\r\n').client('EHLO c\r\n').server('250 ok\r\n').client('QUIT\r\n').server('221 bye\r\n').close();
    const r = replayCapture(synth.writePcapng(conv.packets.map((p) => ({ frame: synth.linkFrame(276, p) })), { interfaces: [{ linkType: 276 }] }));
    expect(r.connections[0]).toMatchObject({ client: { address: '2001:db8::7' }, commands: 2, replies: 3, unmatchedReplies: 0 });
  });
});
