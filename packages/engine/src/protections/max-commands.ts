import type { ProtectionModule } from '../model.js';

export const maxCommands: ProtectionModule<'max-commands'> = {
  id: 'max-commands',
  hooks: (settings) => ({
    onCommand(command, session) {
      // Once per connection: the crossing is the event; Prevent closes there anyway.
      if (settings.limit === 0 || command.sasl || session.commandCount !== settings.limit + 1) return undefined;
      return { detail: `${session.commandCount} commands, limit ${settings.limit}`, verdict: 'close' };
    },
  }),
};
