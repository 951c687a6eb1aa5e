import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  CATALOG,
  PROTECTION_IDS,
  zCreateProfileRequest,
  zDraftResponse,
  zExceptionInput,
  zExceptionList,
  zExceptionView,
  zIdParams,
  zOverrideRequest,
  zProfile,
  zProfileList,
  zProfileProtectionParams,
  zProtectionList,
  zProtectionParams,
  zProtectionView,
  zSettingsRequest,
  zUpdateProfileRequest,
  type PolicyDocument,
  type Profile,
  type ProtectionId,
  type ProtectionView,
} from '@smtpguard/contracts';
import { conflict, fromZod, notFound } from '../errors.js';
import { route } from '../http.js';
import type { Manager } from '../services/context.js';
import { diffDocuments, effectiveAction, initialDocument, settingsOf, type DocProfile } from '../services/policy.js';

const settingsSchemaCache = new Map<ProtectionId, unknown>();
function settingsSchema(id: ProtectionId): unknown {
  let s = settingsSchemaCache.get(id);
  if (s === undefined) {
    s = z.toJSONSchema(CATALOG[id].settings, { io: 'input', unrepresentable: 'any' });
    settingsSchemaCache.set(id, s);
  }
  return s;
}

export function protectionView(doc: PolicyDocument, id: ProtectionId, profiles: DocProfile[] = doc.profiles): ProtectionView {
  const c = CATALOG[id];
  return {
    id,
    name: c.name,
    attackName: c.attackName,
    attackInfo: c.attackInfo,
    description: c.description,
    severity: c.severity,
    confidence: c.confidence,
    performanceImpact: c.performanceImpact,
    industryReference: [...c.industryReference],
    defaultAction: c.defaultAction,
    settings: settingsOf(doc, id),
    settingsDefaults: c.settings.parse({}) as Record<string, unknown>,
    settingsSchema: settingsSchema(id),
    limit: c.limit,
    profiles: profiles.map((p) => ({ profileId: p.id, profile: p.name, ...effectiveAction(p, id) })),
    exceptions: doc.exceptions.filter((e) => e.protection === id || e.protection === '*').length,
  };
}

export function profileView(doc: PolicyDocument, p: DocProfile): Profile {
  return {
    ...p,
    gateways: Object.entries(doc.assignments)
      .filter(([, pid]) => pid === p.id)
      .map(([g]) => g),
  };
}

function findProfile(doc: PolicyDocument, id: number): DocProfile {
  const p = doc.profiles.find((x) => x.id === id);
  if (!p) throw notFound(`profile ${id}`);
  return p;
}

export function draftResponse(m: Manager) {
  const d = m.draft();
  const last = m.lastRevision();
  return {
    document: d.document,
    basedOnRevision: last?.number ?? null,
    changes: diffDocuments(last?.document ?? null, d.document, (id) => m.gatewayName(id)),
    updatedAt: d.updatedAt === null ? null : new Date(d.updatedAt).toISOString(),
    updatedBy: d.updatedBy,
  };
}

