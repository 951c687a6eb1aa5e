/** The manager's HTTP API and live stream, as the console uses them (admin session cookie). */
import WebSocket from 'ws';
import { ADMIN_PASSWORD, HOST, waitFor } from './procs.js';

export interface ApiResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface StoredEvent {
  id: number;
  gatewayId: string;
  gateway: string;
  seq: number;
  receivedAt: string;
  time: string;
  protectionId: string;
  command?: string | null;
  connectionId: string;
  [k: string]: unknown;
}

export class ManagerApi {
  cookie = '';
  constructor(readonly port: number) {}

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  async login(password = ADMIN_PASSWORD): Promise<void> {
    const r = await fetch(`${this.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    if (r.status !== 200) throw new Error(`login: ${r.status} ${await r.text()}`);
    this.cookie = String(r.headers.get('set-cookie')).split(';')[0]!;
  }

  /** `body` as an object is sent as JSON; a string or Buffer is sent raw with `contentType`. */
  async req(method: string, path: string, body?: unknown, opts: { contentType?: string; raw?: boolean; timeoutMs?: number } = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { cookie: this.cookie };
    let payload: string | Buffer | undefined;
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      payload = opts.raw ? (body as string | Buffer) : JSON.stringify(body);
    }
    const r = await fetch(`${this.url}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
    const text = await r.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: r.status, body: parsed, text };
  }

  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.req(method, path, body);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 500)}`);
    return r.body as T;
  }

  async createGateway(name: string): Promise<{ id: string; enrollmentKey: string }> {
    const r = await this.ok<{ gateway: { id: string }; enrollmentKey: string }>('POST', '/api/gateways', { name });
    return { id: r.gateway.id, enrollmentKey: r.enrollmentKey };
  }

  async gateways(): Promise<Array<{ id: string; name: string; status: string; installedRevision?: number | null; counters?: Record<string, number> | null; [k: string]: unknown }>> {
    const r = await this.ok<{ gateways: Array<{ id: string; name: string; status: string }> }>('GET', '/api/gateways');
    return r.gateways;
  }

  async waitOnline(names: string[], timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      const gws = await this.gateways();
      return names.every((n) => gws.find((g) => g.name === n)?.status === 'online');
    }, `gateways ${names.join(', ')} online`, timeoutMs, 200);
  }

  async install(comment = 'stress'): Promise<{ revision: number; results: Array<{ gateway: string; status: string }> }> {
    return this.ok('POST', '/api/install', { comment });
  }

  /** Every stored event of one gateway (name), paging through the cursor. */
  async allEvents(gateway?: string, max = 200_000): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ limit: '1000' });
      if (gateway) q.set('gateway', gateway);
      if (cursor) q.set('cursor', cursor);
      const page: { events: StoredEvent[]; nextCursor: string | null } = await this.ok('GET', `/api/events?${q}`);
      out.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor && out.length < max);
    return out;
  }

  async eventTotal(): Promise<number> {
    const r = await this.ok<{ total: number }>('GET', '/api/events/stats');
    return r.total;
  }

  /** The console's live stream; `onEvent` gets every `event` frame's data. */
  async stream(onEvent: (e: StoredEvent, at: number) => void, query = ''): Promise<LiveStream> {
    const ws = new WebSocket(`ws://${HOST}:${this.port}/api/events/stream${query}`, { headers: { cookie: this.cookie } });
    const s = new LiveStream(ws);
    ws.on('message', (data) => {
      const at = performance.now();
      let f: { type: string; seq: number; data: unknown };
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      s.frames += 1;
      if (f.seq !== s.lastSeq + 1) s.seqGaps += 1;
      s.lastSeq = f.seq;
      if (f.type === 'ready') s.ready = true;
      else if (f.type === 'event') onEvent(f.data as StoredEvent, at);
      else s.other.push(f.type);
    });
    await waitFor(() => s.ready || s.closed, 'stream ready', 15_000);
    return s;
  }
}

export class LiveStream {
  ready = false;
  closed = false;
  closeCode = 0;
  frames = 0;
  lastSeq = 0;
  seqGaps = 0;
  other: string[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
    ws.on('error', () => {});
  }
  close(): void {
    this.ws.terminate();
  }
}

/** The marker embedded in each attack: `sgm<n>x` (found again in the event's command). */
export const marker = (tag: string, n: number) => `sgm${tag}${n}x`;
export function markerOf(e: StoredEvent, tag: string): number | null {
  const m = new RegExp(`sgm${tag}(\\d+)x`).exec(String(e.command ?? ''));
  return m ? Number(m[1]) : null;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
