import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { zApiError, zEventPage, zGatewayList, zInstall, zOpenApiShape } from './schemas.js';
import { ADMIN_PASSWORD, cookieOf, makeApp, type TestApp } from './helpers.js';
import { makeEvent } from './fixtures.js';

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
});
afterEach(async () => {
  await t.app.close();
});

const json = (res: { body: string }) => JSON.parse(res.body);

describe('access control', () => {
  // [method, url, body, who may call it]
  const routes: [string, string, unknown, 'operator' | 'admin'][] = [
    ['GET', '/api/auth/me', undefined, 'operator'],
    ['GET', '/api/users', undefined, 'admin'],
    ['POST', '/api/users', { username: 'x', password: 'long-enough-1', role: 'operator' }, 'admin'],
    ['PATCH', '/api/users/1', { role: 'admin' }, 'admin'],
    ['DELETE', '/api/users/1', undefined, 'admin'],
    ['GET', '/api/protections', undefined, 'operator'],
    ['GET', '/api/protections/max-recipients', undefined, 'operator'],
    ['PUT', '/api/protections/max-recipients/settings', { settings: { limit: 5 } }, 'admin'],
    ['GET', '/api/profiles', undefined, 'operator'],
    ['POST', '/api/profiles', { name: 'Strict' }, 'admin'],
    ['GET', '/api/profiles/1', undefined, 'operator'],
    ['PATCH', '/api/profiles/1', { comment: 'x' }, 'admin'],
    ['DELETE', '/api/profiles/2', undefined, 'admin'],
    ['GET', '/api/profiles/1/protections', undefined, 'operator'],
    ['PUT', '/api/profiles/1/overrides/starttls', { action: 'detect' }, 'admin'],
    ['DELETE', '/api/profiles/1/overrides/starttls', undefined, 'admin'],
    ['GET', '/api/exceptions', undefined, 'operator'],
    ['POST', '/api/exceptions', { protection: 'exchange-commands', source: '10.0.0.0/8' }, 'admin'],
    ['PUT', '/api/exceptions/1', { protection: 'exchange-commands' }, 'admin'],
    ['DELETE', '/api/exceptions/1', undefined, 'admin'],
    ['GET', '/api/draft', undefined, 'operator'],
    ['POST', '/api/draft/discard', undefined, 'admin'],
    ['POST', '/api/install', {}, 'admin'],
    ['GET', '/api/installs', undefined, 'operator'],
    ['GET', '/api/installs/1', undefined, 'operator'],
    ['GET', '/api/revisions', undefined, 'operator'],
    ['GET', '/api/revisions/1', undefined, 'operator'],
    ['GET', '/api/revisions/1/diff', undefined, 'operator'],
    ['POST', '/api/revisions/1/rollback', {}, 'admin'],
    ['GET', '/api/gateways', undefined, 'operator'],
    ['POST', '/api/gateways', { name: 'gw-x' }, 'admin'],
    ['GET', '/api/gateways/gw_1', undefined, 'operator'],
    ['PATCH', '/api/gateways/gw_1', { profileId: 1 }, 'admin'],
    ['POST', '/api/gateways/gw_1/enrollment-key', undefined, 'admin'],
    ['POST', '/api/gateways/gw_1/revoke', undefined, 'admin'],
    ['GET', '/api/events', undefined, 'operator'],
    ['GET', '/api/events/stats', undefined, 'operator'],
    ['GET', '/api/events/export', undefined, 'operator'],
    ['GET', '/api/audit', undefined, 'admin'],
    ['GET', '/api/settings', undefined, 'operator'],
    ['PUT', '/api/settings', { retentionDays: 7 }, 'admin'],
    ['POST', '/api/auth/logout', undefined, 'operator'],
  ];
  it.each(routes)('%s %s without a session: 401', async (method, url, payload) => {
    const res = await t.as(null, { method: method as 'GET', url, ...(payload ? { payload: payload as object } : {}) });
    expect(res.statusCode).toBe(401);
    expect(zApiError.parse(json(res)).error).toBe('unauthorized');
  });
  it.each(routes.filter((r) => r[3] === 'admin'))('%s %s as operator: 403', async (method, url, payload) => {
    const res = await t.as(t.operator, { method: method as 'GET', url, ...(payload ? { payload: payload as object } : {}) });
    expect(res.statusCode).toBe(403);
    expect(json(res)).toEqual({ error: 'forbidden', message: 'this needs the admin role' });
  });
});

