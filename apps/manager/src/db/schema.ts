import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Times are unix milliseconds (integers): compact, indexable, sortable. */

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['admin', 'operator'] }).notNull(),
  disabled: integer('disabled', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
});

export const sessions = sqliteTable(
  'sessions',
  {
    /** SHA-256 of the cookie token: a database leak does not leak live sessions. */
    tokenHash: text('token_hash').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('sessions_user').on(t.userId)],
);

export const audit = sqliteTable('audit', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  time: integer('time').notNull(),
  username: text('username').notNull(),
  action: text('action').notNull(),
  target: text('target').notNull(),
  before: text('before'),
  after: text('after'),
});

/** Key/value settings (retention) and the draft policy document (key "draft"). */
export const kv = sqliteTable('kv', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at').notNull(),
  updatedBy: text('updated_by'),
});

export const revisions = sqliteTable('revisions', {
  number: integer('number').primaryKey(),
  createdAt: integer('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  comment: text('comment').notNull(),
  rollbackOf: integer('rollback_of'),
  /** zPolicyDocument JSON */
  document: text('document').notNull(),
  /** profile name -> zPolicy JSON */
  policies: text('policies').notNull(),
});

export const gateways = sqliteTable('gateways', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: integer('created_at').notNull(),
  enrollKeyHash: text('enroll_key_hash'),
  enrollKeyExpiresAt: integer('enroll_key_expires_at'),
  credentialHash: text('credential_hash'),
  enrolledAt: integer('enrolled_at'),
  revokedAt: integer('revoked_at'),
  lastSeenAt: integer('last_seen_at'),
  address: text('address'),
  version: text('version'),
  installedRevision: integer('installed_revision'),
  installedHash: text('installed_hash'),
  targetRevision: integer('target_revision'),
  targetInstallId: integer('target_install_id'),
  health: text('health'),
  detail: text('detail'),
  counters: text('counters'),
});

export const installs = sqliteTable('installs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  revision: integer('revision').notNull(),
  createdAt: integer('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  comment: text('comment').notNull(),
  done: integer('done', { mode: 'boolean' }).notNull().default(false),
});

export const installResults = sqliteTable(
  'install_results',
  {
    installId: integer('install_id')
      .notNull()
      .references(() => installs.id, { onDelete: 'cascade' }),
    gatewayId: text('gateway_id').notNull(),
    gatewayName: text('gateway_name').notNull(),
    profile: text('profile').notNull(),
    hash: text('hash').notNull(),
    status: text('status', { enum: ['pending', 'installed', 'failed', 'unreachable'] }).notNull(),
    reason: text('reason'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.installId, t.gatewayId] })],
);

/**
 * The tracker log. Filter columns are real columns; the whole event is kept as JSON in `data`
 * for the API. Indexes: each selective filter (protection, gateway, client) paired with time,
 * so "filter, newest first, LIMIT n" walks one index backwards. Action (2 values) and attack
 * name (3 values) have no index of their own: every value is common, so walking the time
 * index finds a page quickly, and each index costs ingestion rate. The client index is keyed
 * by an integer hash of the address (client_key).
 */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    gatewayId: text('gateway_id').notNull(),
    epoch: integer('epoch').notNull(),
    seq: integer('seq').notNull(),
    time: integer('time').notNull(),
    receivedAt: integer('received_at').notNull(),
    protectionId: text('protection_id').notNull(),
    attackName: text('attack_name').notNull(),
    action: text('action').notNull(),
    clientAddress: text('client_address').notNull(),
    /** clientKey(client_address) (db/client-key.ts): the client index is on this integer, not the text. */
    clientKey: integer('client_key').notNull().default(0),
    /** Lower-cased command + detail + HELO + MAIL FROM, for free-text search. */
    text: text('text').notNull(),
    data: text('data').notNull(),
  },
  (t) => [
    uniqueIndex('events_gateway_seq').on(t.gatewayId, t.epoch, t.seq),
    // Carries the free-text column: a `q` search walks this index newest first and reads a table row only on a match.
    index('events_time_text').on(t.time, t.id, t.text),
    index('events_protection_time').on(t.protectionId, t.time, t.id),
    index('events_gateway_time').on(t.gatewayId, t.time, t.id),
    // An integer key (a hash of the address) instead of the text: the same lookups (the query
    // checks client_address too), a third of the insert cost of a text index whose inserts land
    // at random places.
    index('events_client_key_time').on(t.clientKey, t.time, t.id),
  ],
);

