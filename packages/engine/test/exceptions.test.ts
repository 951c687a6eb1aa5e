import { resolvePolicy, zPolicy } from '@smtpguard/contracts';
import { describe, expect, it } from 'vitest';
import { compilePolicy, createInspector } from '../src/index.js';

/** Connections share one compiled policy; network exceptions still give each its own actions. */
describe('network exceptions per connection', () => {
  const policy = compilePolicy(
    resolvePolicy(
      zPolicy.parse({
        protections: { 'unknown-commands': { action: 'prevent' } },
        exceptions: [
          { protection: 'unknown-commands', source: '192.0.2.0/24', action: 'detect' },
          { protection: '*', source: '198.51.100.7/32', action: 'inactive' },
        ],
      }),
    ),
  );

  function unknownVerbFrom(clientAddress: string) {
    const inspector = createInspector(policy, { clientAddress, serverAddress: '203.0.113.1' });
    inspector.fromServer(Buffer.from('220 mx\r\n'));
    const verdict = inspector.fromClient(Buffer.from('FROB x\r\n'));
    return {
      forwarded: Buffer.concat(verdict.toServer).toString('latin1'),
      actions: verdict.findings.filter((f) => f.protectionId === 'unknown-commands').map((f) => f.action),
    };
  }

  it('applies each connection its own exceptions, in any order of arrival', () => {
    for (let round = 0; round < 3; round++) {
      expect(unknownVerbFrom('203.0.113.50')).toEqual({ forwarded: '', actions: ['prevent'] });
      expect(unknownVerbFrom('192.0.2.9')).toEqual({ forwarded: 'FROB x\r\n', actions: ['detect'] });
      expect(unknownVerbFrom('198.51.100.7')).toEqual({ forwarded: 'FROB x\r\n', actions: [] });
    }
  });
});
