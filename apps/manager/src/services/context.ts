import { desc, eq } from 'drizzle-orm';
import { zManagerSettings, type ManagerSettings, type PolicyDocument } from '@smtpguard/contracts';
import type { Store } from '../db/open.js';
import { audit, gateways, kv, revisions } from '../db/schema.js';
import { EventStore } from './events.js';
import { LiveHub } from './live.js';
import { initialDocument } from './policy.js';

export interface ManagerOptions {
  installTimeoutMs: number;
  heartbeatSeconds: number;
  enrollKeyTtlMs: number;
  liveQueueBytes: number;
  now: () => number;
  log: (line: string) => void;
}

export const DEFAULT_SETTINGS: ManagerSettings = { retentionDays: 30, retentionMaxRows: 10_000_000 };

/** Everything the routes and the fleet link share. */
export class Manager {
  readonly events: EventStore;
  readonly live: LiveHub;
  private nameCache = new Map<string, string>();

  constructor(
    readonly store: Store,
    readonly options: ManagerOptions,
  ) {
    this.events = new EventStore(store.sqlite, { gatewayIds: (n) => this.gatewayIds(n), afterCommit: (rows) => store.checkpointer?.written(rows) });
    this.live = new LiveHub((n) => this.gatewayIds(n), options.liveQueueBytes);
  }

  get db() {
    return this.store.db;
  }
  now(): number {
    return this.options.now();
  }

  /** Gateway names or ids -> ids (unknown names map to nothing, so they match nothing). */
  gatewayIds(namesOrIds: string[]): string[] {
    const out: string[] = [];
    for (const v of namesOrIds) {
      let id = this.nameCache.get(v);
      if (id === undefined) {
        const row = this.db.select({ id: gateways.id }).from(gateways).where(eq(gateways.name, v)).get() ?? this.db.select({ id: gateways.id }).from(gateways).where(eq(gateways.id, v)).get();
        id = row?.id ?? '';
        if (row) this.nameCache.set(v, id);
      }
      out.push(id || `unknown:${v}`);
    }
    return out;
  }
  gatewayName(id: string): string {
    return this.db.select({ name: gateways.name }).from(gateways).where(eq(gateways.id, id)).get()?.name ?? id;
  }

  audit(username: string, action: string, target: string, before: unknown, after: unknown): void {
    this.db
      .insert(audit)
      .values({
        time: this.now(),
        username,
        action,
        target,
        before: before === undefined || before === null ? null : JSON.stringify(before),
        after: after === undefined || after === null ? null : JSON.stringify(after),
      })
      .run();
  }

  private kvGet(key: string) {
    return this.db.select().from(kv).where(eq(kv.key, key)).get();
  }
  private kvSet(key: string, value: unknown, by: string | null) {
    const row = { key, value: JSON.stringify(value), updatedAt: this.now(), updatedBy: by };
    this.db.insert(kv).values(row).onConflictDoUpdate({ target: kv.key, set: row }).run();
  }

  lastRevision(): { number: number; document: PolicyDocument } | null {
    const row = this.db.select({ number: revisions.number, document: revisions.document }).from(revisions).orderBy(desc(revisions.number)).limit(1).get();
    return row ? { number: row.number, document: JSON.parse(row.document) as PolicyDocument } : null;
  }

  draft(): { document: PolicyDocument; updatedAt: number | null; updatedBy: string | null } {
    const row = this.kvGet('draft');
    if (!row) return { document: this.lastRevision()?.document ?? initialDocument(), updatedAt: null, updatedBy: null };
    return { document: JSON.parse(row.value) as PolicyDocument, updatedAt: row.updatedAt, updatedBy: row.updatedBy };
  }

  /**
   * Edits the draft in one transaction and audits it. `mutate` changes a copy and returns
   * `{before, after}` of the edited part (what the audit log shows) plus any result.
   */
  editDraft<R>(username: string, action: string, target: string, mutate: (doc: PolicyDocument) => { before: unknown; after: unknown; result: R }): R {
    return this.store.sqlite.transaction(() => {
      const doc = structuredClone(this.draft().document);
      const { before, after, result } = mutate(doc);
      this.kvSet('draft', doc, username);
      this.audit(username, action, target, before, after);
      return result;
    })();
  }

  replaceDraft(document: PolicyDocument, username: string): void {
    this.kvSet('draft', document, username);
  }

  settings(): ManagerSettings {
    const row = this.kvGet('settings');
    return row ? zManagerSettings.parse(JSON.parse(row.value)) : DEFAULT_SETTINGS;
  }
  saveSettings(s: ManagerSettings, by: string) {
    this.kvSet('settings', s, by);
  }
}
