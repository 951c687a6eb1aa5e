import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture, synth, type CaptureResult } from '../src/index.js';

const { TcpConversation, linkFrame, writePcap, writePcapng } = synth;

function sane(r: CaptureResult): void {
  // No internal error was swallowed: every reported problem is a finding about the input.
  for (const e of [...r.errors, ...r.warnings]) expect(e.message).not.toMatch(/internal error/);
  for (const c of r.connections) {
    for (const e of c.events) {
      if (e.kind === 'gap') expect(e.bytes).toBeGreaterThan(0);
      if (e.kind === 'data') expect(e.bytes.length).toBeGreaterThan(0);
    }
    // Per direction, data and gaps tile the stream without holes or overlaps.
    for (const side of ['client', 'server'] as const) {
      let next: number | null = null;
      for (const e of c.events) {
        if (e.from !== side || (e.kind !== 'data' && e.kind !== 'gap')) continue;
        if (next !== null) expect(e.offset).toBe(next);
        next = e.offset + (e.kind === 'data' ? e.bytes.length : e.bytes);
      }
    }
  }
}

const seedConv = new TcpConversation({ address: '10.1.1.1', port: 5000 }, { address: '10.1.1.2', port: 25 })
  .handshake()
  .server('220 hi\r\n')
  .client('EHLO fuzz\r\n')
  .server('250-x\r\n250 y\r\n')
  .client('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n')
  .server('250 a\r\n250 b\r\n354 go\r\n')
  .client('body\r\n.\r\n')
  .close();
const seeds = [
  writePcap(seedConv.packets.map((p) => ({ frame: linkFrame(1, p, { vlan: [5] }) }))),
  writePcap(seedConv.packets.map((p) => ({ frame: linkFrame(113, p) })), { linkType: 113, bigEndian: true, nano: true }),
  writePcapng(seedConv.packets.map((p, i) => ({ frame: linkFrame(i % 2 ? 276 : 0, p), iface: i % 2 })), {
    interfaces: [{ linkType: 0 }, { linkType: 276, tsresol: 9 }],
  }),
  writePcapng(seedConv.packets.map((p) => ({ frame: linkFrame(101, p) })), { interfaces: [{ linkType: 101 }], bigEndian: true }),
  new Uint8Array(readFileSync(new URL('../../../fixtures/corpus/suricata-verify/smtp-pipelining/input.pcap', import.meta.url))),
];

describe('never throws', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => {
        sane(readCapture(b));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes after a valid pcap or pcapng header', () => {
    const headers = [seeds[0]!.subarray(0, 24), seeds[2]!.subarray(0, 28 + 20 + 32)];
    fc.assert(
      fc.property(fc.constantFrom(...headers), fc.uint8Array({ maxLength: 4096 }), (h, b) => {
        sane(readCapture(Buffer.concat([h, b])));
      }),
      { numRuns: 300 },
    );
  });

  it('valid captures with bytes flipped, truncated or spliced', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.option(fc.nat()),
        (seed, flips, cut) => {
          const b = Buffer.from(seed);
          for (const [at, v] of flips) b[at % b.length] = v;
          const input = cut === null ? b : b.subarray(0, cut % (b.length + 1));
          sane(readCapture(input));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('arbitrary TCP segment soup (random seq/ack/flags/order) reassembles without holes', () => {
    const seg = fc.record({
      fromClient: fc.boolean(),
      seq: fc.integer({ min: 0, max: 400 }),
      ack: fc.integer({ min: 0, max: 400 }),
      flags: fc.constantFrom('A', 'PA', 'S', 'SA', 'FA', 'RA', 'P', ''),
      len: fc.integer({ min: 0, max: 60 }),
      fill: fc.integer({ min: 65, max: 90 }),
    });
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 60 }), fc.integer({ min: 16, max: 4096 }), (segs, maxBuf) => {
        const pkts = segs.map((s) =>
          linkFrame(
            101,
            synth.tcpPacket({
              src: s.fromClient ? '10.0.0.1' : '10.0.0.2',
              dst: s.fromClient ? '10.0.0.2' : '10.0.0.1',
              sport: s.fromClient ? 4000 : 25,
              dport: s.fromClient ? 25 : 4000,
              seq: (s.fromClient ? 0xfffffe00 : 1000) + s.seq,
              ack: (s.fromClient ? 1000 : 0xfffffe00) + s.ack,
              flags: s.flags,
              payload: new Uint8Array(s.len).fill(s.fill),
            }),
          ),
        );
        const r = readCapture(writePcap(pkts.map((frame) => ({ frame })), { linkType: 101 }), {
          maxBufferedBytes: maxBuf,
          maxBufferedSegments: 8,
        });
        expect(r.errors).toEqual([]);
        sane(r);
      }),
      { numRuns: 500 },
    );
  });
});

describe('regressions found by the fuzzer', () => {
  it('a SYN-ACK after a gap was reported does not restart the stream at offset 0', () => {
    const pkt = (fromClient: boolean, seq: number, ack: number, flags: string, len: number) =>
      linkFrame(
        101,
        synth.tcpPacket({
          src: fromClient ? '10.0.0.1' : '10.0.0.2',
          dst: fromClient ? '10.0.0.2' : '10.0.0.1',
          sport: fromClient ? 4000 : 25,
          dport: fromClient ? 25 : 4000,
          seq: (fromClient ? 0xfffffe00 : 1000) + seq,
          ack: (fromClient ? 1000 : 0xfffffe00) + ack,
          flags,
          payload: new Uint8Array(len).fill(65),
        }),
      );
    const r = readCapture(writePcap([pkt(true, 0, 0, 'A', 0), pkt(false, 0, 1, 'A', 1), pkt(true, 0, 0, 'SA', 0)].map((frame) => ({ frame })), { linkType: 101 }), {
      maxBufferedBytes: 16,
      maxBufferedSegments: 8,
    });
    sane(r);
  });
});
