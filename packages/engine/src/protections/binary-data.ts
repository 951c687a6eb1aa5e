import { isValidUtf8 } from '../bytes.js';
import { LINE_BINARY, type ProtectionModule } from '../model.js';

/** Control bytes (other than TAB, and CR/LF which Non Compliant judges) and 8-bit bytes. */
export const binaryData: ProtectionModule<'binary-data'> = {
  id: 'binary-data',
  hooks: (settings) => ({
    lineTrigger: { flags: LINE_BINARY, longerThan: Number.POSITIVE_INFINITY },
    onLine(line, session) {
      if (line.controlAt >= 0) {
        const b = line.line[line.controlAt]!;
        return { detail: `control byte 0x${b.toString(16).padStart(2, '0')} at offset ${line.controlAt}`, verdict: 'reject-command' };
      }
      if (line.eightBitAt < 0) return undefined;
      if (settings.allowUtf8WithSmtputf8 && usesSmtputf8(line, session.transaction.smtputf8) && isValidUtf8(line.line)) {
        return undefined;
      }
      return {
        detail: `8-bit byte 0x${line.line[line.eightBitAt]!.toString(16)} at offset ${line.eightBitAt}${line.verb === 'MAIL' || line.verb === 'RCPT' ? ' without SMTPUTF8' : ''}`,
        verdict: 'reject-command',
      };
    },
  }),
};

function usesSmtputf8(line: { verb: string; mail?: { ok: boolean } & ({ ok: true; params: Map<string, string | null> } | { ok: false }) }, inTransaction: boolean): boolean {
  if (line.verb === 'RCPT') return inTransaction;
  if (line.verb !== 'MAIL' || !line.mail?.ok) return false;
  return line.mail.params.has('SMTPUTF8');
}
