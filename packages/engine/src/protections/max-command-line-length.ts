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
    // 0 is "no limit": a line no longer than the smallest real limit is within every limit.
    const limits = [settings.limit, ...perVerb.values()].filter((limit) => limit > 0);
    return {
      lineTrigger: { flags: 0, longerThan: limits.length > 0 ? Math.min(...limits) : Number.POSITIVE_INFINITY },
      onLine(line) {
        const limit = perVerb.get(line.verb) ?? settings.limit;
        if (limit === 0 || line.length <= limit) return undefined;
        const length = line.truncated ? `over ${limit} bytes` : `${line.length} bytes`;
        return { detail: `${line.sasl ? 'SASL response' : line.verb || 'command'} line of ${length}, limit ${limit}`, verdict: 'reject-command' };
      },
    };
  },
};