describe('sessions', () => {
  it('login sets an HttpOnly SameSite=Strict cookie; wrong password is 401 without saying which part was wrong', async () => {
    const ok = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
    expect(ok.statusCode).toBe(200);
    const set = String(ok.headers['set-cookie']);
    expect(set).toMatch(/sg_session=/);
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(json(ok).user).toMatchObject({ username: 'admin', role: 'admin' });
    const bad = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'nope' } });
    expect(bad.statusCode).toBe(401);
    const nouser = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ghost', password: 'nope' } });
    expect(json(nouser).message).toBe(json(bad).message);
  });

  it('login without a password is 400 naming body.password', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin' } });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ error: 'bad_request', field: 'body.password' });
  });

  it('login is rate-limited: the 11th attempt in a minute gets 429', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) {
      codes.push((await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'wrong' } })).statusCode);
    }
    // makeApp already logged in twice from this address: 8 more attempts are answered, then 429.
    expect(codes.filter((c) => c === 401)).toHaveLength(8);
    expect(codes.slice(8)).toEqual([429, 429, 429]);
  });

  it('me, logout ends the session, changing the password ends other sessions', async () => {
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/auth/me' })).user.username).toBe('olga');
    const second = cookieOf(await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } }));
    const bad = await t.as(t.admin, { method: 'POST', url: '/api/auth/password', payload: { currentPassword: 'wrong', newPassword: 'new-password-22' } });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).field).toBe('body.currentPassword');
    const short = await t.as(t.admin, { method: 'POST', url: '/api/auth/password', payload: { currentPassword: ADMIN_PASSWORD, newPassword: 'short' } });
    expect(json(short).field).toBe('body.newPassword');
    expect((await t.as(t.admin, { method: 'POST', url: '/api/auth/password', payload: { currentPassword: ADMIN_PASSWORD, newPassword: 'new-password-22' } })).statusCode).toBe(204);
    expect((await t.as(second, { method: 'GET', url: '/api/auth/me' })).statusCode).toBe(401);
    expect((await t.as(t.admin, { method: 'POST', url: '/api/auth/logout' })).statusCode).toBe(204);
    expect((await t.as(t.admin, { method: 'GET', url: '/api/auth/me' })).statusCode).toBe(401);
  });

  it('first start without SMTPGUARD_ADMIN_PASSWORD prints a generated password once, and it works', async () => {
    const saved = process.env.SMTPGUARD_ADMIN_PASSWORD;
    delete process.env.SMTPGUARD_ADMIN_PASSWORD;
    const logs: string[] = [];
    const { buildApp } = await import('../src/app.js');
    const app = await buildApp({ dbFile: ':memory:', log: (l) => logs.push(l), consoleDir: null });
    if (saved !== undefined) process.env.SMTPGUARD_ADMIN_PASSWORD = saved;
    const line = logs.find((l) => l.includes('generated password'));
    const password = /generated password: (\S+)/.exec(line ?? '')?.[1];
    expect(password).toBeDefined();
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password } });
    expect(res.statusCode).toBe(200);
    await app.close();
  });
});

