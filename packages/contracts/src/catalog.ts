import type { z } from 'zod';
import * as s from './settings.js';

export const SEVERITIES = ['Low', 'Medium', 'High', 'Critical'] as const;
export const CONFIDENCE_LEVELS = ['Low', 'Medium-Low', 'Medium', 'Medium-High', 'High'] as const;
export const PERFORMANCE_IMPACTS = ['Very Low', 'Low', 'Medium', 'High', 'Critical'] as const;
export const ACTIONS = ['prevent', 'detect', 'inactive'] as const;

export type Severity = (typeof SEVERITIES)[number];
export type Confidence = (typeof CONFIDENCE_LEVELS)[number];
export type PerformanceImpact = (typeof PERFORMANCE_IMPACTS)[number];
export type Action = (typeof ACTIONS)[number];

/** The reply a client sees when the protection prevents; the engine writes nothing else. */
export interface PreventReply {
  /** close: 421 and both sides closed; command: this command refused; recipient: this RCPT refused; message: the message refused at end of data. */
  scope: 'close' | 'command' | 'recipient' | 'message' | 'mask';
  code: number;
  enhanced: string;
  text: string;
}

/** How a limit is documented in the console and README: one shape for all of them. */
export interface LimitDoc {
  setting: string;
  unit: string;
  exceeded: string;
  then: string;
  zeroDisables: boolean;
}

const CLOSE: PreventReply = {
  scope: 'close',
  code: 421,
  enhanced: '4.7.0',
  text: 'Connection closed by security policy',
};

/**
 * The one catalog of protections. Attack Name / Attack Information are copied exactly
 * from the seed (SBP-2010-06), including its lower-case "SMTP policy Violation" for
 * Maximum Number of Recipients: SPEC.md says the seed wins on user-visible strings.
 */
