import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTranscript } from '../src/index.js';
import { HELLO, policyWith, run, type RunResult } from './harness.js';

/**
 * The same bytes, however TCP splits them, must give the same output and the same
 * events: a terminator, a line limit or a smuggling form straddling two chunks is
 * found exactly as when it arrives whole.
 */
const DATA_OPEN = `${HELLO}C: MAIL FROM:<a@example.org>\nC: RCPT TO:<b@example.com>\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 354 go\n`;
const transcripts: Record<string, string> = {
  benign: `${DATA_OPEN}C: Subject: x\nC:\nC: ..stuffed\nC: line.\nC: .\nS: 250 ok\nC: QUIT\nS: 221 bye\n`,
  smuggling: `${DATA_OPEN}C> body\\n.\\nMAIL FROM:<x@y.example>\\r\\n.\\r\\n\nS: 250 ok\n`,
  'smuggling with CR': `${DATA_OPEN}C> body\\r.\\r\\nmore\\r\\n.\\r\\n\nS: 250 ok\n`,
  'long data line': `${DATA_OPEN}C: ${'x'.repeat(1200)}\nC: short\nC: .\nS: 250 ok\n`,
  'line exactly at the limit': `${DATA_OPEN}C: ${'x'.repeat(998)}\nC: .\nS: 250 ok\n`,
  'long command and pipelined rejections': `${HELLO}C: MAIL FROM:<a@example.org>\nC: RCPT TO:<root>\nC: RCPT TO:<b@example.com>\nC: VRFY ${'v'.repeat(700)}\nS: 250 ok\nS: 250 ok\nS: 252 ok\nC: XEXCH50 2 2\nC: QUIT\nS: 221 bye\n`,
  'BDAT with a fake terminator': `${HELLO}C: MAIL FROM:<a@example.org>\nC: RCPT TO:<b@example.com>\nC> BDAT 9 LAST\\r\\nab\\r\\n.\\r\\ncd\nC: QUIT\nS: 250 ok\nS: 250 ok\nS: 250 ok\nS: 221 bye\n`,
  'AUTH LOGIN': `${HELLO}C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: dXNlcg==\nS: 334 UGFzc3dvcmQ6\nC: cGFzcw==\nS: 235 ok\n`,
  'EHLO masking': `${HELLO.replace('250 CHUNKING', '250-XEXCH50\nS: 250 STARTTLS')}C: STARTTLS\nS: 454 no\n`,
  'bare LF command and early talker': `C: EHLO early\nS: 220 mx\nS: 250 mx\nC> NOOP\\n\nS: 250 ok\n`,
  'invalid reply line': `S: 220 mx\nC: NOOP\nS: 250-first\nS: garbage\nS: 250 last\n`,
};

/**
 * When Prevent stops a connection or a message in the middle of a body, the body bytes
 * that went upstream before it depend on where the chunks ended: the engine streams, it
 * does not buffer whole messages. So for those runs the upstream's bytes are compared up
 * to the DATA line, and what followed must never hold an end of data.
 */
function summary(r: RunResult) {
  let toServer = r.toServer;
  const stoppedInBody = r.closedServer && r.findings.some((f) => f.action === 'prevent' && f.context.state === 'data');
  if (stoppedInBody) {
    const bodyStart = toServer.lastIndexOf('DATA\r\n') + 6;
    expect(toServer.slice(bodyStart)).not.toContain('\r\n.\r\n');
    toServer = toServer.slice(0, bodyStart);
  }
  return { toServer, toClient: r.toClient, findings: r.findings, notices: r.notices, closedClient: r.closedClient, closedServer: r.closedServer };
}

const policies = { prevent: policyWith({}, 'prevent'), detect: policyWith({}, 'detect') };

describe('chunk invariance', () => {
  for (const [name, transcript] of Object.entries(transcripts)) {
    for (const [mode, policy] of Object.entries(policies)) {
      it(`${name} (${mode}): every two-way split of every segment gives the same result`, () => {
        const whole = summary(run(transcript, policy));
        const segments = parseTranscript(transcript);
        segments.forEach((segment, index) => {
          for (let at = 1; at < segment.bytes.length; at++) {
            const split = summary(run(segments, policy, (b, i) => (i === index ? [b.subarray(0, at), b.subarray(at)] : [b])));
            expect(split, `segment ${index} split at ${at}`).toEqual(whole);
          }
        });
      });

      it(`${name} (${mode}): random splits into many pieces give the same result`, () => {
        const whole = summary(run(transcript, policy));
        const segments = parseTranscript(transcript);
        fc.assert(
          fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 64 }), (sizes) => {
            let k = 0;
            const split = (b: Buffer) => {
              const pieces: Buffer[] = [];
              for (let at = 0; at < b.length; ) {
                const size = sizes[k++ % sizes.length]!;
                pieces.push(b.subarray(at, at + size));
                at += size;
              }
              return pieces;
            };
            expect(summary(run(segments, policy, split))).toEqual(whole);
          }),
          { numRuns: 40 },
        );
      });
    }
  }

  it('one byte at a time gives the same result for every transcript', () => {
    for (const transcript of Object.values(transcripts)) {
      const whole = summary(run(transcript, policies.prevent));
      const bytewise = summary(run(transcript, policies.prevent, (b) => Array.from(b, (_, i) => b.subarray(i, i + 1))));
      expect(bytewise).toEqual(whole);
    }
  });
});
