import { PROTECTION_IDS, type Action, type ProtectionId, type ResolvedPolicy } from '@smtpguard/contracts';
import type { ActiveProtection, ProtectionModule } from './model.js';
import { PROTECTIONS } from './protections/index.js';
import { privateCommandsModule } from './protections/private-commands.js';

/** A resolved policy, ready to instantiate per connection. */
export interface CompiledPolicy {
  resolved: ResolvedPolicy;
  /** Hooks for one connection, only for protections that are not Inactive (those cost nothing). */
  instantiate(actions: Record<ProtectionId, Action>): ActiveProtection[];
}

export function compilePolicy(resolved: ResolvedPolicy): CompiledPolicy {
  const modules: Record<ProtectionId, ProtectionModule> = { ...PROTECTIONS } as Record<ProtectionId, ProtectionModule>;
  // Private commands leave the Exchange verbs, as configured, to their own protection.
  modules['private-commands'] = privateCommandsModule(resolved.settings['exchange-commands'].commands) as ProtectionModule;
  return {
    resolved,
    instantiate(actions) {
      const active: ActiveProtection[] = [];
      for (const id of PROTECTION_IDS) {
        const action = actions[id];
        if (action === 'inactive') continue;
        const module = modules[id] as ProtectionModule<typeof id>;
        active.push({ id, action, hooks: module.hooks(resolved.settings[id] as never) });
      }
      return active;
    },
  };
}
