#!/usr/bin/env node
// Measures the JavaScript the built console loads before its first screen: the entry
// script(s) of dist/index.html plus every chunk they import statically (not lazy screens),
// gzipped. Prints the figure; exits 1 above the budget (300 KB gzipped).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUDGET_KB = 300;

export function initialJs(distDir) {
  const html = readFileSync(join(distDir, 'index.html'), 'utf8');
  const refs = [
    ...html.matchAll(/<script[^>]+type="module"[^>]*src="([^"]+)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]*href="([^"]+)"/g),
  ].map((m) => m[1]);
  const seen = new Set();
  const queue = refs.map((r) => resolve(distDir, `.${r.startsWith('/') ? r : `/${r}`}`));
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    // Static imports only: `import{a}from"./x.js"`, `import"./x.js"`, `export{a}from"./x.js"`; not `import("./x.js")`.
    for (const m of src.matchAll(/(?:^|[;\s}])(?:import|export)\s*(?:[\w${},*\s]+?\s*from\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g)) {
      queue.push(resolve(dirname(file), m[1]));
    }
  }
  const files = [...seen].map((file) => {
    const buf = readFileSync(file);
    return { file, bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
  });
  return { files, gzip: files.reduce((s, f) => s + f.gzip, 0), bytes: files.reduce((s, f) => s + f.bytes, 0) };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
  if (!existsSync(join(dist, 'index.html'))) {
    console.error(`bundle-size: ${dist}/index.html not found; run "pnpm --filter @smtpguard/console build" first`);
    process.exit(2);
  }
  const r = initialJs(dist);
  for (const f of r.files) console.log(`  ${f.file.slice(dist.length + 1)}  ${(f.bytes / 1024).toFixed(1)} KB, ${(f.gzip / 1024).toFixed(1)} KB gzipped`);
  console.log(`console initial JavaScript: ${(r.gzip / 1024).toFixed(1)} KB gzipped (${(r.bytes / 1024).toFixed(1)} KB raw), budget ${BUDGET_KB} KB`);
  process.exit(r.gzip / 1024 <= BUDGET_KB ? 0 : 1);
}
