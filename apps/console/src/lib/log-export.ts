/**
 * Log export settings: form values <-> the manager's `zLogExportConfigRequest`, and the
 * status line. Types only from contracts (the console ships no zod); the manager validates.
 */
import type { LogExportConfigRequest, LogExportFormat, LogExportStatus, LogExportTransport, LogExportView } from '@smtpguard/contracts';

export interface LogExportForm {
  enabled: boolean;
  host: string;
  port: string;
  transport: LogExportTransport;
  format: LogExportFormat;
  facility: string;
  ca: string;
  cert: string;
  /** New private key; empty = keep the stored one (unless `removeKey`). */
  key: string;
  removeKey: boolean;
  servername: string;
}

export const DEFAULT_PORTS: Record<LogExportTransport, number> = { udp: 514, tcp: 514, tls: 6514 };

export function toForm(view: LogExportView | undefined): LogExportForm {
  const c = view?.config;
  return {
    enabled: c?.enabled ?? false,
    host: c?.host ?? '',
    port: String(c?.port ?? DEFAULT_PORTS.tcp),
    transport: c?.transport ?? 'tcp',
    format: c?.format ?? 'json',
    facility: String(c?.facility ?? 16),
    ca: c?.tls.ca ?? '',
    cert: c?.tls.cert ?? '',
    key: '',
    removeKey: false,
    servername: c?.tls.servername ?? '',
  };
}

/** The request body, or the first problem in words (field, message) before asking the manager. */
export function fromForm(f: LogExportForm): { body: LogExportConfigRequest } | { field: keyof LogExportForm; message: string } {
  const host = f.host.trim();
  if (!host) return { field: 'host', message: 'Enter the receiver’s host name or IP address.' };
  const port = Number(f.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { field: 'port', message: 'Port must be a whole number from 1 to 65535.' };
  const facility = Number(f.facility);
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) return { field: 'facility', message: 'Facility must be from 0 to 23.' };
  const body: LogExportConfigRequest = { enabled: f.enabled, host, port, transport: f.transport, format: f.format, facility };
  if (f.transport === 'tls') {
    const tls: NonNullable<LogExportConfigRequest['tls']> = {};
    if (f.ca.trim()) tls.ca = f.ca.trim();
    if (f.cert.trim()) tls.cert = f.cert.trim();
    if (f.removeKey) tls.key = '';
    else if (f.key.trim()) tls.key = f.key.trim();
    if (f.servername.trim()) tls.servername = f.servername.trim();
    body.tls = tls;
  }
  return { body };
}

const STATE_WORDS: Record<LogExportStatus['state'], string> = {
  unconfigured: 'Not configured',
  disabled: 'Disabled',
  connecting: 'Connecting…',
  connected: 'Connected',
  retrying: 'Retrying',
};

/** "Connected · 1,204 sent · 0 pending" */
export function statusLine(s: LogExportStatus): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const parts = [STATE_WORDS[s.state], `${n(s.sent)} sent since the manager started`, `${n(s.pending)} pending`];
  if (s.delivery === 'best-effort' && s.state !== 'unconfigured') parts.push('UDP: best effort, delivery not confirmed');
  return parts.join(' · ');
}
