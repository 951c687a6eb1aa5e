/**
 * Builders for synthetic captures (tests and hand-made cases): IP/TCP packets, link
 * headers, pcap and pcapng files. Checksums are left zero (readers do not check them).
 */

export interface TcpPacketSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  /** Flag letters: S A F R P. */
  flags?: string;
  payload?: Uint8Array | string;
  /** IPv4 options (padded to 4 bytes). */
  ipOptions?: Uint8Array;
  ipId?: number;
  /** IPv6 extension headers to put before TCP: next-header codes 0, 43, 60. */
  ipv6Ext?: number[];
}

const enc = new TextEncoder();
export function bytes(s: Uint8Array | string | undefined): Uint8Array {
  if (s === undefined) return new Uint8Array(0);
  return typeof s === 'string' ? enc.encode(s) : s;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function parseV4(a: string): number[] {
  return a.split('.').map((x) => Number(x) & 255);
}
function parseV6(a: string): number[] {
  const [head = '', tail = ''] = a.includes('::') ? a.split('::') : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w, 16) || 0);
  return words.flatMap((w) => [w >> 8, w & 255]);
}

export function flagsByte(f: string): number {
  let b = 0;
  if (f.includes('F')) b |= 1;
  if (f.includes('S')) b |= 2;
  if (f.includes('R')) b |= 4;
  if (f.includes('P')) b |= 8;
  if (f.includes('A')) b |= 16;
  return b;
}

function tcpHeader(p: TcpPacketSpec, payload: Uint8Array): Uint8Array {
  const t = new Uint8Array(20 + payload.length);
  const v = new DataView(t.buffer);
  v.setUint16(0, p.sport);
  v.setUint16(2, p.dport);
  v.setUint32(4, p.seq >>> 0);
  v.setUint32(8, (p.ack ?? 0) >>> 0);
  t[12] = 5 << 4;
  t[13] = flagsByte(p.flags ?? 'A');
  v.setUint16(14, 65535);
  t.set(payload, 20);
  return t;
}

/** An IPv4 or IPv6 packet (by the address form) carrying one TCP segment. */
export function tcpPacket(p: TcpPacketSpec): Uint8Array {
  const payload = bytes(p.payload);
  const tcp = tcpHeader(p, payload);
  if (p.src.includes(':')) {
    const exts = p.ipv6Ext ?? [];
    const extBytes: Uint8Array[] = [];
    for (let i = 0; i < exts.length; i++) {
      const h = new Uint8Array(8);
      h[0] = exts[i + 1] ?? 6;
      h[1] = 0;
      extBytes.push(h);
    }
    const body = concat([...extBytes, tcp]);
    const ip = new Uint8Array(40);
    const v = new DataView(ip.buffer);
    ip[0] = 0x60;
    v.setUint16(4, body.length);
    ip[6] = exts[0] ?? 6;
    ip[7] = 64;
    ip.set(parseV6(p.src), 8);
    ip.set(parseV6(p.dst), 24);
    return concat([ip, body]);
  }
  const opts = p.ipOptions ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const hl = 20 + optLen;
  const ip = new Uint8Array(hl);
  const v = new DataView(ip.buffer);
  ip[0] = 0x40 | (hl / 4);
  v.setUint16(2, hl + tcp.length);
  v.setUint16(4, p.ipId ?? 1);
  ip[8] = 64;
  ip[9] = 6;
  ip.set(parseV4(p.src), 12);
  ip.set(parseV4(p.dst), 16);
  ip.set(opts, 20);
  return concat([ip, tcp]);
}

/** Splits an IPv4 packet (without options) into fragments carrying `size` payload bytes each (multiple of 8). */
export function fragmentIpv4(packet: Uint8Array, size: number): Uint8Array[] {
  const hl = ((packet[0] ?? 0x45) & 0x0f) * 4;
  const payload = packet.subarray(hl);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, off + size);
    const h = packet.slice(0, hl);
    const v = new DataView(h.buffer);
    v.setUint16(2, hl + part.length);
    const more = off + size < payload.length ? 0x2000 : 0;
    v.setUint16(6, more | (off / 8));
    out.push(concat([h, part]));
  }
  return out;
}

export interface LinkOptions {
  vlan?: number[];
  /** DLT_NULL family byte order: little-endian unless said otherwise. */
  nullBigEndian?: boolean;
}

