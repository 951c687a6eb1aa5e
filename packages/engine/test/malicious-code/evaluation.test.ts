import { describe, expect, it } from 'vitest';
import { THRESHOLDS } from '../../src/malicious-code/index.js';
import { evaluate, loadSets } from './samples/evaluate.js';

describe('Malicious Code Protector evaluation (medium sensitivity)', () => {
  const { malicious, benign } = loadSets();
  const ev = evaluate(malicious, benign);

  it('uses the required set sizes', () => {
    expect(malicious.length).toBeGreaterThanOrEqual(60);
    expect(benign.length).toBeGreaterThanOrEqual(100_000);
    expect(benign.some((b) => b.kind === 'corpus')).toBe(true);
    for (const m of malicious) {
      expect(m.arg.includes(0x0d) || m.arg.includes(0x0a)).toBe(false); // fits on one command line
    }
  });

  it('detects at least 95% of the malicious set', () => {
    const missed = malicious.filter((_, i) => !ev.malVerdicts.medium[i]).map((m) => m.id);
    expect(missed.length / malicious.length, `missed: ${missed.join(', ')}`).toBeLessThanOrEqual(0.05);
  });

  it('has no false positive in the benign set', () => {
    const fps = benign.filter((_, i) => ev.benVerdicts.medium[i]).map((b) => `${b.kind}: ${Buffer.from(b.arg).toString('latin1').slice(0, 80)}`);
    expect(fps).toEqual([]);
  });

  it('verdicts agree with the documented thresholds', () => {
    // A "malicious" verdict carries the exact score; below the threshold the score may be a
    // lower bound, but never reaches the threshold.
    malicious.forEach((_, i) => expect(ev.malVerdicts.medium[i]).toBe(ev.malScores[i]! >= THRESHOLDS.medium));
    benign.forEach((_, i) => { if (ev.benScores[i]! >= THRESHOLDS.medium) expect.fail(`benign ${i} scored ${ev.benScores[i]}`); });
  });
}, 600_000);
