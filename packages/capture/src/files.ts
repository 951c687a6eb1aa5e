/**
 * Capture file readers: classic pcap (both byte orders, micro- and nanosecond, the
 * Kuznetzov variant) and pcapng (SHB/IDB/EPB/SPB/OPB, several sections and interfaces,
 * both byte orders). They hand every packet record to a callback and stop at the first
 * structural problem, recording its byte offset; whatever came before is kept.
 */

export type CaptureFormat = 'pcap' | 'pcapng' | 'unknown';

export interface RawPacket {
  /** 1-based record number in the file (pcapng: packet blocks only). */
  index: number;
  /** Byte offset of the record (pcap record header / pcapng block) in the file. */
  offset: number;
  linkType: number;
  /** Captured bytes (a view into the caller's buffer, not a copy). */
  data: Uint8Array;
  /** Length of the packet on the wire; more than data.length when the capture was cut by snaplen. */
  origLen: number;
  /** Seconds since the epoch (float). */
  time: number;
  interfaceId: number;
}

export interface CaptureProblem {
  /** Byte offset in the file where the problem starts. */
  offset: number;
  message: string;
  /** true: the file could not be read past this offset. */
  fatal: boolean;
  /** Packet record number (1-based) the problem belongs to, when known. */
  packet?: number;
}

/** Records above this size are treated as a corrupt length, whatever the snaplen says. */
const MAX_RECORD = 16 * 1024 * 1024;

export function detectFormat(buf: Uint8Array): CaptureFormat {
  if (buf.length < 4) return 'unknown';
  const le = u32(buf, 0, true);
  if (le === 0x0a0d0d0a) return 'pcapng';
  const be = u32(buf, 0, false);
  for (const m of [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34]) if (le === m || be === m) return 'pcap';
  return 'unknown';
}

