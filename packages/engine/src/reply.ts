import { CATALOG, type ProtectionId } from '@smtpguard/contracts';
import type { VerdictKind } from './model.js';

/** The one place that writes SMTP replies the gateway synthesizes. */
export function formatReply(code: number, enhanced: string, text: string): Buffer {
  return Buffer.from(`${code} ${enhanced} ${text}\r\n`, 'latin1');
}

export const CLOSE_REPLY = formatReply(421, '4.7.0', 'Connection closed by security policy');
export const UPSTREAM_LOST_REPLY = formatReply(421, '4.4.0', 'Upstream mail server closed the connection');
export const QUIT_REPLY = formatReply(221, '2.0.0', 'Bye');

/**
 * Reply for a Prevent verdict of a protection. The catalog's reply is used as is, except
 * that a message-scoped protection judging a MAIL command (SIZE=) refuses that command
 * with the same code.
 */
export function preventReply(id: ProtectionId, verdict: VerdictKind): Buffer {
  if (verdict === 'close') return CLOSE_REPLY;
  const reply = CATALOG[id].preventReply;
  return formatReply(reply.code, reply.enhanced, reply.text);
}