describe('users', () => {
  it('admin creates, updates, disables and deletes a user; every change is audited with before/after', async () => {
    const created = await t.as(t.admin, { method: 'POST', url: '/api/users', payload: { username: 'bob', password: 'bob-password-1', role: 'operator' } });
    expect(created.statusCode).toBe(201);
    const id = json(created).id;
    expect(json(await t.as(t.admin, { method: 'GET', url: '/api/users' })).users.map((u: { username: string }) => u.username)).toEqual(['admin', 'olga', 'bob']);
    const dup = await t.as(t.admin, { method: 'POST', url: '/api/users', payload: { username: 'bob', password: 'bob-password-1', role: 'operator' } });
    expect(dup.statusCode).toBe(409);
    const patched = await t.as(t.admin, { method: 'PATCH', url: `/api/users/${id}`, payload: { role: 'admin' } });
    expect(json(patched).role).toBe('admin');
    const disabled = await t.as(t.admin, { method: 'PATCH', url: `/api/users/${id}`, payload: { disabled: true } });
    expect(json(disabled).disabled).toBe(true);
    const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'bob', password: 'bob-password-1' } });
    expect(login.statusCode).toBe(401);
    expect((await t.as(t.admin, { method: 'DELETE', url: `/api/users/${id}` })).statusCode).toBe(204);
    const audit = json(await t.as(t.admin, { method: 'GET', url: '/api/audit' })).entries;
    expect(audit[0]).toMatchObject({ user: 'admin', action: 'user.delete', target: 'user bob', before: { username: 'bob', role: 'admin' }, after: null });
    expect(audit.filter((e: { action: string }) => e.action === 'user.update').at(-1)).toMatchObject({ before: { role: 'operator' }, after: { role: 'admin' } });
    expect(JSON.stringify(audit)).not.toContain('bob-password-1');
  });

  it('bad input names the field; the last admin cannot be demoted or deleted', async () => {
    const bad = await t.as(t.admin, { method: 'POST', url: '/api/users', payload: { username: 'b o b', password: 'x', role: 'root' } });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).field).toBe('body.username');
    expect(json(bad).message).toContain('body.role');
    expect(json(await t.as(t.admin, { method: 'PATCH', url: '/api/users/abc', payload: {} })).field).toBe('params.id');
    expect((await t.as(t.admin, { method: 'PATCH', url: '/api/users/1', payload: { role: 'operator' } })).statusCode).toBe(409);
    expect((await t.as(t.admin, { method: 'DELETE', url: '/api/users/1' })).statusCode).toBe(409);
    expect((await t.as(t.admin, { method: 'DELETE', url: '/api/users/99' })).statusCode).toBe(404);
  });
});

