/**
 * Link layer and IP: turn one captured frame into the TCP segment it carries, if any.
 * Link types: Ethernet (802.1Q / 802.1ad VLAN tags), Linux cooked SLL and SLL2, raw IP
 * (101, and the 12 / 14 DLT_RAW variants), BSD loopback (DLT_NULL 0, DLT_LOOP 108),
 * bare IPv4 (228) / IPv6 (229). IPv4 options are skipped and fragments reassembled;
 * IPv6 extension headers are skipped and fragments reassembled.
 */

export interface TcpSegment {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** TCP payload bytes actually captured. */
  payload: Uint8Array;
  /** Payload bytes the IP header announces but the capture did not keep (snaplen). */
  missing: number;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

export type PacketOutcome =
  | { kind: 'tcp'; segment: TcpSegment }
  | { kind: 'skip'; reason: string }
  | { kind: 'pending' }
  | { kind: 'bad'; reason: string };

export const SUPPORTED_LINK_TYPES: Record<number, string> = {
  0: 'BSD loopback (DLT_NULL)',
  1: 'Ethernet',
  12: 'raw IP (DLT_RAW)',
  14: 'raw IP (DLT_RAW, OpenBSD)',
  101: 'raw IP',
  108: 'OpenBSD loopback (DLT_LOOP)',
  113: 'Linux cooked (SLL)',
  228: 'IPv4',
  229: 'IPv6',
  276: 'Linux cooked v2 (SLL2)',
};

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

function be16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}
function be32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

/** Locates the IP header in a frame: returns its start and IP version hint (4, 6, or 0 = read the nibble). */
function linkPayload(linkType: number, d: Uint8Array): { start: number; version: number } | string {
  switch (linkType) {
    case 1: {
      if (d.length < 14) return 'Ethernet frame shorter than its header';
      let type = be16(d, 12);
      let o = 14;
      // 802.1Q, 802.1ad, and the old QinQ 0x9100: up to a few stacked tags.
      for (let tags = 0; (type === 0x8100 || type === 0x88a8 || type === 0x9100) && tags < 8; tags++) {
        if (d.length < o + 4) return 'VLAN tag truncated';
        type = be16(d, o + 2);
        o += 4;
      }
      if (type === ETH_IPV4) return { start: o, version: 4 };
      if (type === ETH_IPV6) return { start: o, version: 6 };
      return `ethertype 0x${type.toString(16).padStart(4, '0')}`;
    }
    case 113: {
      if (d.length < 16) return 'SLL header truncated';
      const type = be16(d, 14);
      if (type === ETH_IPV4) return { start: 16, version: 4 };
      if (type === ETH_IPV6) return { start: 16, version: 6 };
      return `SLL protocol 0x${type.toString(16)}`;
    }
    case 276: {
      if (d.length < 20) return 'SLL2 header truncated';
      const type = be16(d, 0);
      if (type === ETH_IPV4) return { start: 20, version: 4 };
      if (type === ETH_IPV6) return { start: 20, version: 6 };
      return `SLL2 protocol 0x${type.toString(16)}`;
    }
    case 12:
    case 14:
    case 101:
      return { start: 0, version: 0 };
    case 228:
      return { start: 0, version: 4 };
    case 229:
      return { start: 0, version: 6 };
    case 0:
    case 108: {
      if (d.length < 4) return 'loopback header truncated';
      // DLT_NULL: address family in the capturing host's byte order; DLT_LOOP: network order.
      const le = (d[0] ?? 0) | ((d[1] ?? 0) << 8) | ((d[2] ?? 0) << 16) | ((d[3] ?? 0) << 24);
      const be = be32(d, 0);
      const fam = linkType === 108 ? be : le > 0 && le < 256 ? le : be;
      if (fam === 2) return { start: 4, version: 4 };
      if (fam === 24 || fam === 28 || fam === 30 || fam === 10) return { start: 4, version: 6 };
      return `loopback address family ${fam}`;
    }
    default:
      return `unsupported link type ${linkType}`;
  }
}

export function ipv4String(b: Uint8Array, o: number): string {
  return `${b[o] ?? 0}.${b[o + 1] ?? 0}.${b[o + 2] ?? 0}.${b[o + 3] ?? 0}`;
}

/** RFC 5952 text form. */
export function ipv6String(b: Uint8Array, o: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(be16(b, o + i * 2));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = words.map((w) => w.toString(16));
  if (bestStart < 0) return hexes.join(':');
  return `${hexes.slice(0, bestStart).join(':')}::${hexes.slice(bestStart + bestLen).join(':')}`;
}

interface FragBuffer {
  key: string;
  parts: { off: number; data: Uint8Array }[];
  total: number; // -1 until the last fragment is seen
  bytes: number;
  firstPacket: number;
  version: 4 | 6;
  proto: number;
  src: string;
  dst: string;
}

