import type { StoredEvent, StreamFrame } from '../types.js';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StreamCallbacks {
  /** Events in arrival order, batched per animation frame. */
  onEvents: (events: StoredEvent[]) => void;
  /** Connected (again): `since` is null on the first connection, else when we may have missed events. */
  onReady: (since: string | null) => void;
  onStatus: (status: StreamStatus, detail?: string) => void;
}

/**
 * The tracker's live stream (WebSocket /api/events/stream). Reconnects by itself with
 * back-off; each reconnect (or a `dropped` frame, or a seq gap) reports the time from which
 * the caller should refetch over HTTP to fill the hole.
 */
export class LiveStream {
  private ws: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSeq = 0;
  private connectedOnce = false;
  private gapSince: string | null = null;
  private lastEventTime: string | null = null;
  private batch: StoredEvent[] = [];
  private flushScheduled = false;

  constructor(
    private readonly query: string,
    private readonly cb: StreamCallbacks,
  ) {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000, 'done');
    this.ws = null;
    this.cb.onStatus('stopped');
  }

  private url(): string {
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${window.location.host}/api/events/stream${this.query}`;
  }

  private connect(): void {
    if (this.stopped) return;
    this.cb.onStatus(this.connectedOnce ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    this.lastSeq = 0;
    ws.onmessage = (msg) => {
      let frame: StreamFrame;
      try {
        frame = JSON.parse(String(msg.data)) as StreamFrame;
      } catch {
        return;
      }
      if (this.lastSeq && frame.seq !== this.lastSeq + 1) this.markGap();
      this.lastSeq = frame.seq;
      switch (frame.type) {
        case 'ready': {
          this.attempt = 0;
          const since = this.connectedOnce ? (this.gapSince ?? this.lastEventTime ?? new Date(Date.now() - 60_000).toISOString()) : null;
          this.connectedOnce = true;
          this.gapSince = null;
          this.cb.onStatus('live');
          this.cb.onReady(since);
          break;
        }
        case 'event':
          this.lastEventTime = frame.data.time > (this.lastEventTime ?? '') ? frame.data.time : this.lastEventTime;
          this.batch.push(frame.data);
          this.scheduleFlush();
          break;
        case 'dropped':
          this.markGap();
          this.cb.onStatus('reconnecting', frame.data.reason);
          break;
        case 'error':
          this.cb.onStatus('stopped', frame.data.message);
          this.stopped = true;
          break;
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.flush();
      this.ws = null;
      if (this.stopped || ev.code === 4000) {
        this.cb.onStatus('stopped', ev.code === 4000 ? 'The filters were refused.' : undefined);
        return;
      }
      this.markGap();
      if (ev.code === 1008 || ev.code === 4001 || ev.code === 4003) {
        // Session ended or forbidden: the next HTTP call will show the sign-in screen.
      }
      const delay = Math.min(10_000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
      this.attempt++;
      this.cb.onStatus('reconnecting', `Connection to the manager lost; retrying in ${Math.round(delay / 1000)} s.`);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  private markGap(): void {
    if (this.gapSince === null) {
      // Refetch from a little before the last event seen: late spooled events may carry older times.
      const base = this.lastEventTime ? Date.parse(this.lastEventTime) : Date.now();
      this.gapSince = new Date(base - 5 * 60_000).toISOString();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const run = () => {
      this.flushScheduled = false;
      this.flush();
    };
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') requestAnimationFrame(run);
    else setTimeout(run, 100);
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    this.cb.onEvents(b);
  }
}