describe('profiles and protections', () => {
  it('ships Default_Protection and Recommended_Protection with automatic activation from the thresholds', async () => {
    const profiles = json(await t.as(t.operator, { method: 'GET', url: '/api/profiles' })).profiles;
    expect(profiles.map((p: { name: string }) => p.name)).toEqual(['Default_Protection', 'Recommended_Protection']);
    const list = json(await t.as(t.operator, { method: 'GET', url: '/api/protections' })).protections;
    const by = (id: string, profile: string) => list.find((p: { id: string }) => p.id === id).profiles.find((x: { profile: string }) => x.profile === profile);
    // Critical severity, High confidence, Very Low impact: active in both.
    expect(by('exchange-commands', 'Default_Protection')).toMatchObject({ action: 'prevent', source: 'threshold' });
    // Medium severity: below Default's High threshold, within Recommended's.
    expect(by('max-recipients', 'Default_Protection')).toMatchObject({ action: 'inactive', source: 'below-threshold' });
    expect(by('max-recipients', 'Recommended_Protection')).toMatchObject({ action: 'prevent', source: 'threshold' });
    // Performance impact High: inactive in both.
    expect(by('malicious-code', 'Recommended_Protection').action).toBe('inactive');
    // Meets the thresholds, but the catalog starts it in Detect.
    expect(by('bad-server-greeting', 'Recommended_Protection')).toMatchObject({ action: 'detect', source: 'catalog-default' });
    const one = json(await t.as(t.operator, { method: 'GET', url: '/api/protections/max-email-size' }));
    expect(one.settings).toEqual({ limit: 10240000, checkSizeParameter: true });
    expect(one.settingsSchema).toHaveProperty('properties.limit');
    expect((await t.as(t.operator, { method: 'GET', url: '/api/protections/nope' })).statusCode).toBe(400);
  });

  it('an override beats the thresholds and can be removed', async () => {
    const res = await t.as(t.admin, { method: 'PUT', url: '/api/profiles/1/overrides/max-recipients', payload: { action: 'detect' } });
    expect(res.statusCode).toBe(200);
    expect(json(res).overrides).toEqual({ 'max-recipients': 'detect' });
    const view = json(await t.as(t.operator, { method: 'GET', url: '/api/profiles/1/protections' })).protections.find((p: { id: string }) => p.id === 'max-recipients');
    expect(view.profiles[0]).toMatchObject({ action: 'detect', automaticAction: 'inactive', override: 'detect', source: 'override' });
    const bad = await t.as(t.admin, { method: 'PUT', url: '/api/profiles/1/overrides/max-recipients', payload: { action: 'block' } });
    expect(json(bad).field).toBe('body.action');
    expect((await t.as(t.admin, { method: 'PUT', url: '/api/profiles/9/overrides/max-recipients', payload: { action: 'detect' } })).statusCode).toBe(404);
    const removed = await t.as(t.admin, { method: 'DELETE', url: '/api/profiles/1/overrides/max-recipients' });
    expect(json(removed).overrides).toEqual({});
  });

  it('settings are validated by the catalog schema; the 400 names the field', async () => {
    const bad = await t.as(t.admin, { method: 'PUT', url: '/api/protections/max-recipients/settings', payload: { settings: { limit: -1 } } });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).field).toBe('body.settings.limit');
    const typo = await t.as(t.admin, { method: 'PUT', url: '/api/protections/max-recipients/settings', payload: { settings: { limt: 5 } } });
    expect(typo.statusCode).toBe(400);
    expect(json(typo).message).toContain('limt');
    const ok = await t.as(t.admin, { method: 'PUT', url: '/api/protections/private-commands/settings', payload: { settings: { allow: ['xclient'] } } });
    expect(ok.statusCode).toBe(200);
    expect(json(ok).settings).toEqual({ allow: ['XCLIENT'] });
  });

  it('create (copy), rename, change thresholds, delete a profile; the default one cannot be deleted', async () => {
    const created = await t.as(t.admin, { method: 'POST', url: '/api/profiles', payload: { name: 'Strict', copyFrom: 2 } });
    expect(created.statusCode).toBe(201);
    expect(json(created).thresholds.minSeverity).toBe('Medium');
    const id = json(created).id;
    const dup = await t.as(t.admin, { method: 'POST', url: '/api/profiles', payload: { name: 'Strict' } });
    expect(dup.statusCode).toBe(409);
    const bad = await t.as(t.admin, { method: 'PATCH', url: `/api/profiles/${id}`, payload: { thresholds: { mode: 'prevent', minSeverity: 'Huge', minConfidence: 'Low', maxPerformanceImpact: 'High' } } });
    expect(json(bad).field).toBe('body.thresholds.minSeverity');
    const patched = await t.as(t.admin, {
      method: 'PATCH',
      url: `/api/profiles/${id}`,
      payload: { name: 'Strict2', thresholds: { mode: 'detect', minSeverity: 'Low', minConfidence: 'Low', maxPerformanceImpact: 'Critical' } },
    });
    expect(json(patched).name).toBe('Strict2');
    const all = json(await t.as(t.operator, { method: 'GET', url: `/api/profiles/${id}/protections` })).protections;
    expect(all.find((p: { id: string }) => p.id === 'malicious-code').profiles[0].action).toBe('detect');
    expect((await t.as(t.admin, { method: 'DELETE', url: '/api/profiles/1' })).statusCode).toBe(409);
    expect((await t.as(t.admin, { method: 'DELETE', url: `/api/profiles/${id}` })).statusCode).toBe(204);
    expect((await t.as(t.operator, { method: 'GET', url: `/api/profiles/${id}` })).statusCode).toBe(404);
  });
});

