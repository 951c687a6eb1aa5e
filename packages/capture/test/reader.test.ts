import { describe, expect, it } from 'vitest';
import { readCapture, swapRoles, synth, type StreamEvent, type TcpConnection } from '../src/index.js';

const { TcpConversation, linkFrame, tcpPacket, writePcap, writePcapng, fragmentIpv4 } = synth;
const dec = new TextDecoder('latin1');

const C4 = { address: '10.0.0.1', port: 40000 };
const S4 = { address: '10.0.0.2', port: 25 };
const C6 = { address: '2001:db8::1', port: 40000 };
const S6 = { address: '2001:db8::25', port: 587 };

/** The stream a side sent, with gaps shown as [gap N]. */
function stream(c: TcpConnection, from: 'client' | 'server'): string {
  return c.events
    .filter((e) => e.from === from)
    .map((e) => (e.kind === 'data' ? dec.decode(e.bytes) : e.kind === 'gap' ? `[gap ${e.bytes}]` : ''))
    .join('');
}

/** Condensed event list: C:text / S:text / gap / close. */
function timeline(c: TcpConnection): string[] {
  return c.events.map((e: StreamEvent) => {
    const who = e.from === 'client' ? 'C' : 'S';
    if (e.kind === 'data') return `${who}:${dec.decode(e.bytes)}`;
    if (e.kind === 'gap') return `${who}:gap ${e.bytes} (${e.reason})`;
    if (e.kind === 'overlap') return `${who}:overlap@${e.offset}`;
    return `${who}:${e.how}`;
  });
}

function simpleSession(c = C4, s = S4): InstanceType<typeof TcpConversation> {
  return new TcpConversation(c, s)
    .handshake()
    .server('220 mx ESMTP\r\n')
    .client('EHLO a\r\n')
    .server('250 ok\r\n')
    .client('QUIT\r\n')
    .server('221 bye\r\n')
    .close();
}

const EXPECTED = ['S:220 mx ESMTP\r\n', 'C:EHLO a\r\n', 'S:250 ok\r\n', 'C:QUIT\r\n', 'S:221 bye\r\n', 'C:fin', 'S:fin'];

describe('file formats', () => {
  const conv = simpleSession();
  const frames = conv.packets.map((p) => ({ frame: linkFrame(1, p) }));

  for (const bigEndian of [false, true]) {
    for (const nano of [false, true]) {
      it(`pcap ${bigEndian ? 'big' : 'little'}-endian ${nano ? 'nanosecond' : 'microsecond'}`, () => {
        const recs = frames.map((f, i) => ({ ...f, time: 1_700_000_000.25 + i }));
        const r = readCapture(writePcap(recs, { bigEndian, nano }));
        expect(r.format).toBe('pcap');
        expect(r.errors).toEqual([]);
        expect(r.packets).toBe(frames.length);
        expect(r.connections).toHaveLength(1);
        const c = r.connections[0]!;
        expect(timeline(c)).toEqual(EXPECTED);
        expect(c.client).toEqual(C4);
        expect(c.roleBy).toBe('syn');
        expect(c.startTime).toBeCloseTo(1_700_000_000.25, 5);
      });
    }
  }

  for (const bigEndian of [false, true]) {
    it(`pcapng ${bigEndian ? 'big' : 'little'}-endian, two interfaces with different link types and resolutions`, () => {
      const recs = conv.packets.map((p, i) => {
        const iface = i % 2;
        return { frame: linkFrame(iface === 0 ? 1 : 113, p), iface, time: 1_700_000_000 + i * 0.5 };
      });
      const r = readCapture(
        writePcapng(recs, { bigEndian, interfaces: [{ linkType: 1 }, { linkType: 113, tsresol: 9 }] }),
      );
      expect(r.format).toBe('pcapng');
      expect(r.errors).toEqual([]);
      expect(r.linkTypes).toEqual({ 1: Math.ceil(recs.length / 2), 113: Math.floor(recs.length / 2) });
      expect(timeline(r.connections[0]!)).toEqual(EXPECTED);
      expect(r.connections[0]!.endTime).toBeCloseTo(1_700_000_000 + (recs.length - 1) * 0.5, 3);
    });
  }

  it('pcapng simple packet blocks and obsolete packet blocks', () => {
    for (const block of ['spb', 'opb'] as const) {
      const r = readCapture(writePcapng(frames, { block }));
      expect(r.errors).toEqual([]);
      expect(timeline(r.connections[0]!)).toEqual(EXPECTED);
    }
  });

  it('pcapng: skips unknown blocks and starts over at a new section', () => {
    const a = writePcapng(frames.slice(0, 6));
    const b = writePcapng(
      conv.packets.slice(6).map((p) => ({ frame: linkFrame(101, p) })),
      { interfaces: [{ linkType: 101 }] },
    );
    const custom = new Uint8Array(16);
    new DataView(custom.buffer).setUint32(0, 0x00000bad, true);
    new DataView(custom.buffer).setUint32(4, 16, true);
    new DataView(custom.buffer).setUint32(12, 16, true);
    const r = readCapture(Buffer.concat([a, custom, b]));
    expect(r.errors).toEqual([]);
    expect(timeline(r.connections[0]!)).toEqual(EXPECTED);
  });
});

