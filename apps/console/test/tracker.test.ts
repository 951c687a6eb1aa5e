import { describe, expect, it } from 'vitest';
import { apiFilters, bucketize, DEFAULT_FILTERS, mergeEvents } from '../src/lib/tracker.js';
import type { StoredEvent } from '../src/types.js';

let nextId = 1;
function ev(time: string, protectionId: StoredEvent['protectionId'] = 'max-recipients', id = nextId++): StoredEvent {
  return {
    id,
    time,
    protectionId,
    protectionName: protectionId,
    attackName: 'SMTP Policy Violation',
    attackInfo: 'x',
    severity: 'Medium',
    confidence: 'Medium',
    action: 'prevent',
    direction: 'client',
    command: 'RCPT TO:<a>',
    detail: '',
    streamOffset: 0,
    context: { rcptCount: 0, state: 'mail' },
    connectionId: 'c1',
    client: { address: '127.0.0.1', port: 1 },
    server: { address: '127.0.0.1', port: 25 },
    gatewayId: 'gw_1',
    gateway: 'gw-a',
    seq: id,
    receivedAt: time,
  };
}

describe('tracker event list', () => {
  it('puts live events on top, newest first, without duplicates', () => {
    const a = ev('2024-01-01T00:00:01.000Z');
    const b = ev('2024-01-01T00:00:02.000Z');
    const c = ev('2024-01-01T00:00:03.000Z');
    let list = mergeEvents([], [a]);
    list = mergeEvents(list, [c, b]);
    list = mergeEvents(list, [b, c]);
    expect(list.map((e) => e.id)).toEqual([c.id, b.id, a.id]);
  });

  it('slots a late (spooled) event into its time position', () => {
    const a = ev('2024-01-01T00:00:01.000Z');
    const c = ev('2024-01-01T00:00:03.000Z');
    const late = ev('2024-01-01T00:00:02.000Z');
    expect(mergeEvents([c, a], [late]).map((e) => e.id)).toEqual([c.id, late.id, a.id]);
  });

  it('keeps at most the cap, dropping the oldest', () => {
    const list = Array.from({ length: 10 }, (_, i) => ev(`2024-01-01T00:00:${String(10 + i)}.000Z`));
    expect(mergeEvents([], list, 4).map((e) => e.time)).toEqual(list.slice(-4).reverse().map((e) => e.time));
  });

  it('counts events per time bucket and protection for the chart', () => {
    const end = Date.parse('2024-01-01T01:00:00.000Z');
    const evs = [ev('2024-01-01T00:59:30.000Z', 'max-recipients'), ev('2024-01-01T00:59:40.000Z', 'max-recipients'), ev('2024-01-01T00:00:30.000Z', 'starttls'), ev('2023-01-01T00:00:00.000Z')];
    const b = bucketize(evs, 60, end, 3600_000);
    expect(b.size).toBe(60_000);
    expect(b.total).toBe(3);
    expect(b.series).toEqual(['max-recipients', 'starttls']);
    expect(b.counts[59]).toEqual({ 'max-recipients': 2 });
    expect(b.counts[0]).toEqual({ starttls: 1 });
    expect(b.max).toBe(2);
  });

  it('turns the filter bar into API filters; the live stream gets no time bounds', () => {
    const now = Date.parse('2024-01-02T00:00:00.000Z');
    const f = { ...DEFAULT_FILTERS, protection: 'starttls', action: 'prevent' as const, q: '  <img ' };
    expect(apiFilters(f, now)).toEqual({ from: '2024-01-01T00:00:00.000Z', protection: 'starttls', action: 'prevent', q: '<img' });
    expect(apiFilters(f, now, true)).toEqual({ protection: 'starttls', action: 'prevent', q: '<img' });
  });
});
