import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/** A syslog message as a SIEM would see it: the RFC 5424 header fields and the MSG. */
export interface ParsedSyslog {
  raw: string;
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
}

/** Parses one RFC 5424 message (structured data with escaped `]` and `"` inside values). */
export function parseRfc5424(raw: string): ParsedSyslog {
  const head = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(raw);
  if (!head) throw new Error(`not RFC 5424: ${raw.slice(0, 80)}`);
  let i = head[0].length;
  let sd = '';
  if (raw[i] === '-') {
    sd = '-';
    i += 1;
  } else {
    while (raw[i] === '[') {
      const start = i;
      i += 1;
      let inQuotes = false;
      while (i < raw.length) {
        const c = raw[i]!;
        if (inQuotes && c === '\\') i += 2;
        else {
          if (c === '"') inQuotes = !inQuotes;
          else if (c === ']' && !inQuotes) break;
          i += 1;
        }
      }
      i += 1;
      sd += raw.slice(start, i);
    }
  }
  if (raw[i] !== ' ') throw new Error(`no space after structured data: ${raw.slice(0, 120)}`);
  return {
    raw,
    pri: Number(head[1]),
    version: Number(head[2]),
    timestamp: head[3]!,
    hostname: head[4]!,
    appName: head[5]!,
    procId: head[6]!,
    msgId: head[7]!,
    structuredData: sd,
    msg: raw.slice(i + 1),
  };
}

/** RFC 6587 octet-counting deframer: `LEN SP MSG`, LEN in bytes; anything else is a protocol error. */
export class OctetDeframer {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): string[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: string[] = [];
    for (;;) {
      const sp = this.buf.indexOf(0x20);
      if (sp < 0) break;
      const lenText = this.buf.subarray(0, sp).toString('ascii');
      if (!/^[1-9]\d{0,8}$/.test(lenText)) throw new Error(`bad octet count ${JSON.stringify(lenText)}`);
      const len = Number(lenText);
      if (this.buf.length < sp + 1 + len) break;
      out.push(this.buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
      this.buf = this.buf.subarray(sp + 1 + len);
    }
    return out;
  }
}

/** A TCP (or TLS) syslog receiver on loopback that can be stopped and restarted on the same port. */
export class StreamReceiver {
  readonly messages: ParsedSyslog[] = [];
  readonly errors: string[] = [];
  connections = 0;
  private server: Server | null = null;
  private sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly tls?: { key: string; cert: string }) {}

  async start(port = this.port): Promise<this> {
    const onSocket = (socket: Socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      const deframer = new OctetDeframer();
      socket.on('data', (chunk: Buffer) => {
        try {
          for (const m of deframer.push(chunk)) this.messages.push(parseRfc5424(m));
        } catch (err) {
          this.errors.push((err as Error).message);
          socket.destroy();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
    };
    this.server = this.tls ? createTlsServer({ key: this.tls.key, cert: this.tls.cert }, onSocket) : createServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Like a receiver process that stops: the listener closes and open connections end. */
  async stop(how: 'close' | 'reset' = 'close'): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // 'reset' is a crashed receiver: its connections are reset (RST), not closed.
    for (const s of this.sockets) (how === 'reset' ? s.resetAndDestroy() : s.end());
    await closed;
  }
}

export class UdpReceiver {
  readonly messages: ParsedSyslog[] = [];
  private socket: UdpSocket | null = null;
  port = 0;
  async start(): Promise<this> {
    const socket = createSocket('udp4');
    socket.on('message', (m: Buffer) => this.messages.push(parseRfc5424(m.toString('utf8'))));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    this.port = socket.address().port;
    this.socket = socket;
    return this;
  }
  stop(): void {
    this.socket?.close();
    this.socket = null;
  }
}

/** Parses a CEF line: the 7 header fields (unescaped) and the extensions (unescaped). */
export function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  if (!line.startsWith('CEF:')) throw new Error(`not CEF: ${line.slice(0, 40)}`);
  const header: string[] = [];
  let cur = '';
  let i = 4;
  while (header.length < 7) {
    const c = line[i];
    if (c === undefined) throw new Error('truncated CEF header');
    if (c === '\\') {
      cur += line[i + 1];
      i += 2;
    } else if (c === '|') {
      header.push(cur);
      cur = '';
      i += 1;
    } else {
      cur += c;
      i += 1;
    }
  }
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  // Keys are unescaped words followed by an unescaped "="; a value runs until the next " key=".
  const keyAt = /(?:^| )([A-Za-z0-9_]+)=/g;
  const starts: Array<{ key: string; at: number; valueAt: number }> = [];
  for (let m = keyAt.exec(rest); m; m = keyAt.exec(rest)) {
    // Skip "=" that is escaped (preceded by an odd number of backslashes).
    let k = m.index + m[0].length - 2;
    let bs = 0;
    while (k >= 0 && rest[k] === '\\') {
      bs += 1;
      k -= 1;
    }
    if (bs % 2 === 1) continue;
    starts.push({ key: m[1]!, at: m.index, valueAt: m.index + m[0].length });
  }
  starts.forEach((s, n) => {
    const end = n + 1 < starts.length ? starts[n + 1]!.at : rest.length;
    const raw = rest.slice(s.valueAt, end);
    ext[s.key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  });
  return { header, ext };
}
