import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

const message = (line: string) => `${HELLO}C: MAIL FROM:<a@example.org>
S: 250 ok
C: RCPT TO:<b@example.com>
S: 250 ok
C: DATA
S: 354 go
C: Subject: t
C:
C: ${line}
C: .
S: 250 queued
`;

describe('max-data-line-length', () => {
  it('a line of exactly 1000 bytes with CRLF passes; 1001 fires', () => {
    expect(ids(modes('max-data-line-length', message('a'.repeat(998))).prevent)).toEqual([]);
    const { detect } = modes('max-data-line-length', message('a'.repeat(999)));
    expect(ids(detect)).toEqual(['max-data-line-length:detect']);
    expect(detect.findings[0]).toMatchObject({ attackName: 'SMTP Format Violation', attackInfo: 'Data line is too long' });
  });
  it('Detect passes the message untouched', () => {
    const t = message('b'.repeat(5000));
    expect(expectUntouched(modes('max-data-line-length', t).detect, t)).toBe(true);
  });
  it('Prevent: the client gets 554 5.6.0 after its end of data; the upstream never sees the terminator', () => {
    const t = message('c'.repeat(5000));
    const { prevent } = modes('max-data-line-length', t);
    expect(prevent.toClient.endsWith('354 go\r\n554 5.6.0 Message rejected: data line too long\r\n')).toBe(true);
    expect(prevent.toServer).not.toContain('\r\n.\r\n');
    expect(prevent.closedServer).toBe(true);
    expect(prevent.closedClient).toBe(false);
    expect(prevent.notices).toContainEqual(expect.objectContaining({ kind: 'message-rejected', protectionId: 'max-data-line-length' }));
  });
  it('after a refused message the gateway answers QUIT itself', () => {
    const t = message('c'.repeat(5000)).replace('S: 250 queued\n', 'C: QUIT\n');
    const { prevent } = modes('max-data-line-length', t);
    expect(prevent.toClient.endsWith('554 5.6.0 Message rejected: data line too long\r\n221 2.0.0 Bye\r\n')).toBe(true);
    expect(prevent.closedClient).toBe(true);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('max-data-line-length', message('d'.repeat(5000))).inactive)).toEqual([]);
  });
  it('the limit is a setting; bare-LF lines are measured too', () => {
    expect(ids(modes('max-data-line-length', message('e'.repeat(100)), { limit: 100 }).detect)).toEqual(['max-data-line-length:detect']);
    expect(ids(modes('max-data-line-length', message('e'.repeat(98)), { limit: 100 }).detect)).toEqual([]);
    expect(ids(modes('max-data-line-length', message(`${'f'.repeat(200)}\\n${'g'.repeat(10)}`), { limit: 150 }).detect)).toEqual([
      'max-data-line-length:detect',
    ]);
  });
  it('BDAT lines are measured across chunks, but not in a BINARYMIME message', () => {
    const chunked = (body: 'text' | 'binary') => {
      const line = 'h'.repeat(600);
      return `${HELLO}C: MAIL FROM:<a@example.org>${body === 'binary' ? ' BODY=BINARYMIME' : ''}
C: RCPT TO:<b@example.com>
C> BDAT 600\\r\\n${line}
C> BDAT 402 LAST\\r\\n${'h'.repeat(400)}\\r\\n
S: 250 ok
S: 250 ok
S: 250 ok
S: 250 ok
`;
    };
    expect(ids(modes('max-data-line-length', chunked('text')).detect)).toEqual(['max-data-line-length:detect']);
    expect(ids(modes('max-data-line-length', chunked('binary')).detect)).toEqual([]);
  });
});
