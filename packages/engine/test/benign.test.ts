import { describe, expect, it } from 'vitest';
import { HELLO, ids, policyWith, run, sent } from './harness.js';

/**
 * Real-world shapes that must pass every protection in Prevent without an event and
 * byte for byte (EDGE_CASES.md: "a gateway must pass every legal case untouched").
 * Only STARTTLS masking changes the EHLO reply, so these servers do not offer it.
 */
const EHLO = HELLO.replace('S: 250-STARTTLS\n', '');
const envelope = (from: string, ...rcpts: string[]) =>
  `C: MAIL FROM:${from}\n${rcpts.map((r) => `C: RCPT TO:${r}\n`).join('')}S: 250 ok\n${rcpts.map(() => 'S: 250 ok\n').join('')}`;

const cases: Record<string, string> = {
  'pipelined envelope, DATA, two messages with RSET between': `${EHLO}${envelope('<a@example.org>', '<b@example.com>', '<c@example.com>')}C: DATA
S: 354 go
C: Subject: one
C:
C: body
C: .
S: 250 queued
C: RSET
C: MAIL FROM:<a@example.org>
C: RCPT TO:<d@example.com>
S: 250 ok
S: 250 ok
S: 250 ok
C: DATA
S: 354 go
C: Subject: two
C:
C: ..dot-stuffed line
C: .
S: 250 queued
C: QUIT
S: 221 bye
`,
  'null sender bounce, postmaster recipient, source route, quoted local parts': `${EHLO}${envelope(
    '<>',
    '<postmaster>',
    '<@relay1.example,@relay2.example:joe@example.com>',
    '<"Fred Bloggs"@example.com>',
    // RFC 3696's example; in the transcript every backslash is written twice.
    String.raw`<"very.(),:;<>[]\\".VERY.\\"very@\\\\ \\"very\\".unusual"@strange.example.com>`,
    '<""@example.com>',
  )}C: QUIT
S: 221 bye
`,
  'address literals, odd but legal atext, DSN and long subaddress': `${EHLO}${envelope(
    '<user@[192.0.2.1]> BODY=8BITMIME RET=HDRS ENVID=ab+2Bcd SIZE=1000',
    '<user@[IPv6:2001:db8::1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@example.com',
    '<user@[IPv6:::ffff:192.0.2.1]>',
    "<customer/department=shipping@example.com>",
    '<!def!xyz%abc@example.com>',
    `<anne+${'tag'.repeat(40)}@example.com>`,
  )}C: QUIT
S: 221 bye
`,
  'SMTPUTF8 addresses': `${EHLO}${envelope('<\u00e9l\u00e8ve@\u00e9cole.example> SMTPUTF8', '<\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a>', '<\u0434\u0436\u0430\u0432\u0430@\u0440\u0444.example>')}C: QUIT
S: 221 bye
`,
  'AUTH PLAIN with initial response, AUTH LOGIN exchange': `${EHLO}C: AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=
S: 235 2.7.0 Authentication successful
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: dXNlcg==
S: 334 UGFzc3dvcmQ6
C: cGFzc3dvcmQ=
S: 503 5.5.1 Error: already authenticated
C: AUTH PLAIN
S: 334
C: *
S: 501 5.7.0 Authentication aborted
C: QUIT
S: 221 bye
`,
  'BDAT chunks with binary and a fake terminator inside, BDAT 0 LAST, then DATA': `${EHLO}${envelope('<a@example.org> BODY=BINARYMIME', '<b@example.com>')}C> BDAT 12\\r\\n\\x00\\r\\n.\\r\\nQUIT\\r\\n
C> BDAT 0 LAST\\r\\n
S: 250 2.0.0 12 octets received
S: 250 2.0.0 Message accepted
${envelope('<a@example.org>', '<b@example.com>')}C: DATA
S: 354 go
C: hello
C: .
S: 250 ok
`,
  'long but legal lines: 512-byte EHLO and 1000-byte body lines': `S: 220 mx
C: EHLO ${'h'.repeat(512 - 7)}
S: 250-mx
S: 250 PIPELINING
${envelope('<a@example.org>', '<b@example.com>')}C: DATA
S: 354 go
C: ${'x'.repeat(998)}
C: ${'y'.repeat(998)}
C: .
S: 250 ok
`,
  'multi-line replies with digits in the text, 421 mid-session': `S: 220-mx.example.com ESMTP
S: 220-250 is not a reply here
S: 220 ok
C: HELO client.example
S: 250 mx.example.com
C: VRFY root
S: 252-2.1.5 Cannot VRFY user,
S: 252 2.1.5 but will accept message
C: NOOP
S: 421 4.3.2 Service shutting down
`,
  'RSET, NOOP, HELP, QUIT before HELO are legal': `S: 220 mx
C: RSET
S: 250 ok
C: NOOP
S: 250 ok
C: HELP
S: 214 see RFC 5321
C: HELO c.example
S: 250 mx
C: QUIT
S: 221 bye
`,
  'a large message in 76-byte lines': `${EHLO}${envelope('<a@example.org>', '<b@example.com>')}C: DATA
S: 354 go
${Array.from({ length: 2000 }, (_, i) => `C: ${String(i).padStart(76, 'Q')}`).join('\n')}
C: .
S: 250 ok
`,
};

describe('benign conversations produce no event and pass byte for byte (every protection in Prevent)', () => {
  for (const [name, transcript] of Object.entries(cases)) {
    it(name, () => {
      const r = run(transcript, policyWith({}, 'prevent'));
      expect(r.findings.map((f) => `${f.protectionId}: ${f.detail}`)).toEqual([]);
      expect(r.toServer).toBe(sent(transcript, 'client'));
      expect(r.toClient).toBe(sent(transcript, 'server'));
      expect(r.closedClient).toBe(false);
    });
  }

  it('counts messages and matches every reply to a command', () => {
    const r = run(cases['pipelined envelope, DATA, two messages with RSET between']!, policyWith({}, 'prevent'));
    expect(r.inspector.stats).toMatchObject({ messages: 2, unmatchedReplies: 0, pendingCommands: 0 });
    expect(ids(r)).toEqual([]);
  });
});
