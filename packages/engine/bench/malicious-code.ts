/**
 * Malicious Code Protector evaluation: detection and false-positive rates per sensitivity,
 * detection per encoder, and analysis throughput over the benign set (median of runs).
 * Run: pnpm --filter @smtpguard/engine exec tsx bench/malicious-code.ts
 */
import { pathToFileURL } from 'node:url';
import { analyzeArgument, THRESHOLDS } from '../src/malicious-code/index.js';
import { evaluate, loadSets, SENSITIVITIES } from '../test/malicious-code/samples/evaluate.js';

const RUNS = 7;

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`;
}

export async function main(): Promise<void> {
  const { malicious, benign } = loadSets();
  const ev = evaluate(malicious, benign);
  console.log(`\nMalicious Code Protector: ${malicious.length} malicious samples, ${benign.length} benign arguments (${(ev.benignBytes / 1e6).toFixed(2)} MB)`);
  console.log('\nsensitivity  threshold  detection        false positives');
  for (const s of SENSITIVITIES) {
    const t = THRESHOLDS[s];
    const det = ev.malVerdicts[s].filter(Boolean).length;
    const fp = ev.benVerdicts[s].filter(Boolean).length;
    console.log(`${s.padEnd(12)} ${String(t).padStart(9)}  ${`${det}/${malicious.length}`.padEnd(8)} ${pct(det, malicious.length).padStart(6)}  ${`${fp}/${benign.length}`.padEnd(14)} ${pct(fp, benign.length)}`);
  }
  console.log('\ndetection per encoder (medium)');
  const groups = new Map<string, [number, number]>();
  malicious.forEach((m, i) => {
    for (const key of [`encoder ${m.encoder}`, `sled ${m.sled === 'none' ? 'none' : 'yes'}`, `arch ${m.arch}`]) {
      const g = groups.get(key) ?? [0, 0];
      g[1]++;
      if (ev.malVerdicts.medium[i]) g[0]++;
      groups.set(key, g);
    }
  });
  for (const [k, [d, n]] of groups) console.log(`  ${k.padEnd(18)} ${`${d}/${n}`.padEnd(7)} ${pct(d, n)}`);
  const maxBenign = Math.max(...ev.benScores);
  console.log(`\nhighest benign score at medium ${maxBenign} (a lower bound below the threshold ${THRESHOLDS.medium}); lowest malicious score ${Math.min(...ev.malScores)}`);

  // Throughput: analyse the whole benign set, several times, report the median. Two layouts,
  // alternating run by run (so a change of the VM's speed affects both alike):
  // - as the gateway hands arguments over: views of consecutive bytes of one receive buffer,
  //   taken in order (the line parser has just read them; here they come cold from memory, in
  //   order);
  // - as earlier sessions measured: 100,893 separate allocations scattered over the heap, where
  //   reaching each argument's object and bytes costs cache misses no gateway pays.
  const packed = new Uint8Array(ev.benignBytes);
  const ends = new Int32Array(benign.length);
  let end = 0;
  benign.forEach((b, i) => { packed.set(b.arg, end); end += b.arg.length; ends[i] = end; });
  const inOrder: number[] = [], scattered: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t0 = performance.now();
    for (let i = 0, start = 0; i < ends.length; start = ends[i++]!) analyzeArgument(packed.subarray(start, ends[i]), 'medium');
    inOrder.push(ev.benignBytes / 1e3 / (performance.now() - t0));
    t0 = performance.now();
    for (const b of benign) analyzeArgument(b.arg, 'medium');
    scattered.push(ev.benignBytes / 1e3 / (performance.now() - t0));
  }
  const runs = (x: number[]): string => `median ${[...x].sort((a, b) => a - b)[RUNS >> 1]!.toFixed(1)} MB/s (runs in order: ${x.map((v) => v.toFixed(1)).join(', ')})`;
  console.log(`throughput over the benign set, one core:`);
  console.log(`  arguments as the gateway passes them (views of one receive buffer, in order): ${runs(inOrder)}`);
  console.log(`  arguments as separate heap allocations (the figure of earlier sessions):      ${runs(scattered)}`);

  // Where the time goes, per kind of argument (the classes take different paths in analyze.ts:
  // printable text gets the printable i386 scan and text emulation; other text the full i386
  // scan; binary the full scan in both modes; short text is rejected after one byte scan).
  // Classes alternate within each run, so a change of CPU speed during the bench affects them
  // alike.
  const classes: { name: string; args: Uint8Array[]; bytes: number; ms: number[] }[] = [
    { name: 'printable >= 64 B', args: [], bytes: 0, ms: [] },
    { name: 'other >= 64 B', args: [], bytes: 0, ms: [] },
    { name: 'shorter than 64 B', args: [], bytes: 0, ms: [] },
  ];
  for (const b of benign) {
    let printable = true;
    for (const x of b.arg) if (x < 0x20 || x > 0x7e) { printable = false; break; }
    const c = classes[b.arg.length < 64 ? 2 : printable ? 0 : 1]!;
    c.args.push(b.arg);
    c.bytes += b.arg.length;
  }
  for (let r = 0; r < RUNS; r++) {
    for (const c of classes) {
      const t0 = performance.now();
      for (const a of c.args) analyzeArgument(a, 'medium');
      c.ms.push(performance.now() - t0);
    }
  }
  const medMs = classes.map((c) => [...c.ms].sort((a, b) => a - b)[RUNS >> 1]!);
  const totalMs = medMs.reduce((a, b) => a + b, 0);
  console.log('per argument class (medium, median of runs):');
  classes.forEach((c, i) => {
    console.log(`  ${c.name.padEnd(18)} ${String(c.args.length).padStart(6)} args ${(c.bytes / 1e6).toFixed(2).padStart(6)} MB  ${(c.bytes / 1e3 / medMs[i]!).toFixed(1).padStart(6)} MB/s  ${((100 * medMs[i]!) / totalMs).toFixed(0).padStart(3)}% of the time`);
  });

  // Short arguments (every command line goes through the detector): ns per call.
  const te = new TextEncoder();
  const shorts = ['<user@example.com>', '<john.smith@mail.example.org> SIZE=12345 BODY=8BITMIME', 'mail.example.com', '<>'].map((x) => te.encode(x));
  const ns: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const N = 1_000_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) analyzeArgument(shorts[i & 3]!, 'medium');
    ns.push(((performance.now() - t0) * 1e6) / N);
  }
  ns.sort((a, b) => a - b);
  console.log(`short arguments (2-56 bytes): median ${ns[RUNS >> 1]!.toFixed(0)} ns per call`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
