import type { ProtectionModule } from '../model.js';

export const maxNoEffectCommands: ProtectionModule<'max-no-effect-commands'> = {
  id: 'max-no-effect-commands',
  hooks: (settings) => {
    const verbs = new Set(settings.commands);
    let seen = 0;
    return {
      ignoresVerb: (verb) => !verbs.has(verb),
      onCommand(command) {
        if (command.sasl || !verbs.has(command.verb)) return undefined;
        seen++;
        if (settings.limit === 0 || seen !== settings.limit + 1) return undefined;
        return { detail: `${seen} no-effect commands, limit ${settings.limit}`, verdict: 'close' };
      },
    };
  },
};
