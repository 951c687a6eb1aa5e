import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zInspectionEvent } from '@smtpguard/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, RecordingUpstream, freePort, launch, run, swaks, tempDir, until, type Proc } from './peers.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '..');
const root = resolve(pkg, '../..');
const tsxCli = resolve(pkg, 'node_modules/tsx/dist/cli.mjs');

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** `pnpm gateway ...` as the package script runs it (tsx src/main.ts), with INIT_CWD as pnpm sets it. */
function gatewayProcess(args: string[], initCwd: string): Proc {
  const proc = launch(process.execPath, [tsxCli, 'src/main.ts', ...args], { cwd: pkg, env: { INIT_CWD: initCwd } });
  cleanups.push(() => proc.stop());
  return proc;
}

async function listening(proc: Proc, stream: 'stdout' | 'stderr'): Promise<void> {
  await until(() => proc[stream]().includes('"gateway listening"') || proc.child.exitCode !== null, 'gateway start-up', 20_000);
  if (proc.child.exitCode !== null) throw new Error(`gateway exited: ${proc.stderr()}`);
}

describe('standalone CLI', () => {
  it('relative --policy/--events resolve against INIT_CWD; events are JSON lines; SIGTERM stops it cleanly', async () => {
    const upstream = await RecordingUpstream.start();
    cleanups.push(() => upstream.close());
    const dir = tempDir();
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ revision: 3, protections: { 'recipient-no-domain': { action: 'detect' } } }));
    const port = await freePort();
    const proc = gatewayProcess(
      ['--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${upstream.port}`, '--policy', 'policy.json', '--events', 'out/events.jsonl', '--name', 'gw-cli', '--default-action', 'detect'],
      dir,
    );
    await listening(proc, 'stdout');
    const client = await RawClient.connect(port);
    await client.reply();
    await client.command('EHLO cli.test');
    await client.command('MAIL FROM:<a@example.org>');
    expect(await client.command('RCPT TO:<nodomain>')).toMatch(/^250/);
    await client.command('HELP \x01\x02<script>');
    expect(await client.command('QUIT')).toMatch(/^221/);
    await client.waitClosed();
    const file = join(dir, 'out/events.jsonl');
    await until(() => {
      try {
        const text = readFileSync(file, 'utf8');
        return text.includes('recipient-no-domain') && text.includes('binary-data');
      } catch {
        return false;
      }
    }, 'events file');
    const events = readFileSync(file, 'utf8').trim().split('\n').map((l) => zInspectionEvent.parse(JSON.parse(l)));
    const event = events.find((e) => e.protectionId === 'recipient-no-domain')!;
    expect(event).toMatchObject({
      action: 'detect',
      attackName: 'SMTP Policy Violation',
      attackInfo: 'No recipient domain',
      gateway: 'gw-cli',
      policyRevision: 3,
      client: { address: '127.0.0.1' },
      server: { address: '127.0.0.1', port: upstream.port },
    });
    expect(event.connectionId.length).toBeGreaterThan(0);
    expect(event.command).toContain('RCPT TO:<nodomain>');
    // Attacker bytes are escaped in the event.
    const binary = events.find((e) => e.protectionId === 'binary-data')!;
    expect(binary.command).not.toContain('\x01');
    expect(binary.command).toContain('HELP ');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.stdout()).toContain('"gateway stopped"');
  });

  it('without --events, events go to stdout and logs to stderr; --default-action prevent applies to all', async () => {
    const upstream = await RecordingUpstream.start();
    cleanups.push(() => upstream.close());
    const port = await freePort();
    const proc = gatewayProcess(['--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${upstream.port}`, '--default-action', 'prevent'], tempDir());
    await listening(proc, 'stderr');
    const result = await swaks(port, ['--from', 'a@example.org', '--to', 'nodomain']);
    expect(result.stdout).toContain('550 5.1.3');
    await until(() => proc.stdout().includes('recipient-no-domain'), 'event on stdout');
    const lines = proc.stdout().trim().split('\n');
    for (const line of lines) expect(() => zInspectionEvent.parse(JSON.parse(line))).not.toThrow();
    expect(JSON.parse(lines[0]!)).toMatchObject({ protectionId: 'recipient-no-domain', action: 'prevent' });
    expect(proc.stderr()).toContain('"inspection event"');
  });

  it('a bad policy file stops start-up with a message naming the field', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ protections: { 'max-recipients': { settings: { limit: -5 } } } }));
    const result = await run(process.execPath, [tsxCli, 'src/main.ts', '--upstream', '127.0.0.1:25', '--policy', 'bad.json'], { cwd: pkg, env: { INIT_CWD: dir } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid policy file');
    expect(result.stderr).toContain('protections.max-recipients.settings.limit');
  });

  it('an unknown protection, a bad action, invalid JSON, a missing file: each refused with a message', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ protections: { 'max-recipient': { action: 'prevent' } } }));
    writeFileSync(join(dir, 'action.json'), JSON.stringify({ protections: { starttls: { action: 'block' } } }));
    writeFileSync(join(dir, 'broken.json'), '{"protections": ');
    const start = (file: string) => run(process.execPath, [tsxCli, 'src/main.ts', '--upstream', '127.0.0.1:25', '--policy', file], { cwd: pkg, env: { INIT_CWD: dir } });
    const [typo, action, broken, missing] = await Promise.all([start('typo.json'), start('action.json'), start('broken.json'), start('nope.json')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/protections.*max-recipient/);
    expect(action.code).toBe(2);
    expect(action.stderr).toContain('protections.starttls.action');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('not valid JSON');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(join(dir, 'nope.json'));
  });

  it('flag errors: missing --upstream, bad --default-action, bad HOST:PORT', async () => {
    const cli = (args: string[]) => run(process.execPath, [tsxCli, 'src/main.ts', ...args], { cwd: pkg });
    const [noUpstream, badAction, badListen] = await Promise.all([
      cli([]),
      cli(['--upstream', '127.0.0.1:25', '--default-action', 'block']),
      cli(['--upstream', '127.0.0.1:25', '--listen', 'localhost']),
    ]);
    expect(noUpstream.code).toBe(2);
    expect(noUpstream.stderr).toContain('--upstream HOST:PORT is required');
    expect(badAction.stderr).toContain('--default-action: expected one of prevent|detect|inactive');
    expect(badListen.stderr).toContain('--listen: expected HOST:PORT');
  });

  it('root script: pnpm gateway --help', async () => {
    const result = await run('pnpm', ['gateway', '--help'], { cwd: root });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('usage: pnpm gateway --listen HOST:PORT --upstream HOST:PORT');
  });
});
