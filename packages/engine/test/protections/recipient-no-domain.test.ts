import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

describe('recipient-no-domain', () => {
  const t = `${HELLO}C: MAIL FROM:<a@example.org>
C: RCPT TO:<root>
C: RCPT TO:<bob@example.com>
S: 250 ok
S: 550 5.1.1 no such user
S: 250 ok
`;
  it('Detect: RCPT TO:<root> is logged and passes', () => {
    const { detect } = modes('recipient-no-domain', t);
    expect(ids(detect)).toEqual(['recipient-no-domain:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'No recipient domain', command: 'RCPT TO:<root>' });
    expect(expectUntouched(detect, t)).toBe(true);
  });
  it('Prevent: 550 5.1.3 for that RCPT only, in its place among the server replies', () => {
    const p = `${HELLO}C: MAIL FROM:<a@example.org>\nC: RCPT TO:<root>\nC: RCPT TO:<bob@example.com>\nS: 250 ok\nS: 250 ok\n`;
    const { prevent } = modes('recipient-no-domain', p);
    expect(prevent.toServer.endsWith('MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.com>\r\n')).toBe(true);
    expect(prevent.toClient.endsWith('250 CHUNKING\r\n250 ok\r\n550 5.1.3 Recipient address must include a domain\r\n250 ok\r\n')).toBe(true);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('recipient-no-domain', t).inactive)).toEqual([]);
  });
  it('<postmaster> (any case) is allowed unless the setting says otherwise (RFC 5321 4.5.1)', () => {
    const pm = `${HELLO}C: MAIL FROM:<a@example.org>\nS: 250 ok\nC: RCPT TO:<PostMaster>\nS: 250 ok\n`;
    expect(ids(modes('recipient-no-domain', pm).prevent)).toEqual([]);
    expect(ids(modes('recipient-no-domain', pm, { allowPostmaster: false }).prevent)).toEqual(['recipient-no-domain:prevent']);
  });
  it('a source route ending in a domainless mailbox has no domain', () => {
    const r = `${HELLO}C: MAIL FROM:<a@example.org>\nS: 250 ok\nC: RCPT TO:<@relay.example:root>\nS: 250 ok\n`;
    expect(ids(modes('recipient-no-domain', r).detect)).toEqual(['recipient-no-domain:detect']);
  });
});
