import type { ProtectionModule } from '../model.js';

/** Verbs outside the allowed list; X-prefixed verbs are the Private/Exchange protections' to judge. */
export const unknownCommands: ProtectionModule<'unknown-commands'> = {
  id: 'unknown-commands',
  hooks: (settings) => {
    const allowed = new Set(settings.allowed);
    const isPrivate = (verb: string) => verb.charCodeAt(0) === 88 /* X */ && /^[A-Z0-9-]+$/.test(verb);
    return {
      ignoresVerb: (verb) => allowed.has(verb) || isPrivate(verb),
      onCommand(command) {
        const verb = command.verb;
        if (command.sasl || allowed.has(verb)) return undefined;
        if (isPrivate(verb)) return undefined;
        return { detail: verb === '' ? 'empty command line' : `command ${verb} is not in the allowed list`, verdict: 'reject-command' };
      },
    };
  },
};
