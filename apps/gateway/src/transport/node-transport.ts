import { connect, createServer, type AddressInfo } from 'node:net';
import type { RelayListener, Transport } from './relay-socket.js';

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
      onConnection,
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
    return connect({ host, port, allowHalfOpen: true, noDelay: true, ...(highWaterMark ? { highWaterMark } : {}) });
  },
};
