import { describe, expect, it } from 'vitest';
import { expectUntouched, ids, modes } from '../harness.js';

const EXCHANGE_HELLO = `S: 220 mail.example.com Microsoft ESMTP MAIL Service ready
C: EHLO attacker.example
S: 250-mail.example.com Hello
S: 250-PIPELINING
S: 250-X-EXPS GSSAPI NTLM
S: 250-XEXCH50
S: 250 X-LINK2STATE
`;

describe('exchange-commands', () => {
  const probe = `${EXCHANGE_HELLO}C: XEXCH50 2 2\nS: 354 Send binary data\n`;

  it('Detect: XEXCH50 is logged and passes; the EHLO reply is untouched', () => {
    const { detect } = modes('exchange-commands', probe);
    expect(ids(detect)).toEqual(['exchange-commands:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Illegal Microsoft Exchange Server command', command: 'XEXCH50 2 2' });
    expect(expectUntouched(detect, probe)).toBe(true);
  });

  it('Prevent: the verbs vanish from EHLO (last line re-terminated) and XEXCH50 gets 500 5.5.1', () => {
    const { prevent } = modes('exchange-commands', `${EXCHANGE_HELLO}C: XEXCH50 2 2\n`);
    expect(prevent.toClient).toBe(
      '220 mail.example.com Microsoft ESMTP MAIL Service ready\r\n250-mail.example.com Hello\r\n250 PIPELINING\r\n500 5.5.1 Command not recognized\r\n',
    );
    expect(prevent.toServer).toBe('EHLO attacker.example\r\n');
  });

  it('Inactive: nothing', () => {
    const { inactive } = modes('exchange-commands', probe);
    expect(ids(inactive)).toEqual([]);
    expect(expectUntouched(inactive, probe)).toBe(true);
  });

  it('X-LINK2STATE chunks (MS05-021 shape) are stopped', () => {
    const t = `${EXCHANGE_HELLO}C: X-LINK2STATE CHUNK=${'A'.repeat(300)}\n`;
    const { prevent } = modes('exchange-commands', t);
    expect(ids(prevent)).toEqual(['exchange-commands:prevent']);
    expect(prevent.toServer).not.toContain('X-LINK2STATE CHUNK');
  });

  it('Detect: after "354 Send binary data" the XEXCH50 payload is opaque, not parsed as commands', () => {
    const t = `${EXCHANGE_HELLO}C: XEXCH50 6 2\nS: 354 Send binary data\nC> \\x00\\x01\\x02\\r\\n\\xff\nC: NOOP\nS: 250 ok\nS: 250 ok\n`;
    const r = modes('exchange-commands', t).detect;
    expect(ids(r)).toEqual(['exchange-commands:detect']);
    expect(r.inspector.stats.commands).toBe(3);
  });

  it('maskInEhlo=false keeps the EHLO reply intact in Prevent', () => {
    const { prevent } = modes('exchange-commands', probe, { maskInEhlo: false });
    expect(prevent.toClient).toContain('250 X-LINK2STATE\r\n');
  });
});
