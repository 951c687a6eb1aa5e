import type { ProtectionModule } from '../model.js';

/** The body scanner measures lines against `dataLineLimit` and reports the first one over it. */
export const maxDataLineLength: ProtectionModule<'max-data-line-length'> = {
  id: 'max-data-line-length',
  hooks: (settings) => ({
    dataLineLimit: settings.limit,
    onFact(fact) {
      return fact.kind === 'data-line-too-long'
        ? { detail: `data line longer than ${fact.limit} bytes (CRLF included)`, verdict: 'reject-message' }
        : undefined;
    },
  }),
};
