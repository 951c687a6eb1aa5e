import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CATALOG, PROTECTION_IDS } from '@smtpguard/contracts';
import { fieldKeyFromApi, fromFormValues, labelFor, parseField, schemaToFields, toFormValues } from '../src/lib/settings-form.js';

/** The JSON Schema the manager serves for a protection (same call as apps/manager). */
const schemaOf = (id: keyof typeof CATALOG) => z.toJSONSchema(CATALOG[id].settings, { io: 'input', unrepresentable: 'any' });
const defaultsOf = (id: keyof typeof CATALOG) => CATALOG[id].settings.parse({}) as Record<string, unknown>;

describe('Additional Settings form generated from the catalog schema', () => {
  it('builds a field for every setting of every protection, none falling back to raw JSON', () => {
    for (const id of PROTECTION_IDS) {
      const fields = schemaToFields(schemaOf(id));
      expect(fields.map((f) => f.key).sort()).toEqual(Object.keys(defaultsOf(id)).sort());
      for (const f of fields) expect(f.kind, `${id}.${f.key}`).not.toBe('json');
    }
  });

  it('round-trips every protection\'s defaults through the form unchanged and valid for the catalog', () => {
    for (const id of PROTECTION_IDS) {
      const fields = schemaToFields(schemaOf(id));
      const r = fromFormValues(fields, toFormValues(fields, defaultsOf(id)));
      expect(r.ok, id).toBe(true);
      if (r.ok) {
        expect(r.settings).toEqual(defaultsOf(id));
        expect(CATALOG[id].settings.safeParse(r.settings).success).toBe(true);
      }
    }
  });

  it('limits: whole numbers within the schema bounds, with the bound in the message', () => {
    const [limit] = schemaToFields(schemaOf('max-recipients'));
    expect(limit).toMatchObject({ key: 'limit', kind: 'integer', min: 0, max: 1_000_000 });
    expect(parseField(limit!, '250')).toEqual({ ok: true, value: 250 });
    expect(parseField(limit!, '1,000')).toEqual({ ok: true, value: 1000 });
    expect(parseField(limit!, '')).toEqual({ ok: false, error: 'Enter a number.' });
    expect(parseField(limit!, '12.5')).toEqual({ ok: false, error: 'Enter a whole number.' });
    expect(parseField(limit!, '-1')).toEqual({ ok: false, error: 'Must be at least 0.' });
    expect(parseField(limit!, '1000001')).toEqual({ ok: false, error: 'Must be at most 1,000,000.' });
  });

  it('command lists: upper-cased, separated by spaces or commas, bad verbs and duplicates named', () => {
    const [allowed] = schemaToFields(schemaOf('unknown-commands'));
    expect(allowed!.kind).toBe('string-list');
    expect(parseField(allowed!, 'ehlo, helo  mail')).toEqual({ ok: true, value: ['EHLO', 'HELO', 'MAIL'] });
    const bad = parseField(allowed!, 'EHLO <script>');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toContain('"<script>" is not allowed');
    expect(parseField(allowed!, 'EHLO ehlo')).toEqual({ ok: false, error: 'EHLO is listed twice.' });
  });

  it('per-verb limits: VERB=BYTES lines become a record, bad lines are explained', () => {
    const fields = schemaToFields(schemaOf('max-command-line-length'));
    const perVerb = fields.find((f) => f.key === 'perVerb')!;
    expect(perVerb.kind).toBe('int-map');
    expect(toFormValues(fields, defaultsOf('max-command-line-length')).perVerb).toBe('AUTH=12288');
    expect(parseField(perVerb, 'auth=12288\nXCLIENT: 2048')).toEqual({ ok: true, value: { AUTH: 12288, XCLIENT: 2048 } });
    expect(parseField(perVerb, 'AUTH')).toEqual({ ok: false, error: '"AUTH": write VERB=NUMBER, one per line.' });
    expect(parseField(perVerb, 'AUTH=99999999')).toEqual({ ok: false, error: 'AUTH: Must be at most 1,048,576.' });
  });

  it('sensitivity is a choice of the schema\'s values; booleans are checkboxes', () => {
    const [sens] = schemaToFields(schemaOf('malicious-code'));
    expect(sens).toMatchObject({ kind: 'enum', options: ['low', 'medium', 'high'] });
    expect(parseField(sens!, 'extreme').ok).toBe(false);
    const fields = schemaToFields(schemaOf('binary-data'));
    expect(fields[0]).toMatchObject({ kind: 'boolean', label: 'Allow UTF-8 with SMTPUTF8' });
  });

  it('reports every invalid field at once', () => {
    const fields = schemaToFields(schemaOf('max-no-effect-commands'));
    const r = fromFormValues(fields, { limit: 'lots', commands: 'NOOP N@OP' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(['commands', 'limit']);
  });

  it('maps a manager 400 field path to the input that caused it', () => {
    const fields = schemaToFields(schemaOf('max-command-line-length'));
    expect(fieldKeyFromApi('body.settings.limit', fields)).toBe('limit');
    expect(fieldKeyFromApi('body.settings.perVerb.AUTH', fields)).toBe('perVerb');
    expect(fieldKeyFromApi('body', fields)).toBeNull();
  });

  it('labels read as words', () => {
    expect(labelFor('checkSizeParameter')).toBe('Check size parameter');
    expect(labelFor('maskInEhlo')).toBe('Mask in EHLO');
  });
});
