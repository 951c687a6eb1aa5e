import { defineConfig } from '@playwright/test';

/**
 * Debian's Chromium against the real stack (global-setup.ts starts a manager, an upstream MTA
 * and a gateway enrolled with the manager). Never let Playwright download a browser: no downloads here.
 */
export default defineConfig({
  testDir: 'tests',
  globalSetup: './global-setup.ts',
  // One browser, one stack, tests in file order: the admin installs the policy the attack test relies on.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  forbidOnly: true,
  outputDir: 'test-results',
  reporter: [['list'], ['json', { outputFile: '.reports/playwright.json' }]],
  use: {
    headless: true,
    viewport: { width: 1440, height: 900 },
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