export interface NetworkLimits {
  /** Datagrams being reassembled at once; the oldest is dropped beyond it. */
  maxPendingDatagrams: number;
}

/**
 * Stateful only for IP fragment reassembly: at most `maxPendingDatagrams` datagrams of at
 * most 64 KiB each are held.
 */
export class NetworkDecoder {
  private frags = new Map<string, FragBuffer>();
  /** Problems the decoder wants reported, drained by the caller. */
  readonly notes: { message: string; packet: number }[] = [];
  constructor(private readonly limits: NetworkLimits = { maxPendingDatagrams: 1024 }) {}

  decode(linkType: number, frame: Uint8Array, origLen: number, packet: number): PacketOutcome {
    const link = linkPayload(linkType, frame);
    if (typeof link === 'string') return { kind: 'skip', reason: link };
    const ip = frame.subarray(link.start);
    const cut = Math.max(0, origLen - frame.length);
    if (ip.length < 1) return { kind: 'bad', reason: 'empty IP packet' };
    const version = link.version || (ip[0] ?? 0) >> 4;
    if (version === 4) return this.ipv4(ip, cut, packet);
    if (version === 6) return this.ipv6(ip, cut, packet);
    return { kind: 'skip', reason: `IP version ${version}` };
  }

  private ipv4(ip: Uint8Array, cut: number, packet: number): PacketOutcome {
    if (ip.length < 20) return { kind: 'bad', reason: 'IPv4 header truncated' };
    if ((ip[0] ?? 0) >> 4 !== 4) return { kind: 'bad', reason: 'IPv4 version field mismatch' };
    const ihl = ((ip[0] ?? 0) & 0x0f) * 4;
    if (ihl < 20) return { kind: 'bad', reason: `IPv4 header length ${ihl}` };
    if (ip.length < ihl) return { kind: 'bad', reason: 'IPv4 options truncated' };
    let total = be16(ip, 2);
    // TSO captures carry total length 0; take what was captured.
    if (total === 0) total = ip.length + cut;
    if (total < ihl) return { kind: 'bad', reason: `IPv4 total length ${total} shorter than header` };
    const captured = Math.min(ip.length, total); // drops Ethernet padding
    const missing = Math.max(0, total - captured);
    const proto = ip[9] ?? 0;
    const src = ipv4String(ip, 12);
    const dst = ipv4String(ip, 16);
    const fragField = be16(ip, 6);
    const more = (fragField & 0x2000) !== 0;
    const fragOff = (fragField & 0x1fff) * 8;
    let payload = ip.subarray(ihl, captured);
    if (more || fragOff > 0) {
      if (proto !== 6) return { kind: 'skip', reason: `fragment of protocol ${proto}` };
      if (missing > 0) return { kind: 'bad', reason: 'IPv4 fragment cut by snaplen; cannot reassemble' };
      const key = `4|${src}|${dst}|${be16(ip, 4)}|${proto}`;
      const whole = this.addFragment(key, 4, proto, src, dst, fragOff, payload, !more, packet);
      if (!whole) return { kind: 'pending' };
      payload = whole;
      return this.tcp(src, dst, payload, 0);
    }
    if (proto !== 6) return { kind: 'skip', reason: `IP protocol ${proto}` };
    return this.tcp(src, dst, payload, missing);
  }

