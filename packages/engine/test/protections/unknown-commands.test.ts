import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

describe('unknown-commands', () => {
  const t = `${HELLO}C: DEBUG\nS: 500 5.5.1 unknown\n`;
  it('Detect: DEBUG (the 1988 sendmail hole) is logged and passes', () => {
    const { detect } = modes('unknown-commands', t);
    expect(ids(detect)).toEqual(['unknown-commands:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Unknown or unallowed command', command: 'DEBUG' });
    expect(expectUntouched(detect, t)).toBe(true);
  });
  it('Prevent: 500 5.5.1, not forwarded', () => {
    const { prevent } = modes('unknown-commands', `${HELLO}C: DEBUG\nC: NOOP\nS: 250 ok\n`);
    expect(prevent.toServer.endsWith('EHLO client.example.org\r\nNOOP\r\n')).toBe(true);
    expect(prevent.toClient.endsWith('500 5.5.1 Command not recognized\r\n250 ok\r\n')).toBe(true);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('unknown-commands', t).inactive)).toEqual([]);
  });
  it('verbs are case-insensitive (RFC 5321 2.4) and the list is a setting', () => {
    expect(ids(modes('unknown-commands', `${HELLO}C: noop\nS: 250 ok\n`).prevent)).toEqual([]);
    expect(ids(modes('unknown-commands', `${HELLO}C: VRFY root\nS: 252 ok\n`, { allowed: ['EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'QUIT'] }).prevent)).toEqual([
      'unknown-commands:prevent',
    ]);
  });
  it('an empty line and an HTTP request are unknown commands', () => {
    expect(ids(modes('unknown-commands', `${HELLO}C: \nS: 500 no\n`).detect)).toEqual(['unknown-commands:detect']);
    expect(ids(modes('unknown-commands', `S: 220 mx\nC: GET / HTTP/1.0\nS: 500 no\n`).detect)).toEqual(['unknown-commands:detect']);
  });
});
