/**
 * The Additional Settings form, generated from a protection's settings JSON Schema
 * (what the manager derives from the catalog's zod schema). Pure: the React form only
 * renders these field specs and shows the errors computed here.
 */

export type FieldKind = 'boolean' | 'integer' | 'number' | 'enum' | 'string' | 'string-list' | 'int-map' | 'json';

export interface FieldSpec {
  key: string;
  label: string;
  description: string;
  kind: FieldKind;
  defaultValue: unknown;
  min?: number;
  max?: number;
  options?: string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  /** int-map: the bounds of each value. */
  valueMin?: number;
  valueMax?: number;
}

/** What an input holds: booleans as booleans, everything else as the text being typed. */
export type FormValue = boolean | string;
export type FormValues = Record<string, FormValue>;

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
}

const WORDS: Record<string, string> = {
  utf8: 'UTF-8',
  smtputf8: 'SMTPUTF8',
  ehlo: 'EHLO',
  nul: 'NUL',
  eof: 'EOF',
};

/** `allowUtf8WithSmtputf8` -> "Allow UTF-8 with SMTPUTF8". */
export function labelFor(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => WORDS[w.toLowerCase()] ?? w.toLowerCase());
  if (words.length === 0) return key;
  const first = words[0]!;
  words[0] = first === first.toLowerCase() ? first[0]!.toUpperCase() + first.slice(1) : first;
  return words.join(' ');
}

function typeOf(s: JsonSchema): string | undefined {
  return Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
}

export function schemaToFields(schema: unknown): FieldSpec[] {
  const root = (schema ?? {}) as JsonSchema;
  const props = root.properties ?? {};
  return Object.entries(props).map(([key, s]) => fieldFor(key, s));
}

function fieldFor(key: string, s: JsonSchema): FieldSpec {
  const base = { key, label: labelFor(key), description: s.description ?? '', defaultValue: s.default };
  const t = typeOf(s);
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string')) {
    return { ...base, kind: 'enum', options: s.enum as string[] };
  }
  if (t === 'boolean') return { ...base, kind: 'boolean' };
  if (t === 'integer' || t === 'number') {
    return { ...base, kind: t, ...num('min', s.minimum), ...num('max', s.maximum) };
  }
  if (t === 'string') {
    return { ...base, kind: 'string', ...str(s.pattern), ...num('minLength', s.minLength), ...num('maxLength', s.maxLength) };
  }
  if (t === 'array' && s.items && typeOf(s.items) === 'string') {
    const it = s.items;
    return {
      ...base,
      kind: 'string-list',
      ...str(it.pattern),
      ...num('minLength', it.minLength),
      ...num('maxLength', it.maxLength),
      ...num('maxItems', s.maxItems),
    };
  }
  if (t === 'object' && typeof s.additionalProperties === 'object' && typeOf(s.additionalProperties) === 'integer') {
    const v = s.additionalProperties;
    return {
      ...base,
      kind: 'int-map',
      ...str(s.propertyNames?.pattern),
      ...num('maxLength', s.propertyNames?.maxLength),
      ...num('valueMin', v.minimum),
      ...num('valueMax', v.maximum),
    };
  }
  return { ...base, kind: 'json' };
}

function num<K extends string>(k: K, v: number | undefined): Partial<Record<K, number>> {
  return typeof v === 'number' ? ({ [k]: v } as Record<K, number>) : {};
}
function str(pattern: string | undefined): { pattern?: string } {
  return typeof pattern === 'string' ? { pattern } : {};
}

