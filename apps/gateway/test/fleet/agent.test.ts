import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG, type InspectionEvent } from '@smtpguard/contracts';
import { EnrollmentError, FleetAgent } from '../../src/fleet/agent.js';
import { tempDir } from '../peers.js';

const event: InspectionEvent = {
  protectionId: 'starttls',
  protectionName: CATALOG.starttls.name,
  attackName: CATALOG.starttls.attackName,
  attackInfo: CATALOG.starttls.attackInfo,
  severity: 'Low',
  confidence: 'High',
  action: 'detect',
  direction: 'client',
  command: 'STARTTLS',
  detail: 'STARTTLS',
  streamOffset: 0,
  context: { rcptCount: 0, state: 'greeted' },
  time: new Date().toISOString(),
  connectionId: 'c1',
  client: { address: '192.0.2.1', port: 1 },
  server: { address: '192.0.2.2', port: 25 },
};

describe('fleet agent (no manager)', () => {
  it('without a credential or a key, start() says how to enroll', async () => {
    const agent = new FleetAgent({ managerUrl: 'http://127.0.0.1:1', dataDir: tempDir(), applyPolicy: () => {} });
    await expect(agent.start()).rejects.toThrow(EnrollmentError);
    await expect(agent.start()).rejects.toThrow(/start once with --enroll-key KEY/);
    await agent.close();
  });

  it('an unreachable manager during enrollment is a clear error', async () => {
    const agent = new FleetAgent({ managerUrl: 'http://127.0.0.1:1', dataDir: tempDir(), enrollKey: 'sgk_0123456789', applyPolicy: () => {} });
    await expect(agent.start()).rejects.toThrow(/cannot reach the manager at http:\/\/127\.0\.0\.1:1 to enroll/);
    await agent.close();
  });

  it('events are spooled while the manager is unknown; the sink never throws, even after close', async () => {
    const dir = tempDir();
    const agent = new FleetAgent({ managerUrl: 'http://127.0.0.1:1', dataDir: dir, applyPolicy: () => {} });
    agent.sink.write(event);
    agent.sink.write(event);
    expect(agent.spool.pending).toBe(2);
    await agent.close();
    expect(() => agent.sink.write(event)).not.toThrow();
    expect(agent.spool.dropped).toBe(1);
    const again = new FleetAgent({ managerUrl: 'http://127.0.0.1:1', dataDir: dir, applyPolicy: () => {} });
    expect(again.spool.pending).toBe(2);
    await again.close();
  });

  it('a tampered saved policy is not applied (the gateway keeps its start-up policy) and the heartbeat will say why', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ revision: 3, hash: 'a'.repeat(64), installedAt: new Date().toISOString(), policy: { revision: 3 } }));
    let applied = 0;
    const agent = new FleetAgent({ managerUrl: 'http://127.0.0.1:1', dataDir: dir, applyPolicy: () => (applied += 1) });
    expect(agent.restorePolicy()).toBeNull();
    expect(applied).toBe(0);
    await agent.close();
  });
});
