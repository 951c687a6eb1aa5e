import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EHLO_LINES_KEPT, HELD_HARD_CAP, LINE_CAP, createInspector, parseTranscript } from '../src/index.js';
import { HELLO, policyWith } from './harness.js';

const policies = [policyWith({}, 'prevent'), policyWith({}, 'detect'), policyWith({}, 'inactive')];

const SESSION = parseTranscript(`${HELLO}C: MAIL FROM:<a@example.org> SIZE=100
C: RCPT TO:<b@example.com>
C: DATA
S: 250 ok
S: 250 ok
S: 354 go
C: Subject: x
C:
C: body
C: .
S: 250 ok
C: BDAT 5 LAST
C> hello
S: 250 ok
C: AUTH LOGIN
S: 334 VXNlcm5hbWU6
C: dXNlcg==
S: 235 ok
C: STARTTLS
S: 220 go
`);

function feedAll(steps: { client: boolean; bytes: Uint8Array }[], policy = policies[0]!) {
  const inspector = createInspector(policy, {});
  for (const step of steps) {
    const v = step.client ? inspector.fromClient(step.bytes) : inspector.fromServer(step.bytes);
    expect(Array.isArray(v.toServer) && Array.isArray(v.toClient)).toBe(true);
  }
  inspector.clientEnded();
  inspector.serverEnded();
}