describe('network exceptions', () => {
  it('add, replace, delete; bad CIDR is 400 naming body.source', async () => {
    const bad = await t.as(t.admin, { method: 'POST', url: '/api/exceptions', payload: { protection: 'exchange-commands', source: '10.0.0.0/99' } });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).field).toBe('body.source');
    const ok = await t.as(t.admin, {
      method: 'POST',
      url: '/api/exceptions',
      payload: { protection: 'exchange-commands', source: '10.1.1.1', destination: '10.1.1.2', comment: 'Exchange pair' },
    });
    expect(ok.statusCode).toBe(201);
    expect(json(ok)).toMatchObject({ id: 1, action: 'inactive' });
    const put = await t.as(t.admin, { method: 'PUT', url: '/api/exceptions/1', payload: { protection: '*', gateway: 'gw-a', action: 'detect' } });
    expect(json(put)).toEqual({ id: 1, protection: '*', gateway: 'gw-a', action: 'detect' });
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/exceptions' })).exceptions).toHaveLength(1);
    expect((await t.as(t.admin, { method: 'DELETE', url: '/api/exceptions/1' })).statusCode).toBe(204);
    expect((await t.as(t.admin, { method: 'DELETE', url: '/api/exceptions/1' })).statusCode).toBe(404);
  });
});

describe('draft, install, revisions', () => {
  it('install with no gateway creates revision 1; edits show in the draft changes; diff and rollback', async () => {
    const first = await t.as(t.admin, { method: 'POST', url: '/api/install', payload: { comment: 'initial' } });
    expect(first.statusCode).toBe(200);
    expect(zInstall.parse(json(first))).toMatchObject({ revision: 1, createdBy: 'admin', comment: 'initial', done: true, results: [] });
    await t.as(t.admin, { method: 'PUT', url: '/api/profiles/1/overrides/max-recipients', payload: { action: 'prevent' } });
    await t.as(t.admin, { method: 'PUT', url: '/api/protections/max-recipients/settings', payload: { settings: { limit: 50 } } });
    const draft = json(await t.as(t.operator, { method: 'GET', url: '/api/draft' }));
    expect(draft.basedOnRevision).toBe(1);
    expect(draft.changes.map((c: { text: string }) => c.text)).toEqual([
      'Default_Protection: Maximum Number of Recipients Enforcement Inactive → Prevent (override)',
      'Maximum Number of Recipients Enforcement: limit 100 → 50',
    ]);
    const second = json(await t.as(t.admin, { method: 'POST', url: '/api/install', payload: { comment: 'tighter' } }));
    expect(second.revision).toBe(2);
    const detail = json(await t.as(t.operator, { method: 'GET', url: '/api/revisions/2' }));
    expect(detail.policies.Default_Protection.protections['max-recipients']).toEqual({ action: 'prevent', settings: { limit: 50 } });
    expect(detail.policies.Default_Protection.revision).toBe(2);
    const diff = json(await t.as(t.operator, { method: 'GET', url: '/api/revisions/2/diff' }));
    expect(diff).toMatchObject({ from: 1, to: 2 });
    expect(diff.changes).toHaveLength(2);
    const rollback = json(await t.as(t.admin, { method: 'POST', url: '/api/revisions/1/rollback', payload: {} }));
    expect(rollback.revision).toBe(3);
    const revs = json(await t.as(t.operator, { method: 'GET', url: '/api/revisions' })).revisions;
    expect(revs.map((r: { number: number; rollbackOf: number | null }) => [r.number, r.rollbackOf])).toEqual([[3, 1], [2, null], [1, null]]);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/revisions/3/diff?against=1' })).changes).toEqual([]);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/draft' })).changes).toEqual([]);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/installs' })).installs).toHaveLength(3);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/installs/2' })).revision).toBe(2);
  });

  it('discard resets the draft; bad input and unknown revisions', async () => {
    await t.as(t.admin, { method: 'POST', url: '/api/install', payload: {} });
    await t.as(t.admin, { method: 'PUT', url: '/api/protections/max-recipients/settings', payload: { settings: { limit: 50 } } });
    const discarded = json(await t.as(t.admin, { method: 'POST', url: '/api/draft/discard' }));
    expect(discarded.changes).toEqual([]);
    expect(json(await t.as(t.admin, { method: 'POST', url: '/api/install', payload: { gateways: [] } })).field).toBe('body.gateways');
    expect(json(await t.as(t.admin, { method: 'POST', url: '/api/install', payload: { gateways: ['gw_nope'] } })).field).toBe('body.gateways.0');
    expect((await t.as(t.operator, { method: 'GET', url: '/api/revisions/7' })).statusCode).toBe(404);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/revisions/x' })).field).toBe('params.number');
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/revisions/1/diff?against=-1' })).field).toBe('query.against');
  });
});

