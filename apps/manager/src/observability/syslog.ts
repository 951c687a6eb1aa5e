import type { Severity, StoredEvent } from '@smtpguard/contracts';

/**
 * Pure formatting for the log export: RFC 5424 syslog messages, RFC 6587 octet-counting
 * frames, and the two payloads (JSON, ArcSight CEF). Everything taken from an event is data:
 * header fields are reduced to the characters RFC 5424 allows, SD-PARAM values and CEF
 * fields are escaped, JSON is JSON.
 */

export const PRODUCT_VERSION = '0.1.0';
/** RFC 5424 severities. */
const SYSLOG_SEVERITY: Record<Severity, number> = { Critical: 2, High: 3, Medium: 4, Low: 5 };
/** CEF severity 0-10. */
export const CEF_SEVERITY: Record<Severity, number> = { Critical: 10, High: 8, Medium: 5, Low: 3 };

/** RFC 5424 header field: PRINTUSASCII (33-126) only, at most `max` characters, "-" when empty. */
export function headerField(value: string | undefined | null, max: number): string {
  const clean = (value ?? '').replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** RFC 5424 PARAM-VALUE escaping: `"`, `\` and `]` get a backslash. */
export function sdValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export interface SyslogMessage {
  facility: number;
  severity: number;
  /** ISO time; RFC 5424 TIMESTAMP (it is already RFC 3339). */
  time: string;
  hostname: string;
  appName: string;
  procId?: string;
  msgId: string;
  /** [id, params] pairs; ids and param names are ours (constants), values are escaped. */
  structuredData: Array<[string, Record<string, string>]>;
  msg: string;
}

/** One RFC 5424 message (no trailing newline; MSG without a BOM). */
export function rfc5424(m: SyslogMessage): string {
  const pri = m.facility * 8 + m.severity;
  const sd = m.structuredData.length
    ? m.structuredData.map(([id, params]) => `[${id}${Object.entries(params).map(([k, v]) => ` ${k}="${sdValue(v)}"`).join('')}]`).join('')
    : '-';
  return `<${pri}>1 ${headerField(m.time, 64)} ${headerField(m.hostname, 255)} ${headerField(m.appName, 48)} ${headerField(m.procId, 128)} ${headerField(m.msgId, 32)} ${sd} ${m.msg}`;
}

/** RFC 6587 octet counting: `LEN SP MSG`, LEN in bytes. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** CEF header field: `\` and `|` escaped; line breaks are not allowed there, so they become spaces. */
export function cefHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, ' ');
}

/** CEF extension value: `\`, `=` escaped, CR and LF as `\r` `\n`. */
export function cefValue(value: string): string {
  return value.replace(/[\\=\r\n]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\${c}`));
}

/** `CEF:0|smtpguard|smtpguard|0.1.0|<protectionId>|<attackName>|<severity>|<extensions>` */
export function cef(e: StoredEvent): string {
  const ext: Array<[string, string | number | undefined]> = [
    ['rt', Date.parse(e.time)],
    ['src', e.client.address],
    ['spt', e.client.port],
    ['dst', e.server.address],
    ['dpt', e.server.port],
    ['act', e.action],
    ['app', 'SMTP'],
    ['proto', 'TCP'],
    ['cat', e.protectionName],
    ['msg', e.detail],
    ['cs1Label', 'Attack Information'],
    ['cs1', e.attackInfo],
    ['cs2Label', 'Command'],
    ['cs2', e.command],
    ['cs3Label', 'Gateway'],
    ['cs3', e.gateway],
    ['cs4Label', 'HELO'],
    ['cs4', e.context.helo],
    ['cs5Label', 'Direction'],
    ['cs5', e.direction],
    ['cs6Label', 'Connection'],
    ['cs6', e.connectionId],
    ['suser', e.context.mailFrom],
    ['cn1Label', 'Recipients'],
    ['cn1', e.context.rcptCount],
    ['dvchost', e.gateway],
    ['externalId', e.id],
  ];
  const extensions = ext
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ');
  return `CEF:0|smtpguard|smtpguard|${PRODUCT_VERSION}|${cefHeader(e.protectionId)}|${cefHeader(e.attackName)}|${CEF_SEVERITY[e.severity] ?? 5}|${extensions}`;
}

export interface FormatOptions {
  format: 'json' | 'cef';
  facility: number;
}

/**
 * The syslog message for one stored event. HOSTNAME is the gateway that saw it (RFC 5424:
 * the machine that originated the event), MSGID the protection id, `meta sequenceId` the
 * event id (the receiver can check order and spot a gap), `origin` names the software.
 */
export function eventMessage(e: StoredEvent, o: FormatOptions): string {
  return rfc5424({
    facility: o.facility,
    severity: SYSLOG_SEVERITY[e.severity] ?? 4,
    time: e.time,
    hostname: e.gateway,
    appName: 'smtpguard',
    msgId: e.protectionId,
    structuredData: [
      ['meta', { sequenceId: String(e.id) }],
      ['origin', { software: 'smtpguard', swVersion: PRODUCT_VERSION }],
    ],
    msg: o.format === 'cef' ? cef(e) : JSON.stringify(e),
  });
}

/** The test message (`POST /api/log-export/test`): MSGID `test`, severity informational. */
export function testMessage(o: FormatOptions & { hostname: string; time: string }): string {
  const text = 'smtpguard log export test message';
  return rfc5424({
    facility: o.facility,
    severity: 6,
    time: o.time,
    hostname: o.hostname,
    appName: 'smtpguard',
    msgId: 'test',
    structuredData: [['origin', { software: 'smtpguard', swVersion: PRODUCT_VERSION }]],
    msg:
      o.format === 'cef'
        ? `CEF:0|smtpguard|smtpguard|${PRODUCT_VERSION}|test|Log export test|0|msg=${cefValue(text)} rt=${Date.parse(o.time)}`
        : JSON.stringify({ type: 'test', message: text, time: o.time }),
  });
}
