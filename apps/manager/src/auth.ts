import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, gt, lt } from 'drizzle-orm';
import type { Role, User } from '@smtpguard/contracts';
import type { Db } from './db/open.js';
import { sessions, users } from './db/schema.js';
import { ApiError } from './errors.js';

export const SESSION_COOKIE = 'sg_session';
export const SESSION_TTL_MS = 12 * 3600_000;

export interface SessionUser {
  id: number;
  username: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    sessionUser: SessionUser | null;
  }
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
export const token = (bytes = 32) => randomBytes(bytes).toString('base64url');

// argon2id, OWASP's second configuration (19 MiB, t=2, p=1).
const ARGON = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };
export const hashPassword = (password: string) => hash(password, ARGON);
const DUMMY_HASH = hash('not a password, only spends the same time', ARGON);

export async function checkPassword(stored: string | undefined, password: string): Promise<boolean> {
  // An unknown user costs as much as a wrong password: no user enumeration by timing.
  if (stored === undefined) {
    await verify(await DUMMY_HASH, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}

export function userView(row: typeof users.$inferSelect): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    disabled: row.disabled,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export function createSession(db: Db, userId: number, now: number): string {
  const value = token();
  db.insert(sessions).values({ tokenHash: sha256(value), userId, createdAt: now, expiresAt: now + SESSION_TTL_MS }).run();
  db.delete(sessions).where(lt(sessions.expiresAt, now)).run();
  return value;
}

/** Resolves the session cookie to a user (sliding expiry); null when absent, expired or disabled. */
export function sessionUser(db: Db, cookie: string | undefined, now: number): SessionUser | null {
  if (!cookie) return null;
  const tokenHash = sha256(cookie);
  const row = db
    .select({ id: users.id, username: users.username, role: users.role, disabled: users.disabled, expiresAt: sessions.expiresAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, tokenHash), gt(sessions.expiresAt, now)))
    .get();
  if (!row || row.disabled) return null;
  if (row.expiresAt - now < SESSION_TTL_MS / 2) {
    db.update(sessions).set({ expiresAt: now + SESSION_TTL_MS }).where(eq(sessions.tokenHash, tokenHash)).run();
  }
  return { id: row.id, username: row.username, role: row.role };
}

export function requireUser(req: FastifyRequest, access: 'operator' | 'admin'): SessionUser {
  const user = req.sessionUser;
  if (!user) throw new ApiError('unauthorized', 'not logged in (or the session expired)');
  if (access === 'admin' && user.role !== 'admin') throw new ApiError('forbidden', 'this needs the admin role');
  return user;
}

export function setSessionCookie(reply: FastifyReply, value: string, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    maxAge: SESSION_TTL_MS / 1000,
  });
}
