import { DurationHistogram } from './engine-timing.js';

/**
 * Gateway counters, kept in plain numbers so the hot path costs an increment. A later
 * metrics endpoint (or the fleet heartbeat) reads `snapshot()`; `toPrometheus()` renders
 * the text exposition format without a client library.
 */
export class Counters {
  connectionsAccepted = 0;
  connectionsActive = 0;
  /** Refused over maxConnections or while shutting down. */
  connectionsRejected = 0;
  upstreamFailures = 0;
  timeouts = 0;
  engineErrors = 0;
  proxyHeaderErrors = 0;
  messagesAccepted = 0;
  messagesRejected = 0;
  bytesFromClient = 0;
  bytesToServer = 0;
  bytesFromServer = 0;
  bytesToClient = 0;
  /** Time spent in engine calls (seconds), filled by `timedInspectorFactory`. */
  readonly engineTime = new DurationHistogram();
  /** protectionId -> action -> count */
  readonly events = new Map<string, { detect: number; prevent: number }>();

  countEvent(protectionId: string, action: 'detect' | 'prevent'): void {
    let entry = this.events.get(protectionId);
    if (!entry) {
      entry = { detect: 0, prevent: 0 };
      this.events.set(protectionId, entry);
    }
    entry[action] += 1;
  }

  snapshot(): CountersSnapshot {
    const events: CountersSnapshot['events'] = {};
    for (const [id, counts] of this.events) events[id] = { ...counts };
    return {
      connections: { accepted: this.connectionsAccepted, active: this.connectionsActive, rejected: this.connectionsRejected },
      upstreamFailures: this.upstreamFailures,
      timeouts: this.timeouts,
      engineErrors: this.engineErrors,
      proxyHeaderErrors: this.proxyHeaderErrors,
      messages: { accepted: this.messagesAccepted, rejected: this.messagesRejected },
      bytes: {
        fromClient: this.bytesFromClient,
        toServer: this.bytesToServer,
        fromServer: this.bytesFromServer,
        toClient: this.bytesToClient,
      },
      events,
    };
  }

  toPrometheus(prefix = 'smtpguard_gateway'): string {
    const s = this.snapshot();
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${prefix}_${name}${labels} ${value}`);
    };
    metric('connections_total', 'counter', 'Client connections accepted.', [['', s.connections.accepted]]);
    metric('connections_active', 'gauge', 'Client connections open now.', [['', s.connections.active]]);
    metric('connections_rejected_total', 'counter', 'Client connections refused (limit or shutdown).', [['', s.connections.rejected]]);
    metric('upstream_failures_total', 'counter', 'Upstream connections that failed before a greeting.', [['', s.upstreamFailures]]);
    metric('timeouts_total', 'counter', 'Sessions closed by a timeout.', [['', s.timeouts]]);
    metric('engine_errors_total', 'counter', 'Inspection engine errors.', [['', s.engineErrors]]);
    metric('messages_total', 'counter', 'Messages by outcome.', [
      ['{outcome="accepted"}', s.messages.accepted],
      ['{outcome="rejected"}', s.messages.rejected],
    ]);
    metric('bytes_total', 'counter', 'Bytes by direction.', [
      ['{direction="from_client"}', s.bytes.fromClient],
      ['{direction="to_server"}', s.bytes.toServer],
      ['{direction="from_server"}', s.bytes.fromServer],
      ['{direction="to_client"}', s.bytes.toClient],
    ]);
    const eventSamples: Array<[string, number]> = [];
    for (const [id, counts] of Object.entries(s.events)) {
      eventSamples.push([`{protection="${id}",action="detect"}`, counts.detect]);
      eventSamples.push([`{protection="${id}",action="prevent"}`, counts.prevent]);
    }
    metric('events_total', 'counter', 'Inspection events by protection and action.', eventSamples);
    return `${lines.join('\n')}\n`;
  }
}

export interface CountersSnapshot {
  connections: { accepted: number; active: number; rejected: number };
  upstreamFailures: number;
  timeouts: number;
  engineErrors: number;
  proxyHeaderErrors: number;
  messages: { accepted: number; rejected: number };
  bytes: { fromClient: number; toServer: number; fromServer: number; toClient: number };
  events: Record<string, { detect: number; prevent: number }>;
}
