import type { WebSocket } from 'ws';
import type { EventFilters, StoredEvent, StreamFrame } from '@smtpguard/contracts';
import { matches, type Committed } from './events.js';

interface Client {
  ws: WebSocket;
  filters: EventFilters;
  seq: number;
  dropped: boolean;
}

/**
 * Fans committed events out to console WebSockets. Each client has a bounded queue: the bytes
 * its socket could not hand to the kernel yet (a reading client keeps this near 0). Past
 * `maxQueueBytes` the client is told `dropped` and closed — a slow console never slows
 * ingestion or the other consoles, and never makes the manager buffer without limit.
 */
export class LiveHub {
  private readonly clients = new Set<Client>();

  constructor(
    private readonly gatewayIds: (names: string[]) => string[],
    private readonly maxQueueBytes = 1024 * 1024,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  add(ws: WebSocket, filters: EventFilters): { setFilters(f: EventFilters): void; error(message: string): void } {
    const client: Client = { ws, filters, seq: 0, dropped: false };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    this.send(client, 'ready', { filters: filters as Record<string, unknown> });
    return {
      setFilters: (f) => {
        client.filters = f;
        this.send(client, 'ready', { filters: f as Record<string, unknown> });
      },
      error: (message) => this.send(client, 'error', { message }),
    };
  }

  /** Committed events to the consoles whose filters they match (objects built only if a console is open). */
  publish(committed: StoredEvent[] | Committed): void {
    if (this.clients.size === 0) return;
    const events = Array.isArray(committed) ? committed : committed.events();
    if (events.length === 0) return;
    for (const client of this.clients) {
      if (client.dropped) continue;
      for (const e of events) {
        if (!matches(client.filters, e, this.gatewayIds)) continue;
        if (client.ws.bufferedAmount > this.maxQueueBytes) {
          this.drop(client, `client too slow: ${client.ws.bufferedAmount} bytes queued`);
          break;
        }
        this.send(client, 'event', e);
      }
    }
  }

  private send<T extends StreamFrame['type']>(client: Client, type: T, data: Extract<StreamFrame, { type: T }>['data']): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.seq += 1;
    client.ws.send(JSON.stringify({ type, seq: client.seq, data }));
  }

  private drop(client: Client, reason: string): void {
    client.dropped = true;
    this.clients.delete(client);
    client.seq += 1;
    // Written after what is queued (ws keeps order); the close frame follows it.
    client.ws.send(JSON.stringify({ type: 'dropped', seq: client.seq, data: { reason } }));
    client.ws.close(4008, 'too slow');
  }

  closeAll(): void {
    for (const c of this.clients) c.ws.close(1001, 'manager shutting down');
    this.clients.clear();
  }
}
