import type { FastifyInstance } from 'fastify';
import { desc, eq } from 'drizzle-orm';
import {
  zDiffQuery,
  zDiffResponse,
  zIdParams,
  zInstall,
  zInstallList,
  zInstallRequest,
  zRevisionDetail,
  zRevisionList,
  zRevisionParams,
  type Policy,
  type PolicyDocument,
} from '@smtpguard/contracts';
import { revisions } from '../db/schema.js';
import { notFound } from '../errors.js';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';
import type { FleetHub } from '../services/fleet.js';
import { diffDocuments } from '../services/policy.js';

export function installRoutes(app: FastifyInstance, m: Manager, fleet: FleetHub) {
  const tags = ['install and revisions'];

  const revisionRow = (n: number) => {
    const row = m.db.select().from(revisions).where(eq(revisions.number, n)).get();
    if (!row) throw notFound(`revision ${n}`);
    return row;
  };
  const summary = (r: typeof revisions.$inferSelect) => ({
    number: r.number,
    createdAt: new Date(r.createdAt).toISOString(),
    createdBy: r.createdBy,
    comment: r.comment,
    rollbackOf: r.rollbackOf,
  });

  route(app, {
    method: 'POST',
    url: '/api/install',
    access: 'admin',
    summary: 'Install Policy: compile the draft into a new revision and push it to the chosen gateways (all by default)',
    tags,
    body: zInstallRequest,
    response: { 200: zInstall },
    handler: ({ body, user }) =>
      fleet.install({ username: user.username, comment: body.comment ?? '', ...(body.gateways ? { gatewayIds: body.gateways } : {}), document: m.draft().document }),
  });

  route(app, {
    method: 'GET',
    url: '/api/installs',
    access: 'operator',
    summary: 'Recent installs with per-gateway results',
    tags,
    response: { 200: zInstallList },
    handler: () => ({ installs: fleet.installList() }),
  });

  route(app, {
    method: 'GET',
    url: '/api/installs/:id',
    access: 'operator',
    summary: 'One install',
    tags,
    params: zIdParams,
    response: { 200: zInstall },
    handler: ({ params }) => {
      const v = fleet.installView(params.id);
      if (!v) throw notFound(`install ${params.id}`);
      return v;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/revisions',
    access: 'operator',
    summary: 'Revisions, newest first',
    tags,
    response: { 200: zRevisionList },
    handler: () => ({ revisions: m.db.select().from(revisions).orderBy(desc(revisions.number)).all().map(summary) }),
  });

  route(app, {
    method: 'GET',
    url: '/api/revisions/:number',
    access: 'operator',
    summary: 'One revision: the document and the compiled policy per profile',
    tags,
    params: zRevisionParams,
    response: { 200: zRevisionDetail },
    handler: ({ params }) => {
      const r = revisionRow(params.number);
      return { ...summary(r), document: JSON.parse(r.document) as PolicyDocument, policies: JSON.parse(r.policies) as Record<string, Policy> };
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/revisions/:number/diff',
    access: 'operator',
    summary: 'What changed between two revisions (default: the previous one)',
    tags,
    params: zRevisionParams,
    query: zDiffQuery,
    response: { 200: zDiffResponse },
    handler: ({ params, query }) => {
      const to = revisionRow(params.number);
      const fromNumber = query.against ?? params.number - 1;
      const from = fromNumber > 0 ? revisionRow(fromNumber) : null;
      return {
        from: from?.number ?? null,
        to: to.number,
        changes: diffDocuments(from ? (JSON.parse(from.document) as PolicyDocument) : null, JSON.parse(to.document) as PolicyDocument, (id) => m.gatewayName(id)),
      };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/revisions/:number/rollback',
    access: 'admin',
    summary: 'Roll back: install a new revision equal to this one (the draft becomes it too)',
    tags,
    params: zRevisionParams,
    body: zInstallRequest,
    response: { 200: zInstall },
    handler: ({ params, body, user }) => {
      const r = revisionRow(params.number);
      return fleet.install({
        username: user.username,
        comment: body.comment ?? `Rollback to revision ${r.number}`,
        ...(body.gateways ? { gatewayIds: body.gateways } : {}),
        document: JSON.parse(r.document) as PolicyDocument,
        rollbackOf: r.number,
      });
    },
  });
}
