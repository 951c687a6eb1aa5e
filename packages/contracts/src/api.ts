import { z } from 'zod';
import {
  ACTIONS,
  CONFIDENCE_LEVELS,
  PERFORMANCE_IMPACTS,
  PROTECTION_IDS,
  SEVERITIES,
  type ProtectionId,
} from './catalog.js';
import { zInspectionEvent } from './event.js';
import { zGatewayCounters, zGatewayName } from './fleet.js';
import { zAction, zCidr, zPolicy } from './policy.js';

/**
 * Request and response bodies of the manager's HTTP API (apps/manager/API.md). The console
 * imports these; the manager validates every request with them and documents them as OpenAPI.
 */

export const zProtectionId = z.enum(PROTECTION_IDS as [ProtectionId, ...ProtectionId[]]);

/** Every error response: `{ error, message, field? }`; `field` names the bad input for a 400. */
export const zApiError = z.object({
  error: z.enum([
    'bad_request',
    'unauthorized',
    'forbidden',
    'not_found',
    'conflict',
    'rate_limited',
    'unsupported_media_type',
    'internal',
  ]),
  message: z.string(),
  field: z.string().optional(),
});
export type ApiError = z.infer<typeof zApiError>;

const zTime = z.string().datetime({ offset: true });
const zId = z.coerce.number().int().min(1);
export const zIdParams = z.object({ id: zId }).strict();

// ---------- users and sessions ----------

export const ROLES = ['admin', 'operator'] as const;
export const zRole = z.enum(ROLES);
export type Role = z.infer<typeof zRole>;

export const zUsername = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits, ".", "_", "@" and "-"');
export const zPassword = z.string().min(10, 'at least 10 characters').max(256);

export const zUser = z.object({
  id: z.number().int(),
  username: z.string(),
  role: zRole,
  disabled: z.boolean(),
  createdAt: zTime,
});
export type User = z.infer<typeof zUser>;

export const zLoginRequest = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) }).strict();
export const zLoginResponse = z.object({ user: zUser });
export const zMeResponse = z.object({ user: zUser });
export const zChangePasswordRequest = z.object({ currentPassword: z.string().min(1).max(256), newPassword: zPassword }).strict();

export const zUserList = z.object({ users: z.array(zUser) });
export const zCreateUserRequest = z.object({ username: zUsername, password: zPassword, role: zRole }).strict();
export const zUpdateUserRequest = z
  .object({ role: zRole.optional(), password: zPassword.optional(), disabled: z.boolean().optional() })
  .strict();

// ---------- catalog, profiles, protections ----------

export const zThresholds = z
  .object({
    /** What an automatically activated protection does. */
    mode: z.enum(['prevent', 'detect']),
    /** Activate protections of at least this severity... */
    minSeverity: z.enum(SEVERITIES),
    /** ...and at least this confidence... */
    minConfidence: z.enum(CONFIDENCE_LEVELS),
    /** ...and at most this performance impact. Others are Inactive. */
    maxPerformanceImpact: z.enum(PERFORMANCE_IMPACTS),
  })
  .strict();
export type Thresholds = z.infer<typeof zThresholds>;

export const zProfile = z.object({
  id: z.number().int(),
  name: z.string(),
  comment: z.string(),
  thresholds: zThresholds,
  /** Per-protection "Override IPS Policy with": beats the thresholds. */
  overrides: z.partialRecord(zProtectionId, zAction),
  /** Gateways (ids) assigned this profile in the draft. */
  gateways: z.array(z.string()),
});
export type Profile = z.infer<typeof zProfile>;

export const zProfileName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, spaces, ".", "_" and "-"');

export const zProfileList = z.object({ profiles: z.array(zProfile) });
export const zCreateProfileRequest = z
  .object({
    name: zProfileName,
    comment: z.string().max(500).optional(),
    thresholds: zThresholds.optional(),
    /** Copy thresholds and overrides from this profile. */
    copyFrom: z.number().int().min(1).optional(),
  })
  .strict();
export const zUpdateProfileRequest = z
  .object({ name: zProfileName.optional(), comment: z.string().max(500).optional(), thresholds: zThresholds.optional() })
  .strict();
export const zOverrideRequest = z.object({ action: zAction }).strict();

/** How a profile's action for one protection came about. */
export const zActionSource = z.enum(['override', 'threshold', 'catalog-default', 'below-threshold']);

