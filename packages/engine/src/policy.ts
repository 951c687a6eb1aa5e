import { PROTECTION_IDS, type Action, type ProtectionId, type ResolvedPolicy } from '@smtpguard/contracts';
import { LINE_ANY, REPLY_ANY, type ActiveProtection, type LineTrigger, type ProtectionHooks, type ProtectionModule } from './model.js';
import { PROTECTIONS } from './protections/index.js';
import { privateCommandsModule } from './protections/private-commands.js';

/** The protections of one connection, sorted by what the engine asks them (shared by every connection with the same actions). */
export interface ConnectionProtections {
  /** Only protections that are not Inactive (those cost nothing). */
  active: readonly ActiveProtection[];
  lineChecks: readonly ActiveProtection[];
  commandChecks: readonly ActiveProtection[];
  replyChecks: readonly ActiveProtection[];
  factChecks: readonly ActiveProtection[];
  ehloMaskers: readonly ActiveProtection[];
  dataLineLimit: { id: ProtectionId; limit: number } | null;
  sizeLimit: number;
  watchEndOfData: boolean;
  /** Max Command Line Length's settings when it is in Prevent (lines are then cut at the limit as they arrive). */
  linePreventSettings: { limit: number; perVerb: Record<string, number> } | null;
}

/** A resolved policy, ready to use on any number of connections. */
export interface CompiledPolicy {
  resolved: ResolvedPolicy;
  /** The protections for one connection's actions (after network exceptions). */
  instantiate(actions: Record<ProtectionId, Action>): ConnectionProtections;
  /** Bits (ActiveProtection.bit) of the protections whose onCommand may fire for this verb. */
  commandMask(verb: string): number;
}

/** Verbs remembered per policy; past this (an attacker inventing verbs) masks are computed each time. */
const VERB_MASK_CACHE = 256;
/** Distinct action sets remembered per policy (network exceptions make a few; past this they are built per connection). */
const ACTION_SET_CACHE = 64;

const EVERY_LINE: LineTrigger = { flags: LINE_ANY, longerThan: Number.POSITIVE_INFINITY };

export function compilePolicy(resolved: ResolvedPolicy): CompiledPolicy {
  const modules: Record<ProtectionId, ProtectionModule> = { ...PROTECTIONS } as Record<ProtectionId, ProtectionModule>;
  // Private commands leave the Exchange verbs, as configured, to their own protection.
  modules['private-commands'] = privateCommandsModule(resolved.settings['exchange-commands'].commands) as ProtectionModule;
  // Hooks hold settings only (per-connection state lives in the session), so one set serves every connection.
  const hooks: ProtectionHooks[] = PROTECTION_IDS.map((id) => (modules[id] as ProtectionModule<typeof id>).hooks(resolved.settings[id] as never));

  const masks = new Map<string, number>();
  const maskOf = (verb: string): number => {
    let mask = 0;
    hooks.forEach((h, index) => {
      if (h.onCommand && !h.ignoresVerb?.(verb)) mask |= 1 << index;
    });
    return mask;
  };

  const bundle = (actions: Record<ProtectionId, Action>): ConnectionProtections => {
    const active: ActiveProtection[] = [];
    PROTECTION_IDS.forEach((id, index) => {
      const action = actions[id];
      if (action === 'inactive') return;
      const h = hooks[index]!;
      const { onLine = null, onCommand = null, onReply = null, onFact = null, lineTrigger = EVERY_LINE, replyTrigger = REPLY_ANY } = h;
      active.push({ id, action, bit: 1 << index, onLine, onCommand, onReply, onFact, lineTrigger, replyTrigger, hooks: h });
    });
    const lineProtection = active.find((p) => (p.hooks.dataLineLimit ?? 0) > 0);
    const linePrevent = active.some((p) => p.id === 'max-command-line-length' && p.action === 'prevent');
    return {
      active,
      lineChecks: active.filter((p) => p.onLine),
      commandChecks: active.filter((p) => p.onCommand),
      replyChecks: active.filter((p) => p.onReply),
      factChecks: active.filter((p) => p.onFact),
      ehloMaskers: active.filter((p) => p.action === 'prevent' && p.hooks.masksEhloKeyword),
      dataLineLimit: lineProtection ? { id: lineProtection.id, limit: lineProtection.hooks.dataLineLimit! } : null,
      sizeLimit: active.find((p) => (p.hooks.messageSizeLimit ?? 0) > 0)?.hooks.messageSizeLimit ?? 0,
      watchEndOfData: active.some((p) => p.hooks.watchesEndOfData),
      linePreventSettings: linePrevent ? resolved.settings['max-command-line-length'] : null,
    };
  };

  const bundles = new Map<string, ConnectionProtections>();
  // Without network exceptions every connection gets the policy's own actions object.
  let plain: ConnectionProtections | null = null;
  return {
    resolved,
    instantiate(actions) {
      if (actions === resolved.actions) return (plain ??= bundle(actions));
      let key = '';
      for (const id of PROTECTION_IDS) key += actions[id][0];
      const known = bundles.get(key);
      if (known) return known;
      const made = bundle(actions);
      if (bundles.size < ACTION_SET_CACHE) bundles.set(key, made);
      return made;
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
