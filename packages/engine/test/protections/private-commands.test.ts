import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

describe('private-commands', () => {
  const t = `${HELLO}C: XCLIENT ADDR=10.0.0.1\nS: 550 not authorized\n`;
  it('Detect: an X verb is logged and passes', () => {
    const { detect } = modes('private-commands', t);
    expect(ids(detect)).toEqual(['private-commands:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Private command' });
    expect(expectUntouched(detect, t)).toBe(true);
  });
  it('Prevent: 500 5.5.1, not forwarded', () => {
    const { prevent } = modes('private-commands', `${HELLO}C: XCLIENT ADDR=10.0.0.1\n`);
    expect(prevent.toClient.endsWith('500 5.5.1 Command not recognized\r\n')).toBe(true);
    expect(prevent.toServer).not.toContain('XCLIENT');
  });
  it('Inactive: nothing', () => {
    expect(ids(modes('private-commands', t).inactive)).toEqual([]);
  });
  it('the allow list lets a verb through; Exchange verbs are left to their own protection', () => {
    expect(ids(modes('private-commands', t, { allow: ['xclient'] }).prevent)).toEqual([]);
    expect(ids(modes('private-commands', `${HELLO}C: XEXCH50 2 2\nS: 500 no\n`).prevent)).toEqual([]);
  });
  it('verbs not starting with X are not private', () => {
    expect(ids(modes('private-commands', `${HELLO}C: DEBUG\nS: 500 no\n`).prevent)).toEqual([]);
  });
});
