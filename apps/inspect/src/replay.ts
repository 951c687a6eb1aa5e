/**
 * Offline replay: recorded SMTP conversations through the inspection engine.
 *
 * The recorded server already answered what the recorded client sent, so the engine is
 * fed exactly what is on the wire, in capture order, and never what it would have
 * forwarded. To keep it in step with the recording, every protection the policy sets to
 * Prevent runs as Detect, and its findings are reported with the policy's action
 * ("would have been prevented"): a prevent verdict is reported, not enacted. From the
 * first such finding on, the recording shows a conversation the gateway would have cut
 * short or changed; `firstPrevent` in the connection summary marks that point.
 */
import {
  CATALOG,
  actionsForConnection,
  resolvePolicy,
  zPolicy,
  describeZodError,
  type Action,
  type Finding,
  type ProtectionId,
  type ResolvedPolicy,
} from '@smtpguard/contracts';
import { readCapture, swapRoles, type CaptureProblem, type CaptureResult, type Side, type TcpConnection } from '@smtpguard/capture';
import { compilePolicy, createInspector, parseTranscript, type Notice, type Verdict } from '@smtpguard/engine';

export const SMTP_PORTS = [25, 465, 587, 2525];

export interface Endpoint {
  address: string;
  port: number;
}

interface EventHead {
  connection: number;
  /** Capture time (ISO 8601) of the packet that carried the bytes; absent for transcripts. */
  time?: string;
  /** Packet record number in the capture; absent for transcripts. */
  packet?: number;
}

export type ReplayEvent =
  | (EventHead & { type: 'finding'; finding: Finding })
  | (EventHead & { type: 'notice'; notice: Notice })
  | (EventHead & { type: 'gap'; from: Side; offset: number; bytes: number; reason: string })
  | (EventHead & { type: 'overlap'; from: Side; offset: number; length: number })
  | (EventHead & { type: 'uninspected'; reason: UninspectedReason; detail: string });

export type UninspectedReason = 'starttls' | 'tls' | 'gap' | 'mid-stream' | 'server-missing' | 'resource-limit' | 'not-smtp';

export interface ConnectionSummary {
  id: number;
  client: Endpoint;
  server: Endpoint;
  /** How SMTP was recognised: server port, the server's 220 greeting, or the client's EHLO/HELO. */
  smtpBy: 'port' | 'greeting' | 'helo' | 'transcript';
  /** How client and server were told apart. */
  roleBy: TcpConnection['roleBy'] | 'content' | 'transcript';
  packets: number;
  start?: string;
  end?: string;
  bytes: { client: number; server: number };
  /** Bytes handed to the engine before inspection stopped. */
  inspectedBytes: { client: number; server: number };
  commands: number;
  replies: number;
  messages: number;
  unmatchedReplies: number;
  pendingCommands: number;
  findings: { prevent: number; detect: number };
  /** Protections that fired, with how often and the action the policy gives them. */
  protections: { protectionId: ProtectionId; action: 'prevent' | 'detect'; count: number }[];
  /** Where the gateway would have first prevented: the recording differs from here on. */
  firstPrevent: { protectionId: ProtectionId; direction: Side; streamOffset: number; packet?: number } | null;
  messagesRejected: number;
  /** Why (part of) the connection was not inspected, from where. */
  uninspected: { reason: UninspectedReason; detail: string; from?: Side; offset?: number } | null;
  gaps: { from: Side; offset: number; bytes: number; reason: string }[];
  /** Retransmissions whose bytes differed from the first copy (first copy inspected). */
  conflictingOverlaps: number;
  closed: { client: 'fin' | 'rst' | null; server: 'fin' | 'rst' | null };
}

