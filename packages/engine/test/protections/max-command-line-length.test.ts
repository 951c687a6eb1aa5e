import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes, run, only } from '../harness.js';

const helo = (length: number) => `S: 220 mx\nC: HELO ${'a'.repeat(length - 7)}\nS: 250 mx\n`;

describe('max-command-line-length', () => {
  it('512 bytes with CRLF pass; 513 fire', () => {
    expect(ids(modes('max-command-line-length', helo(512)).prevent)).toEqual([]);
    const { detect } = modes('max-command-line-length', helo(513));
    expect(ids(detect)).toEqual(['max-command-line-length:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Command line is too long', detail: 'HELO line of 513 bytes, limit 512' });
  });
  it('Detect passes the long line untouched', () => {
    const t = helo(5000);
    expect(expectUntouched(modes('max-command-line-length', t).detect, t)).toBe(true);
  });
  it('Prevent: 500 5.5.2, the line never reaches the server, the session goes on', () => {
    const t = `${HELLO}C: VRFY ${'b'.repeat(5000)}\nC: NOOP\nS: 250 ok\n`;
    const { prevent } = modes('max-command-line-length', t);
    expect(prevent.toServer.endsWith('EHLO client.example.org\r\nNOOP\r\n')).toBe(true);
    expect(prevent.toClient.endsWith('500 5.5.2 Line too long\r\n250 ok\r\n')).toBe(true);
    expect(prevent.findings[0]!.detail).toBe('VRFY line of over 512 bytes, limit 512');
  });
  it('Prevent: an endless line is refused as it arrives, without being buffered whole', () => {
    const r = run(`${HELLO}C> VRFY ${'c'.repeat(1000)}`, only('max-command-line-length', 'prevent'), (b, i) => (i === 2 ? [b.subarray(0, 600), b.subarray(600)] : [b]));
    expect(ids(r)).toEqual(['max-command-line-length:prevent']);
    expect(r.toServer).not.toContain('VRFY');
    const more = r.inspector.fromClient(Buffer.alloc(1 << 20, 0x63));
    expect(more.toServer).toEqual([]);
    expect(more.findings).toEqual([]);
    const end = r.inspector.fromClient(Buffer.from('\r\nNOOP\r\n'));
    expect(Buffer.concat(end.toServer).toString()).toBe('NOOP\r\n');
    expect(Buffer.concat(end.toClient).toString()).toBe('500 5.5.2 Line too long\r\n');
  });
  it('AUTH lines and SASL responses have their own limit (12288 by default)', () => {
    const blob = 'd'.repeat(2000);
    const t = `${HELLO}C: AUTH XOAUTH2 ${blob}\nS: 235 ok\n`;
    expect(ids(modes('max-command-line-length', t).prevent)).toEqual([]);
    const sasl = `${HELLO}C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: ${'e'.repeat(13000)}\nS: 535 no\n`;
    const { detect } = modes('max-command-line-length', sasl);
    expect(detect.findings.map((f) => f.detail)).toEqual(['SASL response line of 13002 bytes, limit 12288']);
    expect(detect.findings[0]!.command).toBe('(SASL response, 13002 bytes)');
  });
  it('per-verb limits are settings; 0 disables', () => {
    expect(ids(modes('max-command-line-length', helo(300), { perVerb: { HELO: 200 } }).detect)).toEqual(['max-command-line-length:detect']);
    expect(ids(modes('max-command-line-length', helo(3000), { limit: 0 }).detect)).toEqual([]);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('max-command-line-length', helo(5000)).inactive)).toEqual([]);
  });
});
