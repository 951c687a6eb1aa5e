import type { FastifyInstance } from 'fastify';
import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import {
  zChangePasswordRequest,
  zCreateUserRequest,
  zIdParams,
  zLoginRequest,
  zLoginResponse,
  zMeResponse,
  zUpdateUserRequest,
  zUser,
  zUserList,
} from '@smtpguard/contracts';
import { SESSION_COOKIE, checkPassword, createSession, hashPassword, setSessionCookie, sha256, userView } from '../auth.js';
import { sessions, users } from '../db/schema.js';
import { ApiError, conflict, notFound } from '../errors.js';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';

export function userRoutes(app: FastifyInstance, m: Manager, opts: { secureCookies: boolean; loginRateLimit: { max: number; timeWindow: number } }) {
  const tags = ['sessions and users'];

  route(app, {
    method: 'POST',
    url: '/api/auth/login',
    access: 'public',
    summary: 'Log in; sets the HttpOnly session cookie',
    tags,
    body: zLoginRequest,
    response: { 200: zLoginResponse },
    config: { rateLimit: { max: opts.loginRateLimit.max, timeWindow: opts.loginRateLimit.timeWindow } },
    handler: async ({ body, reply }) => {
      const row = m.db.select().from(users).where(eq(users.username, body.username)).get();
      const ok = await checkPassword(row?.passwordHash, body.password);
      if (!row || !ok || row.disabled) throw new ApiError('unauthorized', 'wrong user name or password');
      setSessionCookie(reply, createSession(m.db, row.id, m.now()), opts.secureCookies);
      return { user: userView(row) };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/auth/logout',
    access: 'operator',
    summary: 'Log out (ends this session)',
    tags,
    response: { 204: null },
    handler: ({ req, reply }) => {
      const cookie = req.cookies[SESSION_COOKIE];
      if (cookie) m.db.delete(sessions).where(eq(sessions.tokenHash, sha256(cookie))).run();
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/auth/me',
    access: 'operator',
    summary: 'The logged-in user',
    tags,
    response: { 200: zMeResponse },
    handler: ({ user }) => ({ user: userView(m.db.select().from(users).where(eq(users.id, user.id)).get()!) }),
  });

  route(app, {
    method: 'POST',
    url: '/api/auth/password',
    access: 'operator',
    summary: 'Change your own password (your other sessions end)',
    tags,
    body: zChangePasswordRequest,
    response: { 204: null },
    handler: async ({ body, user, req }) => {
      const row = m.db.select().from(users).where(eq(users.id, user.id)).get()!;
      if (!(await checkPassword(row.passwordHash, body.currentPassword))) throw new ApiError('bad_request', 'body.currentPassword: wrong password', 'body.currentPassword');
      const passwordHash = await hashPassword(body.newPassword);
      m.db.update(users).set({ passwordHash }).where(eq(users.id, user.id)).run();
      const keep = sha256(req.cookies[SESSION_COOKIE] ?? '');
      m.db.delete(sessions).where(and(eq(sessions.userId, user.id), ne(sessions.tokenHash, keep))).run();
      m.audit(user.username, 'user.password', `user ${user.username}`, null, { password: 'changed' });
    },
  });

  const admins = () => m.db.select().from(users).where(and(eq(users.role, 'admin'), eq(users.disabled, false))).all();

  route(app, {
    method: 'GET',
    url: '/api/users',
    access: 'admin',
    summary: 'List users',
    tags,
    response: { 200: zUserList },
    handler: () => ({ users: m.db.select().from(users).orderBy(users.id).all().map(userView) }),
  });

  route(app, {
    method: 'POST',
    url: '/api/users',
    access: 'admin',
    summary: 'Create a user',
    tags,
    body: zCreateUserRequest,
    response: { 201: zUser },
    handler: async ({ body, user, reply }) => {
      if (m.db.select().from(users).where(eq(users.username, body.username)).get()) throw conflict(`user ${body.username} exists`);
      const passwordHash = await hashPassword(body.password);
      const row = m.db.insert(users).values({ username: body.username, passwordHash, role: body.role, createdAt: m.now() }).returning().get();
      m.audit(user.username, 'user.create', `user ${body.username}`, null, { username: body.username, role: body.role });
      reply.code(201);
      return userView(row);
    },
  });

  route(app, {
    method: 'PATCH',
    url: '/api/users/:id',
    access: 'admin',
    summary: 'Change a user role, password or disabled flag',
    tags,
    params: zIdParams,
    body: zUpdateUserRequest,
    response: { 200: zUser },
    handler: async ({ params, body, user }) => {
      const row = m.db.select().from(users).where(eq(users.id, params.id)).get();
      if (!row) throw notFound(`user ${params.id}`);
      const losesAdmin = row.role === 'admin' && !row.disabled && ((body.role && body.role !== 'admin') || body.disabled === true);
      if (losesAdmin && admins().length <= 1) throw conflict('this is the last enabled admin');
      const set: Partial<typeof users.$inferInsert> = {};
      if (body.role) set.role = body.role;
      if (body.disabled !== undefined) set.disabled = body.disabled;
      if (body.password) set.passwordHash = await hashPassword(body.password);
      const updated = Object.keys(set).length ? m.db.update(users).set(set).where(eq(users.id, row.id)).returning().get() : row;
      if (body.disabled || body.password || body.role) m.db.delete(sessions).where(eq(sessions.userId, row.id)).run();
      const pick = (r: typeof row) => ({ role: r.role, disabled: r.disabled });
      m.audit(user.username, 'user.update', `user ${row.username}`, pick(row), { ...pick(updated), ...(body.password ? { password: 'changed' } : {}) });
      return userView(updated);
    },
  });

  route(app, {
    method: 'DELETE',
    url: '/api/users/:id',
    access: 'admin',
    summary: 'Delete a user',
    tags,
    params: zIdParams,
    response: { 204: null },
    handler: ({ params, user }) => {
      const row = m.db.select().from(users).where(eq(users.id, params.id)).get();
      if (!row) throw notFound(`user ${params.id}`);
      if (row.id === user.id) throw conflict('you cannot delete yourself');
      if (row.role === 'admin' && !row.disabled && admins().length <= 1) throw conflict('this is the last enabled admin');
      m.db.delete(users).where(eq(users.id, row.id)).run();
      m.audit(user.username, 'user.delete', `user ${row.username}`, { username: row.username, role: row.role }, null);
    },
  });
  void z;
}
