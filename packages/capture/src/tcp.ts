/**
 * TCP reassembly, one connection at a time, each direction on its own.
 *
 * - The handshake decides who is the client (SYN sender, or receiver of SYN-ACK); without
 *   one, a well-known server port, then the lower port, then the first sender.
 * - Out-of-order segments wait in a bounded buffer; retransmitted and overlapping bytes
 *   keep the first copy seen, and a copy that differs is reported (`overlap` event).
 * - Bytes that never arrive become `gap` events, never silently glued: declared when the
 *   peer acknowledges past them and then speaks, when the buffer limit is hit, at FIN/RST,
 *   or at the end of the capture. Bytes cut off by the capture's snaplen are gaps too.
 *
 * Memory per direction: at most `maxBufferedBytes` (default 1 MiB) in at most
 * `maxBufferedSegments` (default 4096) out-of-order segments, plus references to the last
 * 4 KiB delivered (for comparing retransmissions). Data events reference the caller's
 * buffer; they are not copies (except reassembled IP fragments).
 */
import { ACK, FIN, RST, SYN, type TcpSegment } from './network.js';

export type Side = 'client' | 'server';
export type GapReason = 'acked' | 'buffer-limit' | 'fin' | 'rst' | 'end' | 'snaplen';

interface EventBase {
  from: Side;
  /** Packet record number that made this event happen. */
  packet: number;
  /** Capture timestamp of that packet (seconds, float; NaN when the format has none). */
  time: number;
}
export type StreamEvent =
  | (EventBase & { kind: 'data'; bytes: Uint8Array; offset: number })
  | (EventBase & { kind: 'gap'; bytes: number; offset: number; reason: GapReason })
  | (EventBase & { kind: 'overlap'; offset: number; length: number })
  | (EventBase & { kind: 'close'; how: 'fin' | 'rst' });

export interface Endpoint {
  address: string;
  port: number;
}

export interface DirectionStats {
  /** Bytes delivered in order. */
  bytes: number;
  /** Bytes reported missing. */
  gapBytes: number;
  /** Bytes seen again (retransmissions and overlaps), conflicting or not. */
  retransmittedBytes: number;
  /** Overlaps whose bytes differed from the first copy. */
  conflicts: number;
  /** Stream offset where this direction ended (FIN/RST) or the capture did. */
  closed: 'fin' | 'rst' | null;
}

export interface TcpConnection {
  /** 1-based, in order of first packet. */
  id: number;
  client: Endpoint;
  server: Endpoint;
  /** How the client was told from the server. */
  roleBy: 'syn' | 'syn-ack' | 'port' | 'first-sender';
  handshake: boolean;
  firstPacket: number;
  lastPacket: number;
  startTime: number;
  endTime: number;
  packets: number;
  events: StreamEvent[];
  stats: { client: DirectionStats; server: DirectionStats };
}

export interface ReassemblyLimits {
  maxBufferedBytes: number;
  maxBufferedSegments: number;
}

export const DEFAULT_LIMITS: ReassemblyLimits = { maxBufferedBytes: 1 << 20, maxBufferedSegments: 4096 };

const TAIL = 4096;
export const SERVER_PORTS = new Set([25, 465, 587, 2525]);

interface Pending {
  off: number;
  /** null: bytes known to exist but not captured (snaplen). */
  data: Uint8Array | null;
  len: number;
}

class Flow {
  started = false;
  synSeen = false;
  base = 0; // raw sequence number of stream offset 0
  next = 0; // next stream offset to deliver
  acked = 0; // highest offset the peer acknowledged
  pending: Pending[] = [];
  pendingBytes = 0;
  finAt = -1;
  done = false;
  tail: { off: number; data: Uint8Array }[] = [];
  tailBytes = 0;
  stats: DirectionStats = { bytes: 0, gapBytes: 0, retransmittedBytes: 0, conflicts: 0, closed: null };
  constructor(readonly endpoint: Endpoint) {}

  offsetOf(seq: number): number {
    const rawNext = (this.base + this.next) >>> 0;
    return this.next + ((seq - rawNext) | 0);
  }
}

export class Connection {
  readonly flows: [Flow, Flow];
  readonly info: TcpConnection;
  constructor(
    id: number,
    client: Endpoint,
    server: Endpoint,
    roleBy: TcpConnection['roleBy'],
    packet: number,
    time: number,
    private readonly limits: ReassemblyLimits,
  ) {
    const c = new Flow(client);
    const s = new Flow(server);
    this.flows = [c, s];
    this.info = {
      id,
      client,
      server,
      roleBy,
      handshake: false,
      firstPacket: packet,
      lastPacket: packet,
      startTime: time,
      endTime: time,
      packets: 0,
      events: [],
      stats: { client: c.stats, server: s.stats },
    };
  }

