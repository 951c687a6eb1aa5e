import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG, PROTECTION_IDS, defaultSettings, describeZodError, resolvePolicy, zPolicy, actionsForConnection } from '../src/index.js';

const seed = readFileSync(new URL('../../../fixtures/seed/check-point-sbp-2010-06-smtp.txt', import.meta.url), 'utf8');

describe('protection catalog', () => {
  it('holds the 16 protections of the seed, in its order', () => {
    const listed = seed.split('How Can I Protect My Network?')[1]!.split('3. In the Protection Details')[0]!;
    const names = listed.split('\n').map((l) => l.trim()).filter((l) => l && !/^\d\./.test(l) && l !== 'Security Gateway R70');
    expect(PROTECTION_IDS.map((id) => CATALOG[id].name)).toEqual(names);
  });

  it.each(PROTECTION_IDS)('%s carries the exact Attack Name and Attack Information of the seed', (id) => {
    const entry = CATALOG[id];
    const block = `${entry.name}\nAttack Name: ${entry.attackName}\nAttack Information: ${entry.attackInfo}`;
    expect(seed).toContain(block);
  });

  it.each(PROTECTION_IDS)('%s has a description taken from the seed and settings that default from {}', (id) => {
    expect(seed).toContain(CATALOG[id].description);
    expect(() => defaultSettings(id)).not.toThrow();
  });

  it('documents every limit with its default', () => {
    for (const id of PROTECTION_IDS) {
      const limit = CATALOG[id].limit;
      if (!limit) continue;
      const defaults = defaultSettings(id) as Record<string, unknown>;
      expect(typeof defaults[limit.setting], id).toBe('number');
    }
    expect(defaultSettings('max-command-line-length')).toEqual({ limit: 512, perVerb: { AUTH: 12288 } });
    expect(defaultSettings('max-email-size').limit).toBe(10_240_000);
  });
});

describe('policy shape', () => {
  it('takes catalog defaults for protections it does not mention', () => {
    const policy = resolvePolicy(zPolicy.parse({ protections: { 'max-recipients': { action: 'detect', settings: { limit: 5 } } } }));
    expect(policy.actions['max-recipients']).toBe('detect');
    expect(policy.settings['max-recipients']).toEqual({ limit: 5 });
    expect(policy.actions['exchange-commands']).toBe(CATALOG['exchange-commands'].defaultAction);
    expect(policy.settings['max-commands']).toEqual({ limit: 1000 });
  });

  it('a default action overrides every protection', () => {
    const policy = resolvePolicy(zPolicy.parse({ protections: { starttls: { action: 'prevent' } } }), 'detect');
    expect(new Set(Object.values(policy.actions))).toEqual(new Set(['detect']));
  });

  it('names the field of a bad value', () => {
    const result = zPolicy.safeParse({ protections: { 'max-recipients': { settings: { limit: -1 } } } });
    expect(result.success).toBe(false);
    expect(describeZodError(result.error!)).toMatch(/^protections\.max-recipients\.settings\.limit: /);
    const unknown = zPolicy.safeParse({ protections: { 'max-recipent': {} } });
    expect(describeZodError(unknown.error!)).toContain('max-recipent');
    const typo = zPolicy.safeParse({ protections: { 'max-recipients': { settings: { limt: 3 } } } });
    expect(describeZodError(typo.error!)).toContain('limt');
  });

  it('applies network exceptions by source, destination and gateway', () => {
    const policy = resolvePolicy(
      zPolicy.parse({
        protections: { 'exchange-commands': { action: 'prevent' } },
        exceptions: [{ protection: 'exchange-commands', source: '10.1.0.0/16', destination: '2001:db8::/32' }],
      }),
    );
    expect(actionsForConnection(policy, { clientAddress: '10.1.2.3', serverAddress: '2001:db8::25' })['exchange-commands']).toBe('inactive');
    expect(actionsForConnection(policy, { clientAddress: '::ffff:10.1.2.3', serverAddress: '2001:db8::25' })['exchange-commands']).toBe('inactive');
    expect(actionsForConnection(policy, { clientAddress: '10.2.0.1', serverAddress: '2001:db8::25' })['exchange-commands']).toBe('prevent');
    expect(actionsForConnection(policy, { clientAddress: '10.1.2.3', serverAddress: '192.0.2.1' })['exchange-commands']).toBe('prevent');
  });

  it('refuses a malformed CIDR with the field named', () => {
    const result = zPolicy.safeParse({ exceptions: [{ protection: '*', source: '10.0.0.0/33' }] });
    expect(describeZodError(result.error!)).toMatch(/^exceptions\.0\.source: /);
  });
});
