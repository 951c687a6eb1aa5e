// `pnpm start`: the whole stack on embedded defaults, in one terminal; Ctrl-C stops it all.
//   sink MTA      127.0.0.1:2526  (keeps the last messages in DATA/sink)
//   gateway       127.0.0.1:2525  -> sink, every protection at its catalog default
//   manager+console http://127.0.0.1:8080 (when the manager app is present)
// DATA is ./data, or SMTPGUARD_DATA.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const data = resolve(process.env.INIT_CWD ?? process.cwd(), process.env.SMTPGUARD_DATA ?? 'data');
mkdirSync(data, { recursive: true });

const children = [];
function launch(name, args) {
  const child = spawn('pnpm', ['--silent', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INIT_CWD: root } });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix}exited (${signal ?? code}); stopping the stack`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

launch('sink', ['--filter', '@smtpguard/sink', 'start', '--listen', '127.0.0.1:2526', '--dir', resolve(data, 'sink')]);
if (existsSync(resolve(root, 'apps/manager/src/main.ts'))) {
  launch('manager', ['--filter', '@smtpguard/manager', 'start', '--listen', '127.0.0.1:8080', '--data', resolve(data, 'manager')]);
}
launch('gateway', ['--filter', '@smtpguard/gateway', 'start', '--listen', '127.0.0.1:2525', '--upstream', '127.0.0.1:2526', '--events', resolve(data, 'events.jsonl')]);
console.log(`smtpguard: data in ${data}; send mail to 127.0.0.1:2525 (e.g. swaks --server 127.0.0.1:2525 --to you@example.com)`);
