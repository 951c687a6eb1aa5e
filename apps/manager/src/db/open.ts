import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { fileURLToPath } from 'node:url';
import { addressInCidr } from '@smtpguard/contracts';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { clientKey } from './client-key.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema>;
export interface Store {
  sqlite: Database.Database;
  db: Db;
  /** Copies the WAL into the database file off the event loop (null for an in-memory database). */
  checkpointer: Checkpointer | null;
  /** Stops the checkpoint thread, then closes the connection (which checkpoints what is left). */
  close(): Promise<void>;
}

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** SQLite's own auto-checkpoint, inside the committing transaction: the default (and the fallback without the thread). */
const WRITER_CHECKPOINT_PAGES = 4000;
/** With the checkpoint thread: only a safety net, far above what the thread lets the WAL grow to. */
const SAFETY_NET_CHECKPOINT_PAGES = 16000;

/** Opens (or creates) the database, sets the pragmas once and applies the committed migrations. */
export function openStore(file: string, options: { nativeBinding?: string; log?: (line: string) => void } = {}): Store {
  const sqlite = new Database(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  // WAL + synchronous=NORMAL: a commit is appended to the WAL without an fsync; the WAL is
  // fsynced at each checkpoint. A crash of the process loses nothing committed; a power loss
  // may lose the last commits before the checkpoint but never corrupts the database.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -131072'); // 128 MiB: the hot index pages of a million-event store stay in memory
  sqlite.pragma('mmap_size = 268435456');
  sqlite.pragma("temp_store = MEMORY");
  sqlite.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
  sqlite.function('in_cidr', { deterministic: true }, (address: unknown, cidr: unknown) =>
    addressInCidr(String(address), String(cidr)) ? 1 : 0,
  );
  // Used by migration 0004 to fill client_key for the rows stored before it.
  sqlite.function('client_key', { deterministic: true }, (address: unknown) => clientKey(String(address)));
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });

  let checkpointer: Checkpointer | null = null;
  if (!sqlite.memory) {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    checkpointer = startCheckpointer(sqlite.name, {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      onError: (message, fatal) => {
        log(`smtpguard manager: ${message}${fatal ? '; the writer checkpoints again' : ''}`);
        if (fatal && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
      },
    });
    sqlite.pragma(`wal_autocheckpoint = ${SAFETY_NET_CHECKPOINT_PAGES}`);
  }
  return {
    sqlite,
    db,
    checkpointer,
    async close() {
      await checkpointer?.close();
      sqlite.pragma('optimize');
      sqlite.close();
    },
  };
}
