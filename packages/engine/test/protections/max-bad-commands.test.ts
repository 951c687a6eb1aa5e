import { describe, expect, it } from 'vitest';
import { HELLO, ids, modes } from '../harness.js';

const badCommands = (n: number) => Array.from({ length: n }, (_, i) => `C: VRFY user${i}\nS: 550 5.1.1 unknown\n`).join('');

describe('max-bad-commands', () => {
  it('20 error replies are allowed; the 21st fires', () => {
    expect(ids(modes('max-bad-commands', HELLO + badCommands(20)).prevent)).toEqual([]);
    const { detect, prevent } = modes('max-bad-commands', HELLO + badCommands(21));
    expect(ids(detect)).toEqual(['max-bad-commands:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Too many bad commands', detail: '21 error replies, limit 20' });
    expect(detect.closedClient).toBe(false);
    expect(prevent.toClient.endsWith('550 5.1.1 unknown\r\n421 4.7.0 Connection closed by security policy\r\n')).toBe(true);
    expect(prevent.closedClient && prevent.closedServer).toBe(true);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('max-bad-commands', HELLO + badCommands(30)).inactive)).toEqual([]);
  });
  it('the limit is a setting; 0 disables it', () => {
    expect(ids(modes('max-bad-commands', HELLO + badCommands(3), { limit: 2 }).detect)).toEqual(['max-bad-commands:detect']);
    expect(ids(modes('max-bad-commands', HELLO + badCommands(50), { limit: 0 }).detect)).toEqual([]);
  });
  it('2xx and 3xx replies do not count', () => {
    const ok = Array.from({ length: 30 }, () => `C: NOOP\nS: 250 ok\n`).join('');
    expect(ids(modes('max-bad-commands', HELLO + ok).detect)).toEqual([]);
  });
});