describe('manager restart', () => {
  it('an install the manager was waiting on when it stopped is reported unreachable after the restart', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dbFile = join(mkdtempSync(join(tmpdir(), 'mgr-restart-')), 'manager.db');
    const first = await makeApp({ dbFile });
    first.app.manager.store.sqlite.exec(`
      INSERT INTO installs (id, revision, created_at, created_by, comment, done) VALUES (9, 1, 0, 'admin', 'x', 0);
      INSERT INTO install_results (install_id, gateway_id, gateway_name, profile, hash, status, reason, updated_at)
        VALUES (9, 'gw_1', 'gw-1', 'Default_Protection', '${'0'.repeat(64)}', 'pending', NULL, 0);`);
    await first.app.close();
    const second = await makeApp({ dbFile });
    const install = json(await second.as(second.operator, { method: 'GET', url: '/api/installs/9' }));
    expect(install.done).toBe(true);
    expect(install.results[0]).toMatchObject({ status: 'unreachable', reason: 'manager restarted before the gateway answered' });
    await second.app.close();
  });
});

describe('gateways', () => {
  it('create returns a one-time key; enrolling twice with it is refused; revoke', async () => {
    const created = await t.as(t.admin, { method: 'POST', url: '/api/gateways', payload: { name: 'gw-a', profileId: 2 } });
    expect(created.statusCode).toBe(201);
    const { gateway, enrollmentKey } = json(created);
    expect(gateway).toMatchObject({ name: 'gw-a', status: 'pending-enrollment', profileId: 2 });
    const enrolled = await t.app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: { key: enrollmentKey } });
    expect(enrolled.statusCode).toBe(200);
    expect(json(enrolled)).toMatchObject({ gatewayId: gateway.id, name: 'gw-a' });
    const again = await t.app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: { key: enrollmentKey } });
    expect(again.statusCode).toBe(401);
    expect(json(again).message).toMatch(/unknown, used or expired/);
    expect(json(await t.app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: {} })).field).toBe('body.key');
    const list = zGatewayList.parse(json(await t.as(t.operator, { method: 'GET', url: '/api/gateways' })));
    expect(list.gateways[0]).toMatchObject({ name: 'gw-a', status: 'offline' });
    const patched = await t.as(t.admin, { method: 'PATCH', url: `/api/gateways/${gateway.id}`, payload: { profileId: 1 } });
    expect(json(patched).profileId).toBe(1);
    expect(json(await t.as(t.admin, { method: 'PATCH', url: `/api/gateways/${gateway.id}`, payload: { profileId: 77 } })).field).toBe('body.profileId');
    const key2 = json(await t.as(t.admin, { method: 'POST', url: `/api/gateways/${gateway.id}/enrollment-key` })).enrollmentKey;
    expect(key2).not.toBe(enrollmentKey);
    const revoked = await t.as(t.admin, { method: 'POST', url: `/api/gateways/${gateway.id}/revoke` });
    expect(json(revoked).status).toBe('revoked');
    expect((await t.app.inject({ method: 'POST', url: '/api/fleet/enroll', payload: { key: key2 } })).statusCode).toBe(401);
    expect((await t.as(t.operator, { method: 'GET', url: '/api/gateways/gw_missing' })).statusCode).toBe(404);
  });

  it('bad names and duplicates', async () => {
    expect(json(await t.as(t.admin, { method: 'POST', url: '/api/gateways', payload: { name: '<script>' } })).field).toBe('body.name');
    await t.as(t.admin, { method: 'POST', url: '/api/gateways', payload: { name: 'gw-a' } });
    expect((await t.as(t.admin, { method: 'POST', url: '/api/gateways', payload: { name: 'gw-a' } })).statusCode).toBe(409);
  });
});

