import type { ProtectionModule } from '../model.js';

/** Counts RCPT commands of the current transaction; the engine counts before calling. */
export const maxRecipients: ProtectionModule<'max-recipients'> = {
  id: 'max-recipients',
  hooks: (settings) => ({
    ignoresVerb: (verb) => verb !== 'RCPT' || settings.limit === 0,
    onCommand(command, session) {
      if (command.verb !== 'RCPT' || settings.limit === 0) return undefined;
      const count = session.transaction.rcptCount;
      return count > settings.limit ? { detail: `recipient ${count}, limit ${settings.limit}`, verdict: 'reject-recipient' } : undefined;
    },
  }),
};
