/**
 * Replay throughput: every capture of fixtures/corpus merged into one pcapng (one
 * interface per source link type), repeated REPEAT times with the IP addresses of each
 * repetition shifted so connections stay apart; MB/s of capture file, median of RUNS.
 * Side by side, Suricata (SMTP parser only) on the same file when it is installed.
 *
 *   pnpm --filter @smtpguard/inspect bench        (REPEAT=20 RUNS=5 by default)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture, readPackets, synth, type CaptureProblem } from '@smtpguard/capture';
import { replayCapture } from '../src/replay.js';

const REPEAT = Number(process.env.REPEAT ?? 20);
const RUNS = Number(process.env.RUNS ?? 5);
const CORPUS = new URL('../../../fixtures/corpus/', import.meta.url).pathname;

function captures(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? captures(p) : /\.pcap(ng)?$/.test(n) ? [p] : [];
    })
    .sort();
}

function ipOffset(linkType: number, f: Uint8Array): number {
  if (linkType === 1) return (f[12] === 0x81 && f[13] === 0x00) ? 18 : 14;
  if (linkType === 0 || linkType === 108) return 4;
  if (linkType === 113) return 16;
  if (linkType === 276) return 20;
  return 0;
}

function buildCorpusFile(): { file: Uint8Array; packets: number; sourceBytes: number } {
  const linkTypes: number[] = [];
  const records: synth.SynthRecord[] = [];
  const base: { linkType: number; data: Uint8Array; time: number; source: number }[] = [];
  let sourceBytes = 0;
  for (const [source, path] of captures(CORPUS).entries()) {
    const buf = readFileSync(path);
    sourceBytes += buf.length;
    const problems: CaptureProblem[] = [];
    readPackets(buf, (p) => base.push({ linkType: p.linkType, data: p.data, time: p.time, source }), problems);
  }
  for (let r = 0; r < REPEAT; r++) {
    for (const p of base) {
      let iface = linkTypes.indexOf(p.linkType);
      if (iface < 0) iface = linkTypes.push(p.linkType) - 1;
      const frame = Uint8Array.from(p.data);
      const ip = ipOffset(p.linkType, frame);
      const v = (frame[ip] ?? 0) >> 4;
      // Same XOR on source and destination addresses, salted by source file and repetition:
      // each capture's flows stay consistent and apart from every other copy.
      const a = p.source & 0xff;
      const b = r & 0xff;
      if (v === 4 && frame.length >= ip + 20) {
        frame[ip + 12] = (frame[ip + 12] ?? 0) ^ a;
        frame[ip + 16] = (frame[ip + 16] ?? 0) ^ a;
        frame[ip + 13] = (frame[ip + 13] ?? 0) ^ b;
        frame[ip + 17] = (frame[ip + 17] ?? 0) ^ b;
      } else if (v === 6 && frame.length >= ip + 40) {
        frame[ip + 8] = (frame[ip + 8] ?? 0) ^ a;
        frame[ip + 24] = (frame[ip + 24] ?? 0) ^ a;
        frame[ip + 9] = (frame[ip + 9] ?? 0) ^ b;
        frame[ip + 25] = (frame[ip + 25] ?? 0) ^ b;
      }
      records.push({ frame, iface, time: Number.isFinite(p.time) ? p.time : 0 });
    }
  }
  const file = synth.writePcapng(records, { interfaces: linkTypes.map((linkType) => ({ linkType })) });
  return { file, packets: records.length, sourceBytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const { file, packets, sourceBytes } = buildCorpusFile();
const mb = file.length / 1e6;
console.log(`corpus: ${captures(CORPUS).length} captures, ${(sourceBytes / 1e6).toFixed(2)} MB, repeated ${REPEAT}x -> one pcapng of ${mb.toFixed(1)} MB, ${packets} packets`);

// Warm up the JIT once, and check the file replays.
const check = replayCapture(file);
console.log(`replay check: ${check.input.smtpConnections} SMTP connections, ${check.totals.commands} commands, ${check.totals.findings} findings, ${check.errors.length} errors`);

const readTimes: number[] = [];
const replayTimes: number[] = [];
for (let i = 0; i < RUNS; i++) {
  readTimes.push(time(() => readCapture(file)));
  replayTimes.push(time(() => replayCapture(file)));
}
const tRead = median(readTimes);
const tReplay = median(replayTimes);
console.log(`capture read + TCP reassembly : ${(mb / tRead).toFixed(1)} MB/s  (median of ${RUNS}: ${tRead.toFixed(3)} s)`);
console.log(`replay (reassembly + engine)  : ${(mb / tReplay).toFixed(1)} MB/s  (median of ${RUNS}: ${tReplay.toFixed(3)} s)`);

// Suricata on the same file, SMTP parser only, when it can be run here.
const which = spawnSync('sh', ['-c', 'command -v suricata'], { encoding: 'utf8' });
if (which.status !== 0 || !which.stdout.trim()) {
  let policy = '';
  try {
    policy = execFileSync('apt-cache', ['policy', 'suricata'], { encoding: 'utf8' });
  } catch {
    /* no apt */
  }
  const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  console.log(
    candidate && candidate !== '(none)'
      ? `suricata: not installed (apt candidate ${candidate}; install it to compare)`
      : 'suricata: not installable here (no Debian candidate on this system)',
  );
} else {
  const dir = mkdtempSync(join(tmpdir(), 'bench-suricata-'));
  const pcap = join(dir, 'corpus.pcapng');
  writeFileSync(pcap, file);
  const yaml = join(dir, 'suricata.yaml');
  writeFileSync(
    yaml,
    [
      '%YAML 1.1',
      '---',
      'outputs: []',
      'app-layer:',
      '  protocols:',
      '    smtp:',
      '      enabled: yes',
      ...['http', 'tls', 'ftp', 'ssh', 'dns', 'smb', 'dcerpc', 'nfs', 'imap', 'krb5', 'dhcp', 'snmp', 'sip', 'rfb', 'mqtt', 'rdp', 'http2', 'ike', 'modbus', 'dnp3', 'enip', 'ntp', 'tftp', 'pgsql', 'telnet', 'bittorrent-dht', 'quic', 'websocket', 'ldap', 'pop3', 'sdp'].flatMap((p) => [`    ${p}:`, '      enabled: no']),
      '',
    ].join('\n'),
  );
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    times.push(
      time(() => {
        spawnSync('suricata', ['-c', yaml, '-r', pcap, '-k', 'none', '-l', dir, '-S', '/dev/null', '--runmode', 'single'], { stdio: 'ignore' });
      }),
    );
  }
  const t = median(times);
  console.log(`suricata (SMTP parser only)   : ${(mb / t).toFixed(1)} MB/s  (median of ${RUNS}: ${t.toFixed(3)} s, process start included)`);
}
