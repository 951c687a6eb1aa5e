import { isIP } from 'node:net';

/** The HAProxy PROXY protocol, v1 (text) and v2 (binary), as read on the listener. */
export interface ProxyHeader {
  version: 1 | 2;
  /** Absent for PROXY UNKNOWN (v1) and LOCAL / unsupported families (v2): use the socket's own addresses. */
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
}

export type ProxyParse =
  | { status: 'more' }
  | { status: 'error'; message: string }
  | { status: 'done'; header: ProxyHeader; rest: Buffer };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
const V1_MAX = 107;
const V2_MAX = 16 + 65535;

/** Parse a PROXY header at the start of `buf` (all bytes received so far). */
export function parseProxyHeader(buf: Buffer): ProxyParse {
  if (buf.length === 0) return { status: 'more' };
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50) return parseV1(buf);
  return { status: 'error', message: 'connection does not start with a PROXY protocol header' };
}

function prefixMismatch(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).compare(prefix.subarray(0, n)) !== 0;
}

function parseV1(buf: Buffer): ProxyParse {
  if (prefixMismatch(buf, V1_PREFIX)) return { status: 'error', message: 'bad PROXY v1 signature' };
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { status: 'error', message: 'PROXY v1 header too long' } : { status: 'more' };
  if (end + 2 > V1_MAX) return { status: 'error', message: 'PROXY v1 header too long' };
  const line = buf.subarray(0, end).toString('latin1');
  const rest = buf.subarray(end + 2);
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') return { status: 'done', header: { version: 1 }, rest };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) {
    return { status: 'error', message: 'malformed PROXY v1 header' };
  }
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? 4 : 6;
  const port = (p: string) => (/^\d{1,5}$/.test(p) && Number(p) <= 65535 ? Number(p) : -1);
  if (isIP(src) !== family || isIP(dst) !== family || port(sport) < 0 || port(dport) < 0) {
    return { status: 'error', message: 'malformed PROXY v1 addresses' };
  }
  return {
    status: 'done',
    header: { version: 1, source: { address: src, port: port(sport) }, destination: { address: dst, port: port(dport) } },
    rest,
  };
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function parseV2(buf: Buffer): ProxyParse {
  if (prefixMismatch(buf, V2_SIGNATURE)) return { status: 'error', message: 'bad PROXY v2 signature' };
  if (buf.length < 16) return { status: 'more' };
  const verCmd = buf[12]!;
  const fam = buf[13]!;
  const len = buf.readUInt16BE(14);
  if (verCmd >> 4 !== 2) return { status: 'error', message: 'unsupported PROXY protocol version' };
  if (16 + len > V2_MAX) return { status: 'error', message: 'PROXY v2 header too long' };
  if (buf.length < 16 + len) return { status: 'more' };
  const body = buf.subarray(16, 16 + len);
  const rest = buf.subarray(16 + len);
  const cmd = verCmd & 0x0f;
  if (cmd === 0x0) return { status: 'done', header: { version: 2 }, rest }; // LOCAL: health check from the balancer
  if (cmd !== 0x1) return { status: 'error', message: 'unsupported PROXY v2 command' };
  const family = fam >> 4;
  if (family === 0x1) {
    if (body.length < 12) return { status: 'error', message: 'short PROXY v2 IPv4 addresses' };
    const v4 = (b: Buffer) => Array.from(b).join('.');
    return {
      status: 'done',
      header: {
        version: 2,
        source: { address: v4(body.subarray(0, 4)), port: body.readUInt16BE(8) },
        destination: { address: v4(body.subarray(4, 8)), port: body.readUInt16BE(10) },
      },
      rest,
    };
  }
  if (family === 0x2) {
    if (body.length < 36) return { status: 'error', message: 'short PROXY v2 IPv6 addresses' };
    return {
      status: 'done',
      header: {
        version: 2,
        source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
        destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
      },
      rest,
    };
  }
  // AF_UNSPEC / AF_UNIX: keep the socket's own addresses.
  return { status: 'done', header: { version: 2 }, rest };
}

/** Build headers (tests and tools). */
export function proxyV1(src: { address: string; port: number }, dst: { address: string; port: number }): Buffer {
  const proto = isIP(src.address) === 6 ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${proto} ${src.address} ${dst.address} ${src.port} ${dst.port}\r\n`, 'latin1');
}

export function proxyV2(src: { address: string; port: number }, dst: { address: string; port: number }): Buffer {
  const v6 = isIP(src.address) === 6;
  const addr = (a: string): Buffer => {
    if (!v6) return Buffer.from(a.split('.').map(Number));
    const [head = '', tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = a.includes('::') && tail ? tail.split(':') : [];
    const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : a.split(':');
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
    return out;
  };
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(src.port, 0);
  ports.writeUInt16BE(dst.port, 2);
  const body = Buffer.concat([addr(src.address), addr(dst.address), ports]);
  const head = Buffer.alloc(4);
  head[0] = 0x21;
  head[1] = v6 ? 0x21 : 0x11;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}