  get finished(): boolean {
    return this.flows[0].done && this.flows[1].done;
  }

  private sideOf(flow: Flow): Side {
    return flow === this.flows[0] ? 'client' : 'server';
  }

  /** A segment sent by `fromClient ? client : server`. */
  segment(seg: TcpSegment, fromClient: boolean, packet: number, time: number): void {
    const info = this.info;
    info.packets++;
    info.lastPacket = packet;
    if (!(time < info.endTime)) info.endTime = time;
    const flow = fromClient ? this.flows[0] : this.flows[1];
    const peer = fromClient ? this.flows[1] : this.flows[0];
    const side: Side = fromClient ? 'client' : 'server';
    const f = seg.flags;

    if (f & SYN) {
      // Only before anything (data or gap) of this direction was emitted may a SYN set its base.
      if (!flow.synSeen && flow.next === 0 && flow.pending.length === 0) {
        flow.base = (seg.seq + 1) >>> 0;
        flow.next = 0;
        flow.started = true;
        flow.synSeen = true;
        if (fromClient ? !(f & ACK) : (f & ACK) !== 0) info.handshake = true;
      }
    } else if (!flow.started) {
      flow.base = seg.seq >>> 0;
      flow.next = 0;
      flow.started = true;
    }

    // What this packet acknowledges of the peer's stream.
    if (f & ACK && peer.started) {
      const a = peer.offsetOf(seg.ack);
      if (a > peer.acked && a - peer.next < 0x40000000) peer.acked = a;
    }

    if (f & RST) {
      // The peer acknowledged bytes we never saw: they are missing before the reset.
      this.flushTo(peer, peer.acked, 'acked', packet, time);
      this.flushAll(flow, 'rst', packet, time);
      if (!flow.done) {
        flow.done = true;
        flow.stats.closed = 'rst';
        info.events.push({ kind: 'close', from: side, how: 'rst', packet, time });
      }
      return;
    }
    if (flow.done && !(f & SYN)) {
      if (seg.payload.length > 0) this.trimDelivered(flow, flow.offsetOf(seg.seq), seg.payload, packet, time);
      return;
    }

    const dataSeq = f & SYN ? (seg.seq + 1) >>> 0 : seg.seq;
    const hasData = seg.payload.length > 0 || seg.missing > 0;
    // Before this sender's bytes count, whatever it acknowledged of the peer must be placed:
    // the peer's missing bytes come first (a reply cannot precede what it answers).
    if (hasData || f & FIN) this.flushTo(peer, peer.acked, 'acked', packet, time);

    if (hasData) {
      const off = flow.offsetOf(dataSeq);
      // Keep-alive: one byte just behind the next expected offset.
      if (!(seg.payload.length === 1 && off === flow.next - 1 && seg.missing === 0)) {
        this.accept(flow, off, seg.payload, seg.missing, packet, time);
      }
    }
    if (f & FIN) {
      const finOff = flow.offsetOf(dataSeq) + seg.payload.length + seg.missing;
      if (flow.finAt < 0 || finOff < flow.finAt) flow.finAt = Math.max(finOff, flow.next);
      this.deliver(flow, packet, time);
    }
  }

  private emitData(flow: Flow, off: number, data: Uint8Array, packet: number, time: number): void {
    if (data.length === 0) return;
    this.info.events.push({ kind: 'data', from: this.sideOf(flow), bytes: data, offset: off, packet, time });
    flow.stats.bytes += data.length;
    flow.next = off + data.length;
    flow.tail.push({ off, data });
    flow.tailBytes += data.length;
    while (flow.tail.length > 1 && flow.tailBytes - (flow.tail[0]?.data.length ?? 0) >= TAIL) {
      flow.tailBytes -= flow.tail.shift()?.data.length ?? 0;
    }
  }

  private emitGap(flow: Flow, bytes: number, reason: GapReason, packet: number, time: number): void {
    if (bytes <= 0) return;
    this.info.events.push({ kind: 'gap', from: this.sideOf(flow), bytes, offset: flow.next, reason, packet, time });
    flow.stats.gapBytes += bytes;
    flow.next += bytes;
  }

