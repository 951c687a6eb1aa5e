import { PROTECTION_IDS, type Action, type ProtectionId } from '@smtpguard/contracts';
import pino from 'pino';
import { MemorySink } from '../src/events.js';
import type { GatewayOptions } from '../src/options.js';
import { PolicySource } from '../src/policy-source.js';
import { startGateway, type Gateway } from '../src/server.js';
import { LOCALHOST } from './peers.js';

export interface TestGateway {
  gw: Gateway;
  sink: MemorySink;
  port: number;
  close(): Promise<void>;
}

export async function startTestGateway(
  upstreamPort: number,
  opts: { policy?: unknown; action?: Action } & Partial<Omit<GatewayOptions, 'policy' | 'events' | 'upstream'>> = {},
): Promise<TestGateway> {
  const { policy = {}, action, ...rest } = opts;
  const sink = new MemorySink();
  const gw = await startGateway({
    listen: { host: LOCALHOST, port: 0 },
    upstream: { host: LOCALHOST, port: upstreamPort },
    policy: PolicySource.fromInput(policy, action),
    events: sink,
    name: 'gw.test',
    logger: pino({ level: process.env.GATEWAY_TEST_LOG ?? 'silent' }),
    ...rest,
  });
  return { gw, sink, port: gw.address.port, close: () => gw.close(2_000) };
}

/** A policy where only `id` is active (with `action` and optional settings); every other protection inactive. */
export function only(id: ProtectionId, action: Action, settings?: Record<string, unknown>): unknown {
  const protections: Record<string, unknown> = {};
  for (const other of PROTECTION_IDS) protections[other] = { action: 'inactive' };
  protections[id] = settings ? { action, settings } : { action };
  return { protections };
}
