import { readPackets, type CaptureFormat, type CaptureProblem } from './files.js';
import { NetworkDecoder } from './network.js';
import { DEFAULT_LIMITS, TcpTracker, type ReassemblyLimits, type Side, type StreamEvent, type TcpConnection } from './tcp.js';

export interface ReadOptions extends Partial<ReassemblyLimits> {
  /** Non-fatal problems kept in `warnings` (the rest are only counted). Default 1000. */
  maxWarnings?: number;
  /** IP datagrams reassembled at once. Default 1024. */
  maxPendingDatagrams?: number;
  /** Connections tracked; later ones are counted in `droppedConnections`. Default 1,000,000. */
  maxConnections?: number;
}

export interface CaptureResult {
  format: CaptureFormat;
  /** Packet records read. */
  packets: number;
  /** Packets that carried TCP. */
  tcpPackets: number;
  /** Link types seen, with packet counts. */
  linkTypes: Record<number, number>;
  connections: TcpConnection[];
  /**
   * Structural damage: the file could not be read past `offset` (what came before is in
   * `connections`). Empty when the whole file was read.
   */
  errors: CaptureProblem[];
  /** Packet-level problems (unsupported link type, truncated header, skipped block...). */
  warnings: CaptureProblem[];
  /** Warnings beyond `maxWarnings`, counted only. */
  moreWarnings: number;
  /** Packets skipped for not being TCP over IP (ARP, UDP, ...), by reason. */
  skipped: Record<string, number>;
  droppedConnections: number;
}

/**
 * Reads a pcap or pcapng capture held in memory and reassembles its TCP connections.
 * Never throws: damage is reported in `errors` with its byte offset.
 */
export function readCapture(buf: Uint8Array, options: ReadOptions = {}): CaptureResult {
  const maxWarnings = options.maxWarnings ?? 1000;
  const limits: ReassemblyLimits = {
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_LIMITS.maxBufferedBytes,
    maxBufferedSegments: options.maxBufferedSegments ?? DEFAULT_LIMITS.maxBufferedSegments,
  };
  const result: CaptureResult = {
    format: 'unknown',
    packets: 0,
    tcpPackets: 0,
    linkTypes: {},
    connections: [],
    errors: [],
    warnings: [],
    moreWarnings: 0,
    skipped: {},
    droppedConnections: 0,
  };
  const warn = (p: CaptureProblem) => {
    if (result.warnings.length < maxWarnings) result.warnings.push(p);
    else result.moreWarnings++;
  };
  const net = new NetworkDecoder({ maxPendingDatagrams: options.maxPendingDatagrams ?? 1024 });
  const tracker = new TcpTracker(limits, options.maxConnections ?? 1_000_000);
  const problems: CaptureProblem[] = [];
  let lastPacket = 0;
  let lastTime = Number.NaN;
  let lastOffset = 0;
  try {
    result.format = readPackets(
      buf,
      (p) => {
        result.packets++;
        lastPacket = p.index;
        lastOffset = p.offset;
        if (!Number.isNaN(p.time)) lastTime = p.time;
        result.linkTypes[p.linkType] = (result.linkTypes[p.linkType] ?? 0) + 1;
        const out = net.decode(p.linkType, p.data, p.origLen, p.index);
        for (const n of net.notes.splice(0)) warn({ offset: p.offset, packet: n.packet, fatal: false, message: n.message });
        if (out.kind === 'tcp') {
          result.tcpPackets++;
          tracker.add(out.segment, p.index, p.time);
        } else if (out.kind === 'skip') {
          const first = result.skipped[out.reason] === undefined;
          result.skipped[out.reason] = (result.skipped[out.reason] ?? 0) + 1;
          if (first && out.reason.startsWith('unsupported link type'))
            warn({ offset: p.offset, packet: p.index, fatal: false, message: `packet ${p.index}: ${out.reason}` });
        } else if (out.kind === 'bad') {
          warn({ offset: p.offset, packet: p.index, fatal: false, message: `packet ${p.index}: ${out.reason}` });
        }
      },
      problems,
    );
  } catch (err) {
    // Defence in depth: a bug here must not take the caller down with it.
    problems.push({
      offset: lastOffset,
      fatal: true,
      packet: lastPacket,
      message: `internal error while reading packet ${lastPacket}: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  try {
    for (const n of net.unfinished()) warn({ offset: 0, packet: n.packet, fatal: false, message: n.message });
    tracker.finish(lastPacket, lastTime);
  } catch (err) {
    problems.push({ offset: lastOffset, fatal: true, message: `internal error finishing reassembly: ${err instanceof Error ? err.message : String(err)}` });
  }
  for (const p of problems) (p.fatal ? result.errors : result.warnings).push(p);
  result.connections = tracker.connections.map((c) => c.info);
  result.droppedConnections = tracker.dropped;
  return result;
}

/** The same connection with client and server exchanged (when content proves the guess wrong). */
export function swapRoles(c: TcpConnection): TcpConnection {
  const flip = (s: Side): Side => (s === 'client' ? 'server' : 'client');
  return {
    ...c,
    client: c.server,
    server: c.client,
    events: c.events.map((e) => ({ ...e, from: flip(e.from) }) as StreamEvent),
    stats: { client: c.stats.server, server: c.stats.client },
  };
}
