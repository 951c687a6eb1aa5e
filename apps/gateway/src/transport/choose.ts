import { nativeTransportError } from './native-binding.js';
import { nativeTransport } from './native-transport.js';
import { nodeTransport } from './node-transport.js';
import { parseTransportKind, type Transport, type TransportKind } from './relay-socket.js';

/** Thrown when the native transport is asked for by name but cannot load. */
export class TransportUnavailable extends Error {}

/**
 * 'native' or 'node' as asked; unset: SMTPGUARD_TRANSPORT, else the native transport when
 * its addon loads, else node:net. Asking for 'native' by name fails loudly instead.
 */
export function chooseTransport(wanted: TransportKind | undefined = envTransport()): Transport {
  if (wanted === 'node') return nodeTransport;
  const native = nativeTransport();
  if (native) return native;
  if (wanted === 'native') throw new TransportUnavailable(`native transport unavailable: ${nativeTransportError() ?? 'unknown reason'}`);
  return nodeTransport;
}

function envTransport(): TransportKind | undefined {
  const value = process.env.SMTPGUARD_TRANSPORT;
  if (value === undefined || value === '') return undefined;
  try {
    return parseTransportKind(value, 'SMTPGUARD_TRANSPORT');
  } catch (err) {
    throw new TransportUnavailable((err as Error).message);
  }
}
