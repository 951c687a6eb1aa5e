import { defaultSettings } from '@smtpguard/contracts';
import type { ProtectionModule } from '../model.js';

/**
 * X-prefixed verbs (RFC 5321 4.1.5). The Exchange verbs belong to their own protection,
 * so one verb is judged by exactly one of Unknown / Private / Exchange.
 */
export function privateCommandsModule(exchangeVerbs: readonly string[]): ProtectionModule<'private-commands'> {
  const exchange = new Set(exchangeVerbs);
  return {
    id: 'private-commands',
    hooks: (settings) => {
      const allowed = new Set(settings.allow);
      return {
        ignoresVerb: (verb) => verb.charCodeAt(0) !== 88 /* X */ || exchange.has(verb) || allowed.has(verb),
        onCommand(command) {
          const verb = command.verb;
          if (verb.charCodeAt(0) !== 88 /* X */ || command.sasl) return undefined;
          if (exchange.has(verb) || allowed.has(verb)) return undefined;
          return { detail: `private-use command ${verb}`, verdict: 'reject-command' };
        },
      };
    },
  };
}

export const privateCommands = privateCommandsModule(defaultSettings('exchange-commands').commands);
