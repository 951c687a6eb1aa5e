/**
 * Output: JSON lines (one object per event, then one per connection, then a closing
 * summary) or, on a terminal, a human table. Attacker bytes arrive escaped from the
 * engine; everything printed to a terminal is escaped again so no control byte from a
 * capture reaches it.
 */
import type { ConnectionSummary, ReplayEvent, ReplayReport } from './replay.js';
import { PROTECTION_NAMES } from './replay.js';
import type { CaptureProblem } from '@smtpguard/capture';

export function eventJson(e: ReplayEvent): Record<string, unknown> {
  const headOf = { connection: e.connection, ...(e.time ? { time: e.time } : {}), ...(e.packet !== undefined ? { packet: e.packet } : {}) };
  switch (e.type) {
    case 'finding':
      return { type: 'finding', ...headOf, ...e.finding };
    case 'notice':
      return { type: 'notice', ...headOf, ...e.notice };
    case 'gap':
      return { type: 'gap', ...headOf, from: e.from, offset: e.offset, bytes: e.bytes, reason: e.reason };
    case 'overlap':
      return { type: 'overlap', ...headOf, from: e.from, offset: e.offset, length: e.length };
    case 'uninspected':
      return { type: 'uninspected', ...headOf, reason: e.reason, detail: e.detail };
  }
}

export function connectionJson(c: ConnectionSummary): Record<string, unknown> {
  return { type: 'connection', ...c };
}

export function summaryJson(file: string, r: ReplayReport): Record<string, unknown> {
  return { type: 'summary', file, ...r.input, totals: r.totals, errors: r.errors, warnings: r.warnings.length };
}

export function errorJson(file: string, p: CaptureProblem): Record<string, unknown> {
  return { type: 'error', file, offset: p.offset, message: p.message, ...(p.packet !== undefined ? { packet: p.packet } : {}) };
}

/** Printable ASCII only; anything else as \xHH. */
export function safe(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c >= 0x20 && c < 0x7f ? ch : c === 10 ? '\\n' : c === 13 ? '\\r' : c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u{${c.toString(16)}}`;
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function endpoint(e: { address: string; port: number }): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Human-readable lines for one event (a table row), or null when the event is not shown. */
export function eventRow(e: ReplayEvent): string | null {
  const time = e.time ? e.time.slice(11, 23) : '';
  const prefix = `  ${pad(time, 12)} `;
  switch (e.type) {
    case 'finding': {
      const f = e.finding;
      const act = f.action === 'prevent' ? 'PREVENT' : 'detect ';
      return `${prefix}${pad(f.direction, 6)} ${act} ${pad(f.protectionId, 24)} @${pad(String(f.streamOffset), 8)} ${safe(clip(f.detail, 60))}  ${safe(clip(f.command, 60))}`;
    }
    case 'notice':
      if (e.notice.kind === 'message-complete') return null;
      return `${prefix}${pad('', 6)} notice  ${safe(JSON.stringify(e.notice))}`;
    case 'gap':
      return `${prefix}${pad(e.from, 6)} GAP     ${e.bytes} bytes missing at offset ${e.offset} (${e.reason})`;
    case 'overlap':
      return `${prefix}${pad(e.from, 6)} overlap retransmission with different bytes at offset ${e.offset} (${e.length} bytes); first copy inspected`;
    case 'uninspected':
      return `${prefix}${pad('', 6)} NOT INSPECTED ${safe(e.detail)}`;
  }
}

export function connectionHeader(c: ConnectionSummary): string {
  return `connection ${c.id}  ${endpoint(c.client)} -> ${endpoint(c.server)}  (SMTP by ${c.smtpBy}, client by ${c.roleBy})${c.start ? `  ${c.start}` : ''}`;
}

export function connectionFooter(c: ConnectionSummary): string[] {
  const lines: string[] = [];
  lines.push(
    `  summary: ${c.commands} commands, ${c.replies} replies, ${c.messages} messages; client ${c.bytes.client} B, server ${c.bytes.server} B` +
      (c.unmatchedReplies ? `; ${c.unmatchedReplies} unmatched replies` : '') +
      (c.pendingCommands ? `; ${c.pendingCommands} commands unanswered at end` : ''),
  );
  if (c.protections.length === 0) lines.push('  findings: none');
  for (const p of c.protections) {
    lines.push(`  ${p.action === 'prevent' ? 'would PREVENT' : 'would detect '} ${pad(p.protectionId, 24)} x${p.count}  ${PROTECTION_NAMES[p.protectionId] ?? ''}`);
  }
  if (c.firstPrevent) {
    lines.push(`  first prevent: ${c.firstPrevent.protectionId} at ${c.firstPrevent.direction} offset ${c.firstPrevent.streamOffset}; the recording differs from what the gateway would have let through after it`);
  }
  if (c.uninspected) lines.push(`  not inspected: ${c.uninspected.reason}: ${safe(c.uninspected.detail)}`);
  if (c.gaps.length) lines.push(`  gaps: ${c.gaps.map((g) => `${g.from}@${g.offset}+${g.bytes}`).join(', ')}`);
  if (c.conflictingOverlaps) lines.push(`  conflicting retransmissions: ${c.conflictingOverlaps}`);
  return lines;
}

export function reportFooter(file: string, r: ReplayReport): string[] {
  const i = r.input;
  const lines = [
    `${safe(file)}: ${i.kind}, ${i.bytes} bytes, ${i.packets} packets, ${i.tcpConnections} TCP connections, ${i.smtpConnections} SMTP` +
      (i.otherConnections ? ` (${i.otherConnections} other skipped)` : ''),
    `totals: ${r.totals.findings} findings (${r.totals.prevent} would be prevented, ${r.totals.detect} detected), ${r.totals.commands} commands, ${r.totals.messages} messages, ${r.totals.gaps} gaps`,
  ];
  for (const e of r.errors) lines.push(`DAMAGED at byte offset ${e.offset}: ${safe(e.message)} (what came before was replayed)`);
  if (r.warnings.length) lines.push(`${r.warnings.length} packet-level warnings (first: ${safe(r.warnings[0]?.message ?? '')})`);
  return lines;
}
