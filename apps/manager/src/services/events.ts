import type Database from 'better-sqlite3';
import type { EventFilters, InspectionEvent, SpooledEvent, StoredEvent } from '@smtpguard/contracts';
import { CATALOG, addressInCidr, isProtectionId } from '@smtpguard/contracts';
import { clientKey } from '../db/client-key.js';
import { badRequest } from '../errors.js';

export interface Retention {
  retentionDays: number;
  retentionMaxRows: number;
}

interface Where {
  sql: string;
  args: unknown[];
}

/** The free-text column: what the `q` filter searches, lower-cased once at insert. */
function searchText(e: InspectionEvent): string {
  return `${e.command}\n${e.detail}\n${e.context.helo ?? ''}\n${e.context.mailFrom ?? ''}`.toLowerCase();
}

/** The `data` column: the event's JSON with the receiving gateway's name as `gateway` (it wins over any name the event carried). */
function storedJson(e: InspectionEvent, gatewayName: string, nameJson: string): string {
  if (e.gateway !== undefined) return JSON.stringify({ ...e, gateway: gatewayName });
  const json = JSON.stringify(e);
  return `${json.slice(0, -1)},"gateway":${nameJson}}`;
}

/**
 * A batch of validated events ready to insert. The six text columns of every event
 * (protection_id, attack_name, action, client_address, text, data) end to end in one string:
 * column c of event i ends at ends[6 * i + c]. One string and four typed arrays cross a
 * thread boundary for the price of a copy (the arrays are moved), where the events' objects
 * would be serialised field by field.
 */
export interface PackedBatch {
  n: number;
  seqs: Float64Array;
  /** Event times, unix ms. */
  times: Float64Array;
  /** clientKey() of each event's client address. */
  clientKeys: Float64Array;
  strings: string;
  ends: Uint32Array;
}

/** What ingestPacked stored of one batch: `count` events with ids firstId.., at these indexes of the batch (null: all, in order). */
export interface Inserted {
  count: number;
  firstId: number;
  indexes: number[] | null;
}

/** The columns of a batch of validated events: the search text, and the JSON the API serves (the event plus its gateway's name). */
export function packEvents(batch: SpooledEvent[], gatewayName: string): PackedBatch {
  const n = batch.length;
  const seqs = new Float64Array(n);
  const times = new Float64Array(n);
  const clientKeys = new Float64Array(n);
  const ends = new Uint32Array(6 * n);
  const parts: string[] = new Array(6 * n);
  const nameJson = JSON.stringify(gatewayName);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const { seq, event: e } = batch[i]!;
    seqs[i] = seq;
    times[i] = Date.parse(e.time);
    clientKeys[i] = clientKey(e.client.address);
    const cols = [e.protectionId, e.attackName, e.action, e.client.address, searchText(e), storedJson(e, gatewayName, nameJson)];
    for (let c = 0; c < 6; c++) {
      const v = cols[c]!;
      parts[6 * i + c] = v;
      at += v.length;
      ends[6 * i + c] = at;
    }
  }
  return { n, seqs, times, clientKeys, strings: parts.join(''), ends };
}

/**
 * Events just committed, as the live stream and the metrics see them. Building the event
 * objects costs about what parsing them did: done only when asked (a live console is open).
 */
export interface Committed {
  readonly size: number;
  /** Protection and action of each event: what the metrics count. */
  forEachKind(fn: (protectionId: string, action: string) => void): void;
  events(): StoredEvent[];
}

export function committedEvents(events: StoredEvent[]): Committed {
  return {
    size: events.length,
    forEachKind: (fn) => {
      for (const e of events) fn(e.protectionId, e.action);
    },
    events: () => events,
  };
}

