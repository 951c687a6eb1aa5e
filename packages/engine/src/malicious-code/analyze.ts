/**
 * Malicious code detection in one SMTP command argument: combines the static scan, SigFree
 * data-flow counting and emulation runs into a score.
 *
 * Score scale (points, unbounded above, 0 = no sign of code). Per architecture (binary
 * arguments are tried as i386 and x86-64 code, text as i386 only: see `analyze`; the better one
 * counts) the score is the sum of:
 *   syscall        30 for a gate reached with a shellcode system-call number, 45 when its
 *                  arguments are also plausible (execve of a "/path", socketcall with a valid
 *                  call and pointer, dup2 onto 0-2...); +5 per further distinct call (max +15)
 *   getpc          20: code read its own address (call/pop, fnstenv/fxsave, RIP-relative lea)
 *   decoder-loop   15 + min(15, n): after >= 3 backward branches, n >= 6 self-written
 *                  instructions executed back to back (and >= 6 in all)
 *   stack-exec     25: n >= 4 instructions executed from bytes the code pushed
 *   alnum-code     20: one of the three above, from an argument that is plain text
 *   useful         2 per SigFree useful instruction beyond 4 (max 20)
 *   exec-chain     (longest valid chain - 16) / 2, max 15; binary arguments only (text
 *                  always decodes as long chains)
 *   sled           15 (>= 24 bytes) or 25 (>= 64 bytes) for a binary sled; 5 for a printable one
 * Thresholds: high >= 30, medium >= 50, low >= 80. A single emulated execve("/bin/sh") plus a
 * few useful instructions passes medium; static hints alone (sled + chain + useful) reach at
 * most 60, so binary junk needs several independent signs to be flagged.
 *
 * Early exit (no change to any verdict): the useful count, worth at most 20, is computed last
 * and skipped when the other signals plus 20 stay below the requested sensitivity's threshold.
 * So a "malicious" verdict carries the exact score; below the threshold the score is a lower
 * bound that depends on the sensitivity (evaluate each sensitivity with its own call).
 *
 * Time bound per argument (n <= 16 KiB analysed): per mode one static pass of n decodes (most
 * offsets are one two-byte table lookup; a full decode is at most 15 bytes of table work), at
 * most 64 triggers x 64 path steps for entry points (x 48 for starts whose path jumps back),
 * at most 2 x 24 candidate starts x 64 decodes of data-flow counting, and at most EMU_TOTAL emulated steps in all (each step is one decode plus constant
 * work, except rep-string steps, which are also counted). Text arguments shorter than MIN_TEXT
 * bytes are rejected after one byte scan. Longer arguments whose first 16 bytes are printable
 * first get the printable-ASCII 32-bit scan (also the text check); when that scan gives up (a
 * non-printable byte, found from the end, or a 16-offset sled run) the classification and full
 * scans follow: at most one extra pass.
 */
import { Emulator, MAX_ARG, Stop, syscallName, type RunResult } from './emulator.js';
import { MAX_HEADS as MAX_HEADS_, StaticScan, T_CALL, T_FPUENV, T_RIPLEA } from './static-scan.js';
import { usefulCount as usefulCount_ } from './dataflow.js';

const usefulCount = usefulCount_; // local copies: imported bindings are getters under tsx
const MAX_HEADS = MAX_HEADS_;

export interface CodeSignal { name: string; offset: number; weight: number; detail?: string }
export interface CodeAnalysis { malicious: boolean; score: number; signals: CodeSignal[] }
export type Sensitivity = 'low' | 'medium' | 'high';

export const THRESHOLDS: Readonly<Record<Sensitivity, number>> = { low: 80, medium: 50, high: 30 };

/**
 * Shorter text cannot hold a text-only decoder plus an encoded payload: the smallest known
 * alphanumeric execve decoders are well over 64 bytes.
 */
export const MIN_TEXT = 64;
/** Text whose longest instruction chain is shorter is not worth emulating. */
const TEXT_MIN_CHAIN = 24;
const MAX_CANDIDATES = 24;
const RUN_STEPS = 8000;
const EMU_TOTAL = 48000;
const USEFUL_WINDOW = 64;
const USEFUL_MAX = 20;
const MAX_SIGNALS = 32;

const emu = new Emulator();
const scan = new StaticScan();
/** Candidate starts: the emulator's start list itself, so runStarts needs no copy of them. */
const cand = emu.starts.subarray(0, MAX_CANDIDATES);

function printableAscii(a: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i]! < 0x20 || a[i]! > 0x7e) return false;
  return true;
}

class ModeResult {
  signals: CodeSignal[] = [];
  score = 0;
  /** Start over (the two mode results are reused across calls; signals go out as a copy). */
  reset(): ModeResult {
    this.score = 0;
    if (this.signals.length !== 0) this.signals = [];
    return this;
  }
  add(name: string, offset: number, weight: number, detail?: string): void {
    if (weight <= 0) return;
    this.score += weight;
    if (this.signals.length < MAX_SIGNALS) {
      const s: CodeSignal = { name, offset, weight };
      if (detail !== undefined) s.detail = detail.length > 199 ? detail.slice(0, 199) : detail;
      this.signals.push(s);
    }
  }
}