function u32(buf: Uint8Array, off: number, le: boolean): number {
  const a = buf[off] ?? 0;
  const b = buf[off + 1] ?? 0;
  const c = buf[off + 2] ?? 0;
  const d = buf[off + 3] ?? 0;
  return le ? (a | (b << 8) | (c << 16) | (d << 24)) >>> 0 : ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
function u16(buf: Uint8Array, off: number, le: boolean): number {
  const a = buf[off] ?? 0;
  const b = buf[off + 1] ?? 0;
  return le ? a | (b << 8) : (a << 8) | b;
}

export function readPackets(
  buf: Uint8Array,
  onPacket: (p: RawPacket) => void,
  problems: CaptureProblem[],
): CaptureFormat {
  const format = detectFormat(buf);
  if (format === 'pcap') readPcap(buf, onPacket, problems);
  else if (format === 'pcapng') readPcapng(buf, onPacket, problems);
  else
    problems.push({
      offset: 0,
      fatal: true,
      message:
        buf.length < 4
          ? `file of ${buf.length} bytes is too short to be a capture`
          : `not a pcap or pcapng file (first bytes ${hex(buf.subarray(0, 4))})`,
    });
  return format;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

function readPcap(buf: Uint8Array, onPacket: (p: RawPacket) => void, problems: CaptureProblem[]): void {
  if (buf.length < 24) {
    problems.push({ offset: 0, fatal: true, message: `pcap header truncated: ${buf.length} of 24 bytes` });
    return;
  }
  const leMagic = u32(buf, 0, true);
  const le = leMagic === 0xa1b2c3d4 || leMagic === 0xa1b23c4d || leMagic === 0xa1b2cd34;
  const magic = u32(buf, 0, le);
  const nano = magic === 0xa1b23c4d;
  const recHeader = magic === 0xa1b2cd34 ? 24 : 16;
  const snaplen = u32(buf, 16, le);
  const linkType = u32(buf, 20, le) & 0x03ffffff; // upper bits carry FCS length information
  const divisor = nano ? 1e9 : 1e6;
  let off = 24;
  let index = 0;
  while (off < buf.length) {
    index++;
    if (buf.length - off < recHeader) {
      problems.push({
        offset: off,
        fatal: true,
        packet: index,
        message: `packet record ${index}: header truncated (${buf.length - off} of ${recHeader} bytes left)`,
      });
      return;
    }
    const sec = u32(buf, off, le);
    const frac = u32(buf, off + 4, le);
    const incl = u32(buf, off + 8, le);
    const orig = u32(buf, off + 12, le);
    const left = buf.length - off - recHeader;
    if (incl > MAX_RECORD || incl > left) {
      const why =
        incl > left && incl <= MAX_RECORD
          ? `claims ${incl} captured bytes but only ${left} remain (file truncated)`
          : `claims ${incl} captured bytes (snaplen ${snaplen}): corrupt record length`;
      problems.push({ offset: off, fatal: true, packet: index, message: `packet record ${index}: ${why}` });
      return;
    }
    const start = off + recHeader;
    onPacket({
      index,
      offset: off,
      linkType,
      data: buf.subarray(start, start + incl),
      origLen: Math.max(orig, incl),
      time: sec + frac / divisor,
      interfaceId: 0,
    });
    off = start + incl;
  }
}

interface Iface {
  linkType: number;
  snaplen: number;
  /** Units per second of its timestamps. */
  tsUnits: number;
  tsOffset: number;
}

function readPcapng(buf: Uint8Array, onPacket: (p: RawPacket) => void, problems: CaptureProblem[]): void {
  let off = 0;
  let le = true;
  let ifaces: Iface[] = [];
  let index = 0;
  let sawSection = false;
  while (off < buf.length) {
    if (buf.length - off < 12) {
      problems.push({ offset: off, fatal: true, message: `block header truncated (${buf.length - off} bytes left)` });
      return;
    }
    const typeLe = u32(buf, off, true);
    if (typeLe === 0x0a0d0d0a) {
      // Section header: its byte-order magic decides the order of everything in the section.
      const bom = u32(buf, off + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else {
        problems.push({ offset: off, fatal: true, message: `section header: bad byte-order magic ${hex(buf.subarray(off + 8, off + 12))}` });
        return;
      }
      ifaces = [];
      sawSection = true;
    } else if (!sawSection) {
      problems.push({ offset: off, fatal: true, message: 'pcapng: first block is not a section header' });
      return;
    }
    const type = u32(buf, off, le);
    const len = u32(buf, off + 4, le);
    if (len < 12 || len % 4 !== 0 || len > buf.length - off) {
      const why =
        len > buf.length - off && len % 4 === 0 && len >= 12
          ? `length ${len} but only ${buf.length - off} bytes remain (file truncated)`
          : `invalid block length ${len}`;
      problems.push({ offset: off, fatal: true, message: `block type 0x${type.toString(16)}: ${why}` });
      return;
    }
    const trailer = u32(buf, off + len - 4, le);
    if (trailer !== len) {
      problems.push({
        offset: off + len - 4,
        fatal: true,
        message: `block type 0x${type.toString(16)} at ${off}: trailing length ${trailer} differs from ${len}`,
      });
      return;
    }
    const body = off + 8;
    const bodyEnd = off + len - 4;
    switch (type) {
      case 0x0a0d0d0a:
        if (bodyEnd - body < 16) {
          problems.push({ offset: off, fatal: true, message: 'section header block too short' });
          return;
        }
        break;
      case 1: {
        if (bodyEnd - body < 8) {
          problems.push({ offset: off, fatal: false, message: 'interface description block too short; interface ignored' });
          ifaces.push({ linkType: -1, snaplen: 0, tsUnits: 1e6, tsOffset: 0 });
          break;
        }
        const iface: Iface = { linkType: u16(buf, body, le), snaplen: u32(buf, body + 4, le), tsUnits: 1e6, tsOffset: 0 };
        readOptions(buf, body + 8, bodyEnd, le, (code, o, l) => {
          if (code === 9 && l >= 1) {
            const r = buf[o] ?? 6;
            const exp = r & 0x7f;
            iface.tsUnits = r & 0x80 ? 2 ** Math.min(exp, 64) : 10 ** Math.min(exp, 18);
          } else if (code === 14 && l >= 8) {
            const hi = u32(buf, le ? o + 4 : o, le);
            const lo = u32(buf, le ? o : o + 4, le);
            iface.tsOffset = hi * 4294967296 + lo;
          }
        });
        ifaces.push(iface);
        break;
      }
      case 6:
      case 2: {
        // Enhanced packet block (6) and the obsolete packet block (2).
        index++;
        if (bodyEnd - body < 20) {
          problems.push({ offset: off, fatal: false, packet: index, message: `packet block ${index} too short; skipped` });
          break;
        }
        const ifId = type === 6 ? u32(buf, body, le) : u16(buf, body, le);
        const iface = ifaces[ifId];
        const tsHi = u32(buf, body + 4, le);
        const tsLo = u32(buf, body + 8, le);
        const cap = u32(buf, body + 12, le);
        const orig = u32(buf, body + 16, le);
        if (cap > bodyEnd - (body + 20)) {
          problems.push({
            offset: off,
            fatal: false,
            packet: index,
            message: `packet block ${index}: captured length ${cap} exceeds the block; skipped`,
          });
          break;
        }
        if (!iface) {
          problems.push({ offset: off, fatal: false, packet: index, message: `packet block ${index}: unknown interface ${ifId}; skipped` });
          break;
        }
        const units = iface.tsUnits > 0 ? iface.tsUnits : 1e6;
        onPacket({
          index,
          offset: off,
          linkType: iface.linkType,
          data: buf.subarray(body + 20, body + 20 + cap),
          origLen: Math.max(orig, cap),
          time: (tsHi * 4294967296 + tsLo) / units + iface.tsOffset,
          interfaceId: ifId,
        });
        break;
      }
      case 3: {
        // Simple packet block: interface 0, no timestamp, captured length implied.
        index++;
        const iface = ifaces[0];
        if (!iface || bodyEnd - body < 4) {
          problems.push({ offset: off, fatal: false, packet: index, message: `simple packet block ${index} without interface 0; skipped` });
          break;
        }
        const orig = u32(buf, body, le);
        let cap = Math.min(orig, bodyEnd - (body + 4));
        if (iface.snaplen > 0) cap = Math.min(cap, iface.snaplen);
        onPacket({
          index,
          offset: off,
          linkType: iface.linkType,
          data: buf.subarray(body + 4, body + 4 + cap),
          origLen: Math.max(orig, cap),
          time: Number.NaN,
          interfaceId: 0,
        });
        break;
      }
      default:
        // Name resolution, statistics, decryption secrets, custom blocks: nothing to replay.
        break;
    }
    off += len;
  }
}

function readOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  le: boolean,
  onOption: (code: number, offset: number, length: number) => void,
): void {
  let o = start;
  while (o + 4 <= end) {
    const code = u16(buf, o, le);
    const l = u16(buf, o + 2, le);
    if (code === 0) return;
    if (o + 4 + l > end) return;
    onOption(code, o + 4, l);
    o += 4 + ((l + 3) & ~3);
  }
}
