import { z } from 'zod';
import { zInspectionEvent } from './event.js';
import { zPolicy } from './policy.js';

/**
 * The gateway <-> manager link.
 *
 * 1. Enrollment (HTTP, once): the gateway POSTs `zEnrollRequest` to `/api/fleet/enroll` with the
 *    one-time key an administrator created, and receives its own credential (`zEnrollResponse`).
 * 2. Link (WebSocket `/api/fleet/ws`, header `Authorization: Bearer <credential>`): every frame
 *    is one JSON message, `zGatewayMessage` from the gateway, `zManagerMessage` from the manager.
 *
 * Events are numbered by the gateway's spool (`epoch` identifies one spool's life, `seq` counts
 * from 1 inside it). The manager stores each (gateway, epoch, seq) once and acknowledges a batch
 * only after committing it; the gateway deletes only acknowledged events and re-sends the rest
 * after any reconnect or restart.
 */

export const FLEET_PROTOCOL_VERSION = 1;

/** A gateway name: what exceptions and the event log refer to. */
export const zGatewayName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

export const zEnrollRequest = z
  .object({
    key: z.string().min(8).max(200).describe('The one-time enrollment key an administrator created.'),
    version: z.string().max(64).optional().describe('Gateway software version, for display.'),
  })
  .strict();
export type EnrollRequest = z.infer<typeof zEnrollRequest>;

export const zEnrollResponse = z.object({
  gatewayId: z.string(),
  name: zGatewayName,
  /** Secret the gateway presents as `Authorization: Bearer <credential>` from now on. */
  credential: z.string(),
});
export type EnrollResponse = z.infer<typeof zEnrollResponse>;

/** Counters a gateway reports in each heartbeat (since the gateway process started). */
export const zGatewayCounters = z
  .object({
    connections: z.number().int().min(0).default(0),
    activeConnections: z.number().int().min(0).default(0),
    events: z.number().int().min(0).default(0),
    prevented: z.number().int().min(0).default(0),
    detected: z.number().int().min(0).default(0),
    /** Events in the on-disk spool not yet acknowledged by the manager. */
    spoolPending: z.number().int().min(0).default(0),
    spoolBytes: z.number().int().min(0).default(0),
    /** Events refused because the spool was full (they are lost; enforcement went on). */
    spoolDropped: z.number().int().min(0).default(0),
  })
  .catchall(z.number());
export type GatewayCounters = z.output<typeof zGatewayCounters>;

const zSeq = z.number().int().min(1);
const zEpoch = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const zRevision = z.number().int().min(1);
const zHash = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');

// ---------- gateway -> manager ----------

export const zHelloMessage = z.object({
  type: z.literal('hello'),
  protocol: z.literal(FLEET_PROTOCOL_VERSION),
  version: z.string().max(64).optional(),
  /** The revision the gateway enforces now (null: catalog defaults / local policy file). */
  installedRevision: zRevision.nullable(),
  installedHash: zHash.nullable(),
  spool: z.object({ epoch: zEpoch, pending: z.number().int().min(0) }),
});

export const zHeartbeatMessage = z.object({
  type: z.literal('heartbeat'),
  time: z.string().datetime({ offset: true }),
  status: z.enum(['ok', 'degraded']),
  /** Why the status is degraded ("spool full", "policy file unreadable"). */
  detail: z.string().max(500).optional(),
  uptimeSeconds: z.number().min(0),
  installedRevision: zRevision.nullable(),
  counters: zGatewayCounters,
});

export const zSpooledEvent = z.object({ seq: zSeq, event: zInspectionEvent });
export type SpooledEvent = z.infer<typeof zSpooledEvent>;

export const zEventsMessage = z.object({
  type: z.literal('events'),
  epoch: zEpoch,
  /** Ascending, contiguous sequence numbers. */
  events: z.array(zSpooledEvent).min(1).max(1000),
});

export const zInstallResultMessage = z.object({
  type: z.literal('install-result'),
  installId: z.number().int().min(1),
  revision: zRevision,
  hash: zHash,
  status: z.enum(['installed', 'failed']),
  /** The gateway's reason when failed (validation errors name the field). */
  reason: z.string().max(2000).optional(),
});

export const zGatewayMessage = z.discriminatedUnion('type', [
  zHelloMessage,
  zHeartbeatMessage,
  zEventsMessage,
  zInstallResultMessage,
]);
export type GatewayMessage = z.infer<typeof zGatewayMessage>;
export type GatewayMessageInput = z.input<typeof zGatewayMessage>;

// ---------- manager -> gateway ----------

export const zWelcomeMessage = z.object({
  type: z.literal('welcome'),
  gatewayId: z.string(),
  name: zGatewayName,
  serverTime: z.string().datetime({ offset: true }),
  /** How often the manager expects a heartbeat. */
  heartbeatSeconds: z.number().min(1),
});

/** Everything in [first, last] of that epoch is committed; the gateway may delete it. */
export const zAckMessage = z.object({
  type: z.literal('ack'),
  epoch: zEpoch,
  first: zSeq,
  last: zSeq,
});

/**
 * A policy install. `policy` is exactly what the gateway enforces (zPolicy, revision set);
 * `hash` is the SHA-256 of `canonicalJson(policy)`, checked by the gateway.
 */
export const zInstallMessage = z.object({
  type: z.literal('install'),
  installId: z.number().int().min(1),
  revision: zRevision,
  hash: zHash,
  profile: z.string().max(128),
  /** Left unparsed here so a gateway can answer "failed" naming the field instead of dropping the frame. */
  policy: z.unknown(),
});

export const zErrorMessage = z.object({
  type: z.literal('error'),
  message: z.string(),
});

export const zManagerMessage = z.discriminatedUnion('type', [
  zWelcomeMessage,
  zAckMessage,
  zInstallMessage,
  zErrorMessage,
]);
export type ManagerMessage = z.infer<typeof zManagerMessage>;

/** The policy the gateway persists and enforces after an install. */
export const zInstalledPolicy = z.object({
  revision: zRevision,
  hash: zHash,
  profile: z.string().max(128).optional(),
  installedAt: z.string().datetime({ offset: true }),
  policy: zPolicy,
});
export type InstalledPolicy = z.infer<typeof zInstalledPolicy>;

/**
 * Deterministic JSON (object keys sorted, no whitespace) so both sides hash the same bytes.
 * `undefined` members are left out as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}
