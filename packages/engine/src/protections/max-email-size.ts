import type { ProtectionModule } from '../model.js';

export const maxEmailSize: ProtectionModule<'max-email-size'> = {
  id: 'max-email-size',
  hooks: (settings) => ({
    messageSizeLimit: settings.limit,
    ignoresVerb: (verb) => verb !== 'MAIL' || !settings.checkSizeParameter || settings.limit === 0,
    onCommand(command) {
      if (!settings.checkSizeParameter || settings.limit === 0 || command.verb !== 'MAIL' || !command.mail?.ok) return undefined;
      const declared = command.mail.params.get('SIZE');
      if (declared == null || Number(declared) <= settings.limit) return undefined;
      // At MAIL time only this command can be refused: RFC 1870 6.1 answers 552 to MAIL.
      return { detail: `declared SIZE=${declared}, limit ${settings.limit}`, verdict: 'reject-command' };
    },
    onFact(fact) {
      return fact.kind === 'message-too-large'
        ? { detail: `message over ${fact.limit} bytes`, verdict: 'reject-message' }
        : undefined;
    },
  }),
};
