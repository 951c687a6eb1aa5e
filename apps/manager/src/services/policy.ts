import { createHash } from 'node:crypto';
import {
  CATALOG,
  CONFIDENCE_LEVELS,
  PERFORMANCE_IMPACTS,
  PROTECTION_IDS,
  SEVERITIES,
  canonicalJson,
  zPolicy,
  type Action,
  type Change,
  type Policy,
  type PolicyDocument,
  type ProtectionId,
  type Thresholds,
} from '@smtpguard/contracts';

export type DocProfile = PolicyDocument['profiles'][number];

export const DEFAULT_PROFILE_NAME = 'Default_Protection';
export const RECOMMENDED_PROFILE_NAME = 'Recommended_Protection';

/**
 * The shipped profiles. Default_Protection is the conservative one (only high-severity,
 * high-confidence, cheap protections); Recommended_Protection activates every protection of
 * medium severity or more that is not expensive.
 */
export function initialDocument(): PolicyDocument {
  return {
    profiles: [
      {
        id: 1,
        name: DEFAULT_PROFILE_NAME,
        comment: 'Prevents high-severity, high-confidence attacks with low performance impact.',
        thresholds: { mode: 'prevent', minSeverity: 'High', minConfidence: 'Medium-High', maxPerformanceImpact: 'Low' },
        overrides: {},
      },
      {
        id: 2,
        name: RECOMMENDED_PROFILE_NAME,
        comment: 'Prevents medium-severity attacks and above, medium-low confidence and above, up to medium performance impact.',
        thresholds: { mode: 'prevent', minSeverity: 'Medium', minConfidence: 'Medium-Low', maxPerformanceImpact: 'Medium' },
        overrides: {},
      },
    ],
    settings: {},
    exceptions: [],
    assignments: {},
    defaultProfileId: 1,
  };
}

const STRENGTH: Record<Action, number> = { inactive: 0, detect: 1, prevent: 2 };
const rank = <T extends string>(list: readonly T[], value: T) => list.indexOf(value);

export type ActionSource = 'override' | 'threshold' | 'catalog-default' | 'below-threshold';

/** What the thresholds alone decide for one protection. */
export function automaticAction(thresholds: Thresholds, id: ProtectionId): { action: Action; source: ActionSource } {
  const entry = CATALOG[id];
  const meets =
    rank(SEVERITIES, entry.severity) >= rank(SEVERITIES, thresholds.minSeverity) &&
    rank(CONFIDENCE_LEVELS, entry.confidence) >= rank(CONFIDENCE_LEVELS, thresholds.minConfidence) &&
    rank(PERFORMANCE_IMPACTS, entry.performanceImpact) <= rank(PERFORMANCE_IMPACTS, thresholds.maxPerformanceImpact);
  if (!meets) return { action: 'inactive', source: 'below-threshold' };
  // Never stronger than the catalog default: the catalog documents why some protections
  // start in Detect (legal "554" greetings, long HTML lines) or Inactive (STARTTLS).
  if (STRENGTH[entry.defaultAction] < STRENGTH[thresholds.mode]) return { action: entry.defaultAction, source: 'catalog-default' };
  return { action: thresholds.mode, source: 'threshold' };
}

export function effectiveAction(profile: DocProfile, id: ProtectionId) {
  const automatic = automaticAction(profile.thresholds, id);
  const override = profile.overrides[id] ?? null;
  return {
    action: override ?? automatic.action,
    automaticAction: automatic.action,
    override,
    source: override ? ('override' as const) : automatic.source,
  };
}

export function settingsOf(doc: PolicyDocument, id: ProtectionId): Record<string, unknown> {
  return (doc.settings[id] ?? CATALOG[id].settings.parse({})) as Record<string, unknown>;
}

/** The policy a gateway with this profile enforces: every protection explicit, so catalog changes never shift an installed revision. */
export function compilePolicy(doc: PolicyDocument, profile: DocProfile, revision: number): Policy {
  const protections: Record<string, { action: Action; settings: unknown }> = {};
  for (const id of PROTECTION_IDS) protections[id] = { action: effectiveAction(profile, id).action, settings: settingsOf(doc, id) };
  const exceptions = doc.exceptions.map(({ id: _id, ...rest }) => rest);
  return zPolicy.parse({ revision, protections, exceptions });
}

export function policyHash(policy: unknown): string {
  return createHash('sha256').update(canonicalJson(policy)).digest('hex');
}

export function profileFor(doc: PolicyDocument, gatewayId: string): DocProfile {
  const id = doc.assignments[gatewayId] ?? doc.defaultProfileId;
  return doc.profiles.find((p) => p.id === id) ?? doc.profiles.find((p) => p.id === doc.defaultProfileId) ?? doc.profiles[0]!;
}

