/**
 * The floor of the gateway's design, for the proxy benchmark: the same native transport
 * and event batching, carrying bytes both ways with no session, no engine and no timers.
 * The gateway's distance from this is what inspection costs; this one's distance from
 * HAProxy is what Node.js and the transport cost.
 *
 * Usage (bundled by bench/proxy.ts, like the gateway): node native-pipe.mjs PORT UPSTREAM_PORT
 */
import { nativeTransport } from '../src/transport/native-transport.js';
import type { RelaySocket, RelaySocketHandler } from '../src/transport/relay-socket.js';

const HOST = '127.0.0.1';

/** One direction's peer: bytes go to the other socket; either side ending or failing ends both. */
class Pipe implements RelaySocketHandler {
  constructor(
    private readonly client: RelaySocket,
    private readonly upstream: RelaySocket,
  ) {}

  #other(socket: RelaySocket): RelaySocket {
    return socket === this.client ? this.upstream : this.client;
  }

  // Backpressure as in the gateway: a full peer pauses reading until it drains.
  onSocketData(socket: RelaySocket, chunk: Buffer): void {
    if (!this.#other(socket).write(chunk)) socket.pause();
  }

  onSocketEnd(socket: RelaySocket): void {
    this.#other(socket).end();
  }

  onSocketDrain(socket: RelaySocket): void {
    this.#other(socket).resume();
  }

  onSocketError(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  onSocketClose(socket: RelaySocket): void {
    this.#other(socket).destroy();
  }

  onSocketConnect(): void {
    this.client.resume();
  }
}

async function main(): Promise<void> {
  const [port, upstreamPort] = process.argv.slice(2).map(Number);
  const transport = nativeTransport();
  if (!transport || !port || !upstreamPort) throw new Error('usage: native-pipe PORT UPSTREAM_PORT (with the native addon built)');
  await transport.listen({ host: HOST, port, backlog: 511, onError: (err) => console.error(err) }, (client) => {
    // Accepted sockets start paused: the client is read once the upstream is connected, as in the gateway.
    const upstream = transport.connect(HOST, upstreamPort);
    const pipe = new Pipe(client, upstream);
    client.setHandler(pipe);
    upstream.setHandler(pipe);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
