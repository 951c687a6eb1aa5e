import { PROTECTION_IDS, type Action, type ProtectionId, type ResolvedPolicy } from '@smtpguard/contracts';
import { LINE_ANY, REPLY_ANY, type ActiveProtection, type LineTrigger, type ProtectionHooks, type ProtectionModule } from './model.js';
import { PROTECTIONS } from './protections/index.js';
import { privateCommandsModule } from './protections/private-commands.js';

/** A resolved policy, ready to instantiate per connection. */
export interface CompiledPolicy {
  resolved: ResolvedPolicy;
  /** Hooks for one connection, only for protections that are not Inactive (those cost nothing). */
  instantiate(actions: Record<ProtectionId, Action>): ActiveProtection[];
  /** Bits (ActiveProtection.bit) of the protections whose onCommand may fire for this verb. */
  commandMask(verb: string): number;
}

const EVERY_LINE: LineTrigger = { flags: LINE_ANY, longerThan: Number.POSITIVE_INFINITY };

/** Verbs remembered per policy; past this (an attacker inventing verbs) masks are computed each time. */
const VERB_MASK_CACHE = 256;

export function compilePolicy(resolved: ResolvedPolicy): CompiledPolicy {
  const modules: Record<ProtectionId, ProtectionModule> = { ...PROTECTIONS } as Record<ProtectionId, ProtectionModule>;
  // Private commands leave the Exchange verbs, as configured, to their own protection.
  modules['private-commands'] = privateCommandsModule(resolved.settings['exchange-commands'].commands) as ProtectionModule;
  const hooksOf = (id: ProtectionId): ProtectionHooks => (modules[id] as ProtectionModule<typeof id>).hooks(resolved.settings[id] as never);
  // One settings-bound instance per protection answers ignoresVerb, which depends on settings only.
  const templates = PROTECTION_IDS.map(hooksOf);
  const masks = new Map<string, number>();
  const maskOf = (verb: string): number => {
    let mask = 0;
    templates.forEach((hooks, index) => {
      if (hooks.onCommand && !hooks.ignoresVerb?.(verb)) mask |= 1 << index;
    });
    return mask;
  };
  return {
    resolved,
    instantiate(actions) {
      const active: ActiveProtection[] = [];
      PROTECTION_IDS.forEach((id, index) => {
        const action = actions[id];
        if (action === 'inactive') return;
        const hooks = hooksOf(id);
        const { onLine = null, onCommand = null, onReply = null, onFact = null, lineTrigger = EVERY_LINE, replyTrigger = REPLY_ANY } = hooks;
        active.push({ id, action, bit: 1 << index, onLine, onCommand, onReply, onFact, lineTrigger, replyTrigger, hooks });
      });
      return active;
    },
    commandMask(verb) {
      const known = masks.get(verb);
      if (known !== undefined) return known;
      const mask = maskOf(verb);
      if (masks.size < VERB_MASK_CACHE) masks.set(verb, mask);
      return mask;
    },
  };
}