  /** Compare bytes resent below `next` with what was delivered; returns the part at or after `next`. */
  private trimDelivered(flow: Flow, off: number, data: Uint8Array, packet: number, time: number): { off: number; data: Uint8Array } {
    if (off >= flow.next) return { off, data };
    const dup = Math.min(data.length, flow.next - off);
    flow.stats.retransmittedBytes += dup;
    let conflictAt = -1;
    for (const t of flow.tail) {
      const s = Math.max(t.off, off);
      const e = Math.min(t.off + t.data.length, off + dup);
      for (let i = s; i < e; i++) {
        if (t.data[i - t.off] !== data[i - off]) {
          conflictAt = i;
          break;
        }
      }
      if (conflictAt >= 0) break;
    }
    if (conflictAt >= 0) {
      flow.stats.conflicts++;
      this.info.events.push({ kind: 'overlap', from: this.sideOf(flow), offset: conflictAt, length: dup - (conflictAt - off), packet, time });
    }
    return { off: off + dup, data: data.subarray(dup) };
  }

  private accept(flow: Flow, off0: number, data0: Uint8Array, missing: number, packet: number, time: number): void {
    const { off, data } = this.trimDelivered(flow, off0, data0, packet, time);
    const missOff = off0 + data0.length;
    if (data.length > 0) this.insert(flow, off, data, packet, time);
    if (missing > 0) {
      const s = Math.max(missOff, flow.next);
      const e = missOff + missing;
      if (e > s) this.insert(flow, s, null, packet, time, e - s);
    }
    this.deliver(flow, packet, time);
    // Bound the out-of-order buffer: give up waiting for the hole before the first segment.
    while (flow.pending.length > 0 && (flow.pendingBytes > this.limits.maxBufferedBytes || flow.pending.length > this.limits.maxBufferedSegments)) {
      const first = flow.pending[0];
      if (!first) break;
      this.emitGap(flow, first.off - flow.next, 'buffer-limit', packet, time);
      this.deliver(flow, packet, time);
    }
  }

  /** Insert into the out-of-order list, keeping the first-seen copy of every byte. */
  private insert(flow: Flow, off: number, data: Uint8Array | null, packet: number, time: number, nullLen = 0): void {
    const len = data ? data.length : nullLen;
    let s = off;
    const e = off + len;
    const list = flow.pending;
    // Find first pending segment that ends after s.
    let i = 0;
    while (i < list.length && (list[i]?.off ?? 0) + (list[i]?.len ?? 0) <= s) i++;
    const pieces: Pending[] = [];
    let j = i;
    while (s < e) {
      const p = list[j];
      if (!p || p.off >= e) {
        pieces.push(slice(data, off, s, e));
        s = e;
        break;
      }
      if (p.off > s) {
        pieces.push(slice(data, off, s, p.off));
        s = p.off;
      }
      // Overlap with p: first seen (p) wins.
      const oe = Math.min(e, p.off + p.len);
      if (oe > s) {
        flow.stats.retransmittedBytes += oe - s;
        if (data && p.data) {
          for (let k = s; k < oe; k++) {
            if (p.data[k - p.off] !== data[k - off]) {
              flow.stats.conflicts++;
              this.info.events.push({ kind: 'overlap', from: this.sideOf(flow), offset: k, length: oe - k, packet, time });
              break;
            }
          }
        }
        s = oe;
      }
      j++;
    }
    if (pieces.length === 0) return;
    // Splice pieces in sorted position.
    let at = i;
    for (const piece of pieces) {
      if (piece.len === 0) continue;
      while (at < list.length && (list[at]?.off ?? 0) < piece.off) at++;
      list.splice(at, 0, piece);
      at++;
      flow.pendingBytes += piece.len;
    }
  }

  /** Deliver everything contiguous from `next`, and FIN when reached. */
  private deliver(flow: Flow, packet: number, time: number): void {
    const list = flow.pending;
    while (list.length > 0) {
      const p = list[0];
      if (!p || p.off > flow.next) break;
      list.shift();
      flow.pendingBytes -= p.len;
      const skip = flow.next - p.off;
      if (skip >= p.len) continue;
      if (p.data) this.emitData(flow, flow.next, p.data.subarray(skip), packet, time);
      else this.emitGap(flow, p.len - skip, 'snaplen', packet, time);
    }
    if (flow.finAt >= 0 && flow.next >= flow.finAt && !flow.done) {
      flow.done = true;
      flow.stats.closed = 'fin';
      this.info.events.push({ kind: 'close', from: this.sideOf(flow), how: 'fin', packet, time });
    }
  }

