import { MIN_TEXT, analyzeArgument } from '../malicious-code/index.js';
import { LINE_BINARY, type ProtectionModule } from '../model.js';

/**
 * Machine code in command arguments (never mail data: the body is not a command line).
 * Every client line is analysed: arguments of MAIL, RCPT, HELO/EHLO, VRFY, unknown verbs,
 * and SASL responses (whole line). Bounded time per line (see malicious-code/analyze.ts).
 */
export const maliciousCode: ProtectionModule<'malicious-code'> = {
  id: 'malicious-code',
  hooks: (settings) => ({
    // The skip below as a trigger (wider: a line is longer than its argument), so most short lines cost no call.
    lineTrigger: { flags: LINE_BINARY, longerThan: MIN_TEXT - 1 },
    onLine(line) {
      // Plain ASCII text shorter than MIN_TEXT cannot hold a decoder and its payload; skip the call.
      if (line.controlAt < 0 && line.eightBitAt < 0 && line.argumentLength < MIN_TEXT) return undefined;
      const argument = line.sasl ? line.line : line.argument;
      const analysis = analyzeArgument(argument, settings.sensitivity);
      if (!analysis.malicious) return undefined;
      const strongest = [...analysis.signals].sort((a, b) => b.weight - a.weight).slice(0, 3);
      const summary = strongest.map((s) => `${s.name}@${s.offset}`).join(', ');
      return {
        detail: `machine code in the ${line.sasl ? 'SASL response' : `${line.verb} argument`} (score ${analysis.score}, ${settings.sensitivity} sensitivity: ${summary})`,
        verdict: 'close',
        signals: analysis.signals,
      };
    },
  }),
};
