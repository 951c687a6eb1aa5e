import { describe, expect, it } from 'vitest';
import { HELLO, ids, modes } from '../harness.js';

const rcpts = (n: number) => Array.from({ length: n }, (_, i) => `C: RCPT TO:<user${i}@example.com>\n`).join('');
const transaction = (n: number) => `${HELLO}C: MAIL FROM:<a@example.org>\n${rcpts(n)}${Array.from({ length: n + 1 }, () => 'S: 250 ok\n').join('')}`;

describe('max-recipients', () => {
  it('100 recipients pass; each one after the 100th fires', () => {
    expect(ids(modes('max-recipients', transaction(100)).prevent)).toEqual([]);
    const { detect } = modes('max-recipients', transaction(102));
    expect(ids(detect)).toEqual(['max-recipients:detect', 'max-recipients:detect']);
    expect(detect.findings[0]).toMatchObject({ attackName: 'SMTP policy Violation', attackInfo: 'Too many recipients', detail: 'recipient 101, limit 100' });
  });
  it('Prevent: 452 4.5.3 for each extra RCPT in its place, not forwarded, the session goes on', () => {
    const t = `${HELLO}C: MAIL FROM:<a@example.org>\n${rcpts(4)}C: DATA\nS: 250 ok\nS: 250 ok\nS: 250 ok\nS: 354 go\n`;
    const { prevent } = modes('max-recipients', t, { limit: 2 });
    expect(prevent.toServer).not.toContain('user2@');
    expect(prevent.toServer).not.toContain('user3@');
    expect(prevent.toClient.endsWith('250 ok\r\n250 ok\r\n250 ok\r\n452 4.5.3 Too many recipients\r\n452 4.5.3 Too many recipients\r\n354 go\r\n')).toBe(true);
    expect(prevent.closedClient).toBe(false);
  });
  it('the count restarts with each transaction (RSET, new MAIL)', () => {
    const t = `${HELLO}C: MAIL FROM:<a@example.org>\n${rcpts(2)}C: RSET\nC: MAIL FROM:<a@example.org>\n${rcpts(2)}${'S: 250 ok\n'.repeat(7)}`;
    expect(ids(modes('max-recipients', t, { limit: 2 }).detect)).toEqual([]);
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('max-recipients', transaction(150)).inactive)).toEqual([]);
  });
});
