import type { Action, PolicyInput } from '@smtpguard/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../src/index.js';
import type { ActiveProtection } from '../src/model.js';
import { HELLO, policyWith, run } from './harness.js';

/**
 * The engine skips hooks that cannot fire: onCommand for verbs a protection ignores, onLine
 * and onReply outside their triggers. Skipping must never change what a user sees: same
 * findings, same bytes, same replies as calling every hook on everything.
 */
function callingEveryHook(policy: CompiledPolicy): CompiledPolicy {
  return {
    ...policy,
    commandMask: () => ~0,
    instantiate: (actions) => {
      const set = policy.instantiate(actions);
      const widen = (list: readonly ActiveProtection[]) => list.map((p) => ({ ...p, lineTrigger: { flags: ~0, longerThan: -1 }, replyTrigger: ~0 }));
      return { ...set, lineChecks: widen(set.lineChecks), replyChecks: widen(set.replyChecks) };
    },
  };
}

const VERBS = ['MAIL', 'RCPT', 'DATA', 'RSET', 'NOOP', 'VRFY', 'EXPN', 'HELP', 'STARTTLS', 'XEXCH50', 'X-ANYTHING', 'XFOO', 'TURN', 'ETRN', 'FOO', 'mail', 'Rcpt', 'starttls', 'xexch50', 'X', ''];
const ARGUMENTS = [
  // Binary, irregular and long arguments (escapes are the transcript's).
  'x\\x01y',
  'caf\\xc3\\xa9',
  'a\\rb',
  'a\\x00b',
  'x'.repeat(600),
  'PYIIIIIIIIIIIIIIII7QZjAXP0A0AkAAQ2AB2BB0BBABXP8ABuJIXkweaHrJwpf02pQzePMhyzWwSuQnioXPOHuBxKnaQlkOjpJHIvKOYokObPPwRN1uqt5PA', // alphanumeric shellcode shape
  'x'.repeat(1100),
  'FROM:<a@example.org>', 'FROM:<a@example.org> SIZE=99999999', 'TO:<postmaster>', 'TO:<user>', 'TO:<b@example.com>', 'TO:b@example.com', '', 'x', '1 LAST'];

const commandLine = fc
  .tuple(fc.constantFrom(...VERBS), fc.constantFrom(...ARGUMENTS))
  .map(([verb, argument]) => (argument && verb ? `${verb} ${argument}` : verb));

const settingsVariants: { name: string; action: Action; protections: PolicyInput['protections'] }[] = [
  { name: 'defaults, Detect', action: 'detect', protections: {} },
  { name: 'defaults, Prevent', action: 'prevent', protections: {} },
  {
    name: 'changed lists and limits',
    action: 'detect',
    protections: {
      'unknown-commands': { action: 'detect', settings: { allowed: ['MAIL', 'RCPT', 'DATA', 'FOO'] } },
      'private-commands': { action: 'detect', settings: { allow: ['XFOO'] } },
      'exchange-commands': { action: 'detect', settings: { commands: ['XEXCH50', 'X-ANYTHING'] } },
      'max-recipients': { action: 'detect', settings: { limit: 1 } },
      'max-no-effect-commands': { action: 'detect', settings: { limit: 2, commands: ['NOOP', 'HELP'] } },
      'max-email-size': { action: 'detect', settings: { limit: 1000 } },
      'recipient-no-domain': { action: 'detect', settings: { allowPostmaster: false } },
      'max-bad-commands': { action: 'detect', settings: { limit: 1 } },
      'max-command-line-length': { action: 'detect', settings: { limit: 0, perVerb: { RCPT: 40, AUTH: 0 } } },
      'non-compliant': { action: 'detect', settings: { bareLineEndingsInCommands: false, nulInCommands: true } },
    },
  },
  {
    name: 'line limits in Prevent',
    action: 'prevent',
    protections: { 'max-command-line-length': { action: 'prevent', settings: { limit: 100, perVerb: { MAIL: 0, XFOO: 30 } } } },
  },
];

describe('hook dispatch', () => {
  for (const variant of settingsVariants) {
    it(`gives what calling every hook gives (${variant.name})`, () => {
      const policy = policyWith(variant.protections, variant.action);
      fc.assert(
        fc.property(fc.array(fc.tuple(commandLine, fc.constantFrom('250 ok', '354 go', '451 later', '550 no', '421 bye', '250-a\nS: 250 b', '250 ok\nS: 250 unsolicited')), { minLength: 1, maxLength: 12 }), (lines) => {
          const transcript = `${HELLO}\n${lines.map(([line, reply]) => `C: ${line}\nS: ${reply}`).join('\n')}`;
          const skipping = run(transcript, policy);
          const everyHook = run(transcript, callingEveryHook(policy));
          expect(skipping.findings.map((f) => [f.protectionId, f.attackInfo])).toEqual(everyHook.findings.map((f) => [f.protectionId, f.attackInfo]));
          expect(skipping.toServer).toBe(everyHook.toServer);
          expect(skipping.toClient).toBe(everyHook.toClient);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('reads verbs in any case, and never takes an 8-bit or other look-alike for one', () => {
    const policy = policyWith({ 'unknown-commands': { action: 'detect' } });
    const verbsJudgedUnknown = (line: string) => run(`${HELLO}\nC: ${line}\nS: 250 ok`, policy).findings.map((f) => f.protectionId);
    expect(verbsJudgedUnknown('mAiL FROM:<a@example.org>')).toEqual([]);
    // 0xCD, 0xD2 and 0x8C are "M", "R" and "L" with the top bit set, which a careless case-folding
    // mask would drop; 0x01 is "A" without bit 0x40.
    for (const lookAlike of ['\\xcdAIL FROM:<a@example.org>', '\\xd2CPT TO:<b@example.com>', 'MAI\\x8c x', 'DAT\\x01']) {
      expect(verbsJudgedUnknown(lookAlike)).toEqual(['unknown-commands']);
    }
  });

  it('still judges a verb an attacker invents after the per-policy verb memory is full', () => {
    const policy = policyWith({ 'unknown-commands': { action: 'detect' } });
    for (let i = 0; i < 300; i++) policy.commandMask(`INVENTED${i}`);
    const result = run(`${HELLO}\nC: INVENTED999 x\nS: 500 no`, policy);
    expect(result.findings.map((f) => f.protectionId)).toEqual(['unknown-commands']);
  });
});
