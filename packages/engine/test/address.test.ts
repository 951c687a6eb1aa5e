import { describe, expect, it } from 'vitest';
import { parseMailArgument } from '../src/index.js';

describe('MAIL/RCPT argument parser', () => {
  it.each([
    ['FROM:<a@example.org>', 'MAIL', 'a', 'example.org'],
    ['FROM:<a@example.org> SIZE=10 BODY=8BITMIME', 'MAIL', 'a', 'example.org'],
    ['TO:<b.c+tag@sub.example.com> NOTIFY=SUCCESS,FAILURE', 'RCPT', 'b.c+tag', 'sub.example.com'],
    ['TO:<"quoted local"@example.com>', 'RCPT', '"quoted local"', 'example.com'],
    ['TO:<@a.example,@b.example:u@c.example>', 'RCPT', 'u', 'c.example'],
    ['TO:<u@[IPv6:2001:db8::1]>', 'RCPT', 'u', '[IPv6:2001:db8::1]'],
    ['TO:<u@[192.0.2.1]>', 'RCPT', 'u', '[192.0.2.1]'],
    ['TO:<postmaster>', 'RCPT', 'postmaster', null],
  ] as const)('%s parses', (arg, verb, local, domain) => {
    const parsed = parseMailArgument(arg, verb);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect([parsed.path.localPart, parsed.path.domain]).toEqual([local, domain]);
  });

  it.each([
    ['TO:<a@example.org>', 'MAIL', 'expected "MAIL FROM:<path>"'],
    ['FROM:<a@example.org', 'MAIL', 'unbalanced "<" in path'],
    ['FROM:', 'MAIL', 'empty path'],
    ['TO:<>', 'RCPT', 'empty recipient path'],
    ['TO:<@example.com>', 'RCPT', 'source route without ":" and mailbox'],
    ['TO:<u@[999.1.1.1]>', 'RCPT', 'bad address literal "[999.1.1.1]"'],
    ['TO:<u@[IPv6:invalid]>', 'RCPT', 'bad address literal "[IPv6:invalid]"'],
    ['FROM:<a@b.example> SMTPUTF8=YES', 'MAIL', 'SMTPUTF8 takes no value (RFC 6531 3.4)'],
    ['FROM:<a@b.example> SIZE=big', 'MAIL', 'SIZE needs a number'],
    ['FROM:<a@b.example> ENVID=x+0D+0Ay', 'MAIL', 'ENVID xtext encodes CR, LF or NUL'],
    ['FROM:<a@b..example>', 'MAIL', 'bad domain "b..example"'],
  ] as const)('%s is malformed: %s', (arg, verb, error) => {
    expect(parseMailArgument(arg, verb)).toEqual({ ok: false, error });
  });

  it('names the tolerated forms most MTAs accept', () => {
    const parsed = parseMailArgument('FROM: user.@example.org ', 'MAIL');
    expect(parsed.ok && parsed.tolerated).toEqual(['space-after-colon', 'trailing-space', 'no-angle-brackets', 'local-part-dot-error']);
  });

  it('keeps <, >, @ and spaces inside a quoted local part', () => {
    const parsed = parseMailArgument('TO:<"a> b@c"@example.com> NOTIFY=NEVER', 'RCPT');
    expect(parsed.ok && parsed.path.localPart).toBe('"a> b@c"');
    expect(parsed.ok && [...parsed.params.keys()]).toEqual(['NOTIFY']);
  });
});

describe('byte-level fast path', () => {
  const view = (r: ReturnType<typeof parseMailArgument>) =>
    r.ok
      ? { ok: true, local: r.path.localPart, domain: r.path.domain, hasDomain: r.path.hasDomain, isNull: r.path.isNull, pm: r.path.isPostmaster, params: [...r.params], tolerated: r.tolerated }
      : r;

  it('reads every argument exactly as the full parser does', async () => {
    const fc = (await import('fast-check')).default;
    const { parseMailArgumentBytes } = await import('../src/address.js');
    const piece = fc.constantFrom('FROM:', 'TO:', 'from:', '<', '>', '@', '.', '..', 'a', 'Z9', '-', '+', '"', ' ', '  ', 'SIZE=', '12', 'SMTPUTF8', '=x', 'BODY=8BITMIME', '[', ']', 'IPv6:', '::1', 'postmaster', '\u00e9', ',', ':', '\\', 'x'.repeat(70),
      // Keywords in any case, near misses of the known ones, and SIZE values around the 20-digit limit.
      'size=', 'Size=', 'body=', 'NoTiFy=', 'ret=hdrs', 'smtputf8', 'SmtpUtf8', 'SMTPUTF', 'SMTPUTF89', 'ENVID=', 'orcpt=', 'by=', 'mt-priority=', 'SIZ', '9'.repeat(20), '9'.repeat(21), '0');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), fc.boolean(), (parts, isMail) => {
        const text = (isMail ? 'FROM:' : 'TO:') + parts.join('');
        const verb = isMail ? 'MAIL' : 'RCPT';
        const bytes = Buffer.from(`XX${text}YY`, 'latin1');
        expect(view(parseMailArgumentBytes(bytes, 2, bytes.length - 2, verb))).toEqual(view(parseMailArgument(text, verb)));
      }),
      { numRuns: 3000 },
    );
  });
});
