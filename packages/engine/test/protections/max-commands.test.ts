import { describe, expect, it } from 'vitest';
import { HELLO, ids, modes } from '../harness.js';

const commands = (n: number) => Array.from({ length: n }, (_, i) => `C: MAIL FROM:<a${i}@example.org>\nS: 250 ok\nC: RSET\nS: 250 ok\n`).join('');

describe('max-commands', () => {
  it('1000 commands (EHLO included) pass; the 1001st fires', () => {
    const t999 = HELLO + commands(499) + 'C: NOOP\nS: 250 ok\n';
    expect(ids(modes('max-commands', t999).prevent)).toEqual([]);
    const t = HELLO + commands(500);
    const { detect, prevent } = modes('max-commands', t);
    expect(ids(detect)).toEqual(['max-commands:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Too many commands', detail: '1001 commands, limit 1000' });
    expect(prevent.toClient.endsWith('421 4.7.0 Connection closed by security policy\r\n')).toBe(true);
    expect(prevent.closedClient && prevent.closedServer).toBe(true);
  });
  it('Inactive: nothing; the limit is a setting', () => {
    expect(ids(modes('max-commands', HELLO + commands(600)).inactive)).toEqual([]);
    expect(ids(modes('max-commands', HELLO + commands(3), { limit: 5 }).detect)).toEqual(['max-commands:detect']);
  });
});