/** Current settings -> what the inputs show. */
export function toFormValues(fields: FieldSpec[], settings: Record<string, unknown>): FormValues {
  const out: FormValues = {};
  for (const f of fields) {
    const v = settings[f.key] ?? f.defaultValue;
    switch (f.kind) {
      case 'boolean':
        out[f.key] = v === true;
        break;
      case 'integer':
      case 'number':
      case 'enum':
      case 'string':
        out[f.key] = v === undefined || v === null ? '' : String(v);
        break;
      case 'string-list':
        out[f.key] = Array.isArray(v) ? v.join(' ') : '';
        break;
      case 'int-map':
        out[f.key] =
          v && typeof v === 'object'
            ? Object.entries(v as Record<string, unknown>)
                .map(([k, n]) => `${k}=${String(n)}`)
                .join('\n')
            : '';
        break;
      case 'json':
        out[f.key] = v === undefined ? '' : JSON.stringify(v, null, 2);
        break;
    }
  }
  return out;
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

const fmt = (n: number) => n.toLocaleString('en-US');

function parseInteger(text: string, min?: number, max?: number, integer = true): Parsed {
  const t = text.trim().replace(/[_,\s]/g, '');
  if (t === '') return { ok: false, error: 'Enter a number.' };
  if (!(integer ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(t)) return { ok: false, error: integer ? 'Enter a whole number.' : 'Enter a number.' };
  const n = Number(t);
  if (min !== undefined && n < min) return { ok: false, error: `Must be at least ${fmt(min)}.` };
  if (max !== undefined && n > max) return { ok: false, error: `Must be at most ${fmt(max)}.` };
  return { ok: true, value: n };
}

function checkWord(word: string, f: Pick<FieldSpec, 'pattern' | 'minLength' | 'maxLength'>): string | null {
  if (f.minLength !== undefined && word.length < f.minLength) return `"${word}" is too short.`;
  if (f.maxLength !== undefined && word.length > f.maxLength) return `"${word}" is longer than ${f.maxLength} characters.`;
  if (f.pattern !== undefined && !new RegExp(f.pattern, 'u').test(word)) {
    return `"${word}" is not allowed: use letters, digits and "-" (starting with a letter or digit).`;
  }
  return null;
}

/** One input's text -> the settings value, or the message shown under that input. */
export function parseField(f: FieldSpec, value: FormValue): Parsed {
  switch (f.kind) {
    case 'boolean':
      return { ok: true, value: value === true };
    case 'integer':
    case 'number':
      return parseInteger(String(value), f.min, f.max, f.kind === 'integer');
    case 'enum': {
      const v = String(value);
      return f.options?.includes(v) ? { ok: true, value: v } : { ok: false, error: `Choose one of: ${(f.options ?? []).join(', ')}.` };
    }
    case 'string': {
      const v = String(value);
      const err = checkWord(v, f);
      return err ? { ok: false, error: err } : { ok: true, value: v };
    }
    case 'string-list': {
      const words = String(value)
        .split(/[\s,]+/)
        .map((w) => w.trim())
        .filter(Boolean);
      for (const w of words) {
        const err = checkWord(w, f);
        if (err) return { ok: false, error: err };
      }
      const upper = words.map((w) => w.toUpperCase());
      const dup = upper.find((w, i) => upper.indexOf(w) !== i);
      if (dup) return { ok: false, error: `${dup} is listed twice.` };
      if (f.maxItems !== undefined && words.length > f.maxItems) return { ok: false, error: `At most ${f.maxItems} entries.` };
      return { ok: true, value: upper };
    }
    case 'int-map': {
      const out: Record<string, number> = {};
      const lines = String(value)
        .split(/\n|;/)
        .map((l) => l.trim())
        .filter(Boolean);
      for (const line of lines) {
        const m = /^([^=\s:]+)\s*[=:]\s*(.+)$/.exec(line);
        if (!m) return { ok: false, error: `"${line}": write VERB=NUMBER, one per line.` };
        const key = m[1]!.toUpperCase();
        const err = checkWord(m[1]!, f);
        if (err) return { ok: false, error: err };
        const n = parseInteger(m[2]!, f.valueMin, f.valueMax);
        if (!n.ok) return { ok: false, error: `${key}: ${n.error}` };
        if (key in out) return { ok: false, error: `${key} is listed twice.` };
        out[key] = n.value as number;
      }
      return { ok: true, value: out };
    }
    case 'json': {
      const t = String(value).trim();
      if (t === '') return { ok: true, value: undefined };
      try {
        return { ok: true, value: JSON.parse(t) };
      } catch {
        return { ok: false, error: 'Not valid JSON.' };
      }
    }
  }
}

/** All inputs -> `{settings}` to send, or the errors per field key. */
export function fromFormValues(
  fields: FieldSpec[],
  values: FormValues,
): { ok: true; settings: Record<string, unknown> } | { ok: false; errors: Record<string, string> } {
  const settings: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const r = parseField(f, values[f.key] ?? (f.kind === 'boolean' ? false : ''));
    if (r.ok) {
      if (r.value !== undefined) settings[f.key] = r.value;
    } else errors[f.key] = r.error;
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, settings };
}

/** Map a manager 400 `field` ("body.settings.limit", "body.settings.perVerb.AUTH") to a form key. */
export function fieldKeyFromApi(field: string | undefined, fields: FieldSpec[]): string | null {
  if (!field) return null;
  const rest = field.replace(/^body\.settings\.?/, '');
  const key = rest.split('.')[0] ?? '';
  return fields.some((f) => f.key === key) ? key : null;
}
