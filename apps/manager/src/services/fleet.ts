import { timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import { and, desc, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import {
  type Gateway,
  type GatewayMessage,
  type Install,
  type ManagerMessage,
  type Policy,
  type PolicyDocument,
} from '@smtpguard/contracts';
import { gateways, installResults, installs, revisions } from '../db/schema.js';
import { sha256, token } from '../auth.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import type { Manager } from './context.js';
import { compilePolicy, policyHash, profileFor } from './policy.js';
import { committedPacked, type PackedBatch } from './events.js';
import { FrameParser } from './frame-parser.js';
import type { PreparedFrame } from './frames.js';

type GatewayRow = typeof gateways.$inferSelect;
type InstallStatus = 'pending' | 'installed' | 'failed' | 'unreachable';

interface Link {
  ws: WebSocket;
  gatewayId: string;
  name: string;
  /** Last frame received (heartbeats arrive every heartbeatSeconds). */
  lastSeen: number;
  /** Bytes of this link's frames received and not handled yet (parsing, or waiting for the commit). */
  unhandledBytes: number;
}

/**
 * A link whose unhandled frames pass this stops being read (TCP pushes back on the gateway)
 * until they are down to half: frames are handed to the parser thread as they arrive, so
 * without this a gateway sending faster than the manager commits would fill memory.
 */
const LINK_BACKLOG_BYTES = 8 * 1024 * 1024;

export function gatewayView(row: GatewayRow, online: boolean): Gateway {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: row.id,
    name: row.name,
    status: row.revokedAt !== null ? 'revoked' : row.enrolledAt === null ? 'pending-enrollment' : online ? 'online' : 'offline',
    profileId: null,
    createdAt: new Date(row.createdAt).toISOString(),
    enrolledAt: iso(row.enrolledAt),
    lastSeenAt: iso(row.lastSeenAt),
    address: row.address,
    version: row.version,
    installedRevision: row.installedRevision,
    targetRevision: row.targetRevision,
    health: (row.health as 'ok' | 'degraded' | null) ?? null,
    detail: row.detail,
    counters: row.counters ? JSON.parse(row.counters) : null,
  };
}

/**
 * The manager's end of the fleet link: one authenticated WebSocket per gateway, events
 * committed then acknowledged, installs pushed and their results awaited.
 */
export class FleetHub {
  private readonly links = new Map<string, Link>();
  private readonly waiters = new Map<string, (status: InstallStatus) => void>();

  private readonly watchdog: NodeJS.Timeout;
  /** Event batches received and not committed yet: committed together at the next turn of the event loop. */
  private pendingBatches: { link: Link; epoch: number; first: number; last: number; packed: PackedBatch; bytes: number }[] = [];
  private flushScheduled = false;
  private readonly parser: FrameParser;
  private closing = false;

  constructor(private readonly m: Manager) {
    this.parser = new FrameParser(m.options.log);
    // An install the manager was waiting on when it stopped: nobody will collect those answers.
    const open = m.db.select({ id: installs.id }).from(installs).where(eq(installs.done, false)).all();
    for (const { id } of open) {
      m.db
        .update(installResults)
        .set({ status: 'unreachable', reason: 'manager restarted before the gateway answered', updatedAt: m.now() })
        .where(and(eq(installResults.installId, id), eq(installResults.status, 'pending')))
        .run();
      m.db.update(installs).set({ done: true }).where(eq(installs.id, id)).run();
    }
    // A link silent for three heartbeats is dead (a half-open TCP connection otherwise looks online for hours).
    const period = m.options.heartbeatSeconds * 1000;
    this.watchdog = setInterval(() => {
      const now = Date.now();
      for (const link of this.links.values()) {
        if (now - link.lastSeen > 3 * period) {
          this.m.options.log(`fleet: ${link.name}: no heartbeat for ${Math.round((now - link.lastSeen) / 1000)} s, closing the link`);
          this.links.delete(link.gatewayId);
          link.ws.terminate();
        }
      }
    }, period);
    this.watchdog.unref();
  }

  isOnline(id: string): boolean {
    return this.links.has(id);
  }

  view(row: GatewayRow): Gateway {
    const v = gatewayView(row, this.isOnline(row.id));
    const doc = this.m.draft().document;
    v.profileId = doc.assignments[row.id] ?? doc.defaultProfileId;
    return v;
  }

  createEnrollmentKey(gatewayId: string): { key: string; expiresAt: number } {
    const key = `sgk_${token(24)}`;
    const expiresAt = this.m.now() + this.m.options.enrollKeyTtlMs;
    this.m.db.update(gateways).set({ enrollKeyHash: sha256(key), enrollKeyExpiresAt: expiresAt }).where(eq(gateways.id, gatewayId)).run();
    return { key, expiresAt };
  }

  /** Trades a one-time key for the gateway's own credential. */
  enroll(key: string, version: string | undefined): { gatewayId: string; name: string; credential: string } {
    const row = this.m.db.select().from(gateways).where(eq(gateways.enrollKeyHash, sha256(key))).get();
    if (!row || row.revokedAt !== null || (row.enrollKeyExpiresAt ?? 0) < this.m.now()) {
      throw new ApiError('unauthorized', 'enrollment key is unknown, used or expired: ask an administrator for a new one');
    }
    const credential = `${row.id}.${token(32)}`;
    this.m.db
      .update(gateways)
      .set({ credentialHash: sha256(credential), enrollKeyHash: null, enrollKeyExpiresAt: null, enrolledAt: this.m.now(), version: version ?? null })
      .where(eq(gateways.id, row.id))
      .run();
    this.disconnect(row.id, 4001, 're-enrolled');
    this.m.audit(`gateway:${row.name}`, 'gateway.enroll', `gateway ${row.name}`, null, { version: version ?? null });
    return { gatewayId: row.id, name: row.name, credential };
  }

  /** The gateway a bearer credential belongs to, or null (unknown, revoked, replaced). */
  authenticate(header: string | undefined): GatewayRow | null {
    const m = /^Bearer\s+(\S+)$/.exec(header ?? '');
    if (!m) return null;
    const credential = m[1]!;
    const id = credential.split('.')[0] ?? '';
    const row = this.m.db.select().from(gateways).where(eq(gateways.id, id)).get();
    if (!row || row.revokedAt !== null || !row.credentialHash) return null;
    const a = Buffer.from(row.credentialHash);
    const b = Buffer.from(sha256(credential));
    return a.length === b.length && timingSafeEqual(a, b) ? row : null;
  }

  disconnect(gatewayId: string, code: number, reason: string): void {
    const link = this.links.get(gatewayId);
    if (link) {
      this.links.delete(gatewayId);
      link.ws.close(code, reason);
    }
  }

  closeAll(): void {
    clearInterval(this.watchdog);
    for (const id of [...this.links.keys()]) this.disconnect(id, 1001, 'manager shutting down');
  }

  /** Whether fleet-link frames are parsed on the parser thread (not on the event loop). */
  get parserThreaded(): boolean {
    return this.parser.threaded;
  }

  /** Starts the frame parser thread (the first link does it anyway). */
  startParser(): void {
    this.parser.start();
  }

  /** Resolves once the parser thread (started by the first link) takes frames: true, or false if it could not. */
  parserReady(): Promise<boolean> {
    return this.parser.ready;
  }

  /** Stops the frame parser thread (after closeAll; frames still in it are prepared inline). */
  async close(): Promise<void> {
    this.closing = true; // frames still in the parser are dropped: never acked, the gateways send them again
    await this.parser.close();
  }

  attach(ws: WebSocket, row: GatewayRow, address: string): void {
    this.parser.start();
    this.disconnect(row.id, 4001, 'replaced by a newer connection');
    const link: Link = { ws, gatewayId: row.id, name: row.name, lastSeen: Date.now(), unhandledBytes: 0 };
    this.links.set(row.id, link);
    this.touch(row.id, { address, lastSeenAt: this.m.now() });
    ws.on('close', () => {
      if (this.links.get(row.id) === link) this.links.delete(row.id);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      link.lastSeen = Date.now();
      if (isBinary) return this.send(link, { type: 'error', message: 'frames are JSON text' });
      // Parsed and validated on the parser thread; results come back in arrival order.
      link.unhandledBytes += data.length;
      if (link.unhandledBytes > LINK_BACKLOG_BYTES && !ws.isPaused) ws.pause();
      void this.parser.prepare(data, row.name).then((frame) => this.received(link, frame, data.length));
    });
    this.send(link, {
      type: 'welcome',
      gatewayId: row.id,
      name: row.name,
      serverTime: new Date(this.m.now()).toISOString(),
      heartbeatSeconds: this.m.options.heartbeatSeconds,
    });
  }

  private send(link: Link, msg: ManagerMessage): void {
    if (link.ws.readyState === link.ws.OPEN) link.ws.send(JSON.stringify(msg));
  }

  private touch(id: string, set: Partial<GatewayRow>): void {
    this.m.db.update(gateways).set(set).where(eq(gateways.id, id)).run();
  }

  private handled(link: Link, bytes: number): void {
    link.unhandledBytes -= bytes;
    if (link.ws.isPaused && link.unhandledBytes <= LINK_BACKLOG_BYTES / 2) link.ws.resume();
  }

  private received(link: Link, frame: PreparedFrame, bytes: number): void {
    if (this.closing) return;
    if (frame.kind !== 'events') this.handled(link, bytes);
    try {
      if (frame.kind === 'error') return this.send(link, { type: 'error', message: frame.message });
      if (frame.kind === 'events') {
        this.pendingBatches.push({ link, epoch: frame.epoch, first: frame.first, last: frame.last, packed: frame.packed, bytes });
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => this.flush());
        }
        return;
      }
      this.handle(link, frame.message);
    } catch (err) {
      this.m.options.log(`fleet: ${link.name}: ${(err as Error).message}`);
      this.send(link, { type: 'error', message: 'manager could not process the message' });
    }
  }

  private handle(link: Link, msg: Exclude<GatewayMessage, { type: 'events' }>): void {
    const now = this.m.now();
    switch (msg.type) {
      case 'hello': {
        this.touch(link.gatewayId, { lastSeenAt: now, version: msg.version ?? null, installedRevision: msg.installedRevision, installedHash: msg.installedHash });
        this.catchUp(link, msg.installedRevision, msg.installedHash);
        return;
      }
      case 'heartbeat': {
        this.touch(link.gatewayId, {
          lastSeenAt: now,
          installedRevision: msg.installedRevision,
          health: msg.status,
          detail: msg.detail ?? null,
          counters: JSON.stringify(msg.counters),
        });
        return;
      }
      case 'install-result': {
        const status: InstallStatus = msg.status;
        this.m.db
          .update(installResults)
          .set({ status, reason: msg.reason ?? null, updatedAt: now })
          .where(and(eq(installResults.installId, msg.installId), eq(installResults.gatewayId, link.gatewayId)))
          .run();
        if (status === 'installed') this.touch(link.gatewayId, { installedRevision: msg.revision, installedHash: msg.hash, lastSeenAt: now });
        this.waiters.get(`${msg.installId}:${link.gatewayId}`)?.(status);
        return;
      }
    }
  }

  /** Group commit: every batch that arrived since the last flush, one transaction, then the acks. */
  private flush(): void {
    this.flushScheduled = false;
    const batches = this.pendingBatches;
    this.pendingBatches = [];
    if (batches.length === 0 || this.closing) return;
    for (const b of batches) this.handled(b.link, b.bytes);
    const now = this.m.now();
    let inserted: ReturnType<typeof this.m.events.ingestPacked>;
    try {
      inserted = this.m.events.ingestPacked(
        batches.map((b) => ({ gatewayId: b.link.gatewayId, epoch: b.epoch, packed: b.packed })),
        now,
      );
    } catch (err) {
      // Nothing acknowledged: the gateways keep the events and send them again.
      this.m.options.log(`fleet: committing ${batches.length} event batches failed: ${(err as Error).message}`);
      for (const b of batches) this.send(b.link, { type: 'error', message: 'manager could not store the events; they will be re-sent' });
      return;
    }
    batches.forEach((b) => {
      // Committed (or already stored): the gateway may delete them now.
      this.send(b.link, { type: 'ack', epoch: b.epoch, first: b.first, last: b.last });
    });
    this.m.live.publish(
      committedPacked(
        batches.map((b, i) => ({ gatewayId: b.link.gatewayId, packed: b.packed, inserted: inserted[i]! })),
        new Date(now).toISOString(),
      ),
    );
  }

  /** A gateway that missed its target revision (it was down during the install) gets it now. */
  private catchUp(link: Link, installedRevision: number | null, installedHash: string | null): void {
    const row = this.m.db.select().from(gateways).where(eq(gateways.id, link.gatewayId)).get();
    if (!row || row.targetInstallId === null || row.targetRevision === null) return;
    const result = this.m.db
      .select()
      .from(installResults)
      .where(and(eq(installResults.installId, row.targetInstallId), eq(installResults.gatewayId, link.gatewayId)))
      .get();
    if (!result) return;
    if (installedRevision === row.targetRevision && installedHash === result.hash) {
      if (result.status !== 'installed') {
        this.m.db.update(installResults).set({ status: 'installed', reason: null, updatedAt: this.m.now() }).where(and(eq(installResults.installId, row.targetInstallId), eq(installResults.gatewayId, link.gatewayId))).run();
      }
      return;
    }
    if (result.status === 'failed') return; // the gateway refused it; an admin must install again
    this.push(link, row.targetInstallId, row.targetRevision, result.profile, result.hash);
  }

  private push(link: Link, installId: number, revision: number, profile: string, hash: string): void {
    const rev = this.m.db.select({ policies: revisions.policies }).from(revisions).where(eq(revisions.number, revision)).get();
    if (!rev) return;
    const policy = (JSON.parse(rev.policies) as Record<string, Policy>)[profile];
    if (!policy) return;
    this.send(link, { type: 'install', installId, revision, hash, profile, policy });
  }

  /**
   * Install Policy: compiles `doc` into a new revision, sends it to each target and waits for
   * every answer or the timeout. Targets that did not answer are "unreachable" (they still get
   * the revision when they next connect).
   */
  async install(args: { username: string; comment: string; gatewayIds?: string[]; document: PolicyDocument; rollbackOf?: number }): Promise<Install> {
    const { username } = args;
    const now = this.m.now();
    let targets: GatewayRow[];
    if (args.gatewayIds) {
      targets = [];
      args.gatewayIds.forEach((id, i) => {
        const row = this.m.db.select().from(gateways).where(eq(gateways.id, id)).get() ?? this.m.db.select().from(gateways).where(eq(gateways.name, id)).get();
        if (!row) throw badRequest(`body.gateways.${i}`, `no gateway ${JSON.stringify(id)}`);
        if (row.revokedAt !== null) throw badRequest(`body.gateways.${i}`, `gateway ${row.name} is revoked`);
        if (row.enrolledAt === null) throw badRequest(`body.gateways.${i}`, `gateway ${row.name} has not enrolled yet`);
        if (!targets.some((t) => t.id === row.id)) targets.push(row);
      });
    } else {
      targets = this.m.db.select().from(gateways).where(and(isNull(gateways.revokedAt), isNotNull(gateways.enrolledAt))).all();
    }
    const doc = args.document;
    const { installId, revision, sends } = this.m.store.sqlite.transaction(() => {
      const last = this.m.lastRevision();
      const revision = (last?.number ?? 0) + 1;
      const policies: Record<string, Policy> = {};
      for (const p of doc.profiles) policies[p.name] = compilePolicy(doc, p, revision);
      this.m.db
        .insert(revisions)
        .values({ number: revision, createdAt: now, createdBy: username, comment: args.comment, rollbackOf: args.rollbackOf ?? null, document: JSON.stringify(doc), policies: JSON.stringify(policies) })
        .run();
      const installId = Number(
        this.m.db.insert(installs).values({ revision, createdAt: now, createdBy: username, comment: args.comment, done: false }).run().lastInsertRowid,
      );
      const sends: { gatewayId: string; profile: string; hash: string; policy: Policy }[] = [];
      for (const g of targets) {
        const profile = profileFor(doc, g.id).name;
        const policy = policies[profile]!;
        const hash = policyHash(policy);
        this.m.db.insert(installResults).values({ installId, gatewayId: g.id, gatewayName: g.name, profile, hash, status: 'pending', reason: null, updatedAt: now }).run();
        this.m.db.update(gateways).set({ targetRevision: revision, targetInstallId: installId }).where(eq(gateways.id, g.id)).run();
        sends.push({ gatewayId: g.id, profile, hash, policy });
      }
      this.m.replaceDraft(doc, username);
      this.m.audit(username, args.rollbackOf ? 'policy.rollback' : 'policy.install', `revision ${revision}`, last ? { revision: last.number } : null, {
        revision,
        comment: args.comment,
        gateways: targets.map((t) => t.name),
        ...(args.rollbackOf ? { rollbackOf: args.rollbackOf } : {}),
      });
      return { installId, revision, sends };
    })();

    await Promise.all(
      sends.map(
        (s) =>
          new Promise<void>((resolve) => {
            const key = `${installId}:${s.gatewayId}`;
            const timer = setTimeout(() => {
              this.waiters.delete(key);
              this.m.db
                .update(installResults)
                .set({ status: 'unreachable', reason: this.isOnline(s.gatewayId) ? 'no answer before the install timeout' : 'gateway not connected', updatedAt: this.m.now() })
                .where(and(eq(installResults.installId, installId), eq(installResults.gatewayId, s.gatewayId), eq(installResults.status, 'pending')))
                .run();
              resolve();
            }, this.m.options.installTimeoutMs);
            this.waiters.set(key, () => {
              clearTimeout(timer);
              this.waiters.delete(key);
              resolve();
            });
            const link = this.links.get(s.gatewayId);
            if (link) this.send(link, { type: 'install', installId, revision, hash: s.hash, profile: s.profile, policy: s.policy });
          }),
      ),
    );
    this.m.db.update(installs).set({ done: true }).where(eq(installs.id, installId)).run();
    return this.installView(installId)!;
  }

  installView(id: number): Install | null {
    const row = this.m.db.select().from(installs).where(eq(installs.id, id)).get();
    if (!row) return null;
    const results = this.m.db.select().from(installResults).where(eq(installResults.installId, id)).all();
    return {
      id: row.id,
      revision: row.revision,
      createdAt: new Date(row.createdAt).toISOString(),
      createdBy: row.createdBy,
      comment: row.comment,
      done: row.done,
      results: results.map((r) => ({
        gatewayId: r.gatewayId,
        gateway: r.gatewayName,
        profile: r.profile,
        status: r.status,
        reason: r.reason,
        updatedAt: new Date(r.updatedAt).toISOString(),
      })),
    };
  }

  installList(limit = 50): Install[] {
    return this.m.db
      .select({ id: installs.id })
      .from(installs)
      .orderBy(desc(installs.id))
      .limit(limit)
      .all()
      .map((r) => this.installView(r.id)!);
  }

  gatewayRow(id: string): GatewayRow {
    const row = this.m.db.select().from(gateways).where(eq(gateways.id, id)).get();
    if (!row) throw notFound(`gateway ${id}`);
    return row;
  }

  rowsByIds(ids: string[]): GatewayRow[] {
    return ids.length ? this.m.db.select().from(gateways).where(inArray(gateways.id, ids)).all() : [];
  }
}
