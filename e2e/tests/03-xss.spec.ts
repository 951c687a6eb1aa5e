import { env, expect, goTo, shot, signIn, swaks, test } from '../support/fixtures.js';

test('markup in an attacker-supplied MAIL FROM shows as text and runs nothing', async ({ page }) => {
  const payload = '<img src=x onerror=alert(document.domain)>';
  await signIn(page, 'admin', env.adminPassword);
  await goTo(page, 'Logs');
  await expect(page.getByText('Live', { exact: true })).toBeVisible();

  const r = swaks(['--from', payload, '--to', 'victim@example.com']);
  expect(r.out).toContain(payload);

  await page.getByRole('button', { name: 'Columns', exact: true }).click();
  await page.getByRole('checkbox', { name: 'Command' }).check();
  await page.getByRole('button', { name: 'Columns', exact: true }).click();
  const events = page.getByRole('table', { name: 'Events' });
  const row = events.getByRole('row').filter({ hasText: 'onerror=alert(document.domain)' }).first();
  await expect(row).toBeVisible({ timeout: 5_000 });
  await expect(row).toContainText(`MAIL FROM:<${payload}>`);
  await row.click();
  await expect(page.getByRole('complementary', { name: 'Event details' }).getByLabel('Offending command')).toContainText(payload);

  // Shown as characters, never parsed: no <img> (the console has none of its own), no handler attribute, no alert.
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.evaluate(() => document.querySelectorAll('[onerror]').length)).toBe(0);
  // The text filter finds it by the same characters.
  await page.getByRole('searchbox', { name: 'Text' }).fill('onerror');
  await expect(events.getByRole('row')).toHaveCount(2); // the header and the one matching event
  await expect(events.getByRole('row').nth(1)).toContainText('onerror=alert(document.domain)');
  await shot(page, 'logs-xss-as-text');
});