/** The committed part of packed batches (as ingestPacked reported it), in commit order. */
export function committedPacked(batches: { gatewayId: string; packed: PackedBatch; inserted: Inserted }[], receivedAt: string): Committed {
  const each = (fn: (p: PackedBatch, i: number, id: number, gatewayId: string) => void) => {
    for (const { gatewayId, packed, inserted } of batches) {
      for (let k = 0; k < inserted.count; k++) fn(packed, inserted.indexes ? inserted.indexes[k]! : k, inserted.firstId + k, gatewayId);
    }
  };
  let built: StoredEvent[] | null = null;
  return {
    size: batches.reduce((n, b) => n + b.inserted.count, 0),
    forEachKind: (fn) =>
      each((p, i) => {
        const start = i === 0 ? 0 : p.ends[6 * i - 1]!;
        fn(p.strings.slice(start, p.ends[6 * i]!), p.strings.slice(p.ends[6 * i + 1]!, p.ends[6 * i + 2]!));
      }),
    events: () => {
      if (built) return built;
      const out: StoredEvent[] = [];
      each((p, i, id, gatewayId) => {
        const e = JSON.parse(p.strings.slice(p.ends[6 * i + 4]!, p.ends[6 * i + 5]!)) as StoredEvent;
        e.id = id;
        e.gatewayId = gatewayId;
        e.seq = p.seqs[i]!;
        e.receivedAt = receivedAt;
        out.push(e);
      });
      built = out;
      return out;
    },
  };
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function encodeCursor(time: number, id: number): string {
  return Buffer.from(`${time}:${id}`).toString('base64url');
}
function decodeCursor(cursor: string): [number, number] {
  const m = /^(-?\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw badRequest('query.cursor', 'not a cursor returned by this API');
  return [Number(m[1]), Number(m[2])];
}

/**
 * The tracker log in SQLite. Ingestion is one synchronous transaction per batch with
 * INSERT OR IGNORE on (gateway, epoch, seq): a re-sent batch stores nothing twice.
 */
export class EventStore {
  private readonly inserts = new Map<number, Database.Statement>();
  private readonly gatewayIds: (names: string[]) => string[];
  private readonly afterCommit: (rows: number) => void;
  /** The last id ever given (AUTOINCREMENT's counter; max(id) too, should the counter row be missing). */
  private readonly lastIdStatement: Database.Statement;
  private readonly storedSeqs: Database.Statement;

  constructor(
    private readonly sqlite: Database.Database,
    options: {
      gatewayIds: (namesOrIds: string[]) => string[];
      /** Rows written by a committed transaction (the background checkpoint counts them). */
      afterCommit?: (rows: number) => void;
    },
  ) {
    this.gatewayIds = options.gatewayIds;
    this.afterCommit = options.afterCommit ?? (() => {});
    this.lastIdStatement = sqlite
      .prepare("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), coalesce((SELECT max(id) FROM events), 0))")
      .pluck();
    this.storedSeqs = sqlite.prepare('SELECT seq FROM events WHERE gateway_id = ? AND epoch = ? AND seq BETWEEN ? AND ?').pluck();
  }

  /**
   * One INSERT for `rows` events: far fewer statement steps than one per row. Ids are given
   * explicitly (see ingestMany), so no RETURNING: reading rows back costs more than the insert.
   * OR FAIL, not the default ABORT: ABORT makes SQLite copy every page a multi-row statement
   * touches into a statement journal first, to undo just that statement; a failure here
   * rolls the whole transaction back anyway.
   */
  private insertStatement(rows: number): Database.Statement {
    let stmt = this.inserts.get(rows);
    if (!stmt) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      stmt = this.sqlite.prepare(
        `INSERT OR FAIL INTO events (id, gateway_id, epoch, seq, time, received_at, protection_id, attack_name, action, client_address, text, data, client_key)
         VALUES ${values}`,
      );
      this.inserts.set(rows, stmt);
    }
    return stmt;
  }

  /** Commits a batch in one synchronous transaction; returns the events that were new (duplicates are skipped). */
  ingest(gatewayId: string, gatewayName: string, epoch: number, batch: SpooledEvent[], now = Date.now()): StoredEvent[] {
    return this.ingestMany([{ gatewayId, gatewayName, epoch, batch }], now)[0]!;
  }

  /**
   * Commits several batches (from any gateways) in ONE synchronous transaction: a commit
   * rewrites every page it touched, so fewer, larger commits write far fewer pages per event.
   * Returns, per batch, the events that were new, as StoredEvents.
   */
  ingestMany(batches: { gatewayId: string; gatewayName: string; epoch: number; batch: SpooledEvent[] }[], now = Date.now()): StoredEvent[][] {
    const receivedAt = new Date(now).toISOString();
    const inserted = this.ingestPacked(
      batches.map((b) => ({ gatewayId: b.gatewayId, epoch: b.epoch, packed: packEvents(b.batch, b.gatewayName) })),
      now,
    );
    return inserted.map((ins, j) => {
      const { gatewayId, gatewayName, batch } = batches[j]!;
      const stored: StoredEvent[] = new Array(ins.count);
      for (let k = 0; k < ins.count; k++) {
        const item = batch[ins.indexes ? ins.indexes[k]! : k]!;
        const s = Object.assign({}, item.event) as StoredEvent; // a copy (no spread: several times slower)
        s.gateway = gatewayName;
        s.id = ins.firstId + k;
        s.gatewayId = gatewayId;
        s.seq = item.seq;
        s.receivedAt = receivedAt;
        stored[k] = s;
      }
      return stored;
    });
  }

  /**
   * The insert itself, from packed batches (see packEvents: the fleet link packs them on its
   * parser thread). One transaction for all of them.
   *
   * Exactly once: inside the transaction (the only writer), the sequence numbers of the batch
   * already stored for (gateway, epoch) are read with one range probe of the unique index, and
   * only the others are inserted; a re-sent batch stores nothing. The unique index stays the
   * guard: a duplicate that got through anyway fails the whole transaction (nothing acked).
   *
   * Ids continue AUTOINCREMENT's sequence (never reused, even after retention emptied the
   * table) and are assigned here in batch order, so the insert needs no RETURNING.
   */
  ingestPacked(batches: { gatewayId: string; epoch: number; packed: PackedBatch }[], now = Date.now()): Inserted[] {
    const CHUNK = 64;
    const W = 13;
    const run = this.sqlite.transaction(() => {
      let id = this.lastIdStatement.get() as number;
      return batches.map(({ gatewayId, epoch, packed: p }): Inserted => {
        const indexes = this.notStored(gatewayId, epoch, p.seqs);
        const count = indexes ? indexes.length : p.n;
        const firstId = id + 1;
        const { strings, ends, seqs, times, clientKeys } = p;
        for (let start = 0; start < count; start += CHUNK) {
          const end = Math.min(count, start + CHUNK);
          const params: unknown[] = new Array((end - start) * W);
          let k = 0;
          for (let j = start; j < end; j++) {
            const i = indexes ? indexes[j]! : j;
            let at = i === 0 ? 0 : ends[6 * i - 1]!;
            id += 1;
            params[k++] = id;
            params[k++] = gatewayId;
            params[k++] = epoch;
            params[k++] = seqs[i];
            params[k++] = times[i];
            params[k++] = now;
            for (let c = 6 * i; c < 6 * i + 6; c++) {
              const to = ends[c]!;
              params[k++] = strings.slice(at, to);
              at = to;
            }
            params[k++] = clientKeys[i];
          }
          this.insertStatement(end - start).run(params);
        }
        return { count, firstId, indexes };
      });
    });
    const inserted = run();
    this.afterCommit(inserted.reduce((n, b) => n + b.count, 0));
    return inserted;
  }

  /** Indexes (into `seqs`) of the events not stored yet, each sequence number once; null: all of them. */
  private notStored(gatewayId: string, epoch: number, seqs: Float64Array): number[] | null {
    if (seqs.length === 0) return null;
    let lo = seqs[0]!;
    let hi = lo;
    let ascending = true;
    for (let i = 1; i < seqs.length; i++) {
      const seq = seqs[i]!;
      if (seq <= hi) ascending = false;
      if (seq > hi) hi = seq;
      if (seq < lo) lo = seq;
    }
    const existing = this.storedSeqs.all(gatewayId, epoch, lo, hi) as number[];
    if (existing.length === 0 && ascending) return null;
    const seen = new Set(existing);
    const fresh: number[] = [];
    for (let i = 0; i < seqs.length; i++) {
      if (seen.has(seqs[i]!)) continue;
      seen.add(seqs[i]!);
      fresh.push(i);
    }
    return fresh;
  }

  private where(f: EventFilters): Where {
    const parts: string[] = [];
    const args: unknown[] = [];
    if (f.from) {
      parts.push('time >= ?');
      args.push(Date.parse(f.from));
    }
    if (f.to) {
      parts.push('time < ?');
      args.push(Date.parse(f.to));
    }
    const list = (col: string, values: string[]) => {
      if (values.length === 1) {
        parts.push(`${col} = ?`);
        args.push(values[0]);
      } else {
        parts.push(`${col} IN (${values.map(() => '?').join(',')})`);
        args.push(...values);
      }
    };
    if (f.protection?.length) list('protection_id', f.protection);
    if (f.action?.length) list('action', f.action);
    if (f.attackName) list('attack_name', [f.attackName]);
    if (f.gateway?.length) list('gateway_id', this.gatewayIds(f.gateway).concat(f.gateway.length ? [] : []));
    if (f.client) {
      if (f.client.includes('/')) {
        parts.push('in_cidr(client_address, ?)');
        args.push(f.client);
      } else {
        const address = f.client.replace(/^\[|\]$/g, '');
        parts.push('client_key = ? AND client_address = ?');
        args.push(clientKey(address), address);
      }
    }
    if (f.q) {
      parts.push("text LIKE ? ESCAPE '\\'");
      args.push(`%${likeEscape(f.q.toLowerCase())}%`);
    }
    return { sql: parts.length ? parts.join(' AND ') : '1', args };
  }

  query(f: EventFilters & { limit: number; cursor?: string | undefined }): { events: StoredEvent[]; nextCursor: string | null } {
    const w = this.where(f);
    let sql = w.sql;
    const args = [...w.args];
    if (f.cursor) {
      const [t, id] = decodeCursor(f.cursor);
      sql += ' AND (time < ? OR (time = ? AND id < ?))';
      args.push(t, t, id);
    }
    const rows = this.sqlite
      .prepare(`SELECT id, gateway_id, seq, time, received_at, data FROM events WHERE ${sql} ORDER BY time DESC, id DESC LIMIT ?`)
      .all(...args, f.limit + 1) as Row[];
    const more = rows.length > f.limit;
    const page = more ? rows.slice(0, f.limit) : rows;
    const last = page[page.length - 1];
    return { events: page.map(toStored), nextCursor: more && last ? encodeCursor(last.time, last.id) : null };
  }

  stats(f: EventFilters, bucketSeconds?: number) {
    const w = this.where(f);
    const byProtection = (
      this.sqlite.prepare(`SELECT protection_id AS p, count(*) AS n FROM events WHERE ${w.sql} GROUP BY protection_id ORDER BY n DESC`).all(...w.args) as {
        p: string;
        n: number;
      }[]
    )
      .filter((r) => isProtectionId(r.p))
      .map((r) => ({ protectionId: r.p as keyof typeof CATALOG, name: CATALOG[r.p as keyof typeof CATALOG].name, count: r.n }));
    const total = byProtection.reduce((a, r) => a + r.count, 0);
    let bucket = bucketSeconds;
    if (!bucket) {
      const range = this.sqlite.prepare(`SELECT min(time) AS lo, max(time) AS hi FROM events WHERE ${w.sql}`).get(...w.args) as { lo: number | null; hi: number | null };
      const from = f.from ? Date.parse(f.from) : (range.lo ?? 0);
      const to = f.to ? Date.parse(f.to) : (range.hi ?? 0) + 1;
      bucket = Math.max(1, Math.ceil((to - from) / 1000 / 60));
    }
    const ms = bucket * 1000;
    const byTime = (
      this.sqlite.prepare(`SELECT (time / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS b, count(*) AS n FROM events WHERE ${w.sql} GROUP BY b ORDER BY b`).all(ms, ms, ...w.args) as { b: number; n: number }[]
    ).map((r) => ({ start: new Date(r.b).toISOString(), count: r.n }));
    return { total, byProtection, bucketSeconds: bucket, byTime };
  }

  /** Pages through the result (no open iterator: ingestion keeps running between pages). */
  *pages(f: EventFilters, limit: number, pageSize = 2000): Generator<StoredEvent[]> {
    let cursor: string | undefined;
    let left = limit;
    while (left > 0) {
      const page = this.query({ ...f, limit: Math.min(pageSize, left), cursor });
      if (page.events.length) yield page.events;
      left -= page.events.length;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  count(): number {
    return (this.sqlite.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  /** Deletes by age, then the oldest rows beyond the row budget, in chunks so ingestion is never held long. */
  applyRetention(r: Retention, now = Date.now()): number {
    let deleted = 0;
    const cutoff = now - r.retentionDays * 86_400_000;
    const byAge = this.sqlite.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? LIMIT 10000)');
    for (;;) {
      const n = byAge.run(cutoff).changes;
      deleted += n;
      if (n < 10000) break;
    }
    const excess = this.count() - r.retentionMaxRows;
    if (excess > 0) {
      const oldest = this.sqlite.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)');
      let left = excess;
      while (left > 0) {
        const n = oldest.run(Math.min(left, 10000)).changes;
        deleted += n;
        left -= n;
        if (n === 0) break;
      }
    }
    this.afterCommit(deleted);
    return deleted;
  }
}

interface Row {
  id: number;
  gateway_id: string;
  seq: number;
  time: number;
  received_at: number;
  data: string;
}

function toStored(r: Row): StoredEvent {
  const e = JSON.parse(r.data) as StoredEvent;
  e.id = r.id;
  e.gatewayId = r.gateway_id;
  e.seq = r.seq;
  e.receivedAt = new Date(r.received_at).toISOString();
  return e;
}

/** The same filters as a predicate, for the live stream. */
export function matches(f: EventFilters, e: StoredEvent, gatewayIds: (names: string[]) => string[]): boolean {
  const t = Date.parse(e.time);
  if (f.from && t < Date.parse(f.from)) return false;
  if (f.to && t >= Date.parse(f.to)) return false;
  if (f.protection?.length && !f.protection.includes(e.protectionId)) return false;
  if (f.action?.length && !f.action.includes(e.action)) return false;
  if (f.attackName && f.attackName !== e.attackName) return false;
  if (f.gateway?.length && !gatewayIds(f.gateway).includes(e.gatewayId)) return false;
  if (f.client) {
    if (f.client.includes('/')) {
      if (!addressInCidr(e.client.address, f.client)) return false;
    } else if (e.client.address !== f.client.replace(/^\[|\]$/g, '')) return false;
  }
  if (f.q && !searchText(e).includes(f.q.toLowerCase())) return false;
  return true;
}

const CSV_COLUMNS = [
  'id', 'time', 'gateway', 'connectionId', 'clientAddress', 'clientPort', 'serverAddress', 'serverPort', 'protectionId',
  'protectionName', 'attackName', 'attackInfo', 'action', 'severity', 'confidence', 'direction', 'command', 'detail',
  'helo', 'mailFrom', 'rcptCount', 'policyRevision',
] as const;

function csvCell(value: unknown): string {
  let s = value === undefined || value === null ? '' : String(value);
  // Spreadsheet formula injection: attacker text must never start a formula.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvHeader = () => `${CSV_COLUMNS.join(',')}\r\n`;
export function csvLine(e: StoredEvent): string {
  const values = [
    e.id, e.time, e.gateway, e.connectionId, e.client.address, e.client.port, e.server.address, e.server.port, e.protectionId,
    e.protectionName, e.attackName, e.attackInfo, e.action, e.severity, e.confidence, e.direction, e.command, e.detail,
    e.context.helo, e.context.mailFrom, e.context.rcptCount, e.policyRevision,
  ];
  return `${values.map(csvCell).join(',')}\r\n`;
}
