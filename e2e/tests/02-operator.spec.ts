import { env, expect, goTo, shot, signIn, test } from '../support/fixtures.js';

test('an operator sees everything read-only and cannot change anything', async ({ page }) => {
  await signIn(page, 'operator', env.operatorPassword);
  const who = page.getByLabel('Signed in user');
  await expect(who).toContainText('operator');
  await expect(who).toContainText('Operator (read-only)');

  await expect(page.getByRole('button', { name: 'Install Policy' })).toBeDisabled();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' })).toHaveCount(0);

  await page.getByRole('row', { name: 'Maximum Number of Recipients Enforcement' }).dblclick();
  const dialog = page.getByRole('dialog', { name: 'Maximum Number of Recipients Enforcement' });
  await expect(dialog.getByText(/Read-only/)).toBeVisible();
  await expect(dialog.getByLabel('Action in Default_Protection')).toBeDisabled();
  await expect(dialog.getByLabel('Action in Recommended_Protection')).toBeDisabled();
  await expect(dialog.getByRole('textbox', { name: 'Limit' })).toBeDisabled();
  await expect(dialog.getByRole('button', { name: 'Save settings' })).toHaveCount(0);
  await expect(dialog.getByRole('button', { name: 'Add exception' })).toHaveCount(0);
  await shot(page, 'operator-protection-details');
  await page.keyboard.press('Escape');

  await page.getByRole('treeitem', { name: 'Profiles' }).click();
  await expect(page.getByRole('combobox', { name: 'Severity at least' }).first()).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Save profile' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Create profile' })).toHaveCount(0);

  await goTo(page, 'Gateways');
  await expect(page.getByRole('table', { name: 'Gateways' }).getByRole('row', { name: env.gatewayName })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add gateway' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Revoke/ })).toHaveCount(0);

  await goTo(page, 'Policy');
  for (const b of await page.getByRole('button', { name: /Roll back to revision/ }).all()) await expect(b).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Discard changes' })).toHaveCount(0);
  await shot(page, 'operator-policy');

  // The manager enforces it too: the operator's own session is refused a change.
  const res = await page.request.put(`${env.base}/api/profiles/1/overrides/max-recipients`, { data: { action: 'inactive' } });
  expect(res.status()).toBe(403);

  // Operators do watch the live log.
  await goTo(page, 'Logs');
  await expect(page.getByText('Live', { exact: true })).toBeVisible();
});
