/** Runs the detector over both evaluation sets; shared by the evaluation test and the bench. */
import { fileURLToPath } from 'node:url';
import { analyzeArgument, type CodeAnalysis } from '../../../src/malicious-code/index.js';
import { benignSet, type BenignSample } from './benign-set.js';
import { maliciousSet, type MaliciousSample } from './malicious-set.js';

export const SENSITIVITIES = ['low', 'medium', 'high'] as const;
export type Sens = (typeof SENSITIVITIES)[number];

export const CORPUS_ROOT = fileURLToPath(new URL('../../../../../fixtures/corpus', import.meta.url));

export interface Evaluation {
  malicious: MaliciousSample[];
  benign: BenignSample[];
  /** Scores (sensitivity-independent) per sample. */
  malScores: number[];
  benScores: number[];
  malResults: CodeAnalysis[];
  benignBytes: number;
}

export function loadSets(benignCount = 100_000): { malicious: MaliciousSample[]; benign: BenignSample[] } {
  return { malicious: maliciousSet(), benign: benignSet(benignCount, 0xbe9191, CORPUS_ROOT) };
}

export function evaluate(malicious: MaliciousSample[], benign: BenignSample[]): Evaluation {
  const malResults = malicious.map((s) => analyzeArgument(s.arg, 'medium'));
  const benScores: number[] = [];
  let benignBytes = 0;
  for (const b of benign) {
    benScores.push(analyzeArgument(b.arg, 'medium').score);
    benignBytes += b.arg.length;
  }
  return { malicious, benign, malScores: malResults.map((r) => r.score), benScores, malResults, benignBytes };
}