  private ipv6(ip: Uint8Array, cut: number, packet: number): PacketOutcome {
    if (ip.length < 40) return { kind: 'bad', reason: 'IPv6 header truncated' };
    if ((ip[0] ?? 0) >> 4 !== 6) return { kind: 'bad', reason: 'IPv6 version field mismatch' };
    const plen = be16(ip, 4);
    let next = ip[6] ?? 0;
    const src = ipv6String(ip, 8);
    const dst = ipv6String(ip, 24);
    const declared = plen === 0 ? ip.length - 40 + cut : plen; // 0: jumbogram or TSO
    const end = Math.min(ip.length, 40 + declared);
    const missing = Math.max(0, 40 + declared - end);
    let o = 40;
    let frag: { off: number; more: boolean; id: number } | null = null;
    for (let hops = 0; hops < 16; hops++) {
      if (next === 6) break;
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        if (end < o + 8) return { kind: 'bad', reason: 'IPv6 extension header truncated' };
        const n = ip[o] ?? 0;
        const len = ((ip[o + 1] ?? 0) + 1) * 8;
        next = n;
        o += len;
      } else if (next === 44) {
        if (end < o + 8) return { kind: 'bad', reason: 'IPv6 fragment header truncated' };
        const n = ip[o] ?? 0;
        const f = be16(ip, o + 2);
        frag = { off: f & 0xfff8, more: (f & 1) !== 0, id: be32(ip, o + 4) };
        next = n;
        o += 8;
      } else if (next === 51) {
        if (end < o + 8) return { kind: 'bad', reason: 'IPv6 AH header truncated' };
        const n = ip[o] ?? 0;
        const len = ((ip[o + 1] ?? 0) + 2) * 4;
        next = n;
        o += len;
      } else {
        return { kind: 'skip', reason: next === 59 ? 'IPv6 no next header' : `IPv6 next header ${next}` };
      }
      if (o > end) return { kind: 'bad', reason: 'IPv6 extension header overruns the packet' };
    }
    if (next !== 6) return { kind: 'skip', reason: 'IPv6 extension header chain too long' };
    let payload = ip.subarray(o, end);
    if (frag && (frag.more || frag.off > 0)) {
      if (missing > 0) return { kind: 'bad', reason: 'IPv6 fragment cut by snaplen; cannot reassemble' };
      const key = `6|${src}|${dst}|${frag.id}`;
      const whole = this.addFragment(key, 6, 6, src, dst, frag.off, payload, !frag.more, packet);
      if (!whole) return { kind: 'pending' };
      payload = whole;
      return this.tcp(src, dst, payload, 0);
    }
    return this.tcp(src, dst, payload, missing);
  }

  private tcp(src: string, dst: string, t: Uint8Array, missing: number): PacketOutcome {
    if (t.length < 20) return { kind: 'bad', reason: 'TCP header truncated' };
    const hl = ((t[12] ?? 0) >> 4) * 4;
    if (hl < 20) return { kind: 'bad', reason: `TCP header length ${hl}` };
    if (t.length < hl) return { kind: 'bad', reason: 'TCP options truncated' };
    return {
      kind: 'tcp',
      segment: {
        src,
        dst,
        srcPort: be16(t, 0),
        dstPort: be16(t, 2),
        seq: be32(t, 4),
        ack: be32(t, 8),
        flags: t[13] ?? 0,
        payload: t.subarray(hl),
        missing,
      },
    };
  }

  private addFragment(
    key: string,
    version: 4 | 6,
    proto: number,
    src: string,
    dst: string,
    off: number,
    data: Uint8Array,
    last: boolean,
    packet: number,
  ): Uint8Array | null {
    if (off + data.length > 65535) {
      this.notes.push({ packet, message: `IPv${version} fragment ends past 65535 bytes; dropped` });
      return null;
    }
    let f = this.frags.get(key);
    if (!f) {
      if (this.frags.size >= this.limits.maxPendingDatagrams) {
        const oldest = this.frags.keys().next().value;
        if (oldest !== undefined) {
          const o = this.frags.get(oldest);
          this.frags.delete(oldest);
          this.notes.push({ packet: o?.firstPacket ?? packet, message: 'fragmented datagram dropped unfinished (too many pending)' });
        }
      }
      f = { key, parts: [], total: -1, bytes: 0, firstPacket: packet, version, proto, src, dst };
      this.frags.set(key, f);
    }
    if (last) f.total = off + data.length;
    // First-seen bytes win; report a fragment that rewrites bytes already held.
    for (const p of f.parts) {
      const s = Math.max(p.off, off);
      const e = Math.min(p.off + p.data.length, off + data.length);
      for (let i = s; i < e; i++) {
        if (p.data[i - p.off] !== data[i - off]) {
          this.notes.push({ packet, message: `IPv${version} fragment overlap with different bytes at offset ${i}; first seen kept` });
          break;
        }
      }
    }
    if (f.parts.length >= 512) {
      this.frags.delete(key);
      this.notes.push({ packet, message: `IPv${version} datagram split into more than 512 fragments; dropped` });
      return null;
    }
    f.parts.push({ off, data });
    f.bytes += data.length;
    if (f.total < 0 || f.bytes < f.total) return null;
    const out = new Uint8Array(f.total);
    const have = new Uint8Array(f.total);
    let covered = 0;
    for (const p of f.parts) {
      for (let i = 0; i < p.data.length; i++) {
        const at = p.off + i;
        if (at >= f.total || have[at]) continue;
        have[at] = 1;
        out[at] = p.data[i] ?? 0;
        covered++;
      }
    }
    if (covered < f.total) return null;
    this.frags.delete(key);
    return out;
  }

  /** Datagrams still waiting for fragments (call at end of capture). */
  unfinished(): { packet: number; message: string }[] {
    const out = [...this.frags.values()].map((f) => ({
      packet: f.firstPacket,
      message: `IPv${f.version} datagram ${f.src} -> ${f.dst} never completed (${f.bytes} bytes of fragments)`,
    }));
    this.frags.clear();
    return out;
  }
}
