import { describe, expect, it } from 'vitest';
import { Counters } from '../src/counters.js';
import { LiveSet } from '../src/live-set.js';
import { parseProxyHeader, proxyV1, proxyV2 } from '../src/proxy-protocol.js';
import { ReplyReader } from '../src/smtp-replies.js';
import { parseHostPort } from '../src/options.js';

describe('PROXY protocol parser', () => {
  const src = { address: '192.0.2.10', port: 1234 };
  const dst = { address: '192.0.2.20', port: 25 };

  it('v1 and v2 round-trip, byte by byte, keeping what follows the header', () => {
    for (const header of [proxyV1(src, dst), proxyV2(src, dst), proxyV2({ address: '2001:db8::a', port: 7 }, { address: '::1', port: 25 })]) {
      const input = Buffer.concat([header, Buffer.from('EHLO x\r\n')]);
      for (let cut = 0; cut < header.length; cut++) expect(parseProxyHeader(input.subarray(0, cut)).status).toBe('more');
      const result = parseProxyHeader(input);
      expect(result.status).toBe('done');
      if (result.status !== 'done') return;
      expect(result.rest.toString()).toBe('EHLO x\r\n');
      expect(result.header.source?.port).toBeGreaterThan(0);
    }
    const v6 = parseProxyHeader(proxyV2({ address: '2001:db8::a', port: 7 }, { address: '::1', port: 25 }));
    expect(v6.status === 'done' && v6.header.source).toEqual({ address: '2001:db8::a', port: 7 });
  });

  it('rejects what is not a PROXY header, and over-long or malformed ones', () => {
    expect(parseProxyHeader(Buffer.from('EHLO x\r\n')).status).toBe('error');
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 25\r\n')).status).toBe('error');
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3 5.6.7.8 1 25\r\n')).status).toBe('error');
    expect(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(200)}`)).status).toBe('error');
    const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
    expect(unknown.status === 'done' && unknown.header.source).toBeUndefined();
  });
});

describe('reply reader', () => {
  it('assembles a multi-line reply across chunks and refuses a non-reply line', () => {
    const r = new ReplyReader();
    expect(r.push(Buffer.from('250-a\r\n25'))).toBeNull();
    const reply = r.push(Buffer.from('0 b\r\nextra'));
    expect(reply?.code).toBe(250);
    expect(reply?.lines).toEqual(['250-a', '250 b']);
    expect(reply?.rest.toString()).toBe('extra');
    expect(() => new ReplyReader().push(Buffer.from('hello\r\n'))).toThrow(/not an SMTP reply/);
  });
});

describe('counters', () => {
  it('snapshot and Prometheus text', () => {
    const c = new Counters();
    c.connectionsAccepted = 3;
    c.countEvent('max-recipients', 'prevent');
    c.countEvent('max-recipients', 'prevent');
    c.countEvent('starttls', 'detect');
    expect(c.snapshot().events).toEqual({ 'max-recipients': { detect: 0, prevent: 2 }, starttls: { detect: 1, prevent: 0 } });
    const text = c.toPrometheus();
    expect(text).toContain('smtpguard_gateway_connections_total 3');
    expect(text).toContain('smtpguard_gateway_events_total{protection="max-recipients",action="prevent"} 2');
  });
});

describe('HOST:PORT', () => {
  it('parses IPv4, IPv6 in brackets and an empty host', () => {
    expect(parseHostPort('10.0.0.1:25', 'x')).toEqual({ host: '10.0.0.1', port: 25 });
    expect(parseHostPort('[::1]:2525', 'x')).toEqual({ host: '::1', port: 2525 });
    expect(parseHostPort(':2525', 'x')).toEqual({ host: '127.0.0.1', port: 2525 });
    expect(() => parseHostPort('host', 'x')).toThrow(/HOST:PORT/);
    expect(() => parseHostPort('h:70000', 'x')).toThrow(/range/);
  });
});

describe('open sessions (LiveSet)', () => {
  type Member = { name: string; liveSetIndex: number };
  const member = (name: string): Member => ({ name, liveSetIndex: -1 });

  it('adds, deletes and counts like a Set, in any order', () => {
    const set = new LiveSet<Member>();
    const [a, b, c, d] = [member('a'), member('b'), member('c'), member('d')];
    for (const m of [a, b, c, d]) set.add(m);
    set.add(b); // twice: still one
    expect(set.size).toBe(4);
    expect(set.delete(a)).toBe(true); // the first: the last takes its slot
    expect(set.delete(a)).toBe(false);
    expect(set.has(a)).toBe(false);
    expect(set.toArray().map((m) => m.name).sort()).toEqual(['b', 'c', 'd']);
    expect(set.delete(c)).toBe(true);
    expect(set.delete(d)).toBe(true); // now the last one
    expect(set.toArray().map((m) => m.name)).toEqual(['b']);
    expect(set.has(b)).toBe(true);
    set.add(a);
    expect(set.toArray().map((m) => m.name).sort()).toEqual(['a', 'b']);
  });

  it('does not take a member of another set for its own', () => {
    const one = new LiveSet<Member>();
    const other = new LiveSet<Member>();
    const x = member('x');
    const y = member('y');
    one.add(x);
    other.add(y);
    expect(one.delete(y)).toBe(false);
    expect(one.has(y)).toBe(false);
    expect(other.size).toBe(1);
  });

  it('toArray is a copy: members deleted while going through it are all visited', () => {
    const set = new LiveSet<Member>();
    const all = Array.from({ length: 6 }, (_, i) => member(String(i)));
    for (const m of all) set.add(m);
    const visited: string[] = [];
    for (const m of set.toArray()) {
      visited.push(m.name);
      set.delete(m);
    }
    expect(visited.sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(set.size).toBe(0);
  });
});
