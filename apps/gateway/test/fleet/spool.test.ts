import { readdirSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG, type InspectionEvent } from '@smtpguard/contracts';
import { Spool } from '../../src/fleet/spool.js';
import { tempDir } from '../peers.js';

function event(i: number): InspectionEvent {
  const c = CATALOG['unknown-commands'];
  return {
    protectionId: 'unknown-commands',
    protectionName: c.name,
    attackName: c.attackName,
    attackInfo: c.attackInfo,
    severity: c.severity,
    confidence: c.confidence,
    action: 'prevent',
    direction: 'client',
    command: `WIBBLE ${i}`,
    detail: 'unknown verb',
    streamOffset: 0,
    context: { rcptCount: 0, state: 'greeted' },
    time: new Date(1_700_000_000_000 + i).toISOString(),
    connectionId: `c${i}`,
    client: { address: '192.0.2.1', port: 1 },
    server: { address: '192.0.2.2', port: 25 },
  };
}
const seqs = (records: { seq: number }[]) => records.map((r) => r.seq);

describe('event spool', () => {
  it('numbers events from 1, hands out only synced ones, deletes only acknowledged segments', () => {
    const dir = tempDir('spool-');
    const spool = new Spool({ dir, segmentBytes: 2000 });
    for (let i = 1; i <= 40; i++) expect(spool.append(event(i))).toBe(i);
    expect(seqs(spool.read(1, 100))).not.toContain(40); // not synced yet (rolled segments are)
    spool.sync();
    expect(seqs(spool.read(1, 10))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(JSON.parse(spool.read(7, 1)[0]!.json).command).toBe('WIBBLE 7');
    const segmentsBefore = readdirSync(dir).filter((n) => n.endsWith('.log')).length;
    expect(segmentsBefore).toBeGreaterThan(3);
    spool.ack(1, 30);
    expect(spool.pending).toBe(10);
    expect(seqs(spool.read(1, 100))).toEqual([31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.log')).length).toBeLessThan(segmentsBefore);
    spool.close();
  });

  it('survives a restart: unacknowledged events come back, numbering goes on, the epoch stays', () => {
    const dir = tempDir('spool-');
    const a = new Spool({ dir, segmentBytes: 1500 });
    for (let i = 1; i <= 25; i++) a.append(event(i));
    a.sync();
    a.ack(1, 12);
    const epoch = a.epoch;
    a.close();
    const b = new Spool({ dir, segmentBytes: 1500 });
    expect(b.epoch).toBe(epoch);
    expect(b.firstUnacked()).toBe(13);
    expect(seqs(b.read(b.firstUnacked(), 100))).toEqual(Array.from({ length: 13 }, (_, i) => 13 + i));
    expect(b.append(event(26))).toBe(26);
    b.close();
  });

  it('after everything is acknowledged and the process restarts, numbering does not restart at 1', () => {
    const dir = tempDir('spool-');
    const a = new Spool({ dir });
    for (let i = 1; i <= 5; i++) a.append(event(i));
    a.sync();
    a.ack(1, 5);
    a.close();
    const b = new Spool({ dir });
    expect(b.pending).toBe(0);
    expect(b.append(event(6))).toBe(6);
    b.close();
  });

  it('a torn last line (crash mid-write) is cut off at start-up', () => {
    const dir = tempDir('spool-');
    const a = new Spool({ dir });
    for (let i = 1; i <= 3; i++) a.append(event(i));
    a.close();
    const seg = readdirSync(dir).find((n) => n.endsWith('.log'))!;
    appendFileSync(join(dir, seg), '4 {"protectionId":"unkn');
    const b = new Spool({ dir });
    expect(seqs(b.read(1, 10))).toEqual([1, 2, 3]);
    expect(b.append(event(4))).toBe(4);
    b.sync();
    expect(JSON.parse(b.read(4, 1)[0]!.json).command).toBe('WIBBLE 4');
    expect(readFileSync(join(dir, seg), 'utf8').split('\n').filter(Boolean)).toHaveLength(4);
    b.close();
  });

  it('when full, new events are refused and counted; nothing already spooled is dropped', () => {
    const dir = tempDir('spool-');
    const spool = new Spool({ dir, maxBytes: 3000 });
    let full = 0;
    spool.on('full', () => (full += 1));
    const results = Array.from({ length: 20 }, (_, i) => spool.append(event(i + 1)));
    const accepted = results.filter((r) => r !== null).length;
    expect(accepted).toBeGreaterThan(3);
    expect(accepted).toBeLessThan(20);
    expect(spool.dropped).toBe(20 - accepted);
    expect(full).toBe(1);
    spool.sync();
    expect(seqs(spool.read(1, 100))).toEqual(Array.from({ length: accepted }, (_, i) => i + 1));
    // Acknowledged space is reclaimed once its segment is closed.
    spool.close();
  });
});

describe('a spool that was full', () => {
  it('takes events again once everything is acknowledged, even when the limit is below the segment size', async () => {
    const spool = new Spool({ dir: tempDir('spool-full-'), maxBytes: 16384 });
    let last = 0;
    for (let seq = spool.append(event(0)); seq !== null; seq = spool.append(event(last + 1))) last = seq;
    expect(spool.dropped).toBe(1);
    spool.sync();
    spool.ack(1, last);
    expect(spool.append(event(last + 1))).toBe(last + 1);
    expect(spool.pending).toBe(1);
    spool.close();
  });
});
