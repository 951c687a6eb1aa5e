import type { FastifyInstance } from 'fastify';
import { eq } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import {
  zCreateGatewayRequest,
  zEnrollRequest,
  zEnrollResponse,
  zEnrollmentKeyResponse,
  zGateway,
  zGatewayList,
  zGatewayParams,
  zUpdateGatewayRequest,
} from '@smtpguard/contracts';
import { gateways } from '../db/schema.js';
import { ApiError, badRequest, conflict } from '../errors.js';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';
import type { FleetHub } from '../services/fleet.js';

export function gatewayRoutes(app: FastifyInstance, m: Manager, fleet: FleetHub) {
  const tags = ['gateways and enrollment'];
  const keyResponse = (id: string) => {
    const { key, expiresAt } = fleet.createEnrollmentKey(id);
    return { gateway: fleet.view(fleet.gatewayRow(id)), enrollmentKey: key, expiresAt: new Date(expiresAt).toISOString() };
  };
  const checkProfile = (profileId: number) => {
    if (!m.draft().document.profiles.some((p) => p.id === profileId)) throw badRequest('body.profileId', `no profile ${profileId}`);
  };

  route(app, {
    method: 'GET',
    url: '/api/gateways',
    access: 'operator',
    summary: 'Gateways with status, counters and installed revision',
    tags,
    response: { 200: zGatewayList },
    handler: () => ({ gateways: m.db.select().from(gateways).orderBy(gateways.name).all().map((g) => fleet.view(g)) }),
  });

  route(app, {
    method: 'POST',
    url: '/api/gateways',
    access: 'admin',
    summary: 'Create a gateway entry and its one-time enrollment key (shown once)',
    tags,
    body: zCreateGatewayRequest,
    response: { 201: zEnrollmentKeyResponse },
    handler: ({ body, user, reply }) => {
      if (body.profileId !== undefined) checkProfile(body.profileId);
      if (m.db.select().from(gateways).where(eq(gateways.name, body.name)).get()) throw conflict(`gateway ${body.name} exists`);
      const id = `gw_${randomBytes(6).toString('hex')}`;
      m.db.insert(gateways).values({ id, name: body.name, createdAt: m.now() }).run();
      if (body.profileId !== undefined) {
        const profileId = body.profileId;
        m.editDraft(user.username, 'gateway.profile', `gateway ${body.name}`, (doc) => {
          doc.assignments[id] = profileId;
          return { before: null, after: { profileId }, result: undefined };
        });
      }
      m.audit(user.username, 'gateway.create', `gateway ${body.name}`, null, { id, name: body.name });
      reply.code(201);
      return keyResponse(id);
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/gateways/:id',
    access: 'operator',
    summary: 'One gateway',
    tags,
    params: zGatewayParams,
    response: { 200: zGateway },
    handler: ({ params }) => fleet.view(fleet.gatewayRow(params.id)),
  });

  route(app, {
    method: 'PATCH',
    url: '/api/gateways/:id',
    access: 'admin',
    summary: 'Assign a profile (draft: takes effect at the next install); null = the default profile',
    tags,
    params: zGatewayParams,
    body: zUpdateGatewayRequest,
    response: { 200: zGateway },
    handler: ({ params, body, user }) => {
      const row = fleet.gatewayRow(params.id);
      if (body.profileId !== undefined) {
        const profileId = body.profileId;
        if (profileId !== null) checkProfile(profileId);
        m.editDraft(user.username, 'gateway.profile', `gateway ${row.name}`, (doc) => {
          const before = { profileId: doc.assignments[row.id] ?? null };
          if (profileId === null) delete doc.assignments[row.id];
          else doc.assignments[row.id] = profileId;
          return { before, after: { profileId }, result: undefined };
        });
      }
      return fleet.view(fleet.gatewayRow(params.id));
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/gateways/:id/enrollment-key',
    access: 'admin',
    summary: 'A new one-time enrollment key (to re-enroll a gateway)',
    tags,
    params: zGatewayParams,
    response: { 200: zEnrollmentKeyResponse },
    handler: ({ params, user }) => {
      const row = fleet.gatewayRow(params.id);
      if (row.revokedAt !== null) throw conflict(`gateway ${row.name} is revoked`);
      m.audit(user.username, 'gateway.enrollment-key', `gateway ${row.name}`, null, { key: 'issued' });
      return keyResponse(row.id);
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/gateways/:id/revoke',
    access: 'admin',
    summary: 'Revoke a gateway: its credential is refused from now on',
    tags,
    params: zGatewayParams,
    response: { 200: zGateway },
    handler: ({ params, user }) => {
      const row = fleet.gatewayRow(params.id);
      if (row.revokedAt === null) {
        m.db.update(gateways).set({ revokedAt: m.now(), credentialHash: null, enrollKeyHash: null }).where(eq(gateways.id, row.id)).run();
        fleet.disconnect(row.id, 4003, 'revoked');
        m.audit(user.username, 'gateway.revoke', `gateway ${row.name}`, { revoked: false }, { revoked: true });
      }
      return fleet.view(fleet.gatewayRow(row.id));
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/fleet/enroll',
    access: 'public',
    summary: 'A gateway trades its one-time key for its own credential',
    tags: ['fleet link'],
    body: zEnrollRequest,
    response: { 200: zEnrollResponse },
    config: { rateLimit: { max: 30, timeWindow: 60_000 } },
    handler: ({ body }) => fleet.enroll(body.key, body.version),
  });

  app.get(
    '/api/fleet/ws',
    {
      websocket: true,
      schema: { hide: true },
      preValidation: async (req) => {
        if (!fleet.authenticate(req.headers.authorization)) throw new ApiError('unauthorized', 'gateway credential unknown or revoked: enroll again');
      },
    },
    (socket, req) => {
      const row = fleet.authenticate(req.headers.authorization);
      if (!row) return socket.close(4003, 'unauthorized');
      fleet.attach(socket, row, req.ip);
    },
  );
}