describe('events', () => {
  function seed() {
    const m = t.app.manager;
    const ids = ['gw_a', 'gw_b'];
    t.app.manager.store.sqlite.prepare("INSERT INTO gateways (id, name, created_at) VALUES ('gw_a', 'gw-a', 0), ('gw_b', 'gw-b', 0)").run();
    const batchA = [
      makeEvent('exchange-commands', { command: 'XEXCH50 2 2' }),
      makeEvent('max-recipients', { action: 'detect', command: 'RCPT TO:<x@victim.example>', client: { address: '203.0.113.9', port: 1 } }),
      makeEvent('unknown-commands', { command: '=cmd|calc', detail: 'unknown verb =CMD|CALC' }),
    ].map((event, i) => ({ seq: i + 1, event }));
    const batchB = [makeEvent('exchange-commands', { command: 'X-LINK2STATE CHUNK=1' })].map((event, i) => ({ seq: i + 1, event }));
    m.events.ingest(ids[0]!, 'gw-a', 1, batchA);
    m.events.ingest(ids[1]!, 'gw-b', 1, batchB);
    // Re-sent batch: stored once.
    expect(m.events.ingest(ids[0]!, 'gw-a', 1, batchA)).toEqual([]);
  }

  it('query with filters, newest first, cursor pagination', async () => {
    seed();
    const all = zEventPage.parse(json(await t.as(t.operator, { method: 'GET', url: '/api/events' })));
    expect(all.events.map((e) => e.command)).toEqual(['X-LINK2STATE CHUNK=1', '=cmd|calc', 'RCPT TO:<x@victim.example>', 'XEXCH50 2 2']);
    const q = (s: string) => t.as(t.operator, { method: 'GET', url: `/api/events?${s}` }).then((r) => json(r).events.map((e: { command: string }) => e.command));
    expect(await q('protection=exchange-commands')).toEqual(['X-LINK2STATE CHUNK=1', 'XEXCH50 2 2']);
    expect(await q('gateway=gw-b')).toEqual(['X-LINK2STATE CHUNK=1']);
    expect(await q('action=detect')).toEqual(['RCPT TO:<x@victim.example>']);
    expect(await q('client=203.0.113.0/24')).toEqual(['RCPT TO:<x@victim.example>']);
    expect(await q('client=203.0.113.9')).toEqual(['RCPT TO:<x@victim.example>']);
    expect(await q('q=VICTIM')).toEqual(['RCPT TO:<x@victim.example>']);
    expect(await q('q=100%25')).toEqual([]);
    expect(await q(`attackName=${encodeURIComponent('SMTP policy Violation')}`)).toEqual(['RCPT TO:<x@victim.example>']);
    expect(await q(`from=${encodeURIComponent(all.events[1]!.time)}&to=${encodeURIComponent(all.events[0]!.time)}`)).toEqual(['=cmd|calc']);
    const p1 = json(await t.as(t.operator, { method: 'GET', url: '/api/events?limit=3' }));
    expect(p1.events).toHaveLength(3);
    const p2 = json(await t.as(t.operator, { method: 'GET', url: `/api/events?limit=3&cursor=${p1.nextCursor}` }));
    expect(p2.events.map((e: { command: string }) => e.command)).toEqual(['XEXCH50 2 2']);
    expect(p2.nextCursor).toBeNull();
  });

  it('bad filters are 400 naming the field', async () => {
    const f = async (s: string) => json(await t.as(t.operator, { method: 'GET', url: `/api/events?${s}` })).field;
    expect(await f('protection=nope')).toBe('query.protection.0');
    expect(await f('from=yesterday')).toBe('query.from');
    expect(await f('limit=5000')).toBe('query.limit');
    expect(await f('cursor=zzz')).toBe('query.cursor');
    expect(await f('colour=red')).toBe('query');
  });

  it('counts per protection and per time bucket', async () => {
    seed();
    const stats = json(await t.as(t.operator, { method: 'GET', url: '/api/events/stats?bucketSeconds=3600' }));
    expect(stats.total).toBe(4);
    expect(stats.byProtection[0]).toEqual({ protectionId: 'exchange-commands', name: 'Microsoft Exchange Server Commands', count: 2 });
    expect(stats.byTime).toEqual([{ start: '2026-01-01T12:00:00.000Z', count: 4 }]);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/events/stats?bucketSeconds=0' })).field).toBe('query.bucketSeconds');
  });

  it('export as CSV (formula cells neutralised) and JSON lines', async () => {
    seed();
    const csv = await t.as(t.operator, { method: 'GET', url: '/api/events/export?format=csv' });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="smtpguard-events-.*\.csv"/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^id,time,gateway,/);
    expect(csv.body).toContain(",'=cmd|calc,");
    const jl = await t.as(t.operator, { method: 'GET', url: '/api/events/export?format=jsonl&protection=exchange-commands' });
    const rows = jl.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.gateway)).toEqual(['gw-b', 'gw-a']);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/events/export?format=xml' })).field).toBe('query.format');
  });

  it('retention by row count and by age (settings)', async () => {
    seed();
    const bad = await t.as(t.admin, { method: 'PUT', url: '/api/settings', payload: { retentionDays: 0 } });
    expect(json(bad).field).toBe('body.retentionDays');
    const res = await t.as(t.admin, { method: 'PUT', url: '/api/settings', payload: { retentionDays: 3650, retentionMaxRows: 1000 } });
    expect(json(res)).toEqual({ retentionDays: 3650, retentionMaxRows: 1000 });
    expect(t.app.manager.events.count()).toBe(4);
    expect(t.app.manager.events.applyRetention({ retentionDays: 3650, retentionMaxRows: 2 } as never)).toBe(2);
    expect(t.app.manager.events.applyRetention({ retentionDays: 1, retentionMaxRows: 1000 })).toBe(2);
    expect(json(await t.as(t.operator, { method: 'GET', url: '/api/settings' }))).toEqual({ retentionDays: 3650, retentionMaxRows: 1000 });
  });
});

