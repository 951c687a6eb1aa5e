import { CATALOG, PROTECTION_IDS, actionsForConnection, type Finding, type ProtectionId } from '@smtpguard/contracts';
import { parseMailArgumentBytes } from './address.js';
import { ByteRun } from './byte-run.js';
import { CR, LF, SP, asBuffer, escapeForLog } from './bytes.js';
import { DataScanner, LineMeter } from './data-scanner.js';
import {
  LINE_ANY,
  LINE_BINARY,
  LINE_IRREGULAR,
  REPLY_ANY,
  REPLY_ERROR,
  REPLY_FIRST,
  VERDICT_STRENGTH,
  type ActiveProtection,
  type CommandLine,
  type Hit,
  type ServerReply,
  type SessionView,
  type VerdictKind,
  type WireFact,
} from './model.js';
import type { CompiledPolicy, ConnectionProtections } from './policy.js';
import { TransactionState } from './transaction.js';
import { CLOSE_REPLY, QUIT_REPLY, UPSTREAM_LOST_REPLY, preventReply } from './reply.js';
import { NOTHING, emptyVerdict, type Notice, type Verdict } from './verdict.js';

/**
 * Memory bounds, whatever the peers send:
 * - a client line is buffered up to LINE_CAP bytes (less when a Prevent line limit is
 *   lower); past that it is judged by its prefix and streamed or dropped;
 * - a server reply line is buffered up to REPLY_LINE_CAP, then streamed;
 * - at most MAX_PENDING commands await replies; further client input is held by
 *   reference (no copy), and the verdict asks the gateway to pause reading past
 *   HELD_HIGH_WATER; a caller that ignores it is cut off at HELD_HARD_CAP.
 */
export const LINE_CAP = 16 * 1024;
export const REPLY_LINE_CAP = 4 * 1024;
export const MAX_PENDING = 10_000;
/** EHLO reply lines whose text is kept (capabilities); real servers send about 10-20. */
export const EHLO_LINES_KEPT = 256;
export const HELD_HIGH_WATER = 64 * 1024;
export const HELD_HARD_CAP = 4 * 1024 * 1024;
const MIN_LINE_THRESHOLD = 64;
const VERB_WINDOW = 33;

/** Every connection's protection counters start as a copy of this (a copy of a small array costs less than a typed array's allocation). */
const ZERO_COUNTERS: readonly number[] = PROTECTION_IDS.map(() => 0);

/** An EHLO line's keyword, upper-cased (indexOf, not split: this runs for every line of every EHLO reply). */
function ehloKeyword(text: string): string {
  const space = text.indexOf(' ');
  return (space < 0 ? text : text.slice(0, space)).toUpperCase();
}

const PIPELINING_LOWER = 'pipelining';

/** Whether an EHLO line's keyword is PIPELINING, without making a string of it. */
function isPipeliningLine(text: string): boolean {
  if (text.length < 10 || (text.length > 10 && text.charCodeAt(10) !== SP)) return false;
  for (let i = 0; i < 10; i++) if ((text.charCodeAt(i) | 0x20) !== PIPELINING_LOWER.charCodeAt(i)) return false;
  return true;
}

/** Commands after which a client may go on sending without waiting (RFC 2920 3.1, RFC 3030). */
function isPipelinable(verb: string): boolean {
  switch (verb) {
    case 'MAIL':
    case 'RCPT':
    case 'RSET':
    case 'SEND':
    case 'SOML':
    case 'SAML':
    case 'BDAT':
      return true;
    default:
      return false;
  }
}

export interface ConnectionMeta {
  clientAddress?: string;
  serverAddress?: string;
  gateway?: string;
}

export interface InspectorStats {
  commands: number;
  replies: number;
  messages: number;
  unmatchedReplies: number;
  pendingCommands: number;
}

interface ServerEntry {
  kind: 'server';
  verb: string;
  /** BDAT chunk size, XEXCH50 length. */
  size: number;
  last: boolean;
}
interface LocalEntry {
  kind: 'local';
  bytes: Buffer;
  /** False while the client still sends the chunk this reply answers. */
  ready: boolean;
}
type Entry = ServerEntry | LocalEntry;

type ClientMode =
  | { kind: 'command' }
  | { kind: 'data'; scanner: DataScanner; rejection: { id: ProtectionId; verdict: VerdictKind } | null; sizeFired: boolean }
  | { kind: 'chunk'; remaining: number; last: boolean; meter: LineMeter | null; rejection: { id: ProtectionId; verdict: VerdictKind } | null; sizeFired: boolean }
  | { kind: 'opaque'; remaining: number }
  | { kind: 'passthrough' }
  | { kind: 'closed' };


export function createInspector(policy: CompiledPolicy, meta: ConnectionMeta = {}): SmtpInspector {
  return new SmtpInspector(policy, meta);
}

/**
 * One SMTP connection, both directions. Pure: bytes in, a Verdict out; no sockets,
 * clocks or timers. Never throws on any byte sequence.
 */
export class SmtpInspector implements SessionView {
  // Session state read by protections.
  helo: string | undefined;
  /** The last EHLO reply's lines (the first names the server; capabilities follow), read as a Set only when asked for. */
  private ehloLines: readonly string[] = [];
  private capabilityPipelining = false;
  private capabilitySet: ReadonlySet<string> | null = null;
  readonly transaction = new TransactionState();
  commandCount = 0;
  badReplyCount = 0;
  greeted = false;
  /** One counter per protection (catalog order) for the protections' own per-connection counts. */
  readonly counters: number[] = ZERO_COUNTERS.slice();

  readonly stats: InspectorStats = { commands: 0, replies: 0, messages: 0, unmatchedReplies: 0, pendingCommands: 0 };

  /** Shared with every connection that has the same actions (see policy.ts). */
  private readonly protections: ConnectionProtections;

  private out: Verdict = emptyVerdict();
  private mode: ClientMode = { kind: 'command' };
  private readonly queue: Entry[] = [];
  private queueHead = 0;
  private blockedBy: ServerEntry | null;
  private earlyReported = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  private overlong: { forward: boolean; reply: LocalEntry | null } | null = null;
  private saslNext = false;
  private pipelining = false;
  /**
   * open: relaying; draining: a refused message's bytes stop here and the upstream is
   * closed as soon as it has answered what came before; gone: closed by us.
   */
  private upstream: 'open' | 'draining' | 'gone' = 'open';
  /** The BDAT whose chunk is being read (its reply becomes the gateway's if the chunk is refused). */
  private currentChunkEntry: ServerEntry | null = null;
  private clientGone = false;
  private lastReplyCode = 0;
  private clientOffset = 0;
  private serverOffset = 0;
  private replyParts: Buffer[] = [];
  private replyLength = 0;
  private replyOverlong: { forward: boolean } | null = null;
  /** The reply being read: `replyView` while one is, else null. */
  private reply: ReplyInProgress | null = null;
  private readonly replyView = new ReplyInProgress();

