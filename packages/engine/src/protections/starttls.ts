import type { ProtectionModule } from '../model.js';

/** Prevent: STARTTLS is hidden from EHLO and refused with 454, so the session stays inspectable. */
export const starttls: ProtectionModule<'starttls'> = {
  id: 'starttls',
  hooks: () => ({
    ignoresVerb: (verb) => verb !== 'STARTTLS',
    onCommand(command) {
      return command.verb === 'STARTTLS' ? { detail: 'client asked for STARTTLS', verdict: 'reject-command' } : undefined;
    },
    masksEhloKeyword: (keyword) => keyword === 'STARTTLS',
  }),
};
