import { z } from 'zod';

/**
 * Log export: the manager forwards every committed event to a SIEM as syslog (RFC 5424),
 * over UDP (best effort), TCP or TLS (octet-counting framing, RFC 6587), as JSON or ArcSight
 * CEF. Routes: `GET/PUT /api/log-export`, `POST /api/log-export/test` (admin only).
 */
export const LOG_EXPORT_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export type LogExportTransport = (typeof LOG_EXPORT_TRANSPORTS)[number];
export const LOG_EXPORT_FORMATS = ['json', 'cef'] as const;
export type LogExportFormat = (typeof LOG_EXPORT_FORMATS)[number];

const PEM = /^-----BEGIN [A-Z0-9 ]+-----\r?\n[\s\S]+-----END [A-Z0-9 ]+-----\s*$/;
const zPem = (what: string) => z.string().max(64 * 1024).regex(PEM, `expected a PEM ${what} (-----BEGIN ...-----)`);

/** A host name or an IP address: no spaces, no scheme, no port. */
const zHost = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?)$/, 'expected a host name or an IP address (no scheme, no port)');

/** TLS options (transport `tls`): the CA that signed the receiver's certificate, and an optional client certificate. */
export const zLogExportTls = z
  .object({
    /** PEM CA bundle the receiver's certificate must chain to; absent = the system CAs. */
    ca: zPem('certificate').optional(),
    /** PEM client certificate, for receivers that require mutual TLS. */
    cert: zPem('certificate').optional(),
    /** PEM private key of `cert`. Write-only: never returned (see `hasKey`). Absent on update = keep the stored key; "" = remove it. */
    key: z.union([zPem('private key'), z.literal('')]).optional(),
    /** Name checked against the receiver's certificate; default: `host`. */
    servername: z.string().min(1).max(253).optional(),
  })
  .strict();

const base = {
  enabled: z.boolean(),
  host: zHost,
  port: z.number().int().min(1).max(65535),
  transport: z.enum(LOG_EXPORT_TRANSPORTS),
  format: z.enum(LOG_EXPORT_FORMATS),
  /** Syslog facility 0-23 (default 16 = local0); the severity comes from the event's. */
  facility: z.number().int().min(0).max(23).default(16),
};

/** `PUT /api/log-export` body. */
export const zLogExportConfigRequest = z.object({ ...base, tls: zLogExportTls.optional() }).strict();
export type LogExportConfigRequest = z.input<typeof zLogExportConfigRequest>;

/** The stored configuration as the API shows it: the private key is never returned. */
export const zLogExportConfig = z
  .object({
    ...base,
    facility: z.number().int().min(0).max(23),
    tls: z.object({ ca: z.string().optional(), cert: z.string().optional(), servername: z.string().optional(), hasKey: z.boolean() }).strict(),
  })
  .strict();
export type LogExportConfig = z.infer<typeof zLogExportConfig>;

export const LOG_EXPORT_STATES = ['disabled', 'connecting', 'connected', 'retrying', 'unconfigured'] as const;

export const zLogExportStatus = z.object({
  state: z.enum(LOG_EXPORT_STATES),
  /** Id of the last event forwarded (the persistent cursor); null before the first enable. */
  cursor: z.number().int().nullable(),
  /** Events committed after the cursor, not forwarded yet. */
  pending: z.number().int().min(0),
  /** Events forwarded since the manager started. */
  sent: z.number().int().min(0),
  lastSentAt: z.string().nullable(),
  lastError: z.object({ time: z.string(), message: z.string() }).nullable(),
  /** When the next attempt is due while retrying. */
  nextRetryAt: z.string().nullable(),
  /** UDP gives no delivery guarantee; TCP and TLS advance the cursor only after a successful write. */
  delivery: z.enum(['best-effort', 'reliable']),
});
export type LogExportStatus = z.infer<typeof zLogExportStatus>;

/** `GET` / `PUT /api/log-export` response; `config` is null until an admin saves one. */
export const zLogExportView = z.object({ config: zLogExportConfig.nullable(), status: zLogExportStatus });
export type LogExportView = z.infer<typeof zLogExportView>;

/** `POST /api/log-export/test`: one test message sent with the saved configuration on a fresh connection. */
export const zLogExportTestResponse = z.object({ ok: z.boolean(), message: z.string() });
export type LogExportTestResponse = z.infer<typeof zLogExportTestResponse>;
