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
  /**
   * Scores per sample at medium sensitivity. Exact when the verdict is "malicious"; otherwise a
   * lower bound (stages that could not change the verdict are skipped, see analyze.ts).
   */
  malScores: number[];
  benScores: number[];
  malResults: CodeAnalysis[];
  /** Verdict per sample at each sensitivity (each sensitivity is a separate analysis). */
  malVerdicts: Record<Sens, boolean[]>;
  benVerdicts: Record<Sens, boolean[]>;
  benignBytes: number;
}

export function loadSets(benignCount = 100_000): { malicious: MaliciousSample[]; benign: BenignSample[] } {
  return { malicious: maliciousSet(), benign: benignSet(benignCount, 0xbe9191, CORPUS_ROOT) };
}

export function evaluate(malicious: MaliciousSample[], benign: BenignSample[]): Evaluation {
  const malResults = malicious.map((s) => analyzeArgument(s.arg, 'medium'));
  const benScores: number[] = [];
  let benignBytes = 0;
  const malVerdicts = { low: [], medium: [], high: [] } as Record<Sens, boolean[]>;
  const benVerdicts = { low: [], medium: [], high: [] } as Record<Sens, boolean[]>;
  for (const b of benign) {
    const r = analyzeArgument(b.arg, 'medium');
    benScores.push(r.score);
    benVerdicts.medium.push(r.malicious);
    benignBytes += b.arg.length;
  }
  for (const r of malResults) malVerdicts.medium.push(r.malicious);
  for (const s of ['low', 'high'] as const) {
    for (const m of malicious) malVerdicts[s].push(analyzeArgument(m.arg, s).malicious);
    for (const b of benign) benVerdicts[s].push(analyzeArgument(b.arg, s).malicious);
  }
  return { malicious, benign, malScores: malResults.map((r) => r.score), benScores, malResults, malVerdicts, benVerdicts, benignBytes };
}
