import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes, sent } from '../harness.js';

const CLOSE = '421 4.7.0 Connection closed by security policy\r\n';
const DATA_OPEN = `${HELLO}C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
S: 250 ok
S: 250 ok
S: 354 go ahead
`;

describe('non-compliant', () => {
  describe('SMTP smuggling (CVE-2023-51764 family)', () => {
    // A message whose body hides a second transaction behind an end-of-data that only
    // some MTAs honour.
    const smuggle = (form: string) => `${DATA_OPEN}C> Subject: hi\\r\\n\\r\\nbody${form}MAIL FROM:<ceo@example.com>\\r\\nRCPT TO:<victim@example.com>\\r\\nDATA\\r\\n\\r\\nspoofed\\r\\n.\\r\\n
S: 250 2.0.0 queued
`;
    const forms: Record<string, string> = {
      '<LF>.<LF>': '\\n.\\n',
      '<CRLF>.<LF>': '\\r\\n.\\n',
      '<LF>.<CRLF>': '\\n.\\r\\n',
      '<CR>.<CR>': '\\r.\\r',
      '<CRLF>.<CR>': '\\r\\n.\\rX',
      '<CR>.<CRLF>': '\\r.\\r\\n',
    };
    for (const [name, form] of Object.entries(forms)) {
      it(`Prevent: ${name} inside DATA closes the connection; the upstream never sees the end of data`, () => {
        const t = smuggle(form);
        const { prevent } = modes('non-compliant', t);
        expect(ids(prevent)).toEqual(['non-compliant:prevent']);
        expect(prevent.findings[0]!.detail).toContain(name);
        expect(prevent.toServer).not.toContain('spoofed');
        expect(prevent.toServer).not.toContain('\r\n.\r\n');
        expect(prevent.toClient.endsWith(CLOSE)).toBe(true);
        expect(prevent.closedServer).toBe(true);
      });
    }
    it('Detect: logged once, bytes untouched', () => {
      const t = smuggle('\\n.\\n');
      const { detect } = modes('non-compliant', t);
      expect(ids(detect)).toEqual(['non-compliant:detect']);
      expect(expectUntouched(detect, t)).toBe(true);
    });
    it('Inactive: nothing', () => {
      const t = smuggle('\\n.\\n');
      expect(ids(modes('non-compliant', t).inactive)).toEqual([]);
    });
    it('dot-stuffed lines and dots inside lines are not ambiguous', () => {
      const t = `${DATA_OPEN}C: ..\nC: a.\nC: .hidden\nC: ...\nC: x\\r\\n\nC: .\nS: 250 ok\n`;
      expect(ids(modes('non-compliant', t).prevent)).toEqual([]);
    });
  });

  it('bare LF ending a command: Detect logs, Prevent closes with 421', () => {
    const t = `${HELLO}C> NOOP\\n\nS: 250 ok\n`;
    const { detect, prevent } = modes('non-compliant', t);
    expect(detect.findings.map((f) => f.detail)).toEqual(['command line ended by a bare LF']);
    expect(expectUntouched(detect, t)).toBe(true);
    expect(prevent.toClient.endsWith(CLOSE)).toBe(true);
    expect(prevent.toServer).not.toContain('NOOP');
  });

  it('bare CR and NUL inside a command line', () => {
    expect(modes('non-compliant', `${HELLO}C: NOOP a\\rb\nS: 250 ok\n`).detect.findings[0]!.detail).toContain('bare CR');
    expect(modes('non-compliant', `${HELLO}C: NOOP a\\x00b\nS: 250 ok\n`).detect.findings[0]!.detail).toContain('NUL');
  });

  it('client talking before the greeting', () => {
    const t = `C: EHLO early.example\nS: 220 mx\nS: 250 mx\n`;
    const { detect, prevent } = modes('non-compliant', t);
    expect(detect.findings.map((f) => f.detail)).toEqual(['client sent data before the server greeting']);
    expect(detect.toServer).toBe('EHLO early.example\r\n');
    expect(prevent.toClient).toBe(CLOSE);
    expect(prevent.toServer).toBe('');
  });

  it('pipelining without PIPELINING advertised', () => {
    const t = `S: 220 mx\nC: HELO c.example\nS: 250 mx\nC: MAIL FROM:<a@b.example>\nC: RCPT TO:<c@d.example>\nS: 250 ok\nS: 250 ok\n`;
    expect(modes('non-compliant', t).detect.findings.map((f) => f.detail)).toEqual([
      'command pipelined although the server did not advertise PIPELINING',
    ]);
  });

  it('PIPELINING is the EHLO keyword in any case, never a longer word, and HELO forgets it', () => {
    const pipelined = 'C: MAIL FROM:<a@b.example>\nC: RCPT TO:<c@d.example>\nS: 250 ok\nS: 250 ok\n';
    const findings = (ehloReply: string, hello = 'EHLO') =>
      modes('non-compliant', `S: 220 mx\nC: ${hello} c.example\n${ehloReply}${pipelined}`).detect.findings.map((f) => f.detail);
    const violation = ['command pipelined although the server did not advertise PIPELINING'];
    expect(findings('S: 250-mx\nS: 250-pipelining\nS: 250 SIZE 1000\n')).toEqual([]);
    expect(findings('S: 250-mx\nS: 250 PipeLining extra words\n')).toEqual([]);
    expect(findings('S: 250-mx\nS: 250 PIPELININGX\n')).toEqual(violation);
    expect(findings('S: 250-mx\nS: 250 PIPELINING=yes\n')).toEqual(violation);
    expect(findings('S: 250-mx\nS: 250 X-PIPELINING\n')).toEqual(violation);
    // The keyword on the first line is the server's name, not a capability.
    expect(findings('S: 250 PIPELINING\n')).toEqual(violation);
    // HELO after an EHLO that advertised it: RFC 5321 4.1.4, the session starts over without extensions.
    const ehloThenHelo = 'S: 250-mx\nS: 250 PIPELINING\nC: HELO c.example\nS: 250 mx\n';
    expect(findings(ehloThenHelo)).toEqual(violation);
  });

  it('a command sent behind EHLO, or data behind DATA before 354 (RFC 2920 3.1)', () => {
    const afterEhlo = `S: 220 mx\nC: EHLO c.example\nC: MAIL FROM:<a@b.example>\nS: 250-mx\nS: 250 PIPELINING\nS: 250 ok\n`;
    expect(modes('non-compliant', afterEhlo).detect.findings.map((f) => f.detail)).toEqual(['command sent before the reply to EHLO (RFC 2920 3.1)']);
    const body = `${HELLO}C: MAIL FROM:<a@b.example>\nC: RCPT TO:<c@d.example>\nC: DATA\nC: Subject: early\nS: 250 ok\nS: 250 ok\nS: 354 go\n`;
    const { detect, prevent } = modes('non-compliant', body);
    expect(detect.findings.map((f) => f.detail)).toEqual(['message data sent before the 354 reply']);
    expect(prevent.toServer).not.toContain('Subject');
    expect(prevent.toClient.endsWith(CLOSE)).toBe(true);
  });

  it('plaintext pipelined after STARTTLS (CVE-2011-0411) is never forwarded in Prevent', () => {
    const t = `${HELLO}C: STARTTLS\nC: RSET\nS: 220 ready\n`;
    const { detect, prevent } = modes('non-compliant', t);
    expect(detect.findings.map((f) => f.detail)).toEqual(['plaintext sent after STARTTLS before the server answered (CVE-2011-0411)']);
    expect(detect.toServer).toBe(sent(t, 'client'));
    expect(prevent.toServer.endsWith('STARTTLS\r\n')).toBe(true);
    expect(prevent.toClient.endsWith(CLOSE)).toBe(true);
  });

  it('malformed MAIL/RCPT syntax; tolerated forms pass unless strict', () => {
    const bad = `${HELLO}C: MAIL FROM:<a@b.example\nS: 501 bad\n`;
    expect(modes('non-compliant', bad).detect.findings[0]!.detail).toBe('malformed MAIL: unbalanced "<" in path');
    const tolerated = `${HELLO}C: MAIL FROM: a@b.example\nS: 250 ok\n`;
    expect(ids(modes('non-compliant', tolerated).prevent)).toEqual([]);
    expect(modes('non-compliant', tolerated, { strictAddressSyntax: true }).detect.findings[0]!.detail).toBe(
      'MAIL outside strict RFC 5321 syntax: space-after-colon, no-angle-brackets',
    );
  });

  it('each check can be switched off', () => {
    const t = `${HELLO}C> NOOP\\n\nS: 250 ok\n`;
    expect(ids(modes('non-compliant', t, { bareLineEndingsInCommands: false }).prevent)).toEqual([]);
  });
});