/** Wraps an IP packet in the link header of `linkType`. */
export function linkFrame(linkType: number, ip: Uint8Array, opts: LinkOptions = {}): Uint8Array {
  const v6 = (ip[0] ?? 0) >> 4 === 6;
  const etype = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case 1: {
      const tags = opts.vlan ?? [];
      const h = new Uint8Array(14 + tags.length * 4);
      h.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0);
      const v = new DataView(h.buffer);
      let o = 12;
      for (const tag of tags) {
        v.setUint16(o, 0x8100);
        v.setUint16(o + 2, tag & 0x0fff);
        o += 4;
      }
      v.setUint16(o, etype);
      return concat([h, ip]);
    }
    case 113: {
      const h = new Uint8Array(16);
      new DataView(h.buffer).setUint16(14, etype);
      h[5] = 6;
      return concat([h, ip]);
    }
    case 276: {
      const h = new Uint8Array(20);
      new DataView(h.buffer).setUint16(0, etype);
      h[11] = 6;
      return concat([h, ip]);
    }
    case 0:
    case 108: {
      const h = new Uint8Array(4);
      const fam = v6 ? 30 : 2;
      new DataView(h.buffer).setUint32(0, fam, linkType === 0 && !opts.nullBigEndian);
      return concat([h, ip]);
    }
    default:
      return ip;
  }
}

export interface SynthRecord {
  frame: Uint8Array;
  time?: number;
  /** pcapng interface index. */
  iface?: number;
  /** Length on the wire when the record is cut (snaplen). */
  origLen?: number;
}

export interface PcapOptions {
  linkType?: number;
  bigEndian?: boolean;
  nano?: boolean;
  snaplen?: number;
}

export function writePcap(records: SynthRecord[], o: PcapOptions = {}): Uint8Array {
  const le = !o.bigEndian;
  const parts: Uint8Array[] = [];
  const h = new Uint8Array(24);
  const v = new DataView(h.buffer);
  v.setUint32(0, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, o.snaplen ?? 262144, le);
  v.setUint32(20, o.linkType ?? 1, le);
  parts.push(h);
  records.forEach((r, i) => {
    const t = r.time ?? 1_700_000_000 + i / 1000;
    const rh = new Uint8Array(16);
    const rv = new DataView(rh.buffer);
    const sec = Math.floor(t);
    rv.setUint32(0, sec, le);
    rv.setUint32(4, Math.round((t - sec) * (o.nano ? 1e9 : 1e6)), le);
    rv.setUint32(8, r.frame.length, le);
    rv.setUint32(12, r.origLen ?? r.frame.length, le);
    parts.push(rh, r.frame);
  });
  return concat(parts);
}

export interface PcapngInterface {
  linkType: number;
  /** if_tsresol option byte (default: none, microseconds). */
  tsresol?: number;
  snaplen?: number;
}

export interface PcapngOptions {
  bigEndian?: boolean;
  interfaces?: PcapngInterface[];
  /** Packet block kind: enhanced (6), simple (3) or the obsolete packet block (2). */
  block?: 'epb' | 'spb' | 'opb';
}

function block(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const out = new Uint8Array(12 + padded);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, le);
  v.setUint32(4, out.length, le);
  out.set(body, 8);
  v.setUint32(out.length - 4, out.length, le);
  return out;
}