describe('link types', () => {
  const conv = simpleSession();
  const cases: [string, number, Parameters<typeof linkFrame>[2]?][] = [
    ['Ethernet', 1],
    ['Ethernet with 802.1Q VLAN', 1, { vlan: [42] }],
    ['Ethernet with QinQ', 1, { vlan: [10, 20] }],
    ['Linux cooked SLL', 113],
    ['Linux cooked SLL2', 276],
    ['raw IP (101)', 101],
    ['raw IP (12)', 12],
    ['raw IP (14)', 14],
    ['BSD loopback DLT_NULL little-endian', 0],
    ['BSD loopback DLT_NULL big-endian', 0, { nullBigEndian: true }],
    ['OpenBSD DLT_LOOP', 108],
  ];
  for (const [name, lt, opts] of cases) {
    it(name, () => {
      const r = readCapture(writePcap(conv.packets.map((p) => ({ frame: linkFrame(lt, p, opts) })), { linkType: lt }));
      expect(r.errors).toEqual([]);
      expect(timeline(r.connections[0]!)).toEqual(EXPECTED);
    });
  }

  it('IPv6 over Ethernet, SLL2 and DLT_NULL, with extension headers', () => {
    const conv6 = simpleSession(C6, S6);
    for (const lt of [1, 276, 0]) {
      const r = readCapture(writePcap(conv6.packets.map((p) => ({ frame: linkFrame(lt, p) })), { linkType: lt }));
      expect(r.errors).toEqual([]);
      expect(r.connections[0]!.client).toEqual(C6);
      expect(timeline(r.connections[0]!)).toEqual(EXPECTED);
    }
    const withExt = tcpPacket({ src: C6.address, dst: S6.address, sport: 1, dport: 25, seq: 1, flags: 'PA', payload: 'NOOP\r\n', ipv6Ext: [0, 60, 43] });
    const r = readCapture(writePcap([{ frame: linkFrame(101, withExt) }], { linkType: 101 }));
    expect(stream(r.connections[0]!, 'client')).toBe('NOOP\r\n');
  });

  it('IPv4 options are skipped; Ethernet padding is not payload', () => {
    const p = tcpPacket({ src: '1.2.3.4', dst: '5.6.7.8', sport: 1111, dport: 25, seq: 7, flags: 'PA', payload: 'HI', ipOptions: new Uint8Array([1, 1, 1, 0]) });
    const padded = Buffer.concat([linkFrame(1, p), Buffer.alloc(10, 0xee)]);
    const r = readCapture(writePcap([{ frame: padded }]));
    expect(stream(r.connections[0]!, 'client')).toBe('HI');
    expect(r.connections[0]!.roleBy).toBe('port');
  });

  it('unsupported link types and non-TCP packets are counted, not fatal', () => {
    const conv2 = simpleSession();
    const udp = tcpPacket({ src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2, seq: 0 });
    udp[9] = 17;
    const r = readCapture(writePcap([{ frame: linkFrame(1, udp) }, ...conv2.packets.map((p) => ({ frame: linkFrame(1, p) }))]));
    expect(r.skipped['IP protocol 17']).toBe(1);
    expect(timeline(r.connections[0]!)).toEqual(EXPECTED);
    const odd = readCapture(writePcap([{ frame: new Uint8Array(30) }], { linkType: 147 }));
    expect(odd.errors).toEqual([]);
    expect(odd.warnings[0]?.message).toMatch(/unsupported link type 147/);
  });

  it('reassembles IPv4 fragments, in any order', () => {
    const conv2 = new TcpConversation(C4, S4).handshake();
    const big = 'X'.repeat(3000) + '\r\n';
    const seg = conv2.send('client', big, true);
    const frags = fragmentIpv4(seg, 1480);
    expect(frags.length).toBe(3);
    const pkts = [...conv2.packets, frags[2]!, frags[0]!, frags[1]!];
    const r = readCapture(writePcap(pkts.map((p) => ({ frame: linkFrame(1, p) }))));
    expect(stream(r.connections[0]!, 'client')).toBe(big);
  });

  it('reports a fragmented datagram that never completes', () => {
    const conv2 = new TcpConversation(C4, S4).handshake();
    const frags = fragmentIpv4(conv2.send('client', 'Y'.repeat(2000), true), 1000);
    const r = readCapture(writePcap([...conv2.packets, frags[0]!].map((p) => ({ frame: linkFrame(1, p) }))));
    expect(r.warnings.some((w) => /never completed/.test(w.message))).toBe(true);
  });
});

