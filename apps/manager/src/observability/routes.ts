import type { FastifyInstance } from 'fastify';
import { zLogExportConfigRequest, zLogExportTestResponse, zLogExportView } from '@smtpguard/contracts';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';
import { publicConfig, type LogExporter } from './log-export.js';

/** Log export settings (admin only): see API.md "Log export". */
export function logExportRoutes(app: FastifyInstance, m: Manager, exporter: LogExporter) {
  const tags = ['log export'];
  route(app, {
    method: 'GET',
    url: '/api/log-export',
    access: 'admin',
    summary: 'Log export configuration (private key never returned) and status: state, last error, sent and pending counts',
    tags,
    response: { 200: zLogExportView },
    handler: () => exporter.view(),
  });

  route(app, {
    method: 'PUT',
    url: '/api/log-export',
    access: 'admin',
    summary: 'Save the log export configuration; applies at once (reconnects), audited',
    tags,
    body: zLogExportConfigRequest,
    response: { 200: zLogExportView },
    handler: ({ body, user }) => {
      const prior = exporter.storedConfig();
      const before = prior ? publicConfig(prior) : null;
      const after = publicConfig(exporter.configure(body, user.username));
      m.audit(user.username, 'log-export.update', 'log export', before, after);
      return exporter.view();
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/log-export/test',
    access: 'admin',
    summary: 'Send one test message with the saved configuration on a fresh connection',
    tags,
    response: { 200: zLogExportTestResponse },
    handler: () => exporter.test(),
  });
}
