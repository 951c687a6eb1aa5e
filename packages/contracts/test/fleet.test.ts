import { describe, expect, it } from 'vitest';
import { canonicalJson, describeZodError, zEventFilters, zGatewayMessage, zManagerMessage } from '../src/index.js';

describe('fleet messages', () => {
  it('canonicalJson sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('a gateway message is one of hello/heartbeat/events/install-result; a bad one names the field', () => {
    expect(zGatewayMessage.parse({ type: 'hello', protocol: 1, installedRevision: null, installedHash: null, spool: { epoch: 1, pending: 0 } }).type).toBe('hello');
    const bad = zGatewayMessage.safeParse({ type: 'events', epoch: 1, events: [{ seq: 0, event: {} }] });
    expect(bad.success).toBe(false);
    expect(describeZodError(bad.error!)).toContain('events.0.seq');
    expect(zGatewayMessage.safeParse({ type: 'telnet' }).success).toBe(false);
  });

  it('manager messages: an ack is a committed range; an install carries revision + hash', () => {
    expect(zManagerMessage.parse({ type: 'ack', epoch: 5, first: 1, last: 500 })).toEqual({ type: 'ack', epoch: 5, first: 1, last: 500 });
    expect(zManagerMessage.safeParse({ type: 'install', installId: 1, revision: 2, hash: 'nothex', profile: 'p', policy: {} }).success).toBe(false);
  });

  it('event filters accept comma-separated lists', () => {
    expect(zEventFilters.parse({ protection: 'starttls, max-recipients', action: 'detect' })).toEqual({ protection: ['starttls', 'max-recipients'], action: ['detect'] });
    expect(zEventFilters.safeParse({ protection: 'nope' }).success).toBe(false);
  });
});
