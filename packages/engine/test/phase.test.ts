import { describe, expect, it } from 'vitest';
import { createInspector } from '../src/index.js';
import { policyWith } from './harness.js';

/** The gateway picks its RFC 5321 4.5.3.2 timeout from `phase`; each step of a conversation must name the right one. */
function steps(policy = policyWith({}, 'detect')) {
  const inspector = createInspector(policy, {});
  const phases: string[] = [inspector.phase];
  return {
    inspector,
    client(text: string) {
      inspector.fromClient(Buffer.from(text, 'latin1'));
      phases.push(inspector.phase);
    },
    server(text: string) {
      inspector.fromServer(Buffer.from(text, 'latin1'));
      phases.push(inspector.phase);
    },
    phases,
  };
}

describe('conversation phase', () => {
  it('DATA: command, message while the body arrives, message-end until the reply to the dot', () => {
    const s = steps();
    s.server('220 mx ESMTP\r\n');
    s.client('EHLO c.example\r\n');
    s.server('250-mx\r\n250 PIPELINING\r\n');
    s.client('MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n');
    s.server('250 ok\r\n250 ok\r\n354 go\r\n');
    s.client('Subject: x\r\n\r\nbody\r\n');
    s.client('.\r\n');
    s.server('250 queued\r\n');
    s.client('QUIT\r\n');
    expect(s.phases).toEqual(['greeting', 'command', 'command', 'command', 'command', 'message', 'message', 'message-end', 'command', 'command']);
  });

  it('BDAT: message while chunk bytes arrive, message-end only after the LAST chunk', () => {
    const s = steps();
    s.server('220 mx ESMTP\r\n');
    s.client('EHLO c.example\r\n');
    s.server('250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n');
    s.client('MAIL FROM:<a@example.org>\r\n');
    s.server('250 ok\r\n');
    s.client('BDAT 10\r\n12345');
    s.client('67890');
    s.server('250 chunk ok\r\n');
    s.client('BDAT 4 LAST\r\nabcd');
    s.server('250 queued\r\n');
    expect(s.phases).toEqual(['greeting', 'command', 'command', 'command', 'command', 'command', 'message', 'command', 'command', 'message-end', 'command']);
  });
});