const ACTION_LABEL: Record<Action, string> = { prevent: 'Prevent', detect: 'Detect', inactive: 'Inactive' };
const show = (v: unknown) => (v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

function describeException(e: PolicyDocument['exceptions'][number]): string {
  const what = e.protection === '*' ? 'all protections' : CATALOG[e.protection].name;
  return `${what} ${e.action === 'detect' ? 'Detect only' : 'Inactive'} for source ${e.source ?? 'any'}, destination ${e.destination ?? 'any'}, gateway ${e.gateway ?? 'any'}${e.comment ? ` (${e.comment})` : ''}`;
}

/** A readable list of what changed from `before` (null: nothing) to `after`. */
export function diffDocuments(
  before: PolicyDocument | null,
  after: PolicyDocument,
  gatewayName: (id: string) => string = (id) => id,
): Change[] {
  const changes: Change[] = [];
  const prevProfiles = new Map((before?.profiles ?? []).map((p) => [p.id, p]));
  const nextProfiles = new Map(after.profiles.map((p) => [p.id, p]));
  for (const [id, p] of prevProfiles) {
    if (!nextProfiles.has(id)) changes.push({ path: `profiles.${p.name}`, kind: 'removed', before: p, text: `Profile ${p.name} removed` });
  }
  for (const [id, p] of nextProfiles) {
    const old = prevProfiles.get(id);
    if (!old) {
      changes.push({ path: `profiles.${p.name}`, kind: 'added', after: p, text: `Profile ${p.name} added` });
      continue;
    }
    if (old.name !== p.name) changes.push({ path: `profiles.${p.name}.name`, kind: 'changed', before: old.name, after: p.name, text: `Profile ${old.name} renamed to ${p.name}` });
    for (const key of ['mode', 'minSeverity', 'minConfidence', 'maxPerformanceImpact'] as const) {
      if (old.thresholds[key] !== p.thresholds[key]) {
        changes.push({
          path: `profiles.${p.name}.thresholds.${key}`,
          kind: 'changed',
          before: old.thresholds[key],
          after: p.thresholds[key],
          text: `${p.name}: ${key} ${old.thresholds[key]} → ${p.thresholds[key]}`,
        });
      }
    }
    for (const pid of PROTECTION_IDS) {
      const a = effectiveAction(old, pid);
      const b = effectiveAction(p, pid);
      if (a.action !== b.action || a.override !== b.override) {
        const how = b.override ? ' (override)' : a.override ? ' (override removed)' : '';
        changes.push({
          path: `profiles.${p.name}.actions.${pid}`,
          kind: 'changed',
          before: a.action,
          after: b.action,
          text: `${p.name}: ${CATALOG[pid].name} ${ACTION_LABEL[a.action]} → ${ACTION_LABEL[b.action]}${how}`,
        });
      }
    }
  }
  for (const pid of PROTECTION_IDS) {
    const a = before ? settingsOf(before, pid) : CATALOG[pid].settings.parse({});
    const b = settingsOf(after, pid);
    for (const key of new Set([...Object.keys(a as object), ...Object.keys(b)])) {
      const va = (a as Record<string, unknown>)[key];
      const vb = b[key];
      if (canonicalJson(va) !== canonicalJson(vb)) {
        changes.push({ path: `settings.${pid}.${key}`, kind: 'changed', before: va, after: vb, text: `${CATALOG[pid].name}: ${key} ${show(va)} → ${show(vb)}` });
      }
    }
  }
  const prevEx = new Map((before?.exceptions ?? []).map((e) => [e.id, e]));
  const nextEx = new Map(after.exceptions.map((e) => [e.id, e]));
  for (const [id, e] of prevEx) if (!nextEx.has(id)) changes.push({ path: `exceptions.${id}`, kind: 'removed', before: e, text: `Exception removed: ${describeException(e)}` });
  for (const [id, e] of nextEx) {
    const old = prevEx.get(id);
    if (!old) changes.push({ path: `exceptions.${id}`, kind: 'added', after: e, text: `Exception added: ${describeException(e)}` });
    else if (canonicalJson(old) !== canonicalJson(e)) changes.push({ path: `exceptions.${id}`, kind: 'changed', before: old, after: e, text: `Exception changed: ${describeException(old)} → ${describeException(e)}` });
  }
  const profileName = (doc: PolicyDocument | null, id: number | undefined) => doc?.profiles.find((p) => p.id === id)?.name ?? '(default)';
  for (const gid of new Set([...Object.keys(before?.assignments ?? {}), ...Object.keys(after.assignments)])) {
    const a = before?.assignments[gid];
    const b = after.assignments[gid];
    if (a !== b) {
      changes.push({
        path: `assignments.${gid}`,
        kind: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed',
        before: a,
        after: b,
        text: `Gateway ${gatewayName(gid)}: profile ${profileName(before, a)} → ${profileName(after, b)}`,
      });
    }
  }
  if (before && before.defaultProfileId !== after.defaultProfileId) {
    changes.push({ path: 'defaultProfileId', kind: 'changed', before: before.defaultProfileId, after: after.defaultProfileId, text: `Default profile ${profileName(before, before.defaultProfileId)} → ${profileName(after, after.defaultProfileId)}` });
  }
  return changes;
}