  constructor(
    private readonly policy: CompiledPolicy,
    meta: ConnectionMeta,
  ) {
    this.protections = policy.instantiate(actionsForConnection(policy.resolved, meta));
    const greeting: ServerEntry = { kind: 'server', verb: 'GREETING', size: 0, last: false };
    this.queue.push(greeting);
    this.blockedBy = greeting;
  }

  /**
   * Where the conversation stands, for the caller's timeouts (RFC 5321 4.5.3.2): before
   * the greeting, between commands, while the client sends a message, or once a whole
   * message is sent and its reply is awaited.
   */
  get phase(): 'greeting' | 'command' | 'message' | 'message-end' {
    if (!this.greeted) return 'greeting';
    if (this.mode.kind === 'data' || this.mode.kind === 'chunk') return 'message';
    return this.messageEndsPending > 0 ? 'message-end' : 'command';
  }

  /** The keywords the upstream advertised in its last EHLO reply (upper-cased). */
  get capabilities(): ReadonlySet<string> {
    if (!this.capabilitySet) {
      const caps = new Set<string>();
      for (let i = 1; i < this.ehloLines.length; i++) caps.add(ehloKeyword(this.ehloLines[i]!));
      if (this.capabilityPipelining) caps.add('PIPELINING');
      this.capabilitySet = caps;
    }
    return this.capabilitySet;
  }

  private setCapabilities(ehloLines: readonly string[], pipelining: boolean): void {
    this.ehloLines = ehloLines;
    this.capabilityPipelining = pipelining;
    this.capabilitySet = null;
    this.pipelining = pipelining;
  }

  /** Replies owed for whole messages (DATA's end, BDAT LAST). */
  private messageEndsPending = 0;

  /** False once the connection passes through uninspected (after STARTTLS). */
  get inspecting(): boolean {
    return this.mode.kind !== 'passthrough';
  }

  fromClient(chunk: Uint8Array): Verdict {
    this.begin();
    this.takeClient(asBuffer(chunk));
    return this.finish();
  }

  fromServer(chunk: Uint8Array): Verdict {
    this.begin();
    const buf = asBuffer(chunk);
    if (buf.length === 0 || this.isClosed() || this.upstream === 'gone') return this.finish();
    if (this.mode.kind === 'passthrough') this.sendClient(buf);
    else this.consumeServer(buf);
    return this.finish();
  }

  clientEnded(): Verdict {
    this.begin();
    if (!this.isClosed()) {
      const midMessage = this.mode.kind === 'data' || this.mode.kind === 'chunk';
      this.clientGone = true;
      if (this.mode.kind === 'passthrough' || midMessage || this.pendingServerReplies() === 0 || this.upstream !== 'open') {
        this.mode = { kind: 'closed' };
        this.out.closeServer = true;
        this.out.closeClient = true;
      }
    }
    return this.finish();
  }

  serverEnded(): Verdict {
    this.begin();
    if (!this.isClosed() && this.upstream !== 'gone') {
      const orderly = this.lastReplyCode === 221 || this.lastReplyCode === 421;
      if (this.mode.kind !== 'passthrough' && (!orderly || this.pendingServerReplies() > 0)) {
        this.sendClient(UPSTREAM_LOST_REPLY);
      }
      this.mode = { kind: 'closed' };
      this.out.closeClient = true;
      this.out.closeServer = true;
    }
    return this.finish();
  }

  private takeClient(buf: Buffer): void {
    if (buf.length === 0) return;
    if (this.isClosed()) return;
    if (this.mode.kind === 'passthrough') {
      this.sendServer(buf);
      return;
    }
    if (!this.canConsume()) this.noteEarlyBytes();
    if (this.isClosed()) return;
    // Held input is the caller's own buffers, kept by reference; only a caller that goes
    // on feeding after being asked to pause makes it grow, and that is cut off.
    const ignoredPause = this.heldBytes > HELD_HIGH_WATER;
    this.held.push(buf);
    this.heldBytes += buf.length;
    this.drainHeld();
    if (ignoredPause && this.heldBytes > HELD_HARD_CAP) {
      this.notice({ kind: 'resource-limit', detail: `over ${HELD_HARD_CAP} bytes of client input held unread` });
      this.closeBoth(CLOSE_REPLY);
    }
  }

  /** Every call starts a fresh verdict ... */
  private begin(): void {
    this.out = emptyVerdict();
  }

  /** ... and ends by cutting what was queued for each side. */
  private finish(): Verdict {
    this.flushForward();
    this.flushClient();
    const out = this.out;
    out.pauseClient = this.heldBytes > HELD_HIGH_WATER;
    this.stats.pendingCommands = this.pendingServerReplies();
    return out;
  }

  // ---------------------------------------------------------------- client side

  /** A method, not a property read: the mode changes under TypeScript's narrowing. */
  private isClosed(): boolean {
    return this.mode.kind === 'closed';
  }

  /** The rest of an over-long line belongs to the command already judged: it flows even while blocked. */
  private canConsume(): boolean {
    return !this.isBlocked() || this.overlong !== null;
  }

  private isBlocked(): boolean {
    return this.closeWhenFlushed || this.blockedBy !== null || this.queue.length - this.queueHead >= MAX_PENDING;
  }

  /** Bytes arrived while the engine needs a reply before it can read them. */
  private noteEarlyBytes(): void {
    if (this.earlyReported || this.blockedBy === null) return;
    this.earlyReported = true;
    const verb = this.blockedBy.verb;
    if (verb === 'GREETING') {
      this.fact({ kind: 'client-talks-first' }, 'client', Buffer.alloc(0), this.clientOffset);
      return;
    }
    const detail =
      verb === 'DATA'
        ? 'message data sent before the 354 reply'
        : verb === 'STARTTLS'
          ? 'plaintext sent after STARTTLS before the server answered (CVE-2011-0411)'
          : verb === 'AUTH' || verb === 'SASL'
            ? 'data sent before the server answered AUTH'
            : `command sent before the reply to ${verb} (RFC 2920 3.1)`;
    this.fact({ kind: 'pipelining', detail }, 'client', Buffer.alloc(0), this.clientOffset);
  }

  private drainHeld(): void {
    while (this.held.length > 0 && this.canConsume() && !this.isClosed()) {
      const buf = this.held.shift()!;
      this.heldBytes -= buf.length;
      const stop = this.consumeClient(buf);
      if (stop < buf.length && !this.isClosed()) {
        const rest = buf.subarray(stop);
        this.held.unshift(rest);
        this.heldBytes += rest.length;
      }
    }
    // Input still waiting now was sent before the reply the engine waits for.
    if (this.held.length > 0 && this.mode.kind !== 'passthrough' && this.blockedBy !== null) this.noteEarlyBytes();
    if (this.mode.kind === 'passthrough' && this.held.length > 0) {
      for (const buf of this.held) this.sendServer(buf);
      this.held = [];
      this.heldBytes = 0;
    }
    if (this.isClosed()) {
      this.held = [];
      this.heldBytes = 0;
    }
  }