describe('errors, docs, static console', () => {
  it('unknown API route is a JSON 404; malformed JSON is 400; no stack traces', async () => {
    const nf = await t.as(t.admin, { method: 'GET', url: '/api/nope' });
    expect(nf.statusCode).toBe(404);
    expect(json(nf).error).toBe('not_found');
    const broken = await t.as(t.admin, { method: 'POST', url: '/api/users', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
    expect(broken.statusCode).toBe(400);
    expect(json(broken)).toMatchObject({ error: 'bad_request', field: 'body' });
    expect(broken.body).not.toMatch(/at .*\.ts:\d+/);
    const form = await t.as(t.admin, { method: 'POST', url: '/api/users', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=x' });
    expect(form.statusCode).toBe(415);
  });

  it('OpenAPI document at /api/docs/json and the UI at /api/docs', async () => {
    const doc = json(await t.app.inject({ method: 'GET', url: '/api/docs/json' }));
    expect(zOpenApiShape.parse(doc).openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/events', '/api/install', '/api/profiles/{id}/overrides/{protectionId}']));
    const ui = await t.app.inject({ method: 'GET', url: '/api/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });
});

describe('a JSON null body', () => {
  it('is refused with 400 naming the body, not read as an empty object', async () => {
    const { buildApp } = await import('../src/app.js');
    const app = await buildApp({ dbFile: ':memory:', adminPassword: 'null-body-password', log: () => {}, consoleDir: null });
    const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: 'null-body-password' } });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const res = await app.inject({ method: 'POST', url: '/api/install', headers: { cookie, 'content-type': 'application/json' }, payload: 'null' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'bad_request', field: 'body' });
    const revisions = await app.inject({ method: 'GET', url: '/api/revisions', headers: { cookie } });
    expect(revisions.json().revisions).toEqual([]);
    await app.close();
  });
});
