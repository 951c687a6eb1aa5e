import { describe, expect, it } from 'vitest';
import { zLogExportConfigRequest, type LogExportStatus, type LogExportView } from '@smtpguard/contracts';
import { fromForm, statusLine, toForm } from '../src/lib/log-export.js';

const status: LogExportStatus = { state: 'unconfigured', cursor: null, pending: 0, sent: 0, lastSentAt: null, lastError: null, nextRetryAt: null, delivery: 'reliable' };

describe('Log export settings form', () => {
  it('an empty configuration gives TCP/JSON defaults; host is required before asking the manager', () => {
    const f = toForm({ config: null, status });
    expect(f).toMatchObject({ enabled: false, port: '514', transport: 'tcp', format: 'json', facility: '16' });
    expect(fromForm(f)).toEqual({ field: 'host', message: expect.stringContaining('host') });
    expect(fromForm({ ...f, host: 'siem', port: '70000' })).toMatchObject({ field: 'port' });
  });

  it('round-trips a stored TLS configuration into a body the manager accepts; the key is kept unless replaced or removed', () => {
    const view: LogExportView = {
      config: { enabled: true, host: 'siem.example.net', port: 6514, transport: 'tls', format: 'cef', facility: 4, tls: { ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', hasKey: true } },
      status: { ...status, state: 'connected', sent: 1204, delivery: 'reliable' },
    };
    const f = toForm(view);
    const out = fromForm(f);
    expect('body' in out && out.body).toEqual({ enabled: true, host: 'siem.example.net', port: 6514, transport: 'tls', format: 'cef', facility: 4, tls: { ca: view.config!.tls.ca } });
    expect(zLogExportConfigRequest.safeParse('body' in out ? out.body : null).success).toBe(true);
    const removed = fromForm({ ...f, removeKey: true });
    expect('body' in removed && removed.body.tls?.key).toBe('');
    // TCP and UDP send no TLS options.
    const tcp = fromForm({ ...f, transport: 'tcp' });
    expect('body' in tcp && tcp.body.tls).toBeUndefined();
  });

  it('status line: state, sent and pending counts; UDP says best effort', () => {
    expect(statusLine({ ...status, state: 'connected', sent: 1204, pending: 3 })).toBe('Connected · 1,204 sent since the manager started · 3 pending');
    expect(statusLine({ ...status, state: 'retrying', delivery: 'best-effort' })).toContain('best effort');
  });
});