  /** Consumes what it can; returns where it stopped (on a block or at the end). */
  private consumeClient(buf: Buffer): number {
    let pos = 0;
    while (pos < buf.length) {
      if (!this.canConsume()) return pos;
      const before = pos;
      switch (this.mode.kind) {
        case 'command':
          pos = this.consumeCommandBytes(buf, pos);
          break;
        case 'data':
          pos = this.consumeData(buf, pos, this.mode);
          break;
        case 'chunk':
          pos = this.consumeChunk(buf, pos, this.mode);
          break;
        case 'opaque': {
          const n = Math.min(this.mode.remaining, buf.length - pos);
          this.forward(buf, pos, pos + n);
          this.mode.remaining -= n;
          if (this.mode.remaining === 0) {
            this.mode = { kind: 'command' };
            if (this.afterOpaque) this.blockOn(this.afterOpaque);
            this.afterOpaque = null;
          }
          pos += n;
          break;
        }
        case 'passthrough':
          this.forward(buf, pos, buf.length);
          pos = buf.length;
          break;
        case 'closed':
          return buf.length;
      }
      this.clientOffset += pos - before;
    }
    return pos;
  }

  /** Queues `buf[start, end)` for upstream (merged with the slice before it when contiguous). */
  private forward(buf: Buffer, start: number, end: number): void {
    if (end <= start || this.upstream !== 'open') return;
    const done = this.toServerRun.add(buf, start, end);
    if (done) this.pushServer(done);
  }

  private flushForward(): void {
    const done = this.toServerRun.take();
    if (done) this.pushServer(done);
  }

  // Verdict lists start as one shared empty array and are allocated on first use: most
  // calls produce nothing for some of them. A list is born holding its first element (a
  // literal of exact size): `[]` then push() would grow it on the first push.
  private pushServer(bytes: Uint8Array): void {
    if (this.out.toServer === NOTHING) this.out.toServer = [bytes];
    else this.out.toServer.push(bytes);
  }

  private sendClient(bytes: Uint8Array): void {
    this.sendClientRange(bytes, 0, bytes.length);
  }

  /** Queues `buf[start, end)` for the client (merged with the slice before it when contiguous). */
  private sendClientRange(buf: Uint8Array, start: number, end: number): void {
    const done = this.toClientRun.add(buf, start, end);
    if (done) this.pushClient(done);
  }

  private flushClient(): void {
    const done = this.toClientRun.take();
    if (done) this.pushClient(done);
  }

  private pushClient(bytes: Uint8Array): void {
    if (this.out.toClient === NOTHING) this.out.toClient = [bytes];
    else this.out.toClient.push(bytes);
  }

  private readonly toServerRun = new ByteRun();
  private readonly toClientRun = new ByteRun();

  private notice(notice: Notice): void {
    if (this.out.notices === NOTHING) this.out.notices = [notice];
    else this.out.notices.push(notice);
  }

  private finding(finding: Finding): void {
    if (this.out.findings === NOTHING) this.out.findings = [finding];
    else this.out.findings.push(finding);
  }


  /** Bytes for upstream that are not a slice of the current chunk. */
  private sendServer(bytes: Buffer): void {
    if (this.upstream !== 'open') return;
    this.flushForward();
    this.pushServer(bytes);
  }

  private consumeCommandBytes(buf: Buffer, start: number): number {
    if (this.overlong) {
      const lf = buf.indexOf(LF, start);
      const end = lf < 0 ? buf.length : lf + 1;
      if (this.overlong.forward) this.forward(buf, start, end);
      if (lf >= 0) {
        // The refusal of a dropped line is sent once the client has finished it.
        if (this.overlong.reply) this.overlong.reply.ready = true;
        this.overlong = null;
        this.flushLocals();
      }
      return end;
    }
    const lf = buf.indexOf(LF, start);
    const end = lf < 0 ? buf.length : lf + 1;
    if (this.lineParts.length === 0) this.lineStartOffset = this.clientOffset;
    if (this.lineParts.length === 0 && lf >= 0) {
      // Whole line in this chunk: no copy.
      const threshold = this.protections.linePreventSettings ? this.lineThreshold(buf.subarray(start, Math.min(end, start + VERB_WINDOW)), true) : LINE_CAP;
      if (end - start <= threshold) {
        this.handleLine(buf, start, end, false);
        if (this.pendingLineForward) this.forward(buf, start, end);
      } else {
        this.handleLine(buf, start, start + threshold, true, end - start, true);
        if (this.pendingLineForward) this.forward(buf, start, end);
      }
      this.pendingLineForward = false;
      return end;
    }
    const piece = Buffer.from(buf.subarray(start, end));
    this.lineParts.push(piece);
    this.lineLength += piece.length;
    const prefix = this.lineParts.length === 1 ? piece : Buffer.concat(this.lineParts);
    if (this.lineParts.length > 1) this.lineParts = [prefix];
    const threshold = this.lineThreshold(prefix.subarray(0, VERB_WINDOW), lf >= 0);
    if (this.lineLength > threshold) {
      const total = this.lineLength;
      this.lineParts = [];
      this.lineLength = 0;
      this.handleLine(prefix, 0, threshold, true, total, lf >= 0);
      const forward = this.pendingLineForward;
      this.pendingLineForward = false;
      if (forward) this.sendServer(prefix);
      if (lf < 0 && !this.isClosed()) this.overlong = { forward, reply: this.unfinishedLineReply };
      this.unfinishedLineReply = null;
      return end;
    }
    if (lf >= 0) {
      this.lineParts = [];
      this.lineLength = 0;
      this.handleLine(prefix, 0, prefix.length, false);
      if (this.pendingLineForward) this.sendServer(prefix);
      this.pendingLineForward = false;
    }
    return end;
  }

  /** Set by handleLine when the line it judged must be forwarded by the caller. */
  private pendingLineForward = false;
  /** Client stream offset where the line being assembled starts. */
  private lineStartOffset = 0;
  /** Client stream offset where the current message body starts (data facts point there). */
  private bodyStartOffset = 0;
  /** Server stream offset where the reply line being assembled starts. */
  private replyLineStartOffset = 0;
  /** The refusal of a line still arriving, released when its LF comes. */
  private unfinishedLineReply: LocalEntry | null = null;

