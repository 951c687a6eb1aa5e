import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

describe('binary-data', () => {
  const attack = `${HELLO}C: MAIL FROM:<a\\x01\\xff@example.org>
S: 250 ok
C: QUIT
S: 221 bye
`;
  it('Detect: a control byte in MAIL is logged, the line passes', () => {
    const { detect } = modes('binary-data', attack);
    expect(ids(detect)).toEqual(['binary-data:detect']);
    expect(detect.findings[0]).toMatchObject({ attackName: 'SMTP Format Violation', attackInfo: 'Binary data in command line detected' });
    expect(detect.findings[0]!.command).toBe('MAIL FROM:<a\\x01\\xff@example.org>');
    expect(expectUntouched(detect, attack)).toBe(true);
  });

  it('Prevent: 500 5.5.2, the command never reaches the server, the session goes on', () => {
    const t = `${HELLO}C: MAIL FROM:<a\\x01@example.org>\nC: QUIT\nS: 221 bye\n`;
    const { prevent } = modes('binary-data', t);
    expect(prevent.toServer).not.toContain('MAIL');
    expect(prevent.toServer).toContain('QUIT\r\n');
    expect(prevent.toClient).toContain('500 5.5.2 Binary data in command line rejected\r\n221 bye\r\n');
    expect(prevent.closedClient).toBe(false);
  });

  it('Inactive: nothing', () => {
    const { inactive } = modes('binary-data', attack);
    expect(ids(inactive)).toEqual([]);
    expect(expectUntouched(inactive, attack)).toBe(true);
  });

  it('UTF-8 addresses pass when the transaction uses SMTPUTF8 (RFC 6531)', () => {
    const t = `${HELLO}C: MAIL FROM:<\u00e9l\u00e8ve@\u00e9cole.example> SMTPUTF8\nS: 250 ok\nC: RCPT TO:<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>\nS: 250 ok\n`;
    expect(ids(modes('binary-data', t).prevent)).toEqual([]);
  });

  it('UTF-8 without SMTPUTF8 is binary data, and so is invalid UTF-8 with it', () => {
    const plain = `${HELLO}C: MAIL FROM:<\u00e9l\u00e8ve@example.org>\nS: 250 ok\n`;
    expect(ids(modes('binary-data', plain).detect)).toEqual(['binary-data:detect']);
    const broken = `${HELLO}C: MAIL FROM:<\\xc3\\x28@example.org> SMTPUTF8\nS: 250 ok\n`;
    expect(ids(modes('binary-data', broken).detect)).toEqual(['binary-data:detect']);
  });

  it('setting allowUtf8WithSmtputf8=false flags UTF-8 even with SMTPUTF8', () => {
    const t = `${HELLO}C: MAIL FROM:<\u00e9l\u00e8ve@example.org> SMTPUTF8\nS: 250 ok\n`;
    expect(ids(modes('binary-data', t, { allowUtf8WithSmtputf8: false }).detect)).toEqual(['binary-data:detect']);
  });

  it('TLS handshake bytes on the plaintext port are binary data', () => {
    const t = `S: 220 mx\nC> \\x16\\x03\\x01\\x00\\xa5\\x01\\x00\\x00\\xa1\\x03\\x03\\n`;
    expect(ids(modes('binary-data', t).detect)).toEqual(['binary-data:detect']);
  });
});
