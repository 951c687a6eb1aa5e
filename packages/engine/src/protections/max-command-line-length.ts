import type { ProtectionModule } from '../model.js';

/**
 * Line length limit, per verb where set. In Prevent the engine stops buffering a line as
 * soon as it passes the limit (see `lineLimitFor`), so a long line is never held whole.
 */
export const maxCommandLineLength: ProtectionModule<'max-command-line-length'> = {
  id: 'max-command-line-length',
  hooks: (settings) => ({
    onLine(line) {
      const limit = lineLimitFor(settings, line.verb);
      if (limit === 0 || line.length <= limit) return undefined;
      const length = line.truncated ? `over ${limit} bytes` : `${line.length} bytes`;
      return { detail: `${line.sasl ? 'SASL response' : line.verb || 'command'} line of ${length}, limit ${limit}`, verdict: 'reject-command' };
    },
  }),
};

export function lineLimitFor(settings: { limit: number; perVerb: Record<string, number> }, verb: string): number {
  return settings.perVerb[verb] ?? settings.limit;
}