  /**
   * How many bytes of a line are buffered before it is judged by its prefix: the Prevent
   * limit of its verb when there is one (so an over-long line is never held whole), else
   * LINE_CAP. Knowing the verb takes at most VERB_WINDOW bytes.
   */
  private lineThreshold(head: Buffer, complete: boolean): number {
    const settings = this.protections.linePreventSettings;
    if (!settings) return LINE_CAP;
    let verb: string;
    if (this.saslNext) verb = 'AUTH';
    else {
      const space = head.indexOf(SP);
      if (space >= 0) verb = head.toString('latin1', 0, space).toUpperCase();
      else if (head.length >= VERB_WINDOW || complete) verb = head.toString('latin1').replace(/\r?\n$/, '').toUpperCase();
      else return LINE_CAP;
    }
    const limit = settings.perVerb[verb] ?? settings.limit;
    if (limit === 0) return LINE_CAP;
    return Math.min(LINE_CAP, Math.max(MIN_LINE_THRESHOLD, limit));
  }

  /**
   * Judges one client line. `buf[start, end)` holds the whole line with its terminator, or
   * only its first bytes when `truncated` (then `fullLength` is the length known so far).
   */
  private handleLine(buf: Buffer, start: number, end: number, truncated: boolean, fullLength = end - start, complete = !truncated): void {
    const sasl = this.saslNext;
    this.saslNext = false;
    const command = this.lineView.read(buf, start, end, truncated, fullLength, sasl, this.lineStartOffset);
    const verb = command.verb;
    const streamOffset = command.streamOffset;

    if (!sasl) {
      this.commandCount++;
      this.stats.commands++;
      if (verb === 'RCPT') this.transaction.rcptCount++;
      if ((verb === 'MAIL' || verb === 'RCPT') && !truncated) {
        command.mail = parseMailArgumentBytes(buf, start + command.argumentStart, start + command.contentEnd, verb);
      }
    }

    if (this.upstream !== 'open') {
      // The upstream was aborted after a refused message: the gateway answers alone.
      // Its reply waits behind what the upstream still owes; then the client is closed.
      this.closeWhenFlushed = true;
      this.queueLocal(verb === 'QUIT' ? QUIT_REPLY : CLOSE_REPLY, true);
      return;
    }

    this.strongest = null;
    for (const p of this.protections.lineChecks) {
      if ((command.flags & p.lineTrigger.flags) !== 0 || command.length > p.lineTrigger.longerThan) this.consider(p, p.onLine!(command, this), command);
    }
    if (!sasl) {
      if (!this.pipelining && this.serverPending > 0) {
        const fact: WireFact = { kind: 'pipelining', detail: 'command pipelined although the server did not advertise PIPELINING' };
        for (const p of this.protections.factChecks) this.consider(p, p.onFact!(fact, this), command);
      }
      const mask = this.policy.commandMask(verb);
      for (const p of this.protections.commandChecks) if (mask & p.bit) this.consider(p, p.onCommand!(command, this), command);
    }

    const verdict = this.strongest as { id: ProtectionId; hit: Hit } | null;
    if (verdict) {
      if (verdict.hit.verdict === 'close') {
        this.closeBoth(CLOSE_REPLY);
        return;
      }
      this.badReplyCount++;
      const reply = preventReply(verdict.id, verdict.hit.verdict);
      this.queueLocal(reply, complete);
      if (!complete) this.unfinishedLineReply = this.queue[this.queue.length - 1] as LocalEntry;
      this.judgeReply({ code: Number(reply.toString('latin1', 0, 3)), lines: [], answers: verb, streamOffset }, 'client');
      if (this.isClosed()) return;
      if (verb === 'BDAT' && !truncated) {
        const bdat = parseBdat(command.argument);
        // RFC 3030: the chunk follows the command whatever the answer; read it and drop it.
        if (bdat) this.mode = { kind: 'chunk', remaining: bdat.size, last: bdat.last, meter: null, rejection: null, sizeFired: true };
        if (bdat && bdat.size === 0) this.mode = { kind: 'command' };
      }
      return;
    }

    this.pendingLineForward = true;
    this.afterForward(command);
  }

  /** Reused for every line: protections read it only during their call (they keep strings, never the view). */
  private readonly lineView = new LineView();

  /** The strongest Prevent verdict on the line being judged (close > reject command > reject recipient). */
  private strongest: { id: ProtectionId; hit: Hit } | null = null;

  private consider(p: ActiveProtection, hit: Hit | undefined, command: CommandLine): void {
    if (!hit) return;
    this.record(p.id, p.action, hit, 'client', command.line, command.streamOffset, command);
    if (p.action === 'prevent' && (!this.strongest || VERDICT_STRENGTH[hit.verdict] > VERDICT_STRENGTH[this.strongest.hit.verdict])) {
      this.strongest = { id: p.id, hit };
    }
  }

