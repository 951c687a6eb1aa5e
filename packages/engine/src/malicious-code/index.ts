/**
 * Malicious Code Protector: finds machine code hidden in SMTP command arguments.
 * See analyze.ts for the score scale, the thresholds and the time bound.
 */
import { analyze } from './analyze.js';

export interface CodeSignal { name: string; offset: number; weight: number; detail?: string }
export interface CodeAnalysis { malicious: boolean; score: number; signals: CodeSignal[] }

export { THRESHOLDS, MIN_TEXT } from './analyze.js';

/**
 * Analyse one command argument (the bytes after the verb, at most the first 16 KiB are
 * examined). Never throws; bounded time (see analyze.ts).
 */
export function analyzeArgument(arg: Uint8Array, sensitivity: 'low' | 'medium' | 'high'): CodeAnalysis {
  try {
    return analyze(arg, sensitivity);
  } catch {
    // A bug here must not take the gateway down; report nothing rather than crash.
    return { malicious: false, score: 0, signals: [] };
  }
}
