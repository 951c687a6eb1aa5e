import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { LogExportFormat, LogExportTestResponse, LogExportTransport, LogExportView } from '@smtpguard/contracts';
import { api, HttpError } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { DEFAULT_PORTS, fromForm, statusLine, toForm, type LogExportForm } from '../lib/log-export.js';
import { ErrorText, Loading } from '../components/common.js';

const TRANSPORTS: Array<{ value: LogExportTransport; label: string }> = [
  { value: 'tcp', label: 'TCP (RFC 6587 octet counting)' },
  { value: 'tls', label: 'TLS over TCP' },
  { value: 'udp', label: 'UDP (best effort)' },
];
const FORMATS: Array<{ value: LogExportFormat; label: string }> = [
  { value: 'json', label: 'JSON' },
  { value: 'cef', label: 'CEF (ArcSight)' },
];

/** Admin settings: forward every event to a SIEM as syslog (RFC 5424). */
export function LogExport() {
  const qc = useQueryClient();
  const view = useQuery({ queryKey: ['log-export'], queryFn: () => api<LogExportView>('GET', '/api/log-export'), refetchInterval: 3000 });
  const [form, setForm] = useState<LogExportForm | null>(null);
  const [problem, setProblem] = useState<{ field: string; message: string } | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (view.data && form === null) setForm(toForm(view.data));
  }, [view.data, form]);
  const save = useMutation({
    mutationFn: (body: unknown) => api<LogExportView>('PUT', '/api/log-export', body),
    onSuccess: (v) => {
      qc.setQueryData(['log-export'], v);
      setForm(toForm(v));
      setSaved(true);
    },
  });
  const test = useMutation({ mutationFn: () => api<LogExportTestResponse>('POST', '/api/log-export/test') });

  if (view.isPending || (view.data && !form)) return <Loading what="log export settings" />;
  if (view.isError) return <ErrorText error={view.error} />;
  const f = form!;
  const status = view.data.status;
  const set = <K extends keyof LogExportForm>(key: K, value: LogExportForm[K]) => {
    setSaved(false);
    setForm({ ...f, [key]: value });
  };
  const onTransport = (t: LogExportTransport) => {
    // Keep a port the admin typed; switch between the usual ports otherwise.
    const usual = Object.values(DEFAULT_PORTS).map(String).includes(f.port);
    setSaved(false);
    setForm({ ...f, transport: t, port: usual ? String(DEFAULT_PORTS[t]) : f.port });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const out = fromForm(f);
    if ('field' in out) {
      setProblem(out);
      return;
    }
    setProblem(null);
    save.mutate(out.body);
  };
  const serverField = save.error instanceof HttpError ? save.error.field?.replace(/^body\./, '') : undefined;
  const fieldError = (name: string) => (problem?.field === name ? problem.message : serverField === name || serverField?.startsWith(`${name}.`) ? (save.error as Error).message : null);
  const errId = (name: string) => (fieldError(name) ? `log-export-${name}-error` : undefined);
  const hasKey = view.data.config?.tls.hasKey ?? false;

  return (
    <div className="log-export">
      <div className="toolbar">
        <h2 className="pane-title">Log export</h2>
      </div>
      <p className="muted small">
        Every event is forwarded to a syslog receiver (RFC 5424) in commit order. Over TCP or TLS nothing is lost while the receiver restarts: the
        manager keeps its place and retries. UDP is best effort.
      </p>

      <section className="panel" aria-label="Log export status">
        <p role="status" aria-live="polite">
          {statusLine(status)}
          {status.lastSentAt ? ` · last sent ${formatTime(status.lastSentAt)}` : ''}
        </p>
        {status.lastError && (
          <p className="error-text" aria-label="Last error">
            Last error ({formatTime(status.lastError.time)}): {status.lastError.message}
            {status.nextRetryAt ? ` — next attempt ${formatTime(status.nextRetryAt)}` : ''}
          </p>
        )}
      </section>

      <form className="panel" aria-label="Log export settings" onSubmit={submit} noValidate>
        <label className="check">
          <input type="checkbox" checked={f.enabled} onChange={(e) => set('enabled', e.target.checked)} />
          Enable log export
        </label>
        <div className="field">
          <label htmlFor="log-export-host">Receiver host</label>
          <input id="log-export-host" value={f.host} onChange={(e) => set('host', e.target.value)} placeholder="siem.example.net" aria-invalid={Boolean(fieldError('host'))} aria-describedby={errId('host')} />
          {fieldError('host') && <p className="field-error" id={errId('host')}>{fieldError('host')}</p>}
        </div>
        <div className="field">
          <label htmlFor="log-export-port">Port</label>
          <input id="log-export-port" inputMode="numeric" value={f.port} onChange={(e) => set('port', e.target.value)} aria-invalid={Boolean(fieldError('port'))} aria-describedby={errId('port')} />
          {fieldError('port') && <p className="field-error" id={errId('port')}>{fieldError('port')}</p>}
        </div>
        <div className="field">
          <label htmlFor="log-export-transport">Transport</label>
          <select id="log-export-transport" value={f.transport} onChange={(e) => onTransport(e.target.value as LogExportTransport)}>
            {TRANSPORTS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-export-format">Message format</label>
          <select id="log-export-format" value={f.format} onChange={(e) => set('format', e.target.value as LogExportFormat)}>
            {FORMATS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-export-facility">Syslog facility (0-23; 16 = local0)</label>
          <input id="log-export-facility" inputMode="numeric" value={f.facility} onChange={(e) => set('facility', e.target.value)} aria-invalid={Boolean(fieldError('facility'))} aria-describedby={errId('facility')} />
          {fieldError('facility') && <p className="field-error" id={errId('facility')}>{fieldError('facility')}</p>}
        </div>
        {f.transport === 'tls' && (
          <fieldset>
            <legend>TLS</legend>
            <div className="field">
              <label htmlFor="log-export-ca">CA certificate (PEM) the receiver’s certificate must chain to; empty = system CAs</label>
              <textarea id="log-export-ca" rows={4} className="mono" value={f.ca} onChange={(e) => set('ca', e.target.value)} aria-invalid={Boolean(fieldError('tls'))} aria-describedby={errId('tls')} />
            </div>
            <div className="field">
              <label htmlFor="log-export-servername">Receiver name to verify (default: the host)</label>
              <input id="log-export-servername" value={f.servername} onChange={(e) => set('servername', e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="log-export-cert">Client certificate (PEM, for mutual TLS)</label>
              <textarea id="log-export-cert" rows={3} className="mono" value={f.cert} onChange={(e) => set('cert', e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="log-export-key">{hasKey ? 'Client private key (PEM): a key is stored; paste a new one to replace it' : 'Client private key (PEM)'}</label>
              <textarea id="log-export-key" rows={3} className="mono" value={f.key} onChange={(e) => set('key', e.target.value)} disabled={f.removeKey} autoComplete="off" />
            </div>
            {hasKey && (
              <label className="check">
                <input type="checkbox" checked={f.removeKey} onChange={(e) => set('removeKey', e.target.checked)} />
                Remove the stored private key
              </label>
            )}
            {fieldError('tls') && <p className="field-error" id={errId('tls')}>{fieldError('tls')}</p>}
          </fieldset>
        )}
        {save.error && !serverField && <ErrorText error={save.error} />}
        <div className="buttons">
          <button type="submit" className="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
          <button type="button" onClick={() => test.mutate()} disabled={test.isPending || !view.data.config} aria-describedby="log-export-test-note">
            {test.isPending ? 'Sending…' : 'Send test message'}
          </button>
          {saved && <span className="ok-text" role="status">Saved.</span>}
        </div>
        <p className="muted small" id="log-export-test-note">
          The test message uses the saved settings (save first).
        </p>
        {test.data && (
          <p className={test.data.ok ? 'ok-text' : 'error-text'} role="status" aria-label="Test result">
            {test.data.message}
          </p>
        )}
        {test.error && <ErrorText error={test.error} />}
      </form>
    </div>
  );
}
