import { isValidUtf8 } from '../bytes.js';
import type { ProtectionModule } from '../model.js';

/** Control bytes (other than TAB, and CR/LF which Non Compliant judges) and 8-bit bytes. */
export const binaryData: ProtectionModule<'binary-data'> = {
  id: 'binary-data',
  hooks: (settings) => ({
    onLine(line, session) {
      const bytes = line.line;
      let eightBit = -1;
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        if (b >= 0x20 && b < 0x7f) continue;
        if (b === 9 || b === 13 || b === 10) continue;
        if (b >= 0x80) {
          if (eightBit < 0) eightBit = i;
          continue;
        }
        return { detail: `control byte 0x${b.toString(16).padStart(2, '0')} at offset ${i}`, verdict: 'reject-command' };
      }
      if (eightBit < 0) return undefined;
      if (settings.allowUtf8WithSmtputf8 && usesSmtputf8(line, session.transaction.smtputf8) && isValidUtf8(bytes)) {
        return undefined;
      }
      return {
        detail: `8-bit byte 0x${bytes[eightBit]!.toString(16)} at offset ${eightBit}${line.verb === 'MAIL' || line.verb === 'RCPT' ? ' without SMTPUTF8' : ''}`,
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