export const zProtectionView = z.object({
  id: zProtectionId,
  name: z.string(),
  attackName: z.string(),
  attackInfo: z.string(),
  description: z.string(),
  severity: z.enum(SEVERITIES),
  confidence: z.enum(CONFIDENCE_LEVELS),
  performanceImpact: z.enum(PERFORMANCE_IMPACTS),
  industryReference: z.array(z.string()),
  defaultAction: zAction,
  /** Draft settings (complete, defaults applied). */
  settings: z.record(z.string(), z.unknown()),
  settingsDefaults: z.record(z.string(), z.unknown()),
  /** JSON Schema of the settings (for building the Additional Settings form). */
  settingsSchema: z.unknown(),
  limit: z
    .object({ setting: z.string(), unit: z.string(), exceeded: z.string(), then: z.string(), zeroDisables: z.boolean() })
    .nullable(),
  /** Per profile (draft): the effective action and why. */
  profiles: z.array(
    z.object({
      profileId: z.number().int(),
      profile: z.string(),
      action: zAction,
      automaticAction: zAction,
      override: zAction.nullable(),
      source: zActionSource,
    }),
  ),
  exceptions: z.number().int(),
});
export type ProtectionView = z.infer<typeof zProtectionView>;
export const zProtectionList = z.object({ protections: z.array(zProtectionView) });
export const zProtectionParams = z.object({ protectionId: zProtectionId }).strict();
export const zProfileProtectionParams = z.object({ id: zId, protectionId: zProtectionId }).strict();
/** Body of PUT /api/protections/:protectionId/settings: validated with that protection's catalog schema. */
export const zSettingsRequest = z.object({ settings: z.record(z.string(), z.unknown()) }).strict();

// ---------- network exceptions ----------

export const zExceptionInput = z
  .object({
    protection: z.union([zProtectionId, z.literal('*')]),
    source: zCidr.optional(),
    destination: zCidr.optional(),
    gateway: zGatewayName.optional(),
    action: z.enum(['inactive', 'detect']).default('inactive'),
    comment: z.string().max(500).optional(),
  })
  .strict();
export const zExceptionView = zExceptionInput.extend({ id: z.number().int() });
export type ExceptionView = z.infer<typeof zExceptionView>;
export const zExceptionList = z.object({ exceptions: z.array(zExceptionView) });

// ---------- draft, revisions, installs ----------

/** The whole editable policy. A revision is an immutable copy of it. */
export const zPolicyDocument = z.object({
  profiles: z.array(zProfile.omit({ gateways: true })),
  settings: z.partialRecord(zProtectionId, z.record(z.string(), z.unknown())),
  exceptions: z.array(zExceptionView),
  /** gateway id -> profile id */
  assignments: z.record(z.string(), z.number().int()),
  /** Profile for gateways not assigned one. */
  defaultProfileId: z.number().int(),
});
export type PolicyDocument = z.infer<typeof zPolicyDocument>;

export const zChange = z.object({
  /** Dotted path of what changed: "profiles.Default_Protection.max-recipients". */
  path: z.string(),
  kind: z.enum(['added', 'removed', 'changed']),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  /** One readable line. */
  text: z.string(),
});
export type Change = z.infer<typeof zChange>;

export const zDraftResponse = z.object({
  document: zPolicyDocument,
  basedOnRevision: z.number().int().nullable(),
  /** Changes since the last revision (all of it when there is none). */
  changes: z.array(zChange),
  updatedAt: zTime.nullable(),
  updatedBy: z.string().nullable(),
});

export const zRevisionSummary = z.object({
  number: z.number().int(),
  createdAt: zTime,
  createdBy: z.string(),
  comment: z.string(),
  /** Rolled back from this revision, when it is a rollback. */
  rollbackOf: z.number().int().nullable(),
});
export const zRevisionList = z.object({ revisions: z.array(zRevisionSummary) });
export const zRevisionDetail = zRevisionSummary.extend({
  document: zPolicyDocument,
  /** The compiled policy per profile name, exactly what gateways receive. */
  policies: z.record(z.string(), zPolicy),
});
export const zRevisionParams = z.object({ number: zId }).strict();
export const zDiffQuery = z.object({ against: z.coerce.number().int().min(0).optional() }).strict();
export const zDiffResponse = z.object({ from: z.number().int().nullable(), to: z.number().int(), changes: z.array(zChange) });

export const INSTALL_STATUSES = ['pending', 'installed', 'failed', 'unreachable'] as const;
export const zInstallRequest = z
  .object({
    comment: z.string().max(500).optional(),
    /** Gateway ids; absent means every enrolled gateway ("all modules"). */
    gateways: z.array(z.string().min(1)).min(1).max(1000).optional(),
  })
  .strict();
export const zInstallResult = z.object({
  gatewayId: z.string(),
  gateway: z.string(),
  profile: z.string(),
  status: z.enum(INSTALL_STATUSES),
  reason: z.string().nullable(),
  updatedAt: zTime,
});
export const zInstall = z.object({
  id: z.number().int(),
  revision: z.number().int(),
  createdAt: zTime,
  createdBy: z.string(),
  comment: z.string(),
  done: z.boolean(),
  results: z.array(zInstallResult),
});
export type Install = z.infer<typeof zInstall>;
export const zInstallList = z.object({ installs: z.array(zInstall) });

// ---------- gateways ----------

