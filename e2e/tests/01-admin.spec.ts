import { env, expect, goTo, shot, signIn, smtplib, swaks, test } from '../support/fixtures.js';

test.describe.serial('administrator', () => {
  test('signs in and sees their name and role', async ({ page }) => {
    await page.goto(`${env.base}/`);
    await expect(page.getByRole('heading', { name: /smtpguard/ })).toBeVisible();
    await shot(page, 'signin');
    await signIn(page, 'admin', env.adminPassword);
    const who = page.getByLabel('Signed in user');
    await expect(who).toContainText('admin');
    await expect(who).toContainText('Administrator');
    // The navigation tree of the seed: Protections > By Protocol > Application Intelligence > Mail > SMTP.
    const tree = page.getByRole('tree', { name: 'IPS navigation' });
    for (const name of ['Protections', 'By Protocol', 'Application Intelligence', 'Mail', 'SMTP']) {
      await expect(tree.getByRole('treeitem', { name, exact: false }).first()).toBeVisible();
    }
    await expect(page.getByRole('treeitem', { name: 'SMTP', exact: true })).toHaveAttribute('aria-selected', 'true');
    const table = page.getByRole('table', { name: 'SMTP protections' });
    for (const col of ['Protection', 'Industry Reference', 'Severity', 'Confidence Level', 'Performance Impact', 'Default_Protection', 'Recommended_Protection']) {
      await expect(table.getByRole('columnheader', { name: col, exact: true })).toBeVisible();
    }
    await expect(table.getByRole('row', { name: 'Microsoft Exchange Server Commands' })).toContainText('CVE-2003-0714');
    // Search narrows the table; sorting by severity puts Critical first when descending.
    await page.getByRole('searchbox', { name: 'Search protections' }).fill('CVE-2005-0560');
    await expect(table.getByRole('row')).toHaveCount(2);
    await page.getByRole('searchbox', { name: 'Search protections' }).fill('');
    await table.getByRole('button', { name: 'Severity' }).click();
    await table.getByRole('button', { name: 'Severity' }).click();
    await expect(table.getByRole('columnheader', { name: 'Severity' })).toHaveAttribute('aria-sort', 'descending');
    await expect(table.getByRole('row').nth(1)).toContainText('Critical');
    await shot(page, 'ips-protections');
  });

  test('sets one protection to Prevent and another to Detect, installs on all gateways and sees it succeed', async ({ page }) => {
    await signIn(page, 'admin', env.adminPassword);
    const table = page.getByRole('table', { name: 'SMTP protections' });

    // Double-click opens Protection Details.
    await table.getByRole('row', { name: 'SMTP Recipients with No Domain Name' }).dblclick();
    let dialog = page.getByRole('dialog', { name: 'SMTP Recipients with No Domain Name' });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText('No recipient domain');
    await dialog.getByLabel('Action in Default_Protection').selectOption('prevent');
    await expect(dialog.getByLabel('Action in Default_Protection')).toHaveValue('prevent');
    await expect(dialog.getByText('Saved to the draft.')).toBeVisible();
    await expect(dialog).toContainText('Effective: Prevent (override)');
    // Inline validation of the generated settings form: nothing is sent while invalid.
    await expect(dialog.getByRole('checkbox', { name: 'Allow postmaster' })).toBeChecked();
    await shot(page, 'protection-details');
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();

    // Enter on a focused row opens it too.
    await table.getByRole('row', { name: 'Unknown SMTP Commands' }).focus();
    await page.keyboard.press('Enter');
    dialog = page.getByRole('dialog', { name: 'Unknown SMTP Commands' });
    await dialog.getByLabel('Action in Default_Protection').selectOption('detect');
    await expect(dialog.getByLabel('Action in Default_Protection')).toHaveValue('detect');
    await expect(dialog).toContainText('Effective: Detect (override)');
    await page.keyboard.press('Escape');

    // A settings value out of range is refused inline, next to the field.
    await table.getByRole('row', { name: 'Maximum Number of Recipients Enforcement' }).dblclick();
    dialog = page.getByRole('dialog', { name: 'Maximum Number of Recipients Enforcement' });
    await dialog.getByRole('textbox', { name: 'Limit' }).fill('-5');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await expect(dialog.getByRole('alert')).toHaveText('Must be at least 0.');
    await expect(dialog.getByRole('textbox', { name: 'Limit' })).toHaveAttribute('aria-invalid', 'true');
    await page.keyboard.press('Escape');

    await expect(table.getByRole('row', { name: 'SMTP Recipients with No Domain Name' })).toContainText('Prevent (override)');
    await expect(table.getByRole('row', { name: 'Unknown SMTP Commands' })).toContainText('Detect (override)');
    const bar = page.getByRole('region', { name: 'Policy status' });
    await expect(bar).toContainText('Policy changed, not installed');

    await bar.getByRole('button', { name: 'Install Policy' }).click();
    const install = page.getByRole('dialog', { name: 'Install Policy' });
    await expect(install.getByRole('checkbox', { name: 'All gateways (1)' })).toBeChecked();
    await expect(install.getByRole('checkbox', { name: new RegExp(env.gatewayName) })).toBeChecked();
    await install.getByRole('textbox', { name: 'Comment' }).fill('e2e: no-domain recipients prevented, unknown commands detected');
    await install.getByRole('button', { name: 'Install', exact: true }).click();
    await expect(install.getByRole('status')).toContainText(/Policy installed: revision \d+ on 1 gateway/, { timeout: 20_000 });
    await expect(install.getByRole('table', { name: 'Install results' }).getByRole('row', { name: new RegExp(env.gatewayName) })).toContainText('Installed');
    await shot(page, 'install-policy');
    await install.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect(bar).toContainText(/Policy installed: revision \d+/);
  });

  test('an attack through the gateway is rejected and shows up live in the open Logs screen', async ({ page }) => {
    await signIn(page, 'admin', env.adminPassword);
    await goTo(page, 'Logs');
    await expect(page.getByText('Live', { exact: true })).toBeVisible();
    const events = page.getByRole('table', { name: 'Events' });

    // Prevent: RCPT without a domain gets 550 5.1.3 at the client.
    const attack = swaks(['--from', 'probe@example.com', '--to', 'nodomain']);
    expect(attack.out).toContain('550 5.1.3');
    expect(attack.code).not.toBe(0);
    const row = events.getByRole('row').filter({ hasText: 'No recipient domain' });
    await expect(row).toBeVisible({ timeout: 2_000 }); // live, without a reload
    await expect(row.getByRole('cell').nth(5)).toHaveText('SMTP Policy Violation');
    await expect(row.getByRole('cell').nth(6)).toHaveText('No recipient domain');
    await expect(row.getByRole('cell').nth(7)).toHaveText('Prevent');
    await expect(row.getByRole('cell').nth(1)).toHaveText(env.gatewayName);
    await expect(row.getByRole('cell').nth(4)).toHaveText('SMTP Recipients with No Domain Name');

    // Detect: the unknown command is forwarded (the upstream answers it) and only logged.
    const detect = smtplib("s.ehlo('client.example')\nprint(s.docmd('FOOBAR'))\ns.quit()");
    expect(detect.code).toBe(0);
    const detected = events.getByRole('row').filter({ hasText: 'Unknown or unallowed command' });
    await expect(detected).toBeVisible({ timeout: 2_000 });
    await expect(detected.getByRole('cell').nth(7)).toHaveText('Detect');

    // The detail pane shows the escaped command and the SMTP context.
    await row.click();
    const detail = page.getByRole('complementary', { name: 'Event details' });
    await expect(detail.getByLabel('Offending command')).toContainText('RCPT TO:<nodomain>');
    await expect(detail.getByLabel('MAIL FROM')).toContainText('probe@example.com');
    await expect(page.getByRole('figure', { name: 'Events over time by protection' })).toContainText('SMTP Recipients with No Domain Name');
    await shot(page, 'logs');

    // Pause holds new events back without losing them; resume shows them.
    await page.getByRole('button', { name: 'Pause' }).click();
    swaks(['--from', 'paused@example.com', '--to', 'alsonodomain']);
    await expect(page.getByRole('button', { name: 'Resume (1 new)' })).toBeVisible({ timeout: 5_000 });
    await expect(events.getByRole('row').filter({ hasText: 'paused@example.com' })).toHaveCount(0);
    await page.getByRole('button', { name: /Resume/ }).click();
    await page.getByRole('button', { name: 'Columns', exact: true }).click();
    await page.getByRole('checkbox', { name: 'MAIL FROM' }).check();
    await expect(events.getByRole('row').filter({ hasText: 'paused@example.com' })).toHaveCount(1);

    // The export link carries the current filters.
    await expect(page.getByRole('link', { name: 'Export CSV' })).toHaveAttribute('href', /\/api\/events\/export\?.*format=csv/);
  });

  test('edits a setting, reads the diff, installs it, rolls back, and sees the gateway run the rollback', async ({ page }) => {
    await signIn(page, 'admin', env.adminPassword);
    const table = page.getByRole('table', { name: 'SMTP protections' });
    await table.getByRole('row', { name: 'Maximum Number of Recipients Enforcement' }).dblclick();
    const dialog = page.getByRole('dialog', { name: 'Maximum Number of Recipients Enforcement' });
    await dialog.getByRole('textbox', { name: 'Limit' }).fill('50');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await expect(dialog.getByText('Saved to the draft. Install the policy to apply it.')).toBeVisible();
    await page.keyboard.press('Escape');

    await goTo(page, 'Policy');
    await expect(page.getByRole('group', { name: 'Draft changes' })).toContainText('Maximum Number of Recipients Enforcement');
    await shot(page, 'policy-draft-diff');

    const bar = page.getByRole('region', { name: 'Policy status' });
    await bar.getByRole('button', { name: 'Install Policy' }).click();
    let install = page.getByRole('dialog', { name: 'Install Policy' });
    await install.getByRole('button', { name: 'Install', exact: true }).click();
    await expect(install.getByRole('status')).toContainText(/Policy installed: revision 2 on 1 gateway/, { timeout: 20_000 });
    await install.getByRole('button', { name: 'Close', exact: true }).last().click();

    const revisions = page.getByRole('table', { name: 'Revisions' });
    await expect(revisions.getByRole('row')).toHaveCount(3);
    await expect(page.getByRole('group', { name: 'Changes in revision 2' })).toContainText('Maximum Number of Recipients Enforcement');
    await shot(page, 'policy-revisions');

    await revisions.getByRole('button', { name: 'Roll back to revision 1' }).click();
    install = page.getByRole('dialog', { name: 'Roll back to revision 1' });
    await install.getByRole('button', { name: 'Roll back and install' }).click();
    await expect(install.getByRole('status')).toContainText(/Policy installed: revision 3 on 1 gateway/, { timeout: 20_000 });
    await install.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect(revisions.getByRole('row', { name: /rollback of 1/ })).toBeVisible();
    await revisions.getByRole('button', { name: 'Show changes of revision 3' }).click();
    await expect(page.getByRole('group', { name: 'Changes in revision 3' })).toContainText('Maximum Number of Recipients Enforcement');
    await expect(bar).toContainText('Policy installed: revision 3');

    await goTo(page, 'Gateways');
    const gw = page.getByRole('table', { name: 'Gateways' }).getByRole('row', { name: env.gatewayName });
    await expect(gw).toContainText('Online');
    await expect(gw.getByRole('cell').nth(4)).toHaveText('3');
    await shot(page, 'gateways');

    await goTo(page, 'IPS');
    await page.getByRole('treeitem', { name: 'Profiles' }).click();
    await expect(page.getByRole('region', { name: 'Profile Default_Protection' })).toContainText(env.gatewayName);
    await shot(page, 'profiles');

    await goTo(page, 'Audit');
    await expect(page.getByRole('table', { name: 'Audit log' }).getByRole('row').nth(1)).toBeVisible();
    await shot(page, 'audit');
  });
});
