/**
 * Types of the manager API, derived from the zod schemas in @smtpguard/contracts.
 * Type-only imports: the console never ships zod (bundle budget); the manager validates.
 */
import type { z } from 'zod';
import type {
  zAuditEntry,
  zChange,
  zDiffResponse,
  zDraftResponse,
  zEnrollmentKeyResponse,
  zEventStats,
  zExceptionInput,
  zInstallResult,
  zRevisionDetail,
  zRevisionSummary,
  zThresholds,
} from '@smtpguard/contracts';

export type {
  Action,
  ApiError as ApiErrorBody,
  Confidence,
  EventFilters,
  ExceptionView,
  Gateway,
  GatewayCounters,
  Install,
  PerformanceImpact,
  Profile,
  ProtectionId,
  ProtectionView,
  Role,
  Severity,
  StoredEvent,
  StreamFrame,
  User,
} from '@smtpguard/contracts';

export type Thresholds = z.infer<typeof zThresholds>;
export type Change = z.infer<typeof zChange>;
export type DraftResponse = z.infer<typeof zDraftResponse>;
export type DiffResponse = z.infer<typeof zDiffResponse>;
export type RevisionSummary = z.infer<typeof zRevisionSummary>;
export type RevisionDetail = z.infer<typeof zRevisionDetail>;
export type InstallResult = z.infer<typeof zInstallResult>;
export type EnrollmentKeyResponse = z.infer<typeof zEnrollmentKeyResponse>;
export type AuditEntry = z.infer<typeof zAuditEntry>;
export type EventStats = z.infer<typeof zEventStats>;
export type ExceptionInput = z.input<typeof zExceptionInput>;