export function writePcapng(records: SynthRecord[], o: PcapngOptions = {}): Uint8Array {
  const le = !o.bigEndian;
  const parts: Uint8Array[] = [];
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, le);
  sv.setUint16(4, 1, le);
  sv.setUint16(6, 0, le);
  sv.setInt32(8, -1, le);
  sv.setInt32(12, -1, le);
  parts.push(block(0x0a0d0d0a, shb, le));
  const ifaces = o.interfaces ?? [{ linkType: 1 }];
  for (const i of ifaces) {
    const hasRes = i.tsresol !== undefined;
    const b = new Uint8Array(8 + (hasRes ? 12 : 0));
    const v = new DataView(b.buffer);
    v.setUint16(0, i.linkType, le);
    v.setUint32(4, i.snaplen ?? 262144, le);
    if (hasRes) {
      v.setUint16(8, 9, le);
      v.setUint16(10, 1, le);
      b[12] = i.tsresol ?? 6;
      // end-of-options at 16..20 stays zero
    }
    parts.push(block(1, b, le));
  }
  records.forEach((r, idx) => {
    const iface = ifaces[r.iface ?? 0] ?? { linkType: 1 };
    const res = iface.tsresol ?? 6;
    const units = res & 0x80 ? 2 ** (res & 0x7f) : 10 ** res;
    const t = r.time ?? 1_700_000_000 + idx / 1000;
    const ts = BigInt(Math.round(t * 1e6)) * BigInt(Math.round(units)) / 1_000_000n;
    const kind = o.block ?? 'epb';
    if (kind === 'spb') {
      const b = new Uint8Array(4 + r.frame.length);
      new DataView(b.buffer).setUint32(0, r.origLen ?? r.frame.length, le);
      b.set(r.frame, 4);
      parts.push(block(3, b, le));
      return;
    }
    const b = new Uint8Array(20 + r.frame.length);
    const v = new DataView(b.buffer);
    if (kind === 'epb') v.setUint32(0, r.iface ?? 0, le);
    else v.setUint16(0, r.iface ?? 0, le);
    v.setUint32(4, Number(ts >> 32n), le);
    v.setUint32(8, Number(ts & 0xffffffffn), le);
    v.setUint32(12, r.frame.length, le);
    v.setUint32(16, r.origLen ?? r.frame.length, le);
    b.set(r.frame, 20);
    parts.push(block(kind === 'epb' ? 6 : 2, b, le));
  });
  return concat(parts);
}

/**
 * A scripted TCP conversation that keeps sequence numbers: call `handshake()`, then
 * `client(...)` / `server(...)` for each write, `close()`; take `packets`.
 */
export class TcpConversation {
  readonly packets: Uint8Array[] = [];
  seq: { client: number; server: number };
  constructor(
    readonly c: { address: string; port: number },
    readonly s: { address: string; port: number },
    isn = { client: 1000, server: 5000 },
  ) {
    this.seq = { ...isn };
  }
  private spec(from: 'client' | 'server', flags: string, payload?: Uint8Array | string, seq?: number): TcpPacketSpec {
    const a = from === 'client' ? this.c : this.s;
    const b = from === 'client' ? this.s : this.c;
    return {
      src: a.address,
      dst: b.address,
      sport: a.port,
      dport: b.port,
      seq: seq ?? this.seq[from],
      ack: this.seq[from === 'client' ? 'server' : 'client'],
      flags,
      payload,
    };
  }
  handshake(): this {
    this.packets.push(tcpPacket({ ...this.spec('client', 'S'), ack: 0 }));
    this.seq.client++;
    this.packets.push(tcpPacket({ ...this.spec('server', 'SA') }));
    this.seq.server++;
    this.packets.push(tcpPacket(this.spec('client', 'A')));
    return this;
  }
  /** One segment; returns it without adding when `hold` is set (to reorder or drop it). */
  send(from: 'client' | 'server', data: Uint8Array | string, hold = false): Uint8Array {
    const b = bytes(data);
    const p = tcpPacket(this.spec(from, 'PA', b));
    this.seq[from] = (this.seq[from] + b.length) >>> 0;
    if (!hold) this.packets.push(p);
    return p;
  }
  client(data: Uint8Array | string): this {
    this.send('client', data);
    return this;
  }
  server(data: Uint8Array | string): this {
    this.send('server', data);
    return this;
  }
  /** A segment at an explicit sequence number (retransmission / overlap), not moving seq. */
  at(from: 'client' | 'server', seq: number, data: Uint8Array | string): Uint8Array {
    return tcpPacket(this.spec(from, 'PA', data, seq));
  }
  /** A pure ACK from `from`. */
  ackFrom(from: 'client' | 'server'): this {
    this.packets.push(tcpPacket(this.spec(from, 'A')));
    return this;
  }
  fin(from: 'client' | 'server'): this {
    this.packets.push(tcpPacket(this.spec(from, 'FA')));
    this.seq[from] = (this.seq[from] + 1) >>> 0;
    return this;
  }
  close(): this {
    return this.fin('client').fin('server').ackFrom('client');
  }
  rst(from: 'client' | 'server'): this {
    this.packets.push(tcpPacket(this.spec(from, 'RA')));
    return this;
  }
}
