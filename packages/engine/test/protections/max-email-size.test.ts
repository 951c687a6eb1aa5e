import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

const body = (bytes: number) => {
  const lines: string[] = [];
  for (let left = bytes; left > 0; left -= 78) lines.push(`C: ${'x'.repeat(Math.min(76, Math.max(0, left - 2)))}`);
  return lines.join('\n');
};
const message = (bytes: number, mailParams = '') => `${HELLO}C: MAIL FROM:<a@example.org>${mailParams}
S: 250 ok
C: RCPT TO:<b@example.com>
S: 250 ok
C: DATA
S: 354 go
${body(bytes)}
C: .
S: 250 queued
`;

describe('max-email-size', () => {
  it('a body at the limit passes, one over fires (size counted after unstuffing)', () => {
    expect(ids(modes('max-email-size', message(780), { limit: 780 }).prevent)).toEqual([]);
    const { detect } = modes('max-email-size', message(858), { limit: 780 });
    expect(ids(detect)).toEqual(['max-email-size:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Email is too long' });
  });
  it('Detect passes untouched', () => {
    const t = message(2000);
    expect(expectUntouched(modes('max-email-size', t, { limit: 1000 }).detect, t)).toBe(true);
  });
  it('Prevent: 552 5.3.4 once the client ends the data, upstream aborted before the terminator', () => {
    const { prevent } = modes('max-email-size', message(5000), { limit: 1000 });
    expect(prevent.toClient.endsWith('552 5.3.4 Message size exceeds fixed maximum message size\r\n')).toBe(true);
    expect(prevent.toServer.length).toBeLessThan(1500);
    expect(prevent.toServer).not.toContain('\r\n.\r\n');
    expect(prevent.closedServer).toBe(true);
  });
  it('SIZE= on MAIL over the limit is refused at MAIL', () => {
    const t = `${HELLO}C: MAIL FROM:<a@example.org> SIZE=20000000\nC: QUIT\nS: 221 bye\n`;
    const { prevent, detect } = modes('max-email-size', t);
    expect(ids(detect)).toEqual(['max-email-size:detect']);
    expect(prevent.toClient).toContain('552 5.3.4 Message size exceeds fixed maximum message size\r\n221 bye\r\n');
    expect(prevent.toServer).not.toContain('MAIL');
    expect(ids(modes('max-email-size', t, { checkSizeParameter: false }).detect)).toEqual([]);
  });
  it('BDAT chunks are summed', () => {
    const t = `${HELLO}C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C> BDAT 600\\r\\n${'y'.repeat(600)}
C> BDAT 600 LAST\\r\\n${'y'.repeat(600)}
S: 250 ok
S: 250 ok
S: 250 ok
S: 250 ok
`;
    expect(ids(modes('max-email-size', t, { limit: 1000 }).detect)).toEqual(['max-email-size:detect']);
    const { prevent } = modes('max-email-size', t, { limit: 1000 });
    // The upstream still answers what came before the refused chunk, then it is closed.
    expect(prevent.toClient.endsWith('250 CHUNKING\r\n250 ok\r\n250 ok\r\n250 ok\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n')).toBe(true);
    expect(prevent.closedServer).toBe(true);
    expect(prevent.toServer.length).toBeLessThan(1200 + 200);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('max-email-size', message(5000), { limit: 1000 }).inactive)).toEqual([]);
  });
});
