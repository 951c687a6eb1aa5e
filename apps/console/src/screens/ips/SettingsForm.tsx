import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { api, HttpError } from '../../lib/api.js';
import { usePolicyMutation } from '../../lib/queries.js';
import { fieldKeyFromApi, fromFormValues, parseField, schemaToFields, toFormValues, type FieldSpec, type FormValues } from '../../lib/settings-form.js';
import { ErrorText } from '../../components/common.js';
import type { ProtectionView } from '../../types.js';

/** Additional Settings, generated from the protection's settings JSON Schema. */
export function SettingsForm({ protection, canEdit }: { protection: ProtectionView; canEdit: boolean }) {
  const fields = useMemo(() => schemaToFields(protection.settingsSchema), [protection.settingsSchema]);
  const [values, setValues] = useState<FormValues>(() => toFormValues(fields, protection.settings));
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const save = usePolicyMutation(
    (settings: Record<string, unknown>) =>
      api<ProtectionView>('PUT', `/api/protections/${protection.id}/settings`, { settings }),
    () => setSaved(true),
  );

  useEffect(() => {
    setValues(toFormValues(fields, protection.settings));
  }, [fields, protection.settings]);

  if (fields.length === 0) return <p className="muted">This protection has no additional settings.</p>;

  const errors: Record<string, string> = {};
  for (const f of fields) {
    const r = parseField(f, values[f.key] ?? '');
    if (!r.ok && (touched[f.key] || save.isError)) errors[f.key] = r.error;
    else if (serverErrors[f.key]) errors[f.key] = serverErrors[f.key]!;
  }
  const dirty = JSON.stringify(values) !== JSON.stringify(toFormValues(fields, protection.settings));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(Object.fromEntries(fields.map((f) => [f.key, true])));
    const r = fromFormValues(fields, values);
    if (!r.ok) return;
    setServerErrors({});
    save.mutate(r.settings, {
      onError: (err) => {
        const key = err instanceof HttpError ? fieldKeyFromApi(err.field, fields) : null;
        if (key) setServerErrors({ [key]: err.message.replace(/^[\w.-]+:\s*/, '') });
      },
    });
  };
  const update = (key: string, v: boolean | string) => {
    setSaved(false);
    setServerErrors((s) => ({ ...s, [key]: '' }));
    setValues((prev) => ({ ...prev, [key]: v }));
  };

  return (
    <form className="settings-form" onSubmit={submit} aria-label="Additional Settings" noValidate>
      {fields.map((f) => (
        <Field
          key={f.key}
          field={f}
          value={values[f.key] ?? ''}
          error={errors[f.key]}
          disabled={!canEdit}
          onChange={(v) => update(f.key, v)}
          onBlur={() => setTouched((t) => ({ ...t, [f.key]: true }))}
        />
      ))}
      {canEdit && (
        <div className="form-actions">
          <button type="submit" className="primary" disabled={save.isPending || !dirty}>
            {save.isPending ? 'Saving…' : 'Save settings'}
          </button>
          <button
            type="button"
            onClick={() => {
              setSaved(false);
              setValues(toFormValues(fields, protection.settingsDefaults));
            }}
          >
            Restore defaults
          </button>
          {saved && !dirty && (
            <span role="status" className="ok-text">
              Saved to the draft. Install the policy to apply it.
            </span>
          )}
        </div>
      )}
      {save.error && !Object.values(serverErrors).some(Boolean) ? <ErrorText error={save.error} /> : null}
    </form>
  );
}

function Field({
  field: f,
  value,
  error,
  disabled,
  onChange,
  onBlur,
}: {
  field: FieldSpec;
  value: boolean | string;
  error: string | undefined;
  disabled: boolean;
  onChange: (v: boolean | string) => void;
  onBlur: () => void;
}) {
  const id = useId();
  const descId = `${id}-desc`;
  const errId = `${id}-err`;
  const describedBy = [f.description ? descId : '', error ? errId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    disabled,
    onBlur,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  } as const;
  let input: React.ReactNode;
  switch (f.kind) {
    case 'boolean':
      return (
        <div className="field check">
          <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />
          <label htmlFor={id}>{f.label}</label>
          {f.description && (
            <p id={descId} className="help">
              {f.description}
            </p>
          )}
        </div>
      );
    case 'enum':
      input = (
        <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
          {(f.options ?? []).map((o) => (
            <option key={o} value={o}>
              {o[0]!.toUpperCase() + o.slice(1)}
            </option>
          ))}
        </select>
      );
      break;
    case 'integer':
    case 'number':
      input = <input {...common} inputMode="numeric" className="num" value={String(value)} onChange={(e) => onChange(e.target.value)} />;
      break;
    case 'string-list':
      input = (
        <textarea {...common} rows={2} spellCheck={false} value={String(value)} onChange={(e) => onChange(e.target.value)} />
      );
      break;
    case 'int-map':
    case 'json':
      input = (
        <textarea {...common} rows={3} spellCheck={false} className="mono" value={String(value)} onChange={(e) => onChange(e.target.value)} />
      );
      break;
    default:
      input = <input {...common} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  }
  const hint =
    f.kind === 'string-list'
      ? 'Separate entries with spaces or commas.'
      : f.kind === 'int-map'
        ? 'One VERB=BYTES per line.'
        : f.kind === 'integer' && f.min !== undefined && f.max !== undefined
          ? `${f.min.toLocaleString('en-US')} to ${f.max.toLocaleString('en-US')}`
          : '';
  return (
    <div className="field">
      <label htmlFor={id}>{f.label}</label>
      {input}
      {(f.description || hint) && (
        <p id={descId} className="help">
          {f.description} {hint && <span className="muted">{hint}</span>}
        </p>
      )}
      {error && (
        <p id={errId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
