import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** `pnpm --filter @smtpguard/console dev` proxies /api (WebSockets included) to a local manager. */
const manager = process.env.SMTPGUARD_MANAGER_URL ?? 'http://127.0.0.1:8080';

/**
 * The built console allows only its own scripts: even if an attacker-controlled string ever
 * reached the DOM as markup, no inline handler or foreign script would run. (Dev mode needs
 * Vite's inline preamble, so this is build-only.)
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');
function contentSecurityPolicy(): Plugin {
  return {
    name: 'smtpguard-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
  build: {
    target: 'es2022',
    sourcemap: false,
    // One small app: everything the first screen needs is in the entry chunk.
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: manager, changeOrigin: false, ws: true },
    },
  },
});
