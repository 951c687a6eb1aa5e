import { PROTECTION_IDS } from '@smtpguard/contracts';
import type { ProtectionModule } from '../model.js';

const SLOT = PROTECTION_IDS.indexOf('max-no-effect-commands');

export const maxNoEffectCommands: ProtectionModule<'max-no-effect-commands'> = {
  id: 'max-no-effect-commands',
  hooks: (settings) => {
    const verbs = new Set(settings.commands);
    return {
      ignoresVerb: (verb) => !verbs.has(verb),
      onCommand(command, session) {
        if (command.sasl || !verbs.has(command.verb)) return undefined;
        const seen = ++session.counters[SLOT]!;
        if (settings.limit === 0 || seen !== settings.limit + 1) return undefined;
        return { detail: `${seen} no-effect commands, limit ${settings.limit}`, verdict: 'close' };
      },
    };
  },
};
