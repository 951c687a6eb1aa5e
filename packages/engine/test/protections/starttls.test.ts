import { describe, expect, it } from 'vitest';
import { HELLO, expectUntouched, ids, modes } from '../harness.js';

describe('starttls', () => {
  const t = `${HELLO}C: STARTTLS
S: 220 2.0.0 Ready to start TLS
C> \\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03
S> \\x16\\x03\\x03\\x00\\x7a\\x02\\x00\\x00\\x76
`;
  it('Detect: logged, then the connection passes uninspected (an explicit notice)', () => {
    const { detect } = modes('starttls', t);
    expect(ids(detect)).toEqual(['starttls:detect']);
    expect(detect.findings[0]).toMatchObject({ attackInfo: 'Illegal SMTP TLS session' });
    expect(detect.notices).toContainEqual(expect.objectContaining({ kind: 'uninspected', reason: 'starttls' }));
    expect(detect.inspector.inspecting).toBe(false);
    expect(expectUntouched(detect, t)).toBe(true);
  });
  it('Prevent: STARTTLS disappears from EHLO and the command gets 454 4.7.0', () => {
    const { prevent } = modes('starttls', `${HELLO}C: STARTTLS\nC: QUIT\nS: 221 bye\n`);
    expect(prevent.toClient).not.toContain('STARTTLS');
    expect(prevent.toClient).toContain('454 4.7.0 TLS not available due to local policy\r\n221 bye\r\n');
    expect(prevent.toServer).not.toContain('STARTTLS');
    expect(prevent.inspector.inspecting).toBe(true);
  });
  it('Inactive: nothing logged, but the uninspected state is still reported', () => {
    const { inactive } = modes('starttls', t);
    expect(ids(inactive)).toEqual([]);
    expect(inactive.notices).toContainEqual(expect.objectContaining({ kind: 'uninspected' }));
    expect(expectUntouched(inactive, t)).toBe(true);
  });
  it('a refused STARTTLS (454 from the server) keeps the session inspected', () => {
    const r = modes('starttls', `${HELLO}C: STARTTLS\nS: 454 4.7.0 TLS not available\nC: NOOP\nS: 250 ok\n`).detect;
    expect(r.inspector.inspecting).toBe(true);
  });
});