const EMPTY = new ModeResult();
const RESULT32 = new ModeResult();
const RESULT64 = new ModeResult();

interface RunScore { score: number; start: number; r: RunSnapshot }
interface RunSnapshot {
  wx: number; wxRun: number; wxFirst: number; stackExec: number; backJumps: number; loopAt: number;
  getpc: number; getpcHow: number; sys: { off: number; num: number; q: number }[]; stop: Stop;
}

function snapshot(r: RunResult): RunSnapshot {
  const sys: { off: number; num: number; q: number }[] = [];
  for (let i = 0; i < r.nSyscalls; i++) sys.push({ off: r.sysOff[i]!, num: r.sysNum[i]!, q: r.sysQuality[i]! });
  return { wx: r.wx, wxRun: r.wxRun, wxFirst: r.wxFirst, stackExec: r.stackExec, backJumps: r.backJumps, loopAt: r.loopAt, getpc: r.getpc, getpcHow: r.getpcHow, sys, stop: r.stop };
}

/** Self-written instructions a decoder executes back to back (and distinct ones at least). */
const DECODER_RUN = 6;

/**
 * Self-decryption: after a loop (>= 3 backward branches), at least DECODER_RUN instructions the
 * code wrote itself ran back to back.
 */
function isDecoder(wx: number, wxRun: number, backJumps: number): boolean {
  return wx >= DECODER_RUN && wxRun >= DECODER_RUN && backJumps >= 3;
}

/** Points from the dynamic evidence of one run (cheap: no allocation unless it scores). */
function runPoints(r: RunResult): number {
  let p = 0;
  let bestQ = -1;
  for (let i = 0; i < r.nSyscalls; i++) if (r.sysQuality[i]! > bestQ) bestQ = r.sysQuality[i]!;
  if (bestQ === 2) p += 45; else if (bestQ === 1) p += 30;
  if (r.getpc >= 0) p += 20;
  if (isDecoder(r.wx, r.wxRun, r.backJumps)) p += 15 + Math.min(15, r.wxRun);
  if (r.stackExec >= 4) p += 25;
  return p;
}

function analyzeMode(arg: Uint8Array, len: number, mode64: boolean, tclass: number, threshold: number, scanned: boolean): ModeResult {
  const out = (mode64 ? RESULT64 : RESULT32).reset();
  const text = tclass !== 0;
  if (scanned) {
    // The printable scan leaves the longest chain to heads, which it ran (see scanPrintable32).
    if (scan.headOff[0]! < 0) return out;
  } else {
    scan.scan(arg, len, mode64, true);
    if (text && scan.mel < TEXT_MIN_CHAIN) return out;
  }
  emu.beginArgument(arg, len);

  // Static signals.
  const sledLen = scan.sledEnd - scan.sledStart;
  if (scan.sledStart >= 0 && sledLen >= 24) {
    const binary = scan.sledBinary * 2 >= sledLen;
    if (binary) out.add('sled', scan.sledStart, sledLen >= 64 ? 25 : 15, `${sledLen} bytes of NOP-equivalent instructions landing at ${scan.sledEnd}`);
    else if (sledLen >= 32) out.add('sled', scan.sledStart, 5, `${sledLen} printable bytes of NOP-equivalent instructions`);
  }
  if (!text && scan.mel > 16) {
    out.add('exec-chain', scan.melAt, Math.min(15, (scan.mel - 16) >> 1), `${scan.mel} valid instructions in a row`);
  }

  // Candidate starts: the sled landings, before each trigger (leaving room for the heads), the
  // trigger itself when it reads its own address, the heads of the longest chains (and inside
  // their first instruction: '<' = cmp al,imm8 may eat the first byte of a decoder).
  const nc = scan.candidates(cand, text ? TEXT_MIN_CHAIN : 8, MAX_CANDIDATES - MAX_HEADS, (1 << T_CALL) | (1 << T_FPUENV) | (1 << T_RIPLEA));

  // Emulation: the candidates in order, within EMU_TOTAL steps; once a run scored, not from
  // starts an earlier run executed. runStarts returns only runs that may score.
  let best: RunScore | undefined;
  for (let i = 0; i < nc; i++) {
    i = emu.runStarts(i, nc, mode64, RUN_STEPS, EMU_TOTAL, best !== undefined, DECODER_RUN);
    if (i === nc) break;
    const r = emu.res;
    const p = runPoints(r);
    if (p > 0 && (best === undefined || p > best.score)) best = { score: p, start: cand[i]!, r: snapshot(r) };
    if (best !== undefined && best.score >= 100) break;
  }
  if (best !== undefined) addRunSignals(out, best, mode64, text);

  // SigFree useful-instruction count from each candidate: worth at most USEFUL_MAX points, so
  // skipped when even those could not lift the score to the threshold (the verdict is then
  // already "not malicious" and the score a lower bound).
  if (out.score + USEFUL_MAX < threshold) return out;
  let bestUseful = 0, usefulAt = -1;
  for (let i = 0; i < nc; i++) {
    const u = usefulCount(arg, len, cand[i]!, mode64, USEFUL_WINDOW);
    if (u > bestUseful) { bestUseful = u; usefulAt = cand[i]!; }
  }
  if (bestUseful > 4) out.add('useful', usefulAt, Math.min(USEFUL_MAX, (bestUseful - 4) * 2), `${bestUseful} instructions with defined inputs (data-flow pruned)`);

  return out;
}

