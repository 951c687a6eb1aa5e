import { describe, expect, it } from 'vitest';
import { groupChanges, showValue } from '../src/lib/diff.js';
import { humanizeLine, plainMessage, queryString } from '../src/lib/api.js';
import type { Change } from '../src/types.js';

describe('revision diff view', () => {
  const changes: Change[] = [
    { path: 'settings.max-recipients.limit', kind: 'changed', before: 100, after: 50, text: 'Maximum Number of Recipients Enforcement: limit 100 → 50' },
    {
      path: 'profiles.Default_Protection.actions.max-recipients',
      kind: 'changed',
      before: 'prevent',
      after: 'detect',
      text: 'Default_Protection: Maximum Number of Recipients Enforcement Prevent → Detect',
    },
    { path: 'exceptions.3', kind: 'added', after: { protection: 'exchange-commands', source: '10.0.0.5' }, text: 'Exception 3 added' },
    { path: 'somethingNew', kind: 'removed', before: 1, text: 'x' },
  ];

  it('groups changes by what they touch, profiles first, unknown paths last', () => {
    expect(groupChanges(changes).map((g) => [g.title, g.changes.length])).toEqual([
      ['Profiles and actions', 1],
      ['Additional settings', 1],
      ['Network exceptions', 1],
      ['Other', 1],
    ]);
  });

  it('shows values as short words', () => {
    expect(showValue('prevent')).toBe('Prevent');
    expect(showValue(['EHLO', 'HELO'])).toBe('EHLO, HELO');
    expect(showValue([])).toBe('(empty)');
    expect(showValue(undefined)).toBe('—');
    expect(showValue({ a: 'x'.repeat(300) }).length).toBeLessThanOrEqual(160);
  });
});

describe('API errors in plain words', () => {
  it('names the field of a 400 and rewrites zod wording', () => {
    expect(humanizeLine('body.settings.limit: Too big: expected number to be <=1000000')).toBe('limit: must be at most 1000000');
    expect(plainMessage(400, { error: 'bad_request', message: 'body.name: letters, digits, ".", "_" and "-"', field: 'body.name' })).toBe(
      'Name: letters, digits, ".", "_" and "-"',
    );
  });
  it('explains sign-in, role and connectivity failures', () => {
    expect(plainMessage(401, null, '/api/auth/login')).toBe('Wrong user name or password.');
    expect(plainMessage(401, null, '/api/draft')).toBe('Your session has ended. Sign in again.');
    expect(plainMessage(403, { error: 'forbidden', message: 'admin only' })).toMatch(/role does not allow/);
    expect(plainMessage(0, null)).toMatch(/Cannot reach the manager/);
    expect(plainMessage(409, { error: 'conflict', message: 'profile is assigned to gateway gw-a' })).toBe('Profile is assigned to gateway gw-a');
    expect(plainMessage(500, { error: 'internal', message: 'internal error (logged on the manager)' })).toMatch(/internal error/);
  });
  it('builds query strings from filters, lists comma-separated, empties left out', () => {
    expect(queryString({ protection: ['a', 'b'], q: '', action: undefined, limit: 10 })).toBe('?protection=a%2Cb&limit=10');
    expect(queryString({})).toBe('');
  });
});
