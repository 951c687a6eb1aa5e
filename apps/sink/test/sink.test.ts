import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSink } from '../src/sink.js';


describe('sink MTA', () => {
  it('accepts mail from a real client (swaks) and keeps the last messages as .eml files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-'));
    const sink = await startSink({ host: '127.0.0.1', port: 0, dir, keep: 2 });
    try {
      for (const n of [1, 2, 3]) {
        // Async: the sink runs in this process, a blocking call would starve it.
        await promisify(execFile)('swaks', ['--server', `127.0.0.1:${sink.port}`, '--from', 'a@example.org', '--to', 'b@example.com', '--header', `Subject: message ${n}`, '--silent', '2']);
      }
      expect(sink.messages.map((m) => m.id)).toEqual([2, 3]);
      expect(sink.messages[1]).toMatchObject({ from: 'a@example.org', to: ['b@example.com'] });
      const files = readdirSync(dir).sort();
      expect(files).toEqual(['000002.eml', '000003.eml']);
      expect(readFileSync(join(dir, files[1]!), 'utf8')).toContain('Subject: message 3');
    } finally {
      await sink.close();
    }
  });
});
