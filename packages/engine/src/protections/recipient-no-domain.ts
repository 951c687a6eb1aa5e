import type { ProtectionModule } from '../model.js';

export const recipientNoDomain: ProtectionModule<'recipient-no-domain'> = {
  id: 'recipient-no-domain',
  hooks: (settings) => ({
    ignoresVerb: (verb) => verb !== 'RCPT',
    onCommand(command) {
      if (command.verb !== 'RCPT' || !command.mail?.ok) return undefined;
      const path = command.mail.path;
      if (path.hasDomain) return undefined;
      if (path.isPostmaster && settings.allowPostmaster) return undefined;
      return { detail: `recipient "${path.localPart}" has no domain`, verdict: 'reject-recipient' };
    },
  }),
};