export const CATALOG = {
  'bad-server-greeting': {
    name: 'Bad SMTP Server Greeting',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Server reply out of expected SMTP state',
    description:
      'An SMTP server greeting which is not "220" could indicate problems in the mail server. In this case, it is best to reject connections made to the server, in order to prevent an attacker from exploiting the situation. By activating this protection, IPS can detect or prevent SMTP connections to SMTP servers which return a bad initial greeting.',
    severity: 'Medium',
    confidence: 'Medium',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 3.1', 'RFC 5321 4.2'],
    // Detect by default: "554 No SMTP service here" is a legal greeting (RFC 5321 3.1).
    defaultAction: 'detect',
    settings: s.noSettings,
    preventReply: CLOSE,
    limit: null,
  },
  'binary-data': {
    name: 'Binary Data In SMTP Commands',
    attackName: 'SMTP Format Violation',
    attackInfo: 'Binary data in command line detected',
    description:
      'An attacker might attempt to inject code to the SMTP server by using binary characters as parameters for SMTP commands. By activating this protection, IPS can detect or prevent binary data in SMTP commands.',
    severity: 'High',
    confidence: 'Medium-High',
    performanceImpact: 'Low',
    industryReference: ['RFC 5321 4.1.2', 'RFC 6531 3.3'],
    defaultAction: 'prevent',
    settings: s.binaryDataSettings,
    preventReply: { scope: 'command', code: 500, enhanced: '5.5.2', text: 'Binary data in command line rejected' },
    limit: null,
  },
  'exchange-commands': {
    name: 'Microsoft Exchange Server Commands',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Illegal Microsoft Exchange Server command',
    description:
      'The XEXCH50 X-LINK2STATE and X-EXPS SMTP commands should only be used between two Microsoft Exchange servers. By activating this protection, IPS can detect or prevent Microsoft Exchange commands.',
    severity: 'Critical',
    confidence: 'High',
    performanceImpact: 'Very Low',
    industryReference: ['CVE-2003-0714', 'CVE-2005-0560', 'MS03-046', 'MS05-021'],
    defaultAction: 'prevent',
    settings: s.exchangeCommandsSettings,
    preventReply: { scope: 'command', code: 500, enhanced: '5.5.1', text: 'Command not recognized' },
    limit: null,
  },
  'non-compliant': {
    name: 'Non Compliant SMTP',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Non protocol-compliant connection',
    description:
      'Unexpected characters used in SMTP connections might indicate an attempt to attack the mail server. By activating this protection, IPS can detect or prevent SMTP connections which cannot be inspected because they violate the fundamentals of the SMTP protocol.',
    severity: 'High',
    confidence: 'Medium-High',
    performanceImpact: 'Low',
    industryReference: ['CVE-2023-51764', 'CVE-2023-51765', 'CVE-2023-51766', 'CVE-2011-0411', 'RFC 5321 2.3.8', 'RFC 2920'],
    defaultAction: 'prevent',
    settings: s.nonCompliantSettings,
    preventReply: CLOSE,
    limit: null,
  },
  'private-commands': {
    name: 'SMTP Private Commands',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Private command',
    description:
      'Private-use SMTP commands, as defined in RFC 2821, might unsafe to use. By activating this protection, IPS can detect or prevent private-use SMTP commands.',
    severity: 'Medium',
    confidence: 'Medium',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.1.5'],
    defaultAction: 'detect',
    settings: s.privateCommandsSettings,
    preventReply: { scope: 'command', code: 500, enhanced: '5.5.1', text: 'Command not recognized' },
    limit: null,
  },
  'recipient-no-domain': {
    name: 'SMTP Recipients with No Domain Name',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'No recipient domain',
    description:
      'Spam solicitors and other attackers may try to perform an Email address harvesting attack by sending emails to addresses which contain only the user portion of the address (without the domain portion). By activating this protection, IPS can detect or prevent attempts to deliver emails to addresses which do not contain a domain name.',
    severity: 'Low',
    confidence: 'Medium',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.1.2', 'RFC 5321 4.5.1'],
    defaultAction: 'detect',
    settings: s.recipientNoDomainSettings,
    preventReply: { scope: 'recipient', code: 550, enhanced: '5.1.3', text: 'Recipient address must include a domain' },
    limit: null,
  },
  starttls: {
    name: 'SMTP STARTTLS Command',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Illegal SMTP TLS session',
    description:
      'Block attempts to use encrypted TLS sessions for SMTP, as defined in RFC 2487. By activating this protection, IPS can detect or prevent SMTP connections which are encrypted.',
    severity: 'Low',
    confidence: 'High',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 2487', 'RFC 3207'],
    // Inactive by default: blocking STARTTLS downgrades every mail to plaintext.
    defaultAction: 'inactive',
    settings: s.noSettings,
    preventReply: { scope: 'command', code: 454, enhanced: '4.7.0', text: 'TLS not available due to local policy' },
    limit: null,
  },
  'unknown-commands': {
    name: 'Unknown SMTP Commands',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Unknown or unallowed command',
    description:
      'The default SMTP known commands are EHLO, HELO, MAIL, RCPT, DATA, RSET, VRFY, EXPN, HELP, NOOP, QUIT, BDAT, ATRN, AUTH, ETRN, STARTTLS, TLS, X-EXPS, XEXCH50 and X-LINK2STATE. There is no need for a normal, legitimate sender to use other words as SMTP commands. Such attempt might indicate an attack on the SMTP server. By activating this protection, IPS can detect or prevent SMTP commands which are not selected in the list.',
    severity: 'Medium',
    confidence: 'Medium-High',
    performanceImpact: 'Very Low',
    industryReference: ['CVE-1999-0095', 'RFC 5321 4.1'],
    defaultAction: 'prevent',
    settings: s.unknownCommandsSettings,
    preventReply: { scope: 'command', code: 500, enhanced: '5.5.1', text: 'Command not recognized' },
    limit: null,
  },
  'max-bad-commands': {
    name: 'Maximum Bad SMTP Commands Enforcement',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Too many bad commands',
    description:
      'An SMTP connection in which there is large number of commands to which the SMTP server returns an error might indicate an attempt to attack the SMTP server. By enabling this protection, IPS will limit the number of bad commands allowed per SMTP connection.',
    severity: 'Medium',
    confidence: 'Medium',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.2'],
    defaultAction: 'prevent',
    settings: s.maxBadCommandsSettings,
    preventReply: CLOSE,
    limit: {
      setting: 'limit',
      unit: 'error replies per connection',
      exceeded: 'the error reply after the limit-th one',
      then: 'Prevent: that reply reaches the client, then 421 and both sides close',
      zeroDisables: true,
    },
  },
  'max-data-line-length': {
    name: 'Maximum Data Line Length Enforcement',
    attackName: 'SMTP Format Violation',
    attackInfo: 'Data line is too long',
    description:
      'An attacker might attempt to exploit a buffer overflow vulnerability which may exist in the SMTP server, by sending a long SMTP data line. RFC 2821 defines 1000 as the maximum length of an SMTP data line. By activating this protection, IPS can detect or prevent SMTP data lines which are longer than configured.',
    severity: 'High',
    confidence: 'Medium',
    performanceImpact: 'Low',
    industryReference: ['RFC 5321 4.5.3.1.6'],
    // Detect by default: generated HTML mail often carries lines past 1000 bytes.
    defaultAction: 'detect',
    settings: s.maxDataLineLengthSettings,
    preventReply: { scope: 'message', code: 554, enhanced: '5.6.0', text: 'Message rejected: data line too long' },
    limit: {
      setting: 'limit',
      unit: 'bytes per body line, CRLF included',
      exceeded: 'a DATA line (or a BDAT line outside BINARYMIME) longer than the limit',
      then: 'Prevent: the rest of the message is read and dropped, the upstream never sees its end, the client gets 554 5.6.0',
      zeroDisables: true,
    },
  },
  'max-email-size': {
    name: 'Maximum Email Size Enforcement',
    attackName: 'SMTP Format Violation',
    attackInfo: 'Email is too long',
    description:
      'An attacker might try to send a very large email message in order to exhaust the SMTP server\'s resources. By activating this protection, IPS can detect or prevent emails which are larger than configured.',
    severity: 'Medium',
    confidence: 'High',
    performanceImpact: 'Low',
    industryReference: ['RFC 1870'],
    defaultAction: 'prevent',
    settings: s.maxEmailSizeSettings,
    preventReply: { scope: 'message', code: 552, enhanced: '5.3.4', text: 'Message size exceeds fixed maximum message size' },
    limit: {
      setting: 'limit',
      unit: 'bytes per message',
      exceeded: 'a message body (or a MAIL SIZE= declaration) over the limit',
      then: 'Prevent: MAIL with SIZE= over the limit gets 552 5.3.4; a body over the limit is dropped, the upstream never sees its end, the client gets 552 5.3.4',
      zeroDisables: true,
    },
  },
  'max-no-effect-commands': {
    name: 'Maximum No-Effect Commands Enforcement',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Too many no-effect commands',
    description:
      'An attacker might attempt to use the resources of an SMTP server by sending no-effect commands. This might prevent the SMTP server to close the connection because of a timeout. It may result in denial of service to legitimate users. No-Effect commands in SMTP can be NOOP, VRFY, EXPN, RSET or HELP. By enabling this protection, IPS will limit the number of SMTP no-effect commands allowed per connection.',
    severity: 'Medium',
    confidence: 'Medium',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.1.1.9'],
    defaultAction: 'prevent',
    settings: s.maxNoEffectCommandsSettings,
    preventReply: CLOSE,
    limit: {
      setting: 'limit',
      unit: 'no-effect commands per connection',
      exceeded: 'the no-effect command after the limit-th one',
      then: 'Prevent: 421 instead of forwarding it, both sides close',
      zeroDisables: true,
    },
  },
  'max-recipients': {
    name: 'Maximum Number of Recipients Enforcement',
    attackName: 'SMTP policy Violation',
    attackInfo: 'Too many recipients',
    description:
      'An attacker might try to send an email to a large number of recipients, which may or may not exist on the SMTP server. This might indicate spam or a malware attack on the server. By enabling this protection, IPS will limit the number recipients allowed per email.',
    severity: 'Medium',
    confidence: 'Medium',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.5.3.1.8', 'RFC 5321 4.5.3.1.10'],
    defaultAction: 'prevent',
    settings: s.maxRecipientsSettings,
    preventReply: { scope: 'recipient', code: 452, enhanced: '4.5.3', text: 'Too many recipients' },
    limit: {
      setting: 'limit',
      unit: 'RCPT commands per message',
      exceeded: 'each RCPT after the limit-th one in the same transaction',
      then: 'Prevent: 452 4.5.3 for that RCPT, not forwarded; the transaction goes on',
      zeroDisables: true,
    },
  },
  'max-command-line-length': {
    name: 'Maximum SMTP Command Line Length Enforcement',
    attackName: 'SMTP Format Violation',
    attackInfo: 'Command line is too long',
    description:
      'An attacker might attempt to exploit a buffer overflow vulnerability which may exist in the SMTP server, by sending a long SMTP command. RFC 2821 defines 512 as the maximum length of an SMTP command. By activating this protection, IPS can detect or prevent SMTP commands which are longer than configured.',
    severity: 'High',
    confidence: 'Medium-High',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.5.3.1.4', 'RFC 4954 4'],
    defaultAction: 'prevent',
    settings: s.maxCommandLineLengthSettings,
    preventReply: { scope: 'command', code: 500, enhanced: '5.5.2', text: 'Line too long' },
    limit: {
      setting: 'limit',
      unit: 'bytes per command line, CRLF included',
      exceeded: 'a command line longer than the limit (or its verb\'s own limit)',
      then: 'Prevent: the line is discarded as it arrives (never buffered whole), the client gets 500 5.5.2, the session goes on',
      zeroDisables: true,
    },
  },
  'max-commands': {
    name: 'Maximum SMTP Commands Per Connection Enforcement',
    attackName: 'SMTP Policy Violation',
    attackInfo: 'Too many commands',
    description:
      'An attacker might attempt to use the resources of an SMTP server by sending a large number of SMTP commands per connection. This may result in denial of service to legitimate users. By enabling this protection, IPS will limit the number of SMTP commands allowed per connection.',
    severity: 'Medium',
    confidence: 'Medium-Low',
    performanceImpact: 'Very Low',
    industryReference: ['RFC 5321 4.5.3.2'],
    defaultAction: 'prevent',
    settings: s.maxCommandsSettings,
    preventReply: CLOSE,
    limit: {
      setting: 'limit',
      unit: 'commands per connection',
      exceeded: 'the command after the limit-th one',
      then: 'Prevent: 421 instead of forwarding it, both sides close',
      zeroDisables: true,
    },
  },
  'malicious-code': {
    name: 'Use Malicious Code Protector for SMTP',
    attackName: 'SMTP Security Violation',
    attackInfo: 'Malicious Code Protector',
    description:
      'By manipulating the SMTP command argument so that they contain assembler code, an attacker can create a memory corruption that can cause a server to crash or even run arbitrary code. An attack exploiting such vulnerability does not require user interaction. This allows the attack to spread easily via reusable exploit scripts or worms. By enabling this protection, IPS will analyze SMTP command arguments (other than mail data). It assesses the danger, and allows or rejects connections accordingly. Because it analyzes command arguments dynamically, it is able to protect against most future vulnerabilities without the need for patterns or updates.',
    severity: 'Critical',
    confidence: 'Medium-High',
    performanceImpact: 'High',
    industryReference: [],
    defaultAction: 'prevent',
    settings: s.maliciousCodeSettings,
    preventReply: CLOSE,
    limit: null,
  },
} as const satisfies Record<string, CatalogEntryShape>;

