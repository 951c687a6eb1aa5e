#!/usr/bin/env node
// Builds the native TCP transport: native/transport.c -> native/build/transport.node.
// Skips the compile when the .node is newer than both the .c and this script.
// Usage: node scripts/build-native.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(import.meta.url);
const root = dirname(dirname(script));
const src = join(root, 'native', 'transport.c');
const outDir = join(root, 'native', 'build');
const out = join(outDir, 'transport.node');
const rel = (p) => relative(root, p);

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

if (!existsSync(src)) fail(`missing source ${src}`);

const force = process.argv.includes('--force');
if (!force && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  if (built > statSync(src).mtimeMs && built > statSync(script).mtimeMs) {
    console.log(`build-native: ${rel(out)} is up to date`);
    process.exit(0);
  }
}

const headerDirs = [
  process.env.npm_config_nodedir ? join(process.env.npm_config_nodedir, 'include', 'node') : null,
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
].filter((d) => d !== null);
const include = headerDirs.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
if (!include) fail(`no Node headers (node_api.h, uv.h) in any of: ${headerDirs.join(', ')}; set npm_config_nodedir`);

const compiler = ['cc', 'gcc'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!compiler) fail('no C compiler found (tried cc, gcc); install one (e.g. apt-get install gcc)');

const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-fvisibility=hidden', '-std=gnu11', `-I${include}`];
if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const res = spawnSync(compiler, [...args, '-o', tmp, src], { stdio: 'inherit' });
if (res.status !== 0) {
  rmSync(tmp, { force: true });
  fail(`${compiler} failed (${res.error ? res.error.message : `exit ${res.status ?? res.signal}`})`);
}
renameSync(tmp, out); // atomic: a running process never loads a half-written file
console.log(`build-native: compiled ${rel(src)} -> ${rel(out)} (${compiler}, headers ${include})`);
