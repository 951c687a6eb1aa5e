import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { fileURLToPath } from 'node:url';
import { addressInCidr } from '@smtpguard/contracts';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;
export interface Store {
  sqlite: Database.Database;
  db: Db;
}

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Opens (or creates) the database, sets the pragmas once and applies the committed migrations. */
export function openStore(file: string, options: { nativeBinding?: string } = {}): Store {
  const sqlite = new Database(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -131072'); // 128 MiB: the hot index pages of a million-event store stay in memory
  sqlite.pragma('mmap_size = 268435456');
  sqlite.pragma("temp_store = MEMORY");
  sqlite.pragma("wal_autocheckpoint = 4000");
  sqlite.function('in_cidr', { deterministic: true }, (address: unknown, cidr: unknown) =>
    addressInCidr(String(address), String(cidr)) ? 1 : 0,
  );
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return { sqlite, db };
}