export const GATEWAY_STATUSES = ['pending-enrollment', 'online', 'offline', 'revoked'] as const;
export const zGateway = z.object({
  id: z.string(),
  name: zGatewayName,
  status: z.enum(GATEWAY_STATUSES),
  profileId: z.number().int().nullable(),
  createdAt: zTime,
  enrolledAt: zTime.nullable(),
  lastSeenAt: zTime.nullable(),
  address: z.string().nullable(),
  version: z.string().nullable(),
  installedRevision: z.number().int().nullable(),
  /** The revision the last install sent it (what it should run). */
  targetRevision: z.number().int().nullable(),
  health: z.enum(['ok', 'degraded']).nullable(),
  detail: z.string().nullable(),
  counters: zGatewayCounters.nullable(),
});
export type Gateway = z.infer<typeof zGateway>;
export const zGatewayList = z.object({ gateways: z.array(zGateway) });
export const zGatewayParams = z.object({ id: z.string().min(1).max(64) }).strict();
export const zCreateGatewayRequest = z
  .object({ name: zGatewayName, profileId: z.number().int().min(1).optional() })
  .strict();
export const zUpdateGatewayRequest = z
  .object({ profileId: z.number().int().min(1).nullable().optional() })
  .strict();
/** The key is shown once; the gateway trades it for its own credential. */
export const zEnrollmentKeyResponse = z.object({ gateway: zGateway, enrollmentKey: z.string(), expiresAt: zTime });

// ---------- events ----------

export const zStoredEvent = zInspectionEvent.extend({
  id: z.number().int(),
  gatewayId: z.string(),
  gateway: z.string(),
  seq: z.number().int(),
  receivedAt: zTime,
});
export type StoredEvent = z.infer<typeof zStoredEvent>;

const csv = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item).max(50));

/** Filters shared by the query, the counts, the export and the live stream. Lists are comma-separated. */
export const zEventFilters = z
  .object({
    from: zTime.optional().describe('Inclusive, event time.'),
    to: zTime.optional().describe('Exclusive, event time.'),
    protection: csv(zProtectionId).optional(),
    attackName: z.string().max(200).optional(),
    action: csv(z.enum(['detect', 'prevent'])).optional(),
    gateway: csv(z.string().max(128)).optional().describe('Gateway names or ids.'),
    client: z.string().max(64).optional().describe('Client address, or a CIDR.'),
    q: z.string().min(1).max(200).optional().describe('Free text in the command, detail, HELO and MAIL FROM.'),
  })
  .strict();
export type EventFilters = z.output<typeof zEventFilters>;

export const zEventQuery = zEventFilters
  .extend({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(100).optional().describe('nextCursor of the previous page.'),
  })
  .strict();
export const zEventPage = z.object({ events: z.array(zStoredEvent), nextCursor: z.string().nullable() });

export const zEventStatsQuery = zEventFilters
  .extend({
    bucketSeconds: z.coerce.number().int().min(1).max(86_400 * 31).optional().describe('Default: range / 60.'),
  })
  .strict();
export const zEventStats = z.object({
  total: z.number().int(),
  byProtection: z.array(z.object({ protectionId: zProtectionId, name: z.string(), count: z.number().int() })),
  bucketSeconds: z.number().int(),
  byTime: z.array(z.object({ start: zTime, count: z.number().int() })),
});
export const zEventExportQuery = zEventFilters
  .extend({
    format: z.enum(['csv', 'jsonl']).default('jsonl'),
    limit: z.coerce.number().int().min(1).max(1_000_000).default(100_000),
  })
  .strict();

/** Live stream (WebSocket /api/events/stream): every frame is `{type, seq, data}`; seq counts frames from 1. */
export const zStreamFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), seq: z.number().int(), data: z.object({ filters: z.record(z.string(), z.unknown()) }) }),
  z.object({ type: z.literal('event'), seq: z.number().int(), data: zStoredEvent }),
  z.object({ type: z.literal('dropped'), seq: z.number().int(), data: z.object({ reason: z.string() }) }),
  z.object({ type: z.literal('error'), seq: z.number().int(), data: z.object({ message: z.string() }) }),
]);
export type StreamFrame = z.infer<typeof zStreamFrame>;
/** A client may change its filters on an open stream. */
export const zStreamClientMessage = z.object({ type: z.literal('filters'), data: zEventFilters });

// ---------- audit and settings ----------

export const zAuditEntry = z.object({
  id: z.number().int(),
  time: zTime,
  user: z.string(),
  action: z.string(),
  target: z.string(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export const zAuditQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(40).optional() })
  .strict();
export const zAuditPage = z.object({ entries: z.array(zAuditEntry), nextCursor: z.string().nullable() });

export const zManagerSettings = z
  .object({
    retentionDays: z.number().int().min(1).max(3650),
    retentionMaxRows: z.number().int().min(1000).max(1_000_000_000),
  })
  .strict();
export type ManagerSettings = z.infer<typeof zManagerSettings>;
export const zUpdateSettingsRequest = zManagerSettings.partial().strict();

export const zHealth = z.object({ ok: z.boolean(), version: z.string(), time: zTime });
export const zActionEnum = z.enum(ACTIONS);
