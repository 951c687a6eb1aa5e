import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import {
  describeZodError,
  zEventExportQuery,
  zEventFilters,
  zEventPage,
  zEventQuery,
  zEventStats,
  zEventStatsQuery,
  zStreamClientMessage,
} from '@smtpguard/contracts';
import { requireUser } from '../auth.js';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';
import { csvHeader, csvLine } from '../services/events.js';

export function eventRoutes(app: FastifyInstance, m: Manager) {
  const tags = ['events'];

  route(app, {
    method: 'GET',
    url: '/api/events',
    access: 'operator',
    summary: 'Tracker log, newest first, cursor pagination',
    tags,
    query: zEventQuery,
    response: { 200: zEventPage },
    handler: ({ query }) => m.events.query(query),
  });

  route(app, {
    method: 'GET',
    url: '/api/events/stats',
    access: 'operator',
    summary: 'Counts per protection and per time bucket',
    tags,
    query: zEventStatsQuery,
    response: { 200: zEventStats },
    handler: ({ query }) => {
      const { bucketSeconds, ...filters } = query;
      return m.events.stats(filters, bucketSeconds);
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/events/export',
    access: 'operator',
    summary: 'Download as CSV or JSON lines (newest first)',
    tags,
    query: zEventExportQuery,
    handler: ({ query, reply }) => {
      const { format, limit, ...filters } = query;
      const pages = m.events.pages(filters, limit);
      const stamp = new Date(m.now()).toISOString().replace(/[:.]/g, '-');
      async function* lines() {
        if (format === 'csv') yield csvHeader();
        for (const page of pages) {
          yield page.map((e) => (format === 'csv' ? csvLine(e) : `${JSON.stringify(e)}\n`)).join('');
          await new Promise((r) => setImmediate(r)); // let ingestion run between pages
        }
      }
      reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="smtpguard-events-${stamp}.${format === 'csv' ? 'csv' : 'jsonl'}"`);
      return reply.send(Readable.from(lines()));
    },
  });

  app.get(
    '/api/events/stream',
    {
      websocket: true,
      schema: { hide: true },
      preValidation: async (req) => {
        requireUser(req, 'operator');
      },
    },
    (socket, req) => {
      const parsed = zEventFilters.safeParse(req.query ?? {});
      const initial = parsed.success ? parsed.data : {};
      const client = m.live.add(socket, initial);
      if (!parsed.success) {
        client.error(describeZodError(parsed.error).replace(/^/gm, 'query.'));
        socket.close(4000, 'bad filters');
        return;
      }
      socket.on('message', (data: Buffer) => {
        let json: unknown;
        try {
          json = JSON.parse(data.toString('utf8'));
        } catch {
          return client.error('frame is not JSON');
        }
        const msg = zStreamClientMessage.safeParse(json);
        if (!msg.success) return client.error(describeZodError(msg.error));
        client.setFilters(msg.data.data);
      });
    },
  );
}
