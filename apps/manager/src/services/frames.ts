import { describeZodError, zGatewayMessage, type GatewayMessage } from '@smtpguard/contracts';
import { packEvents, type PackedBatch } from './events.js';

/** A fleet-link text frame, parsed and validated (zod), events packed for the insert. */
export type PreparedFrame =
  | { kind: 'events'; epoch: number; first: number; last: number; packed: PackedBatch }
  | { kind: 'message'; message: Exclude<GatewayMessage, { type: 'events' }> }
  | { kind: 'error'; message: string };

/** Pure: runs on the frame parser thread (or inline when it is not available). */
export function prepareFrame(text: string, gatewayName: string): PreparedFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'error', message: 'frame is not JSON' };
  }
  const parsed = zGatewayMessage.safeParse(json);
  if (!parsed.success) return { kind: 'error', message: describeZodError(parsed.error) };
  const msg = parsed.data;
  if (msg.type !== 'events') return { kind: 'message', message: msg };
  return { kind: 'events', epoch: msg.epoch, first: msg.events[0]!.seq, last: msg.events[msg.events.length - 1]!.seq, packed: packEvents(msg.events, gatewayName) };
}
