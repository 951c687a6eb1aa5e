import { describe, expect, it } from 'vitest';
import { HELLO, ids, modes, sent } from '../harness.js';
import { maliciousSet } from '../malicious-code/samples/malicious-set.js';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
const sample = maliciousSet().find((s) => s.verb === 'RCPT' && s.encoder === 'xor-jcp' && s.arch === 'x86')!;
const attack = `${HELLO}C: MAIL FROM:<a@example.org>\nS: 250 ok\nC: RCPT TO:${hex(sample.arg)}\nS: 550 no\n`;

describe('malicious-code', () => {
  it('Detect: shellcode in RCPT TO is logged with its signals and offsets, the line passes', () => {
    const { detect } = modes('malicious-code', attack);
    expect(ids(detect)).toEqual(['malicious-code:detect']);
    const finding = detect.findings[0]!;
    expect(finding).toMatchObject({ attackName: 'SMTP Security Violation', attackInfo: 'Malicious Code Protector' });
    expect(finding.signals!.length).toBeGreaterThan(0);
    expect(finding.detail).toMatch(/^machine code in the RCPT argument \(score \d+, medium sensitivity: /);
    expect(detect.toServer).toBe(sent(attack, 'client'));
  });

  it('Prevent: 421 and both sides closed; the upstream never gets the RCPT', () => {
    const { prevent } = modes('malicious-code', attack);
    expect(prevent.toServer).not.toContain('RCPT');
    expect(prevent.toClient.endsWith('421 4.7.0 Connection closed by security policy\r\n')).toBe(true);
    expect(prevent.closedClient && prevent.closedServer).toBe(true);
  });

  it('Inactive: nothing', () => {
    expect(ids(modes('malicious-code', attack).inactive)).toEqual([]);
  });

  it('ordinary arguments, AUTH blobs and message bodies are not code', () => {
    const benign = `${HELLO}C: AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\nS: 235 ok\nC: MAIL FROM:<\u00e9l\u00e8ve@\u00e9cole.example> SMTPUTF8\nS: 250 ok\nC: RCPT TO:<"Fred Bloggs"@[IPv6:2001:db8::1]>\nS: 250 ok\nC: DATA\nS: 354 go\nC> ${hex(sample.arg)}\\r\\n.\\r\\n\nS: 250 ok\n`;
    expect(ids(modes('malicious-code', benign, { sensitivity: 'high' }).prevent)).toEqual([]);
  });
});
