import type { ProtectionModule } from '../model.js';

/**
 * Machine code in command arguments. The detector lands with its own issue; until then
 * this protection inspects nothing, whatever its action.
 */
export const maliciousCode: ProtectionModule<'malicious-code'> = {
  id: 'malicious-code',
  hooks: () => ({}),
};
