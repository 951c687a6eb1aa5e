import { z } from 'zod';
import { CONFIDENCE_LEVELS, PROTECTION_IDS, SEVERITIES, type ProtectionId } from './catalog.js';

const zProtectionId = z.enum(PROTECTION_IDS as [ProtectionId, ...ProtectionId[]]);

/** The SMTP context of an event: what was known of the session when it fired. */
export const zSmtpContext = z.object({
  helo: z.string().max(300).optional(),
  mailFrom: z.string().max(600).optional(),
  rcptCount: z.number().int().min(0),
  state: z.string().max(40),
});

/** Machine-code analysis evidence (Malicious Code Protector). */
export const zSignal = z.object({
  name: z.string().max(60),
  offset: z.number().int().min(0),
  weight: z.number(),
  detail: z.string().max(200).optional(),
});

/** What the engine reports; it knows nothing of clocks or sockets. */
export const zFinding = z.object({
  protectionId: zProtectionId,
  protectionName: z.string(),
  attackName: z.string(),
  attackInfo: z.string(),
  severity: z.enum(SEVERITIES),
  confidence: z.enum(CONFIDENCE_LEVELS),
  action: z.enum(['detect', 'prevent']),
  direction: z.enum(['client', 'server']),
  /** The offending command or reply line, escaped (\r \n \xHH) and truncated. */
  command: z.string().max(1200),
  /** Why it fired, in words: "line of 5123 bytes, limit 512". */
  detail: z.string().max(500),
  /** Byte offset in that direction's stream where the offending input starts. */
  streamOffset: z.number().int().min(0),
  context: zSmtpContext,
  signals: z.array(zSignal).max(32).optional(),
});
export type Finding = z.infer<typeof zFinding>;

export const zEndpoint = z.object({ address: z.string().max(64), port: z.number().int().min(0).max(65535) });

/** A tracker-log entry: a finding stamped by the gateway with time and connection. */
export const zInspectionEvent = zFinding.extend({
  time: z.string().datetime({ offset: true }),
  connectionId: z.string().max(64),
  gateway: z.string().max(128).optional(),
  client: zEndpoint,
  server: zEndpoint,
  policyRevision: z.number().int().min(0).optional(),
});
export type InspectionEvent = z.infer<typeof zInspectionEvent>;
