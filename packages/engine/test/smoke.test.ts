import { describe, expect, it } from 'vitest';
import { ids, policyWith, run, sent } from './harness.js';

const BENIGN = `
S: 220 mx.example.com ESMTP
C: EHLO client.example.org
S: 250-mx.example.com
S: 250-PIPELINING
S: 250-SIZE 10240000
S: 250-STARTTLS
S: 250 8BITMIME
C: MAIL FROM:<alice@example.org> SIZE=120
C: RCPT TO:<bob@example.com>
C: DATA
S: 250 2.1.0 Ok
S: 250 2.1.5 Ok
S: 354 End data with <CR><LF>.<CR><LF>
C: Subject: hi
C:
C: ..leading dot
C: .
S: 250 2.0.0 Ok: queued
C: QUIT
S: 221 2.0.0 Bye
`;

describe('smoke', () => {
  it('a benign conversation passes byte for byte with every protection in Prevent', () => {
    const r = run(BENIGN, policyWith({}, 'prevent'));
    expect(ids(r)).toEqual([]);
    expect(r.toServer).toBe(sent(BENIGN, 'client'));
    expect(r.toClient).toBe(sent(BENIGN, 'server').replace('250-STARTTLS\r\n', ''));
  });
});
