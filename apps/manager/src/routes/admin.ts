import type { FastifyInstance } from 'fastify';
import { desc, lt } from 'drizzle-orm';
import { zAuditPage, zAuditQuery, zHealth, zManagerSettings, zUpdateSettingsRequest } from '@smtpguard/contracts';
import { audit } from '../db/schema.js';
import { badRequest } from '../errors.js';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';

export const VERSION = '0.1.0';

export function adminRoutes(app: FastifyInstance, m: Manager) {
  route(app, {
    method: 'GET',
    url: '/api/health',
    access: 'public',
    summary: 'Liveness',
    tags: ['health'],
    response: { 200: zHealth },
    handler: () => ({ ok: true, version: VERSION, time: new Date(m.now()).toISOString() }),
  });

  route(app, {
    method: 'GET',
    url: '/api/audit',
    access: 'admin',
    summary: 'Audit log of admin changes, newest first',
    tags: ['audit and settings'],
    query: zAuditQuery,
    response: { 200: zAuditPage },
    handler: ({ query }) => {
      let before: number | undefined;
      if (query.cursor !== undefined) {
        before = Number(query.cursor);
        if (!Number.isInteger(before) || before < 1) throw badRequest('query.cursor', 'not a cursor returned by this API');
      }
      const rows = m.db
        .select()
        .from(audit)
        .where(before !== undefined ? lt(audit.id, before) : undefined)
        .orderBy(desc(audit.id))
        .limit(query.limit + 1)
        .all();
      const more = rows.length > query.limit;
      const page = rows.slice(0, query.limit);
      return {
        entries: page.map((r) => ({
          id: r.id,
          time: new Date(r.time).toISOString(),
          user: r.username,
          action: r.action,
          target: r.target,
          before: r.before === null ? null : JSON.parse(r.before),
          after: r.after === null ? null : JSON.parse(r.after),
        })),
        nextCursor: more ? String(page[page.length - 1]!.id) : null,
      };
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/settings',
    access: 'operator',
    summary: 'Manager settings (event retention)',
    tags: ['audit and settings'],
    response: { 200: zManagerSettings },
    handler: () => m.settings(),
  });

  route(app, {
    method: 'PUT',
    url: '/api/settings',
    access: 'admin',
    summary: 'Change manager settings; retention applies at once',
    tags: ['audit and settings'],
    body: zUpdateSettingsRequest,
    response: { 200: zManagerSettings },
    handler: ({ body, user }) => {
      const before = m.settings();
      const after = { ...before, ...body };
      m.saveSettings(after, user.username);
      m.audit(user.username, 'settings.update', 'settings', before, after);
      m.events.applyRetention(after, m.now());
      return after;
    },
  });
}