function addRunSignals(out: ModeResult, b: RunScore, mode64: boolean, text: boolean): void {
  const r = b.r;
  let bestQ = -1, bestI = -1;
  const known = new Set<number>();
  r.sys.forEach((s, i) => {
    if (s.q > bestQ) { bestQ = s.q; bestI = i; }
    if (s.q > 0) known.add(s.num);
  });
  if (bestI >= 0 && bestQ > 0) {
    const s = r.sys[bestI]!;
    const names = [...known].map((n) => syscallName(mode64, n) ?? String(n)).join(',');
    out.add('syscall', s.off >= 0 ? s.off : b.start, bestQ === 2 ? 45 : 30,
      `${mode64 ? 'syscall' : 'int 0x80'} ${syscallName(mode64, s.num) ?? s.num}${bestQ === 2 ? ' with plausible arguments' : ''}; calls: ${names}`);
    if (known.size > 1) out.add('syscall-seq', s.off >= 0 ? s.off : b.start, Math.min(15, 5 * (known.size - 1)), `${known.size} distinct system calls`);
  }
  if (r.getpc >= 0) out.add('getpc', r.getpc, 20, r.getpcHow === 1 ? 'call/pop reads its own address' : r.getpcHow === 2 ? 'fnstenv/fxsave reads the FPU instruction pointer' : 'RIP-relative lea');
  const decoder = isDecoder(r.wx, r.wxRun, r.backJumps);
  if (decoder) {
    out.add('decoder-loop', r.wxFirst >= 0 ? r.wxFirst : b.start, 15 + Math.min(15, r.wxRun),
      `${r.wx} self-written instructions executed (${r.wxRun} in a row) after ${r.backJumps} backward branches${r.loopAt >= 0 ? ` (loop at ${r.loopAt})` : ''}`);
  }
  if (r.stackExec >= 4) out.add('stack-exec', b.start, 25, `${r.stackExec} instructions executed from pushed bytes`);
  if (text && (decoder || bestQ > 0 || r.stackExec >= 4)) out.add('alnum-code', b.start, 20, 'code made only of printable text');
}

export function analyze(arg: Uint8Array, sensitivity: Sensitivity): CodeAnalysis {
  const len = arg.length < MAX_ARG ? arg.length : MAX_ARG;
  // Printable ASCII of analysable length (the common case) is recognised by its own 32-bit
  // scan; anything else is classified first (0 = binary, 1 = UTF-8 text without control
  // characters, 2 = printable ASCII). That scan gives up at the last non-printable byte, after
  // scanning what follows it: one among the first 16 bytes (as in most non-ASCII text) skips
  // it. Short printable ASCII, the commonest argument of all, is recognised here without the
  // copy the WebAssembly classifier needs.
  // The argument is copied into the scan's memory once, by scanPrintable32 when it is long
  // enough, else by textClass; every later scan of it reads that copy.
  const loaded = len >= MIN_TEXT;
  const printable = loaded && scan.scanPrintable32(arg, len, TEXT_MIN_CHAIN);
  const tclass = printable || (len < MIN_TEXT && printableAscii(arg, len)) ? 2 : scan.textClass(arg, len, loaded);
  if (tclass !== 0 && len < MIN_TEXT) return { malicious: false, score: 0, signals: [] };
  const threshold = THRESHOLDS[sensitivity] ?? THRESHOLDS.medium;
  const a = analyzeMode(arg, len, false, tclass, threshold, printable);
  // Text (printable ASCII, or UTF-8 without control characters) is analysed as i386 code only,
  // which halves its cost. Text cannot hold 0F 05 (syscall), so code made of text must decode
  // itself first in either mode; a decoder written for x86-64 is then caught only where its
  // instructions mean the same in i386 (0x40-0x4F, letters, are REX prefixes in 64-bit mode).
  // In 64-bit mode, random UTF-8 text even reads as GetPC: lea of RIP with a '%', '-', '5' or
  // '=' ModRM byte.
  const b = tclass !== 0 ? EMPTY : analyzeMode(arg, len, true, tclass, threshold, false);
  const m = b.score > a.score ? b : a;
  if (m.score === 0) return { malicious: false, score: 0, signals: [] };
  return { malicious: m.score >= threshold, score: m.score, signals: m.signals };
}