  /** Declare everything before `to` delivered or missing. */
  private flushTo(flow: Flow, to: number, reason: GapReason, packet: number, time: number): void {
    if (flow.done) return;
    if (flow.finAt >= 0) to = Math.min(to, flow.finAt);
    while (flow.next < to) {
      const first = flow.pending[0];
      if (first && first.off <= flow.next) {
        this.deliver(flow, packet, time);
        continue;
      }
      const until = first ? Math.min(first.off, to) : to;
      this.emitGap(flow, until - flow.next, reason, packet, time);
      this.deliver(flow, packet, time);
    }
  }

  private flushAll(flow: Flow, reason: GapReason, packet: number, time: number): void {
    while (flow.pending.length > 0) {
      const first = flow.pending[0];
      if (!first) break;
      if (first.off > flow.next) this.emitGap(flow, first.off - flow.next, reason, packet, time);
      this.deliver(flow, packet, time);
    }
  }

  /** End of capture: whatever is still buffered is delivered after gaps. */
  finish(packet: number, time: number): void {
    for (const flow of this.flows) {
      if (flow.done) continue;
      this.flushTo(flow, flow.acked, 'end', packet, time);
      this.flushAll(flow, 'end', packet, time);
      if (flow.finAt >= 0 && flow.next < flow.finAt) {
        this.emitGap(flow, flow.finAt - flow.next, 'fin', packet, time);
        this.deliver(flow, packet, time);
      }
    }
  }
}

function slice(data: Uint8Array | null, base: number, s: number, e: number): Pending {
  return data ? { off: s, data: data.subarray(s - base, e - base), len: e - s } : { off: s, data: null, len: e - s };
}

/** Tracks every connection in a capture. */
export class TcpTracker {
  private byKey = new Map<string, Connection>();
  readonly connections: Connection[] = [];
  constructor(
    private readonly limits: ReassemblyLimits = DEFAULT_LIMITS,
    private readonly maxConnections = 1_000_000,
  ) {}
  dropped = 0;

  add(seg: TcpSegment, packet: number, time: number): void {
    const a = `${seg.src}|${seg.srcPort}`;
    const b = `${seg.dst}|${seg.dstPort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let conn = this.byKey.get(key);
    const synOnly = (seg.flags & (SYN | ACK)) === SYN;
    if (conn && synOnly) {
      // A SYN on a tuple already in use starts a new connection, unless it repeats the
      // first SYN or is the first SYN of a connection opened by a stray earlier packet.
      const client = conn.flows[0];
      const fromClient = conn.info.client.address === seg.src && conn.info.client.port === seg.srcPort;
      const repeat = fromClient && client.synSeen && ((seg.seq + 1) >>> 0) === client.base;
      const fresh = fromClient && !client.synSeen && client.next === 0 && client.pending.length === 0;
      if (!repeat && !fresh) {
        conn.finish(packet, time);
        conn = undefined;
      }
    }
    if (!conn) {
      if (this.connections.length >= this.maxConnections) {
        this.dropped++;
        return;
      }
      const src = { address: seg.src, port: seg.srcPort };
      const dst = { address: seg.dst, port: seg.dstPort };
      let clientIsSrc: boolean;
      let roleBy: TcpConnection['roleBy'];
      if (seg.flags & SYN) {
        clientIsSrc = !(seg.flags & ACK);
        roleBy = clientIsSrc ? 'syn' : 'syn-ack';
      } else if (SERVER_PORTS.has(seg.dstPort) !== SERVER_PORTS.has(seg.srcPort)) {
        clientIsSrc = SERVER_PORTS.has(seg.dstPort);
        roleBy = 'port';
      } else if (seg.srcPort !== seg.dstPort && (seg.srcPort < 1024) !== (seg.dstPort < 1024)) {
        clientIsSrc = seg.dstPort < 1024;
        roleBy = 'port';
      } else {
        clientIsSrc = true;
        roleBy = 'first-sender';
      }
      conn = new Connection(
        this.connections.length + 1,
        clientIsSrc ? src : dst,
        clientIsSrc ? dst : src,
        roleBy,
        packet,
        time,
        this.limits,
      );
      this.byKey.set(key, conn);
      this.connections.push(conn);
    }
    const fromClient = conn.info.client.address === seg.src && conn.info.client.port === seg.srcPort;
    conn.segment(seg, fromClient, packet, time);
  }

  finish(packet: number, time: number): void {
    for (const c of this.connections) c.finish(packet, time);
  }
}
