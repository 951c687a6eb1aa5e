import type { ProtectionId } from '@smtpguard/contracts';
import type { ProtectionModule } from '../model.js';
import { badServerGreeting } from './bad-server-greeting.js';
import { binaryData } from './binary-data.js';
import { exchangeCommands } from './exchange-commands.js';
import { maliciousCode } from './malicious-code.js';
import { maxBadCommands } from './max-bad-commands.js';
import { maxCommandLineLength } from './max-command-line-length.js';
import { maxCommands } from './max-commands.js';
import { maxDataLineLength } from './max-data-line-length.js';
import { maxEmailSize } from './max-email-size.js';
import { maxNoEffectCommands } from './max-no-effect-commands.js';
import { maxRecipients } from './max-recipients.js';
import { nonCompliant } from './non-compliant.js';
import { privateCommands } from './private-commands.js';
import { recipientNoDomain } from './recipient-no-domain.js';
import { starttls } from './starttls.js';
import { unknownCommands } from './unknown-commands.js';

export const PROTECTIONS: { [Id in ProtectionId]: ProtectionModule<Id> } = {
  'bad-server-greeting': badServerGreeting,
  'binary-data': binaryData,
  'exchange-commands': exchangeCommands,
  'non-compliant': nonCompliant,
  'private-commands': privateCommands,
  'recipient-no-domain': recipientNoDomain,
  starttls,
  'unknown-commands': unknownCommands,
  'max-bad-commands': maxBadCommands,
  'max-data-line-length': maxDataLineLength,
  'max-email-size': maxEmailSize,
  'max-no-effect-commands': maxNoEffectCommands,
  'max-recipients': maxRecipients,
  'max-command-line-length': maxCommandLineLength,
  'max-commands': maxCommands,
  'malicious-code': maliciousCode,
};
