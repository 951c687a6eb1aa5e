import { analyzeArgument } from '../src/malicious-code/index.js';
import { loadSets } from '../test/malicious-code/samples/evaluate.js';
const { benign } = loadSets();
const args = benign.map((b) => b.arg);
const bytes = args.reduce((n, a) => n + a.length, 0);
const pr = (a: Uint8Array) => a.every((x) => x >= 0x20 && x < 0x7f);
const sorted = [...args.filter((a) => a.length >= 64 && pr(a)), ...args.filter((a) => a.length >= 64 && !pr(a)), ...args.filter((a) => a.length < 64)];
for (let r = 0; r < 4; r++) {
  for (const [name, set] of [['mixed', args], ['sorted', sorted]] as const) {
    const t = performance.now();
    for (const a of set) analyzeArgument(a, 'medium');
    console.log(name, (bytes / 1e3 / (performance.now() - t)).toFixed(1), 'MB/s');
  }
}