describe('TCP reassembly', () => {
  function run(packets: Uint8Array[]): TcpConnection {
    const r = readCapture(writePcap(packets.map((p) => ({ frame: linkFrame(101, p) })), { linkType: 101 }));
    expect(r.errors).toEqual([]);
    expect(r.connections).toHaveLength(1);
    return r.connections[0]!;
  }

  it('reorders out-of-order segments', () => {
    const c = new TcpConversation(C4, S4).handshake();
    c.server('220 hi\r\n');
    const a = c.send('client', 'MAIL FROM:<a@b>\r\n', true);
    const b = c.send('client', 'RCPT TO:<c@d>\r\n', true);
    const d = c.send('client', 'DATA\r\n', true);
    const conn = run([...c.packets, d, b, a]);
    expect(stream(conn, 'client')).toBe('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n');
    expect(conn.stats.client.gapBytes).toBe(0);
  });

  it('drops identical retransmissions silently and counts them', () => {
    const c = new TcpConversation(C4, S4).handshake().server('220 hi\r\n');
    const a = c.send('client', 'EHLO x\r\n');
    c.packets.push(a, a);
    c.server('250 ok\r\n');
    const conn = run(c.packets);
    expect(stream(conn, 'client')).toBe('EHLO x\r\n');
    expect(conn.stats.client.retransmittedBytes).toBe(16);
    expect(conn.stats.client.conflicts).toBe(0);
    expect(conn.events.some((e) => e.kind === 'overlap')).toBe(false);
  });

  it('keeps the first copy of overlapping bytes and reports a conflicting overlap', () => {
    const c = new TcpConversation(C4, S4).handshake().server('220 hi\r\n');
    const base = c.seq.client;
    c.client('RCPT TO:<good@x>\r\n');
    // Retransmission of the same range with different bytes (an evasion attempt).
    c.packets.push(c.at('client', base, 'RCPT TO:<evil@x>\r\n'));
    const conn = run(c.packets);
    expect(stream(conn, 'client')).toBe('RCPT TO:<good@x>\r\n');
    const ov = conn.events.find((e) => e.kind === 'overlap');
    expect(ov).toMatchObject({ kind: 'overlap', from: 'client', offset: 9 });
    expect(conn.stats.client.conflicts).toBe(1);
  });

  it('overlap between two buffered out-of-order segments: first seen wins', () => {
    const c = new TcpConversation(C4, S4).handshake();
    const base = c.seq.client;
    const later1 = c.at('client', base + 4, 'AAAAAAAA');
    const later2 = c.at('client', base + 8, 'BBBBBBBB'); // overlaps later1 on 4 bytes, differently
    const first = c.at('client', base, 'HEAD');
    const conn = run([...c.packets, later1, later2, first]);
    expect(stream(conn, 'client')).toBe('HEADAAAAAAAABBBB');
    expect(conn.stats.client.conflicts).toBe(1);
  });

  it('reports a missing segment as a gap once the peer acknowledges past it and speaks', () => {
    const c = new TcpConversation(C4, S4).handshake().server('220 hi\r\n');
    c.client('EHLO x\r\n');
    c.send('client', 'MAIL FROM:<lost@x>\r\n', true); // never captured
    c.client('RCPT TO:<y@z>\r\n');
    c.server('250 ok\r\n');
    const conn = run(c.packets);
    expect(timeline(conn)).toEqual([
      'S:220 hi\r\n',
      'C:EHLO x\r\n',
      'C:gap 20 (acked)',
      'C:RCPT TO:<y@z>\r\n',
      'S:250 ok\r\n',
    ]);
    expect(conn.stats.client.gapBytes).toBe(20);
  });

  it('a missing tail before FIN is a gap, never glued', () => {
    const c = new TcpConversation(C4, S4).handshake();
    c.client('QUIT');
    c.send('client', '\r\n', true);
    c.fin('client');
    const conn = run(c.packets);
    expect(timeline(conn)).toEqual(['C:QUIT', 'C:gap 2 (fin)', 'C:fin']);
  });

  it('buffers at most maxBufferedBytes out of order, then gives up on the hole', () => {
    const c = new TcpConversation(C4, S4).handshake();
    c.send('client', 'lost', true);
    for (let i = 0; i < 5; i++) c.client('x'.repeat(100));
    const r = readCapture(writePcap(c.packets.map((p) => ({ frame: linkFrame(101, p) })), { linkType: 101 }), {
      maxBufferedBytes: 250,
    });
    const conn = r.connections[0]!;
    expect(timeline(conn)[0]).toBe('C:gap 4 (buffer-limit)');
    expect(stream(conn, 'client')).toBe('[gap 4]' + 'x'.repeat(500));
  });

  it('RST ends a direction; buffered data after a hole is delivered after a gap', () => {
    const c = new TcpConversation(C4, S4).handshake();
    c.send('client', 'AB', true);
    c.client('CD');
    c.rst('client');
    const conn = run(c.packets);
    expect(timeline(conn)).toEqual(['C:gap 2 (rst)', 'C:CD', 'C:rst']);
    expect(conn.stats.client.closed).toBe('rst');
  });

  it('bytes cut by snaplen are a gap', () => {
    const c = new TcpConversation(C4, S4).handshake();
    const p = c.send('client', 'HELLO WORLD', true);
    const cut = linkFrame(101, p).subarray(0, 40 + 5);
    c.client('!\r\n');
    const recs = [...c.packets.slice(0, 3).map((x) => ({ frame: x })), { frame: cut, origLen: p.length }, { frame: c.packets[3]! }];
    const r = readCapture(writePcap(recs, { linkType: 101, snaplen: 45 }));
    expect(timeline(r.connections[0]!)).toEqual(['C:HELLO', 'C:gap 6 (snaplen)', 'C:!\r\n']);
  });

  it('sequence numbers wrapping past 2^32', () => {
    const c = new TcpConversation(C4, S4, { client: 0xfffffff0, server: 0xfffffffe }).handshake();
    c.server('220 wrap\r\n').client('EHLO wrapping-around\r\n').server('250 ok\r\n');
    const conn = run(c.packets);
    expect(stream(conn, 'client')).toBe('EHLO wrapping-around\r\n');
    expect(stream(conn, 'server')).toBe('220 wrap\r\n250 ok\r\n');
  });

  it('without a handshake, the well-known port tells the server; swapRoles flips', () => {
    const c = new TcpConversation(C4, S4);
    c.server('220 mid\r\n').client('NOOP\r\n');
    const conn = run(c.packets);
    expect(conn.roleBy).toBe('port');
    expect(conn.handshake).toBe(false);
    expect(conn.client).toEqual(C4);
    const flipped = swapRoles(conn);
    expect(stream(flipped, 'client')).toBe('220 mid\r\n');
    expect(flipped.client).toEqual(S4);
  });

  it('SYN-ACK alone decides the client', () => {
    const c = new TcpConversation({ address: '10.0.0.9', port: 2000 }, { address: '10.0.0.8', port: 3000 }).handshake();
    const conn = run(c.packets.slice(1));
    expect(conn.roleBy).toBe('syn-ack');
    expect(conn.client.port).toBe(2000);
  });

  it('a new SYN on a used tuple starts a new connection', () => {
    const a = simpleSession();
    const b = new TcpConversation(C4, S4, { client: 9_000_000, server: 7_000_000 }).handshake().client('EHLO again\r\n').close();
    const r = readCapture(writePcap([...a.packets, ...b.packets].map((p) => ({ frame: linkFrame(101, p) })), { linkType: 101 }));
    expect(r.connections).toHaveLength(2);
    expect(stream(r.connections[1]!, 'client')).toBe('EHLO again\r\n');
  });

  it('interleaves both directions in capture order (pipelined replies)', () => {
    const c = new TcpConversation(C4, S4).handshake();
    c.server('220 x\r\n').client('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n').server('250 a\r\n').server('250 b\r\n').client('DATA\r\n');
    expect(timeline(run(c.packets))).toEqual([
      'S:220 x\r\n',
      'C:MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n',
      'S:250 a\r\n',
      'S:250 b\r\n',
      'C:DATA\r\n',
    ]);
  });
});

