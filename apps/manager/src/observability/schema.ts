import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Log export state: one row (id 1). `config` is the stored configuration (JSON, including the
 * TLS private key, never returned by the API); `cursor` is the id of the last event forwarded,
 * advanced only after a successful write, so a restart resumes after it.
 */
export const logExport = sqliteTable('log_export', {
  id: integer('id').primaryKey(),
  config: text('config'),
  cursor: integer('cursor'),
  updatedAt: integer('updated_at').notNull(),
  updatedBy: text('updated_by'),
});
