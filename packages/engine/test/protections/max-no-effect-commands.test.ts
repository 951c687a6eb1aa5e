import { describe, expect, it } from 'vitest';
import { HELLO, ids, modes, only, run } from '../harness.js';

const noops = (n: number, verb = 'NOOP') => Array.from({ length: n }, () => `C: ${verb}\nS: 250 ok\n`).join('');

describe('max-no-effect-commands', () => {
  it('20 no-effect commands pass; the 21st fires', () => {
    expect(ids(modes('max-no-effect-commands', HELLO + noops(20)).prevent)).toEqual([]);
    const { detect, prevent } = modes('max-no-effect-commands', HELLO + noops(21));
    expect(ids(detect)).toEqual(['max-no-effect-commands:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Too many no-effect commands', detail: '21 no-effect commands, limit 20' });
    expect(prevent.toClient.endsWith('250 ok\r\n421 4.7.0 Connection closed by security policy\r\n')).toBe(true);
    expect(prevent.toServer.split('NOOP').length - 1).toBe(20);
    expect(prevent.closedClient).toBe(true);
  });
  it('VRFY, EXPN, RSET and HELP count together', () => {
    const mix = ['VRFY a', 'EXPN b', 'RSET', 'HELP'].flatMap((v) => Array.from({ length: 6 }, () => `C: ${v}\nS: 250 ok\n`)).join('');
    expect(ids(modes('max-no-effect-commands', HELLO + mix).detect)).toEqual(['max-no-effect-commands:detect']);
  });
  it('counts per connection: connections sharing a policy do not add up', () => {
    const policy = only('max-no-effect-commands', 'detect', { limit: 3 });
    for (let connection = 0; connection < 5; connection++) expect(ids(run(HELLO + noops(3), policy))).toEqual([]);
    expect(ids(run(HELLO + noops(4), policy))).toEqual(['max-no-effect-commands:detect']);
  });
  it('Inactive: nothing; the limit and the verb list are settings', () => {
    expect(ids(modes('max-no-effect-commands', HELLO + noops(40)).inactive)).toEqual([]);
    expect(ids(modes('max-no-effect-commands', HELLO + noops(4), { limit: 3 }).detect)).toEqual(['max-no-effect-commands:detect']);
    expect(ids(modes('max-no-effect-commands', HELLO + noops(40), { commands: ['VRFY'] }).detect)).toEqual([]);
    expect(ids(modes('max-no-effect-commands', HELLO + noops(40), { limit: 0 }).detect)).toEqual([]);
  });
});