interface CatalogEntryShape {
  name: string;
  attackName: string;
  attackInfo: string;
  description: string;
  severity: Severity;
  confidence: Confidence;
  performanceImpact: PerformanceImpact;
  industryReference: readonly string[];
  defaultAction: Action;
  settings: z.ZodType;
  preventReply: PreventReply;
  limit: LimitDoc | null;
}

export type ProtectionId = keyof typeof CATALOG;
export const PROTECTION_IDS = Object.keys(CATALOG) as ProtectionId[];

export type CatalogEntry<Id extends ProtectionId = ProtectionId> = (typeof CATALOG)[Id] & { id: Id };

/** Settings type of one protection, after defaults are applied. */
export type SettingsOf<Id extends ProtectionId> = z.output<(typeof CATALOG)[Id]['settings']>;
export type AllSettings = { [Id in ProtectionId]: SettingsOf<Id> };

export function catalogEntry<Id extends ProtectionId>(id: Id): CatalogEntry<Id> {
  return { ...CATALOG[id], id } as CatalogEntry<Id>;
}

export function isProtectionId(value: string): value is ProtectionId {
  return Object.hasOwn(CATALOG, value);
}

/** Catalog settings defaults, used wherever a policy leaves a protection out. */
export function defaultSettings<Id extends ProtectionId>(id: Id): SettingsOf<Id> {
  return CATALOG[id].settings.parse({}) as SettingsOf<Id>;
}
