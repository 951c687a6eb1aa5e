import { describe, expect, it } from 'vitest';
import { expectUntouched, ids, modes, sent } from '../harness.js';

describe('bad-server-greeting', () => {
  const bad = `S: 554 5.7.1 no service for you
C: QUIT
S: 221 bye
`;
  it('Detect: a 554 banner is logged and passes', () => {
    const { detect } = modes('bad-server-greeting', bad);
    expect(ids(detect)).toEqual(['bad-server-greeting:detect']);
    expect(detect.findings[0]).toMatchObject({ attackName: 'SMTP Policy Violation', attackInfo: 'Server reply out of expected SMTP state', direction: 'server' });
    expect(expectUntouched(detect, bad)).toBe(true);
  });

  it('Prevent: the client gets 421 instead of the banner, both sides close', () => {
    const { prevent } = modes('bad-server-greeting', bad);
    expect(ids(prevent)).toEqual(['bad-server-greeting:prevent']);
    expect(prevent.toClient).toBe('421 4.7.0 Connection closed by security policy\r\n');
    expect(prevent.toServer).toBe('');
    expect(prevent.closedClient && prevent.closedServer).toBe(true);
  });

  it('Inactive: nothing is logged or changed', () => {
    const { inactive } = modes('bad-server-greeting', bad);
    expect(ids(inactive)).toEqual([]);
    expect(expectUntouched(inactive, bad)).toBe(true);
  });

  it('a multi-line 220 banner is good', () => {
    const t = `S: 220-mx.example.com ESMTP\nS: 220 welcome\nC: QUIT\nS: 221 bye\n`;
    expect(ids(modes('bad-server-greeting', t).prevent)).toEqual([]);
  });

  it('a later line that is not an SMTP reply counts', () => {
    const t = `S: 220 mx\nC: NOOP\nS: HTTP/1.1 400 Bad Request\n`;
    const { detect, prevent } = modes('bad-server-greeting', t);
    expect(ids(detect)).toEqual(['bad-server-greeting:detect']);
    expect(detect.toClient).toBe(sent(t, 'server'));
    expect(prevent.toClient).toBe('220 mx\r\n421 4.7.0 Connection closed by security policy\r\n');
  });

  it('a reply with no command pending is out of state, except 421', () => {
    expect(ids(modes('bad-server-greeting', `S: 220 mx\nS: 250 surprise\n`).detect)).toEqual(['bad-server-greeting:detect']);
    expect(ids(modes('bad-server-greeting', `S: 220 mx\nS: 421 shutting down\n`).detect)).toEqual([]);
  });
});
