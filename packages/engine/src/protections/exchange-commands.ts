import type { ProtectionModule } from '../model.js';

export const exchangeCommands: ProtectionModule<'exchange-commands'> = {
  id: 'exchange-commands',
  hooks: (settings) => {
    const verbs = new Set(settings.commands);
    return {
      ignoresVerb: (verb) => !verbs.has(verb),
      onCommand(command) {
        return verbs.has(command.verb) ? { detail: `${command.verb} is an Exchange-to-Exchange command`, verdict: 'reject-command' } : undefined;
      },
      masksEhloKeyword: (keyword) => settings.maskInEhlo && verbs.has(keyword),
    };
  },
};