export interface ReplayReport {
  input: {
    kind: 'pcap' | 'pcapng' | 'transcript' | 'unknown';
    bytes: number;
    packets: number;
    tcpConnections: number;
    smtpConnections: number;
    /** TCP connections left out as not SMTP (no SMTP port, no greeting, no EHLO/HELO). */
    otherConnections: number;
  };
  connections: ConnectionSummary[];
  /** Structural damage: reading stopped at `offset`. Empty when the whole input was read. */
  errors: CaptureProblem[];
  warnings: CaptureProblem[];
  totals: { findings: number; prevent: number; detect: number; commands: number; messages: number; gaps: number };
}

export interface ReplayOptions {
  /** A parsed policy document (zPolicy input shape); default: catalog defaults. */
  policy?: unknown;
  defaultAction?: Action;
  /** Gateway name matched by policy exceptions. Default 'replay'. */
  gateway?: string;
  /** Called for each event as it happens (in capture order within a connection). */
  onEvent?: (e: ReplayEvent) => void;
  /** Called for each connection once it has been replayed. */
  onConnection?: (c: ConnectionSummary) => void;
}

export class PolicyInputError extends Error {
  override name = 'PolicyInputError';
}

export interface PreparedPolicy {
  resolved: ResolvedPolicy;
  /** Same policy with Prevent run as Detect, for replaying a recording without enacting. */
  replayCompiled: ReturnType<typeof compilePolicy>;
}

export function preparePolicy(input: unknown = {}, defaultAction?: Action): PreparedPolicy {
  const parsed = zPolicy.safeParse(input ?? {});
  if (!parsed.success) throw new PolicyInputError(describeZodError(parsed.error));
  const resolved = resolvePolicy(parsed.data, defaultAction);
  const detectOnly: ResolvedPolicy = {
    ...resolved,
    actions: Object.fromEntries(
      Object.entries(resolved.actions).map(([id, a]) => [id, a === 'prevent' ? 'detect' : a]),
    ) as ResolvedPolicy['actions'],
  };
  return { resolved, replayCompiled: compilePolicy(detectOnly) };
}

const GREETING = /^(220|421|554)[- \r\n]/;
const HELO = /^(EHLO|HELO)([ \t\r\n]|$)/i;
const latin1 = new TextDecoder('latin1');

function firstData(c: TcpConnection, side: Side): Uint8Array | null {
  for (const e of c.events) {
    if (e.from !== side) continue;
    if (e.kind === 'data') return e.offset === 0 ? e.bytes : null;
    if (e.kind === 'gap') return null;
  }
  return null;
}

function looksLikeTls(b: Uint8Array | null): boolean {
  return !!b && b.length >= 3 && b[0] === 0x16 && b[1] === 0x03 && (b[2] ?? 9) <= 4;
}

function head(b: Uint8Array | null): string {
  return b ? latin1.decode(b.subarray(0, 16)) : '';
}

/** Decides whether a TCP connection is SMTP and which side is the client. */
export function classify(c: TcpConnection): { conn: TcpConnection; smtpBy: ConnectionSummary['smtpBy']; roleBy: ConnectionSummary['roleBy'] } | null {
  let conn = c;
  let roleBy: ConnectionSummary['roleBy'] = c.roleBy;
  const certain = c.roleBy === 'syn' || c.roleBy === 'syn-ack';
  if (!certain) {
    // The content can prove the guess wrong: a greeting from the "client", EHLO from the "server".
    const fromClient = head(firstData(c, 'client'));
    const fromServer = head(firstData(c, 'server'));
    if ((GREETING.test(fromClient) && !GREETING.test(fromServer)) || (HELO.test(fromServer) && !HELO.test(fromClient))) {
      conn = swapRoles(c);
      roleBy = 'content';
    }
  }
  if (SMTP_PORTS.includes(conn.server.port)) return { conn, smtpBy: 'port', roleBy };
  if (GREETING.test(head(firstData(conn, 'server'))) && /^2/.test(head(firstData(conn, 'server')))) return { conn, smtpBy: 'greeting', roleBy };
  if (HELO.test(head(firstData(conn, 'client')))) return { conn, smtpBy: 'helo', roleBy };
  return null;
}

