import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, isIP, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { LogExportTransport } from '@smtpguard/contracts';

export interface TransportTarget {
  host: string;
  port: number;
  transport: LogExportTransport;
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined; servername?: string | undefined };
  connectTimeoutMs?: number;
}

/** A connection to the syslog receiver. `send` resolves once the bytes were handed to the kernel. */
export interface SyslogTransport {
  /** Messages (unframed); TCP/TLS frame them with octet counting, UDP sends one datagram each. */
  send(messages: string[]): Promise<void>;
  /** False once the peer closed, reset or errored: the caller reconnects. */
  readonly alive: boolean;
  close(): void;
}

/** UDP datagram limit we keep to (IPv4 payload max is 65,507). */
const UDP_MAX = 65_000;

export async function openTransport(t: TransportTarget, frame: (message: string) => Buffer): Promise<SyslogTransport> {
  return t.transport === 'udp' ? openUdp(t) : openStream(t, frame);
}

async function openUdp(t: TransportTarget): Promise<SyslogTransport> {
  const host = t.host.replace(/^\[|\]$/g, '');
  const socket: UdpSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  let alive = true;
  let lastError: Error | null = null;
  socket.on('error', (err) => {
    lastError = err;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(t.port, host, () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
  return {
    get alive() {
      return alive;
    },
    async send(messages) {
      for (const m of messages) {
        let buf = Buffer.from(m, 'utf8');
        if (buf.length > UDP_MAX) buf = buf.subarray(0, UDP_MAX);
        await new Promise<void>((resolve, reject) => socket.send(buf, (err) => (err ? reject(err) : resolve())));
      }
      if (lastError) {
        const err = lastError;
        lastError = null;
        throw err;
      }
    },
    close() {
      alive = false;
      try {
        socket.close();
      } catch {
        /* already closed */
      }
    },
  };
}

async function openStream(t: TransportTarget, frame: (message: string) => Buffer): Promise<SyslogTransport> {
  const host = t.host.replace(/^\[|\]$/g, '');
  const timeout = t.connectTimeoutMs ?? 10_000;
  const socket: Socket = await new Promise<Socket>((resolve, reject) => {
    const s: Socket =
      t.transport === 'tls'
        ? tlsConnect(tlsOptions(t, host))
        : netConnect({ host, port: t.port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`connect to ${t.host}:${t.port} timed out after ${timeout} ms`));
    }, timeout);
    const fail = (err: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    s.once('error', fail);
    s.once(t.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      s.removeListener('error', fail);
      resolve(s);
    });
  });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  let alive = true;
  // A receiver that closes (FIN), resets or errors ends this connection: nothing more is
  // written to it, so no event is handed to a socket the peer has already left.
  const dead = () => {
    alive = false;
    socket.destroy();
  };
  socket.on('end', dead);
  socket.on('close', dead);
  socket.on('error', dead);
  socket.resume(); // receivers send nothing; reading is how the FIN is seen
  return {
    get alive() {
      return alive && !socket.destroyed;
    },
    send(messages) {
      if (!alive || socket.destroyed) return Promise.reject(new Error('connection closed by the receiver'));
      const buf = Buffer.concat(messages.map(frame));
      return new Promise<void>((resolve, reject) => {
        socket.write(buf, (err) => (err ? reject(err) : alive ? resolve() : reject(new Error('connection closed by the receiver'))));
      });
    },
    close() {
      alive = false;
      socket.end();
      socket.destroySoon?.();
    },
  };
}

function tlsOptions(t: TransportTarget, host: string): ConnectionOptions {
  const o: ConnectionOptions = { host, port: t.port, rejectUnauthorized: true };
  if (t.tls?.ca) o.ca = t.tls.ca;
  if (t.tls?.cert) o.cert = t.tls.cert;
  if (t.tls?.key) o.key = t.tls.key;
  // SNI is for names only; an IP target is checked against the certificate's IP SANs.
  const name = t.tls?.servername ?? (isIP(host) ? undefined : host);
  if (name) o.servername = name;
  return o;
}
