import { LINE_IRREGULAR, type ProtectionModule } from '../model.js';

/** Violations of the fundamentals of SMTP framing and ordering; every one closes in Prevent. */
export const nonCompliant: ProtectionModule<'non-compliant'> = {
  id: 'non-compliant',
  hooks: (settings) => ({
    lineTrigger: { flags: LINE_IRREGULAR, longerThan: Number.POSITIVE_INFINITY },
    onLine(line) {
      if (settings.bareLineEndingsInCommands) {
        if (line.terminator === 'lf') return { detail: 'command line ended by a bare LF', verdict: 'close' };
        if (line.bareCrAt >= 0) return { detail: `bare CR at offset ${line.bareCrAt} of a command line`, verdict: 'close' };
      }
      if (settings.nulInCommands && line.nulAt >= 0) return { detail: `NUL byte at offset ${line.nulAt} of a command line`, verdict: 'close' };
      return undefined;
    },
    ignoresVerb: (verb) => verb !== 'MAIL' && verb !== 'RCPT',
    onCommand(command) {
      if (!command.mail || command.mail.ok === undefined) return undefined;
      if (!command.mail.ok) {
        return settings.malformedAddresses ? { detail: `malformed ${command.verb}: ${command.mail.error}`, verdict: 'close' } : undefined;
      }
      if (settings.strictAddressSyntax && command.mail.tolerated.length > 0) {
        return { detail: `${command.verb} outside strict RFC 5321 syntax: ${command.mail.tolerated.join(', ')}`, verdict: 'close' };
      }
      return undefined;
    },
    onFact(fact) {
      switch (fact.kind) {
        case 'client-talks-first':
          return settings.clientTalksFirst ? { detail: 'client sent data before the server greeting', verdict: 'close' } : undefined;
        case 'pipelining':
          return settings.pipeliningViolations ? { detail: fact.detail, verdict: 'close' } : undefined;
        case 'ambiguous-end-of-data':
          return settings.ambiguousEndOfData
            ? { detail: `ambiguous end-of-data ${fact.form} inside DATA (SMTP smuggling)`, verdict: 'close' }
            : undefined;
        default:
          return undefined;
      }
    },
    watchesEndOfData: settings.ambiguousEndOfData,
  }),
};
