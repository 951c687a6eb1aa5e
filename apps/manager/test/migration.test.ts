import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import { clientKey } from '../src/db/client-key.js';
import { openStore } from '../src/db/open.js';
import { EventStore } from '../src/services/events.js';
import { makeEvent } from './fixtures.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database as the manager left it at migration `last` (the migrations folder cut after it). */
function databaseAt(last: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'smtpguard-manager-migration-'));
  dirs.push(dir);
  const migrations = join(dir, 'drizzle');
  cpSync(fileURLToPath(new URL('../drizzle', import.meta.url)), migrations, { recursive: true });
  const journalFile = join(migrations, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx <= last);
  writeFileSync(journalFile, JSON.stringify(journal));
  const file = join(dir, 'manager.db');
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  migrate(drizzle(sqlite), { migrationsFolder: migrations });
  return file;
}

describe('migrations', () => {
  it('0004 upgrades a store with events: client_key filled for every row, the client filter served by the new index', async () => {
    const file = databaseAt(3);
    const old = new Database(file);
    const insert = old.prepare(
      `INSERT INTO events (gateway_id, epoch, seq, time, received_at, protection_id, attack_name, action, client_address, text, data)
       VALUES ('gw_a', 1, ?, ?, 0, 'starttls', 'SMTP Policy Violation', 'prevent', ?, 'x', ?)`,
    );
    const addresses = ['192.0.2.10', '2001:db8::1', '192.0.2.11', '192.0.2.10'];
    addresses.forEach((address, i) => {
      const e = { ...makeEvent('starttls', { client: { address, port: 1000 + i } }), gateway: 'gw-a' };
      insert.run(i + 1, Date.parse(e.time), address, JSON.stringify(e));
    });
    expect(old.prepare("SELECT count(*) FROM pragma_index_list('events') WHERE name = 'events_client_time'").pluck().get()).toBe(1);
    old.close();

    const store = openStore(file);
    try {
      const rows = store.sqlite.prepare('SELECT client_address AS a, client_key AS k FROM events ORDER BY id').all() as { a: string; k: number }[];
      expect(rows.map((r) => r.k)).toEqual(addresses.map(clientKey));
      const indexes = (store.sqlite.prepare("SELECT name FROM pragma_index_list('events')").pluck().all() as string[]).sort();
      expect(indexes).toContain('events_client_key_time');
      expect(indexes).not.toContain('events_client_time');

      const events = new EventStore(store.sqlite, { gatewayIds: (n) => n });
      expect(events.query({ client: '192.0.2.10', limit: 10 }).events.map((e) => e.seq)).toEqual([4, 1]);
      expect(events.query({ client: '[2001:db8::1]', limit: 10 }).events.map((e) => e.client.port)).toEqual([1001]);
      const plan = store.sqlite
        .prepare('EXPLAIN QUERY PLAN SELECT id FROM events WHERE client_key = ? AND client_address = ? ORDER BY time DESC, id DESC LIMIT 100')
        .all(clientKey('192.0.2.10'), '192.0.2.10') as { detail: string }[];
      expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX events_client_key_time/);
      // New events get their key at insert.
      events.ingest('gw_a', 'gw-a', 1, [{ seq: 5, event: makeEvent('starttls', { client: { address: '192.0.2.11', port: 9 } }) }]);
      expect(events.query({ client: '192.0.2.11', limit: 10 }).events.map((e) => e.seq)).toEqual([5, 3]);
    } finally {
      await store.close();
    }
  });
});