function iso(time: number | undefined): string | undefined {
  if (time === undefined || !Number.isFinite(time)) return undefined;
  const d = new Date(time * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

interface Feed {
  from: Side;
  kind: 'data' | 'gap' | 'close' | 'overlap';
  bytes?: Uint8Array;
  size?: number;
  offset: number;
  reason?: string;
  packet?: number;
  time?: number;
}

/** Runs one conversation through the engine and summarises it. */
function replayConnection(
  id: number,
  meta: { client: Endpoint; server: Endpoint; smtpBy: ConnectionSummary['smtpBy']; roleBy: ConnectionSummary['roleBy']; packets: number; start?: number; end?: number; handshake: boolean; serverSilent: boolean },
  feed: Iterable<Feed>,
  closed: ConnectionSummary['closed'],
  policy: PreparedPolicy,
  options: ReplayOptions,
): ConnectionSummary {
  const gateway = options.gateway ?? 'replay';
  const connMeta = { clientAddress: meta.client.address, serverAddress: meta.server.address, gateway };
  const trueActions = actionsForConnection(policy.resolved, connMeta);
  const inspector = createInspector(policy.replayCompiled, connMeta);
  const summary: ConnectionSummary = {
    id,
    client: meta.client,
    server: meta.server,
    smtpBy: meta.smtpBy,
    roleBy: meta.roleBy,
    packets: meta.packets,
    bytes: { client: 0, server: 0 },
    inspectedBytes: { client: 0, server: 0 },
    commands: 0,
    replies: 0,
    messages: 0,
    unmatchedReplies: 0,
    pendingCommands: 0,
    findings: { prevent: 0, detect: 0 },
    protections: [],
    firstPrevent: null,
    messagesRejected: 0,
    uninspected: null,
    gaps: [],
    conflictingOverlaps: 0,
    closed,
  };
  const start = iso(meta.start);
  const end = iso(meta.end);
  if (start) summary.start = start;
  if (end) summary.end = end;

  const emit = (e: ReplayEvent) => options.onEvent?.(e);
  const stamp = (f: Feed): EventHead => {
    const h: EventHead = { connection: id };
    const t = iso(f.time);
    if (t) h.time = t;
    if (f.packet !== undefined) h.packet = f.packet;
    return h;
  };
  let stopped = false;
  const stop = (f: Feed, reason: UninspectedReason, detail: string) => {
    if (stopped) return;
    stopped = true;
    summary.uninspected = { reason, detail, from: f.from, offset: f.offset };
    emit({ ...stamp(f), type: 'uninspected', reason, detail });
  };
  const take = (f: Feed, v: Verdict) => {
    for (const finding of v.findings) {
      const action = trueActions[finding.protectionId] === 'prevent' ? 'prevent' : 'detect';
      const reported: Finding = { ...finding, action };
      summary.findings[action]++;
      const row = summary.protections.find((p) => p.protectionId === finding.protectionId && p.action === action);
      if (row) row.count++;
      else summary.protections.push({ protectionId: finding.protectionId, action, count: 1 });
      if (action === 'prevent' && !summary.firstPrevent) {
        summary.firstPrevent = { protectionId: finding.protectionId, direction: finding.direction, streamOffset: finding.streamOffset };
        if (f.packet !== undefined) summary.firstPrevent.packet = f.packet;
      }
      emit({ ...stamp(f), type: 'finding', finding: reported });
    }
    for (const notice of v.notices) {
      if (notice.kind === 'message-rejected') summary.messagesRejected++;
      emit({ ...stamp(f), type: 'notice', notice });
      if (notice.kind === 'uninspected' && !summary.uninspected) {
        summary.uninspected = { reason: notice.reason === 'starttls' ? 'starttls' : 'resource-limit', detail: notice.detail, from: f.from, offset: f.offset };
      }
    }
  };

  let first = true;
  if (meta.serverSilent) {
    // Without a single server byte the engine would hold every command waiting for a
    // greeting that never comes (and call the client early): nothing honest to report.
    stopped = true;
    summary.uninspected = {
      reason: 'server-missing',
      detail: 'no server bytes in the capture (one direction only): commands cannot be matched to replies; not inspected',
    };
    emit({ connection: id, type: 'uninspected', reason: 'server-missing', detail: summary.uninspected.detail });
  }
  for (const f of feed) {
    if (f.kind === 'data' && f.bytes) summary.bytes[f.from] += f.bytes.length;
    if (f.kind === 'gap') {
      const g = { from: f.from, offset: f.offset, bytes: f.size ?? 0, reason: f.reason ?? '' };
      summary.gaps.push(g);
      emit({ ...stamp(f), type: 'gap', ...g });
      if (!stopped && inspector.inspecting) {
        stop(f, 'gap', `${g.bytes} ${f.from} bytes missing from the capture at ${f.from} offset ${f.offset} (${g.reason}): not inspected after it`);
      }
      continue;
    }
    if (f.kind === 'overlap') {
      summary.conflictingOverlaps++;
      emit({ ...stamp(f), type: 'overlap', from: f.from, offset: f.offset, length: f.size ?? 0 });
      continue;
    }
    if (stopped || !inspector.inspecting) continue;
    if (f.kind === 'close') {
      take(f, f.from === 'client' ? inspector.clientEnded() : inspector.serverEnded());
      continue;
    }
    const bytes = f.bytes ?? new Uint8Array(0);
    if (first) {
      first = false;
      if (!meta.handshake && meta.smtpBy !== 'transcript') {
        const text = head(bytes);
        const plausible = f.from === 'server' ? GREETING.test(text) : HELO.test(text);
        if (!plausible) {
          stop(f, 'mid-stream', `capture starts mid-connection (no handshake; first ${f.from} bytes "${escapeHead(bytes)}")`);
          continue;
        }
      }
      if (f.from === 'client' && looksLikeTls(bytes)) {
        stop(f, 'tls', 'client starts with a TLS handshake (implicit TLS): not inspectable');
        continue;
      }
    }
    summary.inspectedBytes[f.from] += bytes.length;
    take(f, f.from === 'client' ? inspector.fromClient(bytes) : inspector.fromServer(bytes));
  }
  const s = inspector.stats;
  summary.commands = s.commands;
  summary.replies = s.replies;
  summary.messages = s.messages;
  summary.unmatchedReplies = s.unmatchedReplies;
  summary.pendingCommands = s.pendingCommands;
  return summary;
}

function escapeHead(b: Uint8Array): string {
  let out = '';
  for (const x of b.subarray(0, 24)) {
    if (x === 13) out += '\\r';
    else if (x === 10) out += '\\n';
    else if (x >= 0x20 && x < 0x7f && x !== 0x5c && x !== 0x22) out += String.fromCharCode(x);
    else out += `\\x${x.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function* captureFeed(c: TcpConnection): Generator<Feed> {
  for (const e of c.events) {
    const base = { from: e.from, packet: e.packet, time: e.time };
    if (e.kind === 'data') yield { ...base, kind: 'data', bytes: e.bytes, offset: e.offset };
    else if (e.kind === 'gap') yield { ...base, kind: 'gap', size: e.bytes, offset: e.offset, reason: e.reason };
    else if (e.kind === 'overlap') yield { ...base, kind: 'overlap', offset: e.offset, size: e.length };
    else yield { ...base, kind: 'close', offset: 0, reason: e.how };
  }
}

function emptyReport(kind: ReplayReport['input']['kind'], bytes: number): ReplayReport {
  return {
    input: { kind, bytes, packets: 0, tcpConnections: 0, smtpConnections: 0, otherConnections: 0 },
    connections: [],
    errors: [],
    warnings: [],
    totals: { findings: 0, prevent: 0, detect: 0, commands: 0, messages: 0, gaps: 0 },
  };
}

function total(report: ReplayReport): void {
  for (const c of report.connections) {
    report.totals.prevent += c.findings.prevent;
    report.totals.detect += c.findings.detect;
    report.totals.commands += c.commands;
    report.totals.messages += c.messages;
    report.totals.gaps += c.gaps.length;
  }
  report.totals.findings = report.totals.prevent + report.totals.detect;
}

/** Replays a pcap/pcapng capture held in memory. */
export function replayCapture(buf: Uint8Array, options: ReplayOptions = {}, policy = preparePolicy(options.policy, options.defaultAction)): ReplayReport {
  const capture: CaptureResult = readCapture(buf);
  const report = emptyReport(capture.format, buf.length);
  report.input.packets = capture.packets;
  report.input.tcpConnections = capture.connections.length;
  report.errors = capture.errors;
  report.warnings = capture.warnings;
  for (const raw of capture.connections) {
    const hasPayload = raw.stats.client.bytes + raw.stats.server.bytes + raw.stats.client.gapBytes + raw.stats.server.gapBytes > 0;
    const cls = hasPayload ? classify(raw) : null;
    if (!cls) {
      report.input.otherConnections++;
      continue;
    }
    const c = cls.conn;
    report.input.smtpConnections++;
    const summary = replayConnection(
      c.id,
      {
        client: c.client,
        server: c.server,
        smtpBy: cls.smtpBy,
        roleBy: cls.roleBy,
        packets: c.packets,
        start: c.startTime,
        end: c.endTime,
        handshake: c.handshake,
        serverSilent: c.stats.server.bytes === 0 && c.stats.server.gapBytes === 0,
      },
      captureFeed(c),
      { client: c.stats.client.closed, server: c.stats.server.closed },
      policy,
      options,
    );
    report.connections.push(summary);
    options.onConnection?.(summary);
  }
  total(report);
  return report;
}

export class TranscriptInputError extends Error {
  override name = 'TranscriptInputError';
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Replays a hand-written transcript (`S: 220 ...` / `C: EHLO ...`) as one connection. */
export function replayTranscript(text: string, options: ReplayOptions = {}, policy = preparePolicy(options.policy, options.defaultAction)): ReplayReport {
  let segments: { from: Side; bytes: Uint8Array }[];
  try {
    segments = parseTranscript(text);
  } catch (err) {
    const line = (err as { line?: number }).line;
    const offset = line === undefined ? 0 : byteOffsetOfLine(text, line);
    throw new TranscriptInputError(offset, (err as Error).message);
  }
  const report = emptyReport('transcript', Buffer.byteLength(text));
  report.input.tcpConnections = 1;
  report.input.smtpConnections = 1;
  const offsets = { client: 0, server: 0 };
  const feed: Feed[] = segments.map((s) => {
    const f: Feed = { from: s.from, kind: 'data', bytes: s.bytes, offset: offsets[s.from] };
    offsets[s.from] += s.bytes.length;
    return f;
  });
  const summary = replayConnection(
    1,
    {
      client: { address: '192.0.2.1', port: 49152 },
      server: { address: '198.51.100.25', port: 25 },
      smtpBy: 'transcript',
      roleBy: 'transcript',
      packets: 0,
      handshake: true,
      serverSilent: false,
    },
    feed,
    { client: null, server: null },
    policy,
    options,
  );
  report.connections.push(summary);
  options.onConnection?.(summary);
  total(report);
  return report;
}

function byteOffsetOfLine(text: string, line: number): number {
  let offset = 0;
  const lines = text.split('\n');
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += Buffer.byteLength(lines[i] ?? '') + 1;
  return offset;
}

/** A transcript starts (after comments and blank lines) with "C:", "S:", "C>" or "S>". */
export function looksLikeTranscript(buf: Uint8Array): boolean {
  const text = latin1.decode(buf.subarray(0, 4096));
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#') || line.trim() === '' || line.trim() === '--') continue;
    return /^[CS][:>]/.test(line);
  }
  return false;
}

export const PROTECTION_NAMES: Record<string, string> = Object.fromEntries(Object.entries(CATALOG).map(([id, e]) => [id, e.name]));
