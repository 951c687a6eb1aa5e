import { z } from 'zod';

/**
 * Additional Settings of each protection. Every field has a default, so `{}` is a valid
 * input and an older policy keeps working when a field is added. `.strict()` makes a
 * typo an error that names the field instead of a silently ignored key.
 */

const verb = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'a command verb is letters, digits and "-"')
  .transform((v) => v.toUpperCase());

/** A per-connection or per-message count limit; 0 disables the limit. */
const countLimit = (defaultValue: number, max = 1_000_000) =>
  z.number().int().min(0).max(max).default(defaultValue);

export const noSettings = z.object({}).strict();

export const binaryDataSettings = z
  .object({
    allowUtf8WithSmtputf8: z
      .boolean()
      .default(true)
      .describe('Accept UTF-8 in MAIL/RCPT addresses when the transaction uses SMTPUTF8 (RFC 6531).'),
  })
  .strict();

export const exchangeCommandsSettings = z
  .object({
    commands: z
      .array(verb)
      .max(64)
      .default(['XEXCH50', 'X-LINK2STATE', 'X-EXPS'])
      .describe('Verbs treated as Exchange-to-Exchange commands.'),
    maskInEhlo: z
      .boolean()
      .default(true)
      .describe('In Prevent, remove these verbs from the server EHLO reply so clients never try them.'),
  })
  .strict();

export const nonCompliantSettings = z
  .object({
    bareLineEndingsInCommands: z
      .boolean()
      .default(true)
      .describe('Flag a command line ended by a bare LF, or holding a bare CR (RFC 5321 2.3.8).'),
    nulInCommands: z.boolean().default(true).describe('Flag a NUL byte in a command line.'),
    clientTalksFirst: z
      .boolean()
      .default(true)
      .describe('Flag a client that sends before the server greeting (RFC 5321 3.1).'),
    pipeliningViolations: z
      .boolean()
      .default(true)
      .describe(
        'Flag commands sent before the reply to a command that must end a batch, or any batch when PIPELINING was not advertised (RFC 2920 3.1); includes data sent before 354 and plaintext after STARTTLS.',
      ),
    malformedAddresses: z
      .boolean()
      .default(true)
      .describe('Flag MAIL/RCPT arguments that are not a path, even by the tolerant reading most MTAs use.'),
    strictAddressSyntax: z
      .boolean()
      .default(false)
      .describe(
        'Also flag the tolerated forms: a space after the colon and a path without angle brackets.',
      ),
    ambiguousEndOfData: z
      .boolean()
      .default(true)
      .describe(
        'Flag a lone "." line ended or started by a bare CR or LF inside DATA: MTAs disagree on where such a message ends (SMTP smuggling).',
      ),
  })
  .strict();

export const privateCommandsSettings = z
  .object({
    allow: z
      .array(verb)
      .max(64)
      .default([])
      .describe('X-prefixed verbs allowed through (for example XCLIENT or XFORWARD from trusted hosts).'),
  })
  .strict();

export const recipientNoDomainSettings = z
  .object({
    allowPostmaster: z
      .boolean()
      .default(true)
      .describe('Accept RCPT TO:<postmaster> without a domain (RFC 5321 4.5.1).'),
  })
  .strict();

export const DEFAULT_KNOWN_COMMANDS = [
  'EHLO',
  'HELO',
  'MAIL',
  'RCPT',
  'DATA',
  'RSET',
  'VRFY',
  'EXPN',
  'HELP',
  'NOOP',
  'QUIT',
  'BDAT',
  'ATRN',
  'AUTH',
  'ETRN',
  'STARTTLS',
  'TLS',
  'X-EXPS',
  'XEXCH50',
  'X-LINK2STATE',
] as const;

export const unknownCommandsSettings = z
  .object({
    allowed: z
      .array(verb)
      .max(256)
      .default([...DEFAULT_KNOWN_COMMANDS])
      .describe(
        'Known commands. X-prefixed verbs are judged by the Private and Exchange protections, so listing one here does not open it.',
      ),
  })
  .strict();

export const maxBadCommandsSettings = z
  .object({
    limit: countLimit(20).describe('Error replies (4xx/5xx) allowed per connection, gateway rejections included.'),
  })
  .strict();

export const maxDataLineLengthSettings = z
  .object({
    limit: countLimit(1000, 1 << 30).describe('Longest DATA line in bytes, CRLF included (RFC 5321 4.5.3.1.6).'),
  })
  .strict();

export const maxEmailSizeSettings = z
  .object({
    limit: countLimit(10_240_000, 2 ** 40).describe('Largest message in bytes (DATA after unstuffing, or BDAT chunks summed).'),
    checkSizeParameter: z
      .boolean()
      .default(true)
      .describe('Also judge the SIZE= value a client declares on MAIL (RFC 1870).'),
  })
  .strict();

export const maxNoEffectCommandsSettings = z
  .object({
    limit: countLimit(20).describe('No-effect commands allowed per connection.'),
    commands: z
      .array(verb)
      .max(32)
      .default(['NOOP', 'VRFY', 'EXPN', 'RSET', 'HELP'])
      .describe('Verbs counted as no-effect.'),
  })
  .strict();

export const maxRecipientsSettings = z
  .object({
    limit: countLimit(100).describe('RCPT commands allowed per message (RFC 5321 4.5.3.1.8 asks servers to take at least 100).'),
  })
  .strict();

export const maxCommandLineLengthSettings = z
  .object({
    limit: countLimit(512, 1 << 20).describe('Longest command line in bytes, CRLF included (RFC 5321 4.5.3.1.4).'),
    perVerb: z
      .record(verb, z.number().int().min(0).max(1 << 20))
      .default({ AUTH: 12288 })
      .describe(
        'Per-verb limits that replace the general one; AUTH also covers SASL response lines (RFC 4954 4 allows 12288).',
      ),
  })
  .strict();

export const maxCommandsSettings = z
  .object({
    limit: countLimit(1000).describe('Commands allowed per connection.'),
  })
  .strict();

export const maliciousCodeSettings = z
  .object({
    sensitivity: z
      .enum(['low', 'medium', 'high'])
      .default('medium')
      .describe('How little evidence of machine code is enough: high catches more and risks more false positives.'),
  })
  .strict();