export function policyRoutes(app: FastifyInstance, m: Manager) {
  const tags = ['policy (draft)'];

  route(app, {
    method: 'GET',
    url: '/api/protections',
    access: 'operator',
    summary: 'Every protection with its draft settings and, per profile, its effective action',
    tags,
    response: { 200: zProtectionList },
    handler: () => {
      const doc = m.draft().document;
      return { protections: PROTECTION_IDS.map((id) => protectionView(doc, id)) };
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/protections/:protectionId',
    access: 'operator',
    summary: 'One protection',
    tags,
    params: zProtectionParams,
    response: { 200: zProtectionView },
    handler: ({ params }) => protectionView(m.draft().document, params.protectionId),
  });

  route(app, {
    method: 'PUT',
    url: '/api/protections/:protectionId/settings',
    access: 'admin',
    summary: "Replace a protection's Additional Settings (validated by the catalog schema; omitted fields take defaults)",
    tags,
    params: zProtectionParams,
    body: zSettingsRequest,
    response: { 200: zProtectionView },
    handler: ({ params, body, user }) => {
      const id = params.protectionId;
      const parsed = CATALOG[id].settings.safeParse(body.settings);
      if (!parsed.success) {
        const e = fromZod('body.settings', parsed.error);
        throw e;
      }
      return m.editDraft(user.username, 'protection.settings', `protection ${id}`, (doc) => {
        const before = settingsOf(doc, id);
        doc.settings[id] = parsed.data as Record<string, unknown>;
        return { before, after: parsed.data, result: protectionView(doc, id) };
      });
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/profiles',
    access: 'operator',
    summary: 'Profiles',
    tags,
    response: { 200: zProfileList },
    handler: () => {
      const doc = m.draft().document;
      return { profiles: doc.profiles.map((p) => profileView(doc, p)) };
    },
  });

  route(app, {
    method: 'POST',
    url: '/api/profiles',
    access: 'admin',
    summary: 'Create a profile (optionally a copy of another)',
    tags,
    body: zCreateProfileRequest,
    response: { 201: zProfile },
    handler: ({ body, user, reply }) => {
      const result = m.editDraft(user.username, 'profile.create', `profile ${body.name}`, (doc) => {
        if (doc.profiles.some((p) => p.name === body.name)) throw conflict(`profile ${body.name} exists`);
        const source = body.copyFrom !== undefined ? doc.profiles.find((p) => p.id === body.copyFrom) : undefined;
        if (body.copyFrom !== undefined && !source) throw fromZod('body', new z.ZodError([{ code: 'custom', path: ['copyFrom'], message: `no profile ${body.copyFrom}`, input: body.copyFrom }]));
        const base = source ?? doc.profiles.find((p) => p.id === doc.defaultProfileId)!;
        const p: DocProfile = {
          id: Math.max(0, ...doc.profiles.map((x) => x.id)) + 1,
          name: body.name,
          comment: body.comment ?? '',
          thresholds: body.thresholds ?? { ...base.thresholds },
          overrides: source ? { ...source.overrides } : {},
        };
        doc.profiles.push(p);
        return { before: null, after: p, result: profileView(doc, p) };
      });
      reply.code(201);
      return result;
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/profiles/:id',
    access: 'operator',
    summary: 'One profile',
    tags,
    params: zIdParams,
    response: { 200: zProfile },
    handler: ({ params }) => {
      const doc = m.draft().document;
      return profileView(doc, findProfile(doc, params.id));
    },
  });

  route(app, {
    method: 'PATCH',
    url: '/api/profiles/:id',
    access: 'admin',
    summary: 'Rename a profile or change its activation thresholds',
    tags,
    params: zIdParams,
    body: zUpdateProfileRequest,
    response: { 200: zProfile },
    handler: ({ params, body, user }) =>
      m.editDraft(user.username, 'profile.update', `profile ${params.id}`, (doc) => {
        const p = findProfile(doc, params.id);
        const before = structuredClone(p);
        if (body.name && body.name !== p.name && doc.profiles.some((x) => x.name === body.name)) throw conflict(`profile ${body.name} exists`);
        if (body.name) p.name = body.name;
        if (body.comment !== undefined) p.comment = body.comment;
        if (body.thresholds) p.thresholds = body.thresholds;
        return { before, after: p, result: profileView(doc, p) };
      }),
  });

  route(app, {
    method: 'DELETE',
    url: '/api/profiles/:id',
    access: 'admin',
    summary: 'Delete a profile that is neither the default nor assigned',
    tags,
    params: zIdParams,
    response: { 204: null },
    handler: ({ params, user }) => {
      m.editDraft(user.username, 'profile.delete', `profile ${params.id}`, (doc) => {
        const p = findProfile(doc, params.id);
        if (doc.defaultProfileId === p.id) throw conflict(`profile ${p.name} is the default profile`);
        const used = Object.entries(doc.assignments).filter(([, pid]) => pid === p.id);
        if (used.length) throw conflict(`profile ${p.name} is assigned to ${used.map(([g]) => m.gatewayName(g)).join(', ')}`);
        doc.profiles = doc.profiles.filter((x) => x.id !== p.id);
        return { before: p, after: null, result: undefined };
      });
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/profiles/:id/protections',
    access: 'operator',
    summary: "Protections as one profile sees them",
    tags,
    params: zIdParams,
    response: { 200: zProtectionList },
    handler: ({ params }) => {
      const doc = m.draft().document;
      const p = findProfile(doc, params.id);
      return { protections: PROTECTION_IDS.map((id) => protectionView(doc, id, [p])) };
    },
  });

  route(app, {
    method: 'PUT',
    url: '/api/profiles/:id/overrides/:protectionId',
    access: 'admin',
    summary: 'Override IPS Policy with Prevent / Detect / Inactive for one protection',
    tags,
    params: zProfileProtectionParams,
    body: zOverrideRequest,
    response: { 200: zProfile },
    handler: ({ params, body, user }) =>
      m.editDraft(user.username, 'profile.override', `profile ${params.id} protection ${params.protectionId}`, (doc) => {
        const p = findProfile(doc, params.id);
        const before = effectiveAction(p, params.protectionId);
        p.overrides[params.protectionId] = body.action;
        return { before, after: effectiveAction(p, params.protectionId), result: profileView(doc, p) };
      }),
  });

  route(app, {
    method: 'DELETE',
    url: '/api/profiles/:id/overrides/:protectionId',
    access: 'admin',
    summary: 'Remove an override (back to automatic activation)',
    tags,
    params: zProfileProtectionParams,
    response: { 200: zProfile },
    handler: ({ params, user }) =>
      m.editDraft(user.username, 'profile.override.remove', `profile ${params.id} protection ${params.protectionId}`, (doc) => {
        const p = findProfile(doc, params.id);
        const before = effectiveAction(p, params.protectionId);
        delete p.overrides[params.protectionId];
        return { before, after: effectiveAction(p, params.protectionId), result: profileView(doc, p) };
      }),
  });

  // ---------- exceptions ----------
  const etags = ['network exceptions (draft)'];
  route(app, {
    method: 'GET',
    url: '/api/exceptions',
    access: 'operator',
    summary: 'Network exceptions',
    tags: etags,
    response: { 200: zExceptionList },
    handler: () => ({ exceptions: m.draft().document.exceptions }),
  });

  route(app, {
    method: 'POST',
    url: '/api/exceptions',
    access: 'admin',
    summary: 'Add a network exception',
    tags: etags,
    body: zExceptionInput,
    response: { 201: zExceptionView },
    handler: ({ body, user, reply }) => {
      const e = m.editDraft(user.username, 'exception.create', 'exception', (doc) => {
        const e = { id: Math.max(0, ...doc.exceptions.map((x) => x.id)) + 1, ...body };
        doc.exceptions.push(e);
        return { before: null, after: e, result: e };
      });
      reply.code(201);
      return e;
    },
  });

  route(app, {
    method: 'PUT',
    url: '/api/exceptions/:id',
    access: 'admin',
    summary: 'Replace a network exception',
    tags: etags,
    params: zIdParams,
    body: zExceptionInput,
    response: { 200: zExceptionView },
    handler: ({ params, body, user }) =>
      m.editDraft(user.username, 'exception.update', `exception ${params.id}`, (doc) => {
        const i = doc.exceptions.findIndex((x) => x.id === params.id);
        if (i < 0) throw notFound(`exception ${params.id}`);
        const before = doc.exceptions[i];
        const e = { id: params.id, ...body };
        doc.exceptions[i] = e;
        return { before, after: e, result: e };
      }),
  });

  route(app, {
    method: 'DELETE',
    url: '/api/exceptions/:id',
    access: 'admin',
    summary: 'Delete a network exception',
    tags: etags,
    params: zIdParams,
    response: { 204: null },
    handler: ({ params, user }) => {
      m.editDraft(user.username, 'exception.delete', `exception ${params.id}`, (doc) => {
        const e = doc.exceptions.find((x) => x.id === params.id);
        if (!e) throw notFound(`exception ${params.id}`);
        doc.exceptions = doc.exceptions.filter((x) => x.id !== params.id);
        return { before: e, after: null, result: undefined };
      });
    },
  });

  // ---------- draft ----------
  route(app, {
    method: 'GET',
    url: '/api/draft',
    access: 'operator',
    summary: 'The draft policy and what changed since the last revision',
    tags,
    response: { 200: zDraftResponse },
    handler: () => draftResponse(m),
  });

  route(app, {
    method: 'POST',
    url: '/api/draft/discard',
    access: 'admin',
    summary: 'Throw the draft away (back to the last revision)',
    tags,
    response: { 200: zDraftResponse },
    handler: ({ user }) => {
      m.editDraft(user.username, 'draft.discard', 'draft', (doc) => {
        const before = structuredClone(doc);
        Object.assign(doc, m.lastRevision()?.document ?? initialDocument());
        return { before, after: doc, result: undefined };
      });
      return draftResponse(m);
    },
  });
}
