import type { ProtectionModule } from '../model.js';

/**
 * Line length limit, per verb where set. In Prevent the engine stops buffering a line as
 * soon as it passes the limit (see the inspector's `lineThreshold`), so a long line is never held whole.
 */
export const maxCommandLineLength: ProtectionModule<'max-command-line-length'> = {
  id: 'max-command-line-length',
  hooks: (settings) => {
    // A Map, not the settings record: looked up for every line.
    const perVerb = new Map(Object.entries(settings.perVerb));
    return {
      onLine(line) {
        const limit = perVerb.get(line.verb) ?? settings.limit;
        if (limit === 0 || line.length <= limit) return undefined;
        const length = line.truncated ? `over ${limit} bytes` : `${line.length} bytes`;
        return { detail: `${line.sasl ? 'SASL response' : line.verb || 'command'} line of ${length}, limit ${limit}`, verdict: 'reject-command' };
      },
    };
  },
};
