import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { ACTIONS, CATALOG, PROTECTION_IDS, type Action, type AllSettings, type ProtectionId } from './catalog.js';

export const zAction = z.enum(ACTIONS);

/** An IPv4 or IPv6 CIDR ("10.0.0.0/8", "2001:db8::/32") or a single address. */
export const zCidr = z
  .string()
  .max(64)
  .refine((value) => parseCidr(value) !== null, 'not an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8)');

export function parseCidr(value: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  try {
    if (value.includes('/')) return ipaddr.parseCIDR(value);
    const addr = ipaddr.parse(value);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

export const zException = z
  .object({
    protection: z.union([z.enum(PROTECTION_IDS as [ProtectionId, ...ProtectionId[]]), z.literal('*')]),
    source: zCidr.optional().describe('Client address range; absent means any.'),
    destination: zCidr.optional().describe('Upstream server address range; absent means any.'),
    gateway: z.string().min(1).max(128).optional().describe('Gateway name; absent means every gateway.'),
    action: z.enum(['inactive', 'detect']).default('inactive').describe('What the protection does for matching connections.'),
    comment: z.string().max(500).optional(),
  })
  .strict();
export type PolicyException = z.output<typeof zException>;

const protectionPolicyShape = Object.fromEntries(
  PROTECTION_IDS.map((id) => [
    id,
    z
      .object({
        action: zAction.optional(),
        settings: CATALOG[id].settings.optional(),
      })
      .strict()
      .optional(),
  ]),
) as { [Id in ProtectionId]: z.ZodOptional<z.ZodObject<{ action: z.ZodOptional<typeof zAction>; settings: z.ZodOptional<(typeof CATALOG)[Id]['settings']> }>> };

/**
 * The policy a gateway enforces: the standalone `--policy` file and the body of a manager
 * install. A protection it leaves out takes its catalog default action and settings.
 */
export const zPolicy = z
  .object({
    revision: z.number().int().min(0).optional(),
    protections: z.object(protectionPolicyShape).strict().default({}),
    exceptions: z.array(zException).max(10_000).default([]),
  })
  .strict();
export type PolicyInput = z.input<typeof zPolicy>;
export type Policy = z.output<typeof zPolicy>;

/** Every protection with its action and complete settings. */
export interface ResolvedPolicy {
  revision: number;
  actions: Record<ProtectionId, Action>;
  settings: AllSettings;
  exceptions: PolicyException[];
}

export function resolvePolicy(policy: Policy, overrideAction?: Action): ResolvedPolicy {
  const actions = {} as Record<ProtectionId, Action>;
  const settings = {} as Record<ProtectionId, unknown>;
  for (const id of PROTECTION_IDS) {
    const entry = policy.protections[id];
    actions[id] = overrideAction ?? entry?.action ?? CATALOG[id].defaultAction;
    settings[id] = entry?.settings ?? CATALOG[id].settings.parse({});
  }
  return { revision: policy.revision ?? 0, actions, settings: settings as AllSettings, exceptions: policy.exceptions };
}

export function defaultPolicy(overrideAction?: Action): ResolvedPolicy {
  return resolvePolicy(zPolicy.parse({}), overrideAction);
}

/** One line per problem, each naming the field path: `protections.max-recipients.settings.limit: ...`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('\n');
}

/** Effective actions for one connection after network exceptions. */
export function actionsForConnection(
  policy: ResolvedPolicy,
  connection: { clientAddress?: string; serverAddress?: string; gateway?: string },
): Record<ProtectionId, Action> {
  if (policy.exceptions.length === 0) return policy.actions;
  const actions = { ...policy.actions };
  for (const exception of policy.exceptions) {
    if (!exceptionMatches(exception, connection)) continue;
    const ids = exception.protection === '*' ? PROTECTION_IDS : [exception.protection];
    for (const id of ids) {
      if (actions[id] === 'inactive') continue;
      actions[id] = exception.action;
    }
  }
  return actions;
}

function exceptionMatches(
  exception: PolicyException,
  connection: { clientAddress?: string; serverAddress?: string; gateway?: string },
): boolean {
  if (exception.gateway !== undefined && exception.gateway !== connection.gateway) return false;
  if (exception.source !== undefined && !addressInCidr(connection.clientAddress, exception.source)) return false;
  if (exception.destination !== undefined && !addressInCidr(connection.serverAddress, exception.destination)) return false;
  return true;
}

export function addressInCidr(address: string | undefined, cidr: string): boolean {
  if (address === undefined) return false;
  const range = parseCidr(cidr);
  if (!range) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
  let [base, bits] = range;
  if (base.kind() === 'ipv6' && (base as ipaddr.IPv6).isIPv4MappedAddress()) {
    base = (base as ipaddr.IPv6).toIPv4Address();
    bits = Math.max(0, bits - 96);
  }
  if (parsed.kind() !== base.kind()) return false;
  return parsed.match([base, bits] as never);
}