describe('damaged files', () => {
  const conv = simpleSession();
  const good = writePcap(conv.packets.map((p) => ({ frame: linkFrame(1, p) })));

  it('truncated in the middle of a record: earlier packets kept, offset reported', () => {
    const cut = good.subarray(0, good.length - 10);
    const r = readCapture(cut);
    expect(r.errors).toHaveLength(1);
    const lastRecord = good.length - (16 + linkFrame(1, conv.packets.at(-1)!).length);
    expect(r.errors[0]!.offset).toBe(lastRecord);
    expect(r.errors[0]!.message).toMatch(/truncated/);
    expect(r.packets).toBe(conv.packets.length - 1);
    expect(stream(r.connections[0]!, 'server')).toBe('220 mx ESMTP\r\n250 ok\r\n221 bye\r\n');
  });

  it('corrupt record length', () => {
    const bad = Buffer.from(good);
    const second = 24 + 16 + linkFrame(1, conv.packets[0]!).length;
    bad.writeUInt32LE(0xf0000000, second + 8);
    const r = readCapture(bad);
    expect(r.errors).toEqual([expect.objectContaining({ offset: second, fatal: true, message: expect.stringMatching(/corrupt record length/) })]);
    expect(r.packets).toBe(1);
  });

  it('not a capture at all', () => {
    const r = readCapture(Buffer.from('hello world, not a pcap'));
    expect(r.format).toBe('unknown');
    expect(r.errors[0]).toMatchObject({ offset: 0, fatal: true });
  });

  it('pcapng with a bad block length', () => {
    const ng = Buffer.from(writePcapng(conv.packets.map((p) => ({ frame: linkFrame(1, p) }))));
    // SHB is 28 bytes, IDB 20: the first packet block starts at 48.
    ng.writeUInt32LE(13, 48 + 4);
    const r = readCapture(ng);
    expect(r.errors[0]).toMatchObject({ offset: 48, fatal: true });
    expect(r.errors[0]!.message).toMatch(/invalid block length 13/);
  });
});
