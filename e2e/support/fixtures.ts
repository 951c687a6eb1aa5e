import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Page } from '@playwright/test';

export { expect };
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export const env = {
  get base() {
    return process.env.SG_BASE_URL!;
  },
  get gatewayPort() {
    return Number(process.env.SG_GATEWAY_PORT);
  },
  get gatewayName() {
    return process.env.SG_GATEWAY_NAME!;
  },
  get adminPassword() {
    return process.env.SG_ADMIN_PASSWORD!;
  },
  get operatorPassword() {
    return process.env.SG_OPERATOR_PASSWORD!;
  },
};

/**
 * Every test's page fails the test on any browser console error or uncaught exception,
 * and on any dialog (an alert() from injected markup would be one).
 */
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: async ({}, use) => {
    await use([]);
  },
  page: async ({ page, consoleErrors }, use) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`console.error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
    page.on('dialog', (d) => {
      consoleErrors.push(`unexpected dialog (${d.type()}): ${d.message()}`);
      void d.dismiss();
    });
    await use(page);
    expect(consoleErrors, 'browser console errors during the test').toEqual([]);
  },
});

export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${env.base}/`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('table', { name: 'SMTP protections' })).toBeVisible();
}

export async function goTo(page: Page, tab: 'IPS' | 'Policy' | 'Gateways' | 'Logs' | 'Audit'): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: tab, exact: true }).click();
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** swaks, the real SMTP client: returns its exit code and full transcript. */
export function swaks(args: string[]): { code: number; out: string } {
  const r = spawnSync('swaks', ['--server', '127.0.0.1', '--port', String(env.gatewayPort), '--timeout', '15', '--hide-informational', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** python3 smtplib, for a command swaks cannot send. */
export function smtplib(script: string): { code: number; out: string } {
  const r = spawnSync('python3', ['-c', `import smtplib\ns = smtplib.SMTP('127.0.0.1', ${env.gatewayPort}, timeout=15)\n${script}`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