describe('robustness', () => {
  it('never throws on random bytes from either side, under any policy', () => {
    const step = fc.record({ client: fc.boolean(), bytes: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), fc.integer({ min: 0, max: 2 }), (steps, p) => feedAll(steps, policies[p])),
      { numRuns: 1500 },
    );
  });

  it('never throws on random SMTP-shaped tokens', () => {
    const token = fc.constantFrom(
      'EHLO x\r\n', 'MAIL FROM:<a@b>\r\n', 'RCPT TO:<c@d>\r\n', 'DATA\r\n', 'BDAT 3\r\n', 'BDAT 2 LAST\r\n', '.\r\n', '\r\n.\r\n',
      '\n.\n', 'AUTH LOGIN\r\n', 'STARTTLS\r\n', 'XEXCH50 4 2\r\n', '250 ok\r\n', '250-x\r\n', '354 go\r\n', '334 x\r\n',
      '220 hi\r\n', '221 bye\r\n', '421 no\r\n', '\r', '\n', '\x00', 'A'.repeat(700), '\xff',
    );
    const step = fc.record({ client: fc.boolean(), bytes: fc.array(token, { maxLength: 8 }).map((t) => Buffer.from(t.join(''), 'latin1')) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 0, max: 2 }), (steps, p) => feedAll(steps, policies[p])),
      { numRuns: 1500 },
    );
  });

  it('never throws on mutated real sessions (bytes flipped, inserted, deleted)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ segment: fc.nat(), at: fc.nat(), kind: fc.constantFrom('flip', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 2 }),
        (mutations, p) => {
          const steps = SESSION.map((s) => ({ client: s.from === 'client', bytes: Buffer.from(s.bytes) as Uint8Array }));
          for (const m of mutations) {
            const step = steps[m.segment % steps.length]!;
            const b = Buffer.from(step.bytes);
            const at = m.at % (b.length + 1);
            step.bytes =
              m.kind === 'flip' && at < b.length
                ? Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at + 1)])
                : m.kind === 'insert'
                  ? Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)])
                  : Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
          }
          feedAll(steps, policies[p]);
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('bounded memory', () => {
  it(`an endless line without LF is never buffered past ${LINE_CAP} bytes; Detect streams it on`, () => {
    const inspector = createInspector(policyWith({}, 'detect'), {});
    inspector.fromServer(Buffer.from('220 mx\r\n'));
    let forwarded = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 160; i++) forwarded += inspector.fromClient(chunk).toServer.reduce((n, b) => n + b.length, 0);
    // 10 MiB in, all of it forwarded: nothing kept beyond the line buffer.
    expect(forwarded).toBe(160 * chunk.length);
    const lineParts = (inspector as unknown as { lineParts: Buffer[] }).lineParts;
    expect(lineParts.reduce((n, b) => n + b.length, 0)).toBeLessThanOrEqual(LINE_CAP);
  });

  it('an endless multi-line reply streams through without being held', () => {
    const inspector = createInspector(policyWith({}, 'prevent'), {});
    inspector.fromServer(Buffer.from('220 mx\r\n'));
    inspector.fromClient(Buffer.from('EHLO x\r\n'));
    const lines = Buffer.from('250-PIPELINING\r\n'.repeat(4096));
    let delivered = 0;
    for (let i = 0; i < 100; i++) delivered += inspector.fromServer(lines).toClient.reduce((n, b) => n + b.length, 0);
    // All but the one line EHLO masking holds back reached the client.
    expect(delivered).toBe(100 * lines.length - 16);
  });

  it('an endless EHLO reply keeps a bounded number of capabilities', () => {
    const inspector = createInspector(policyWith({}, 'detect'), {});
    inspector.fromServer(Buffer.from('220 mx\r\n'));
    inspector.fromClient(Buffer.from('EHLO x\r\n'));
    const lines = Array.from({ length: 20_000 }, (_, i) => `250-X${i}\r\n`).join('');
    const delivered = inspector.fromServer(Buffer.from(`250-mx\r\n${lines}250 PIPELINING\r\n`)).toClient.reduce((n, b) => n + b.length, 0);
    expect(delivered).toBe(Buffer.byteLength(`250-mx\r\n${lines}250 PIPELINING\r\n`));
    expect(inspector.capabilities.size).toBeLessThanOrEqual(EHLO_LINES_KEPT);
    expect(inspector.capabilities.has('X0')).toBe(true);
    // PIPELINING came last, past the kept lines: still known, so pipelined commands are not a violation.
    expect(inspector.capabilities.has('PIPELINING')).toBe(true);
  });

  it('a million pipelined commands in one chunk: bounded queue, the rest held by reference, pause asked', () => {
    const inspector = createInspector(policyWith({}, 'inactive'), {});
    inspector.fromServer(Buffer.from('220 mx\r\n'));
    inspector.fromClient(Buffer.from('EHLO x\r\n'));
    inspector.fromServer(Buffer.from('250-mx\r\n250 PIPELINING\r\n'));
    const million = Buffer.from('RSET\r\n'.repeat(1_000_000));
    const v = inspector.fromClient(million);
    expect(v.toServer.length).toBe(1); // one coalesced write
    expect(inspector.stats.pendingCommands).toBe(10_000);
    expect(v.pauseClient).toBe(true);
    // Replies drain the queue and release the held commands in order.
    const replies = Buffer.from('250 ok\r\n'.repeat(10_000));
    const next = inspector.fromServer(replies);
    expect(next.toServer.reduce((n, b) => n + b.length, 0)).toBe(10_000 * 6);
  });

  it(`a caller that ignores pauseClient is cut off at ${HELD_HARD_CAP} bytes held`, () => {
    const inspector = createInspector(policyWith({}, 'inactive'), {});
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    let closed = false;
    for (let i = 0; i < 6 && !closed; i++) closed = inspector.fromClient(chunk).closeClient;
    expect(closed).toBe(true);
  });
});

describe('long lines from the server', () => {
  it('a 5,000-byte greeting that ends with its CRLF is one complete reply (suricata-verify smtp-bug-6053)', async () => {
    const { run, policyWith, ids } = await import('./harness.js');
    const t = `S: 220 ${'A'.repeat(5000)}\nC: EHLO x\nS: 250 ok\nC: QUIT\nS: 221 bye\n`;
    const r = run(t, policyWith({}, 'prevent'));
    expect(ids(r)).toEqual([]);
    expect(r.inspector.stats).toMatchObject({ replies: 3, unmatchedReplies: 0, pendingCommands: 0 });
  });

  it('attacker bytes in a finding detail are escaped', async () => {
    const { run, only } = await import('./harness.js');
    const r = run(`S: 220 mx\nC: \\x1b[31mEVIL\\x07 x\nS: 500 no\n`, only('unknown-commands', 'detect'));
    expect(r.findings[0]!.detail).toBe('command \\x1b[31MEVIL\\x07 is not in the allowed list');
  });
});
