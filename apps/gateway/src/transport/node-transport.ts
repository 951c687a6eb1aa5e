import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { IGNORE_EVENTS, type RelayListener, type RelaySocket, type RelaySocketHandler, type Transport } from './relay-socket.js';

/** A node:net socket as a RelaySocket: its events become calls on the handler. */
class NodeRelaySocket implements RelaySocket {
  #handler: RelaySocketHandler = IGNORE_EVENTS;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.#handler.onSocketData(this, chunk));
    socket.on('end', () => this.#handler.onSocketEnd(this));
    socket.on('drain', () => this.#handler.onSocketDrain(this));
    socket.on('error', (err) => this.#handler.onSocketError(this, err));
    socket.on('close', () => this.#handler.onSocketClose(this));
    socket.on('connect', () => this.#handler.onSocketConnect(this));
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get destroyed(): boolean {
    return this.socket.destroyed;
  }
  get writableEnded(): boolean {
    return this.socket.writableEnded;
  }
  get writableLength(): number {
    return this.socket.writableLength;
  }
  get readableLength(): number {
    return this.socket.readableLength;
  }

  write(data: Uint8Array | string): boolean {
    return this.socket.write(data);
  }
  end(data?: Uint8Array | string): void {
    if (data === undefined) this.socket.end();
    else this.socket.end(data);
  }
  destroy(): void {
    this.socket.destroy();
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  cork(): void {
    this.socket.cork();
  }
  uncork(): void {
    this.socket.uncork();
  }

  setHandler(handler: RelaySocketHandler): void {
    this.#handler = handler;
  }
}

/** The portable transport: node:net sockets and streams. */
export const nodeTransport: Transport = {
  kind: 'node',
  async listen(options, onConnection) {
    const server = createServer(
      {
        allowHalfOpen: true,
        pauseOnConnect: true,
        noDelay: true,
        ...(options.highWaterMark ? { highWaterMark: options.highWaterMark } : {}),
      },
      (socket) => onConnection(new NodeRelaySocket(socket)),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port, backlog: options.backlog, ipv6Only: false }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    server.on('error', options.onError);
    const listener: RelayListener = {
      address: () => {
        const a = server.address() as AddressInfo;
        return { address: a.address, port: a.port };
      },
      close: (done) => server.close(() => done()),
    };
    return listener;
  },
  connect(host, port, highWaterMark) {
    return new NodeRelaySocket(connect({ host, port, allowHalfOpen: true, noDelay: true, ...(highWaterMark ? { highWaterMark } : {}) }));
  },
};