  /** Book-keeping once a client line goes upstream. */
  private afterForward(command: CommandLine): void {
    const verb = command.sasl ? 'SASL' : command.verb;
    const entry: ServerEntry = { kind: 'server', verb, size: 0, last: false };
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        this.helo = command.argument.toString('latin1').trim().slice(0, 255);
        this.transaction.reset();
        break;
      case 'MAIL': {
        const mail = command.mail;
        if (mail?.ok) {
          const body = mail.params.size > 0 ? mail.params.get('BODY') : undefined;
          this.transaction.begin(mail.path, mail.params.has('SMTPUTF8'), body != null && body.toUpperCase() === 'BINARYMIME');
        } else this.transaction.begin(command.argument.toString('latin1').slice(0, 300), false, false);
        break;
      }
      case 'RSET':
        this.transaction.reset();
        this.chunkMeter = null;
        break;
      case 'BDAT': {
        const bdat = command.truncated ? null : parseBdat(command.argument);
        if (bdat) {
          entry.size = bdat.size;
          entry.last = bdat.last;
          if (bdat.last) this.messageEndsPending++;
          if (bdat.size > 0) {
            // One meter per message: a line split across chunks is measured whole. BINARYMIME has no lines.
            if (!this.chunkMeter && this.protections.dataLineLimit && !this.transaction.binaryMime) this.chunkMeter = new LineMeter(this.protections.dataLineLimit.limit);
            this.mode = { kind: 'chunk', remaining: bdat.size, last: bdat.last, meter: this.chunkMeter, rejection: null, sizeFired: false };
            this.currentChunkEntry = entry;
            this.bodyStartOffset = this.lineStartOffset + command.length;
          } else if (bdat.last) {
            this.endMessage();
          }
        }
        break;
      }
      case 'XEXCH50': {
        const size = Number(command.argument.toString('latin1').trim().split(/ +/)[0]);
        entry.size = Number.isSafeInteger(size) && size > 0 ? size : 0;
        break;
      }
    }
    if (verb === 'MAIL' || verb === 'EHLO' || verb === 'HELO') this.chunkMeter = null;
    this.pushEntry(entry);
    if (!isPipelinable(verb)) this.blockOn(entry);
  }

  /** One line meter across the BDAT chunks of a message, so lines spanning chunks count whole. */
  private chunkMeter: LineMeter | null = null;

  private blockOn(entry: ServerEntry): void {
    this.blockedBy = entry;
    this.earlyReported = false;
  }

  private consumeData(buf: Buffer, start: number, mode: Extract<ClientMode, { kind: 'data' }>): number {
    const scan = mode.scanner.scan(buf, start);
    const stop = scan.end >= 0 ? scan.end : buf.length;
    const facts: WireFact[] = [];
    if (scan.ambiguousForm) facts.push({ kind: 'ambiguous-end-of-data', form: scan.ambiguousForm });
    if (scan.lineTooLong && this.protections.dataLineLimit) facts.push({ kind: 'data-line-too-long', limit: this.protections.dataLineLimit.limit });
    if (this.protections.sizeLimit > 0 && !mode.sizeFired && mode.scanner.size > this.protections.sizeLimit) {
      mode.sizeFired = true;
      facts.push({ kind: 'message-too-large', size: mode.scanner.size, limit: this.protections.sizeLimit });
    }
    if (facts.length > 0 && !this.judgeBody(facts, 'DATA', mode)) return buf.length;
    if (!mode.rejection) this.forward(buf, start, stop);
    if (scan.end >= 0) {
      this.transaction.size = mode.scanner.size;
      if (mode.rejection) {
        this.notice({ kind: 'message-rejected', protectionId: mode.rejection.id, bytes: mode.scanner.size });
        this.badReplyCount++;
        const reply = preventReply(mode.rejection.id, mode.rejection.verdict);
        this.queueLocal(reply, true);
        this.judgeReply({ code: Number(reply.toString('latin1', 0, 3)), lines: [], answers: 'DATA', streamOffset: this.clientOffset }, 'client');
      } else {
        this.pushEntry({ kind: 'server', verb: '.', size: mode.scanner.size, last: true });
        this.messageEndsPending++;
      }
      if (!this.isClosed()) this.mode = { kind: 'command' };
      this.transaction.reset();
    }
    return stop;
  }

  private consumeChunk(buf: Buffer, start: number, mode: Extract<ClientMode, { kind: 'chunk' }>): number {
    const stop = Math.min(buf.length, start + mode.remaining);
    if (!mode.sizeFired) {
      this.transaction.size += stop - start;
      const facts: WireFact[] = [];
      if (mode.meter?.measure(buf, start, stop) && this.protections.dataLineLimit) facts.push({ kind: 'data-line-too-long', limit: this.protections.dataLineLimit.limit });
      if (this.protections.sizeLimit > 0 && this.transaction.size > this.protections.sizeLimit) {
        mode.sizeFired = true;
        facts.push({ kind: 'message-too-large', size: this.transaction.size, limit: this.protections.sizeLimit });
      }
      if (facts.length > 0 && !this.judgeBody(facts, 'BDAT', mode)) return buf.length;
      // A refused chunk is read and dropped: nothing more to measure.
      if (mode.rejection) mode.sizeFired = true;
    }
    if (!mode.rejection) this.forward(buf, start, stop);
    mode.remaining -= stop - start;
    if (mode.remaining === 0) {
      if (mode.rejection) {
        this.notice({ kind: 'message-rejected', protectionId: mode.rejection.id, bytes: this.transaction.size });
        this.releaseDeferred(preventReply(mode.rejection.id, mode.rejection.verdict));
      }
      if (mode.last) this.endMessage();
      if (this.mode === mode) this.mode = { kind: 'command' };
    }
    return stop;
  }

  private endMessage(): void {
    this.transaction.reset();
    this.chunkMeter = null;
  }

  /**
   * Judges what the body of the message being read showed. The first Prevent refusal
   * aborts the upstream; returns false once the connection is closed.
   */
  private judgeBody(facts: WireFact[], verb: 'DATA' | 'BDAT', mode: { rejection: { id: ProtectionId; verdict: VerdictKind } | null }): boolean {
    for (const fact of facts) {
      const rejection = this.judgeDataFact(fact, verb);
      if (this.isClosed()) return false;
      if (rejection && !mode.rejection) {
        mode.rejection = rejection;
        this.abortUpstream(`message refused by ${rejection.id}`);
      }
    }
    return true;
  }

  /** Judges a body fact; returns the message rejection when Prevent asks for one. */
  private judgeDataFact(fact: WireFact, verb: 'DATA' | 'BDAT'): { id: ProtectionId; verdict: VerdictKind } | null {
    // Findings name the message, not a chunk, so they read the same however the bytes were split.
    const sample = Buffer.from(`(${verb} body of message from ${this.transaction.mailFrom ?? 'unknown sender'})`, 'latin1');
    let rejection: { id: ProtectionId; verdict: VerdictKind } | null = null;
    for (const p of this.protections.factChecks) {
      const hit = p.onFact!(fact, this);
      if (!hit) continue;
      this.record(p.id, p.action, hit, 'client', sample, this.bodyStartOffset, undefined);
      if (p.action !== 'prevent') continue;
      if (hit.verdict === 'close') {
        this.closeBoth(CLOSE_REPLY);
        return null;
      }
      rejection ??= { id: p.id, verdict: hit.verdict };
    }
    return rejection;
  }

  /**
   * Closes the upstream before it can see the end of a refused message. Replies the
   * upstream still owed are answered by the gateway once the client has sent the chunk.
   */
  private abortUpstream(reason: string): void {
    if (this.upstream !== 'open') return;
    const chunkEntry = this.mode.kind === 'chunk' ? this.currentChunkEntry : null;
    if (chunkEntry) {
      const index = this.queue.indexOf(chunkEntry, this.queueHead);
      if (index >= 0) {
        this.queue[index] = { kind: 'local', bytes: Buffer.alloc(0), ready: false };
        this.serverPending--;
        if (chunkEntry.last) this.messageEndsPending--;
      }
    }
    this.upstream = 'draining';
    this.abortReason = reason;
    this.closeUpstreamIfDrained();
  }

  private abortReason = '';
  /** The gateway has answered the client's last command itself; close once the queue is empty. */
  private closeWhenFlushed = false;

  private closeUpstreamIfDrained(): void {
    if (this.upstream !== 'draining' || this.serverPending > 0) return;
    this.upstream = 'gone';
    this.out.closeServer = true;
    this.notice({ kind: 'upstream-aborted', reason: this.abortReason });
  }

  private releaseDeferred(reply: Buffer): void {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const entry = this.queue[i]!;
      if (entry.kind === 'local' && !entry.ready) this.queue[i] = { kind: 'local', bytes: reply, ready: true };
    }
    this.flushLocals();
  }

  // ---------------------------------------------------------------- queue

  private pushEntry(entry: ServerEntry): void {
    this.queue.push(entry);
    this.serverPending++;
  }

  /** Server entries in the queue (kept as a count: it is read for every command). */
  private serverPending = 1;

  private queueLocal(bytes: Buffer, ready: boolean): void {
    this.queue.push({ kind: 'local', bytes, ready });
    this.flushLocals();
  }

  /** Emits synthesized replies that have reached the head of the queue. */
  private flushLocals(): void {
    while (this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead]!;
      if (entry.kind !== 'local' || !entry.ready) break;
      if (entry.bytes.length > 0) this.sendClient(entry.bytes);
      this.queueHead++;
    }
    if (this.closeWhenFlushed && this.queueHead === this.queue.length && !this.isClosed()) {
      this.mode = { kind: 'closed' };
      this.out.closeClient = true;
      this.out.closeServer ||= this.upstream !== 'gone';
      this.upstream = 'gone';
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private headEntry(): Entry | undefined {
    return this.queue[this.queueHead];
  }

  private pendingServerReplies(): number {
    return this.serverPending;
  }

  private closeBoth(reply: Buffer): void {
    this.sendClient(reply);
    this.out.closeClient = true;
    this.out.closeServer = true;
    this.mode = { kind: 'closed' };
    this.held = [];
    this.heldBytes = 0;
  }

  // ---------------------------------------------------------------- server side

  private consumeServer(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length && !this.isClosed() && this.mode.kind !== 'passthrough' && this.upstream !== 'gone') {
      const start = pos;
      const lf = buf.indexOf(LF, pos);
      const end = lf < 0 ? buf.length : lf + 1;
      if (this.replyParts.length === 0 && !this.replyOverlong) this.replyLineStartOffset = this.serverOffset;
      if (this.replyOverlong) {
        if (this.replyOverlong.forward) this.sendClientRange(buf, start, end);
        if (lf >= 0) {
          this.replyOverlong = null;
          if (this.reply && this.replyFinalPending) this.completeReply();
        }
      } else if (this.replyParts.length === 0 && lf >= 0 && end - start <= REPLY_LINE_CAP) {
        this.handleReplyLine(buf, start, end, true);
      } else {
        const piece = Buffer.from(buf.subarray(start, end));
        this.replyParts.push(piece);
        this.replyLength += piece.length;
        if (this.replyLength > REPLY_LINE_CAP || lf >= 0) {
          const line = Buffer.concat(this.replyParts);
          this.replyParts = [];
          // A long line that has its LF is complete; only a line still arriving past the cap streams.
          const complete = lf >= 0;
          this.replyLength = 0;
          this.handleReplyLine(line, 0, line.length, complete);
        }
      }
      this.serverOffset += end - start;
      pos = end;
    }
    if (pos < buf.length && this.mode.kind === 'passthrough') this.sendClientRange(buf, pos, buf.length);
  }

  /** The reply Exchange owes after an XEXCH50 payload; the client waits for it. */
  private afterOpaque: ServerEntry | null = null;

  /** Set when an over-long final reply line is still streaming. */
  private replyFinalPending = false;

  /** One server reply line, `buf[start, end)` with its terminator (or its first bytes when not `complete`). */
  private handleReplyLine(buf: Buffer, start: number, end: number, complete: boolean): void {
    const offset = this.replyLineStartOffset;
    const length = end - start;
    const c0 = buf[start]!;
    const c1 = length > 1 ? buf[start + 1] : undefined;
    const c2 = length > 2 ? buf[start + 2] : undefined;
    const sep = length > 3 ? buf[start + 3] : undefined;
    const endsAt3 = sep === CR || sep === LF;
    const valid = c0 >= 50 && c0 <= 53 && isDigit(c1) && isDigit(c2) && (sep === SP || sep === 45 || endsAt3);
    if (!valid) {
      this.fact({ kind: 'invalid-reply-line' }, 'server', buf.subarray(start, end), offset);
      if (this.isClosed()) return;
      this.sendClientRange(buf, start, end);
      if (!complete) this.replyOverlong = { forward: true };
      return;
    }
    const code = (c0 - 48) * 100 + (c1! - 48) * 10 + (c2! - 48);
    const final = sep !== 45;
    let textEnd = start + Math.min(length, 600);
    if (textEnd === end && buf[textEnd - 1] === LF) textEnd -= buf[textEnd - 2] === CR ? 2 : 1;
    const textStart = Math.min(start + 4, textEnd);

    if (!this.reply) {
      const head = this.headEntry();
      const entry = head && head.kind === 'server' ? head : null;
      const reply = this.replyView.begin(code, entry, offset, entry?.verb === 'EHLO' && code === 250 && this.protections.ehloMaskers.length > 0);
      this.reply = reply;
      // Text is decoded only where it is read: the first line lazily (judgement, logs), EHLO lines at once (capabilities, masking).
      reply.setFirstLine(buf, textStart, textEnd);
      if (!entry) this.stats.unmatchedReplies++;
      // The banner and unsolicited replies are judged on their first line, before a byte reaches the client.
      if (!entry || entry.verb === 'GREETING') {
        this.judgeReply(reply, 'server', buf.subarray(start, end));
        if (this.isClosed()) return;
      }
    } else {
      const reply = this.reply;
      reply.lineCount++;
      if (reply.keepsText) reply.addLine(buf.toString('latin1', textStart, textEnd));
    }
    const reply = this.reply;

    if (reply.masking && complete) this.maskEhloLine(reply, buf.subarray(start, end), reply.lastText, final);
    else {
      if (reply.heldLine) {
        this.sendClient(reply.heldLine);
        reply.heldLine = null;
      }
      this.sendClientRange(buf, start, end);
    }
    if (!complete) {
      this.replyOverlong = { forward: true };
      this.replyFinalPending = final;
      return;
    }
    if (final) this.completeReply();
  }

  private maskEhloLine(reply: ReplyInProgress, line: Buffer, text: string, final: boolean): void {
    const keyword = ehloKeyword(text);
    const masked = reply.lineCount > 1 && this.protections.ehloMaskers.some((p) => p.hooks.masksEhloKeyword!(keyword));
    if (masked) {
      if (final && reply.heldLine) {
        const held = Buffer.from(reply.heldLine);
        held[3] = SP;
        this.sendClient(held);
        reply.heldLine = null;
      }
      return;
    }
    if (reply.heldLine) this.sendClient(reply.heldLine);
    reply.heldLine = null;
    if (final) this.sendClient(line);
    else reply.heldLine = Buffer.from(line);
  }

  private completeReply(): void {
    const reply = this.reply!;
    this.reply = null;
    this.replyFinalPending = false;
    this.stats.replies++;
    this.lastReplyCode = reply.code;
    const entry = reply.entry;
    if (!entry) return;
    this.queueHead++;
    this.serverPending--;
    const isCommandReply = entry.verb !== 'GREETING';
    if (isCommandReply && reply.code >= 400) this.badReplyCount++;
    if (isCommandReply) {
      this.judgeReply(reply, 'server');
      if (this.isClosed()) return;
    }
    this.applyReply(entry, reply);
    if (this.blockedBy === entry) this.blockedBy = null;
    this.flushLocals();
    this.closeUpstreamIfDrained();
    if (this.mode.kind === 'passthrough') {
      this.drainHeld();
      return;
    }
    if (this.canConsume()) this.drainHeld();
    if (this.clientGone && this.pendingServerReplies() === 0 && !this.isClosed()) {
      // The client half-closed and has every reply it waited for: close both.
      this.mode = { kind: 'closed' };
      this.out.closeServer = true;
      this.out.closeClient = true;
    }
  }

  /** State changes a reply causes. */
  private applyReply(entry: ServerEntry, reply: ReplyInProgress): void {
    const code = reply.code;
    switch (entry.verb) {
      case 'GREETING':
        this.greeted = true;
        break;
      case 'EHLO':
        if (code === 250) {
          // No protection reads the capabilities on the hot path: the Set is built on first read.
          const lines = reply.lines;
          let pipelining = reply.pipeliningPastCap;
          for (let i = 1; i < lines.length && !pipelining; i++) pipelining = isPipeliningLine(lines[i]!);
          this.setCapabilities(lines, pipelining);
        }
        break;
      case 'HELO':
        if (code === 250) this.setCapabilities([], false);
        break;
      case 'DATA':
        if (code === 354) {
          this.bodyStartOffset = this.clientOffset;
          this.mode = { kind: 'data', scanner: new DataScanner(this.protections.dataLineLimit?.limit ?? 0, this.protections.watchEndOfData), rejection: null, sizeFired: false };
        }
        break;
      case '.':
        this.messageEndsPending--;
        this.stats.messages++;
        this.notice({ kind: 'message-complete', bytes: entry.size, accepted: code >= 200 && code < 300 });
        break;
      case 'BDAT':
        if (entry.last) {
          this.messageEndsPending--;
          this.stats.messages++;
          this.notice({ kind: 'message-complete', bytes: entry.size, accepted: code >= 200 && code < 300 });
        }
        break;
      case 'AUTH':
      case 'SASL':
        if (code === 334) this.saslNext = true;
        break;
      case 'STARTTLS':
        if (code === 220) {
          this.mode = { kind: 'passthrough' };
          this.notice({ kind: 'uninspected', reason: 'starttls', detail: 'TLS started: the rest of the connection passes uninspected' });
        }
        break;
      case 'XEXCH50':
        if (code === 354 && entry.size > 0) {
          // Exchange reads <size> raw bytes, then answers once more (MS03-046 shape).
          this.mode = { kind: 'opaque', remaining: entry.size };
          const payload: ServerEntry = { kind: 'server', verb: 'XEXCH50-DATA', size: entry.size, last: false };
          this.pushEntry(payload);
          this.blockedBy = null;
          this.afterOpaque = payload;
        }
        break;
    }
  }

  // ---------------------------------------------------------------- findings

  private judgeReply(reply: ServerReply, direction: 'client' | 'server', line: Buffer = EMPTY): void {
    const answers = reply.answers;
    const flags = REPLY_ANY | (reply.code >= 400 ? REPLY_ERROR : 0) | (answers === 'GREETING' || answers === '' ? REPLY_FIRST : 0);
    for (const p of this.protections.replyChecks) {
      if ((flags & p.replyTrigger) === 0) continue;
      const hit = p.onReply!(reply, this);
      if (!hit) continue;
      const sample = line.length ? line : Buffer.from(reply.lines[0] !== undefined ? `${reply.code} ${reply.lines[0]}` : `${reply.code}`, 'latin1');
      this.record(p.id, p.action, hit, direction, sample, reply.streamOffset, undefined);
      if (p.action === 'prevent' && hit.verdict === 'close') {
        this.closeBoth(CLOSE_REPLY);
        return;
      }
    }
  }

  private fact(fact: WireFact, direction: 'client' | 'server', sample: Buffer, streamOffset: number): void {
    for (const p of this.protections.factChecks) {
      const hit = p.onFact!(fact, this);
      if (!hit) continue;
      this.record(p.id, p.action, hit, direction, sample, streamOffset, undefined);
      if (p.action === 'prevent' && hit.verdict === 'close') {
        this.closeBoth(CLOSE_REPLY);
        return;
      }
    }
  }

  private record(
    id: ProtectionId,
    action: 'prevent' | 'detect',
    hit: Hit,
    direction: 'client' | 'server',
    sample: Buffer,
    streamOffset: number,
    command: CommandLine | undefined,
  ): void {
    const entry = CATALOG[id];
    const finding: Finding = {
      protectionId: id,
      protectionName: entry.name,
      attackName: entry.attackName,
      attackInfo: entry.attackInfo,
      severity: entry.severity,
      confidence: entry.confidence,
      action,
      direction,
      command: command ? describeCommand(command) : escapeForLog(sample, 300),
      detail: escapeForLog(Buffer.from(hit.detail, 'latin1'), 400),
      streamOffset,
      context: {
        ...(this.helo !== undefined ? { helo: escapeForLog(Buffer.from(this.helo, 'latin1'), 200) } : {}),
        ...(this.transaction.mailFrom !== undefined ? { mailFrom: escapeForLog(Buffer.from(this.transaction.mailFrom, 'latin1'), 300) } : {}),
        rcptCount: this.transaction.rcptCount,
        state: this.stateName(),
      },
      ...(hit.signals ? { signals: hit.signals.slice(0, 32) } : {}),
    };
    this.finding(finding);
  }

  private stateName(): string {
    if (this.mode.kind !== 'command') return this.mode.kind;
    if (!this.greeted) return 'greeting';
    return this.transaction.active ? 'transaction' : 'session';
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The server reply being read, as the protections see it once judged. Only EHLO replies
 * keep their lines' text (capabilities, masking; at most EHLO_LINES_KEPT); otherwise the
 * first line is decoded only if something reads it, and continuation lines are not kept.
 */
class ReplyInProgress implements ServerReply {
  /** EHLO masking holds back one line so it can turn "250-" into "250 " when the last line is masked. */
  heldLine: Buffer | null = null;
  keepsText = false;
  code = 0;
  entry: ServerEntry | null = null;
  streamOffset = 0;
  masking = false;
  /** Lines read so far. */
  lineCount = 1;
  /** PIPELINING was advertised after the last kept line. */
  pipeliningPastCap = false;
  /** The text of the line just read, when the reply keeps text. */
  lastText = '';
  /** Line texts once asked for or kept; a fresh array per reply, so a reader may keep it. */
  private texts: string[] | null = null;
  private firstLine: Buffer | null = null;
  private firstStart = 0;
  private firstEnd = 0;

  /** Starts the next reply (one instance per connection: replies never overlap). */
  begin(code: number, entry: ServerEntry | null, streamOffset: number, masking: boolean): this {
    this.code = code;
    this.entry = entry;
    this.streamOffset = streamOffset;
    this.masking = masking;
    this.keepsText = masking || entry?.verb === 'EHLO';
    this.heldLine = null;
    this.lineCount = 1;
    this.pipeliningPastCap = false;
    this.lastText = '';
    this.texts = null;
    this.firstLine = null;
    return this;
  }

  get answers(): string {
    return this.entry?.verb ?? '';
  }

  get lines(): string[] {
    const texts = (this.texts ??= ['']);
    if (this.firstLine) {
      texts[0] = this.firstLine.toString('latin1', this.firstStart, this.firstEnd);
      this.firstLine = null;
    }
    return texts;
  }

  /** The first line's text is `buf[start, end)`; the buffer is the caller's chunk, never reused. */
  setFirstLine(buf: Buffer, start: number, end: number): void {
    if (this.keepsText) this.texts = [(this.lastText = buf.toString('latin1', start, end))];
    else {
      this.firstLine = buf;
      this.firstStart = start;
      this.firstEnd = end;
    }
  }

  /** Keeps an EHLO line's text, up to EHLO_LINES_KEPT (an endless reply still streams, unkept). */
  addLine(text: string): void {
    this.lastText = text;
    const lines = this.lines;
    if (lines.length < EHLO_LINES_KEPT) lines.push(text);
    // The one capability the engine itself relies on is noted wherever it comes.
    else if (isPipeliningLine(text)) this.pipeliningPastCap = true;
  }
}

/**
 * A client line read in one pass: verb, terminator, and the positions of the bytes the
 * protections care about (space, bare CR, NUL, control, 8-bit). The sub-buffers are cut
 * only if a protection asks for them.
 */
class LineView implements CommandLine {
  verb = 'AUTH';
  terminator: 'crlf' | 'lf' = 'crlf';
  bareCrAt = -1;
  nulAt = -1;
  controlAt = -1;
  eightBitAt = -1;
  contentEnd = 0;
  argumentStart = 0;
  truncated = false;
  length = 0;
  sasl = false;
  streamOffset = 0;
  mail: CommandLine['mail'] = undefined;
  flags = LINE_ANY;
  private raw: Buffer = EMPTY;
  private start = 0;
  private lineCache: Buffer | null = null;
  private argumentCache: Buffer | null = null;

  /** Reads the line `raw[start, rawEnd)`; positions are relative to `start`. Returns itself. */
  read(raw: Buffer, start: number, rawEnd: number, truncated: boolean, length: number, sasl: boolean, streamOffset: number): this {
    this.raw = raw;
    this.start = start;
    this.truncated = truncated;
    this.length = length;
    this.sasl = sasl;
    this.streamOffset = streamOffset;
    this.mail = undefined;
    this.lineCache = null;
    this.argumentCache = null;
    this.terminator = 'crlf';
    let end = rawEnd - start;
    if (!truncated) {
      if (end >= 2 && raw[rawEnd - 2] === CR) end -= 2;
      else {
        end -= 1;
        this.terminator = 'lf';
      }
    }
    this.contentEnd = end;
    let space = -1;
    let bareCrAt = -1;
    let nulAt = -1;
    let controlAt = -1;
    let eightBitAt = -1;
    for (let i = 0; i < end; i++) {
      const b = raw[start + i]!;
      if (b >= 0x20 && b < 0x7f) {
        if (b === SP && space < 0) space = i;
        continue;
      }
      if (b >= 0x80) {
        if (eightBitAt < 0) eightBitAt = i;
      } else if (b === CR) {
        if (bareCrAt < 0) bareCrAt = i;
      } else if (b !== 9 && b !== LF) {
        if (controlAt < 0) controlAt = i;
        if (b === 0 && nulAt < 0) nulAt = i;
      }
    }
    this.bareCrAt = bareCrAt;
    this.nulAt = nulAt;
    this.controlAt = controlAt;
    this.eightBitAt = eightBitAt;
    this.flags =
      LINE_ANY |
      (controlAt >= 0 || eightBitAt >= 0 ? LINE_BINARY : 0) |
      (this.terminator === 'lf' || bareCrAt >= 0 || nulAt >= 0 ? LINE_IRREGULAR : 0);
    if (sasl) {
      this.verb = 'AUTH';
      this.argumentStart = 0;
    } else {
      const verbLength = space < 0 ? end : space;
      this.verb = (verbLength === 4 && commonVerb(raw, start)) || raw.toString('latin1', start, start + verbLength).toUpperCase();
      this.argumentStart = space < 0 ? end : space + 1;
    }
    return this;
  }

  get argumentLength(): number {
    return this.contentEnd - this.argumentStart;
  }

  get line(): Buffer {
    return (this.lineCache ??= this.raw.subarray(this.start, this.start + this.contentEnd));
  }

  get argument(): Buffer {
    return (this.argumentCache ??= this.argumentStart === this.contentEnd ? EMPTY : this.raw.subarray(this.start + this.argumentStart, this.start + this.contentEnd));
  }
}

/** The usual 4-letter verbs, read without allocating a string (case-insensitive, RFC 5321 2.4). */
const COMMON_VERBS = new Map<number, string>(
  ['MAIL', 'RCPT', 'DATA', 'RSET', 'QUIT', 'NOOP', 'EHLO', 'HELO', 'VRFY', 'EXPN', 'HELP', 'BDAT', 'AUTH', 'ETRN', 'ATRN', 'TURN'].map((v) => [
    Buffer.from(v).readUInt32BE(0),
    v,
  ]),
);

function commonVerb(line: Buffer, at: number): string | undefined {
  // Clearing bit 0x20 of each byte upper-cases letters; it cannot map a non-letter onto one of these verbs.
  // An 8-bit first byte makes the key negative (int32): no verb matches it.
  return COMMON_VERBS.get(((line[at]! << 24) | (line[at + 1]! << 16) | (line[at + 2]! << 8) | line[at + 3]!) & 0xdfdfdfdf);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** The command line as logged: escaped, truncated, credentials masked. */
function describeCommand(command: CommandLine): string {
  // A truncated line's full length is not known yet (and depends on chunking): say only that it went on.
  if (command.sasl) return command.truncated ? `(SASL response, over ${command.line.length} bytes)` : `(SASL response, ${command.length} bytes)`;
  if (command.verb === 'AUTH') {
    const mechanism = command.argument.toString('latin1').split(' ', 1)[0] ?? '';
    const hasInitial = command.argument.indexOf(SP) >= 0;
    return escapeForLog(Buffer.from(`AUTH ${mechanism}${hasInitial ? ' ****' : ''}`, 'latin1'), 300);
  }
  const text = escapeForLog(command.line, 300);
  return command.truncated ? `${text}…(line continues)` : text;
}

/** `BDAT <size> [LAST]` (RFC 3030 2); null when malformed. */
export function parseBdat(argument: Buffer): { size: number; last: boolean } | null {
  const match = /^(\d{1,15})(?: +(LAST))? *$/i.exec(argument.toString('latin1'));
  if (!match) return null;
  return { size: Number(match[1]), last: match[2] !== undefined };
}
