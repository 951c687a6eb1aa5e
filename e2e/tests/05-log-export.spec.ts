import { createServer, type AddressInfo, type Socket } from 'node:net';
import { env, expect, shot, signIn, swaks, test } from '../support/fixtures.js';

/** A syslog receiver on loopback: RFC 6587 octet-counted frames of RFC 5424 messages. */
async function receiver() {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) break;
        const len = Number(buf.subarray(0, sp).toString('ascii'));
        if (buf.length < sp + 1 + len) break;
        messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buf = buf.subarray(sp + 1 + len);
      }
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

test('administrator configures log export to a CEF receiver, sends a test message, and an attack arrives as CEF', async ({ page }) => {
  const siem = await receiver();
  try {
    await signIn(page, 'admin', env.adminPassword);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Log export', exact: true }).click();
    const form = page.getByRole('form', { name: 'Log export settings' });
    await form.getByRole('textbox', { name: 'Receiver host' }).fill('127.0.0.1');
    await form.getByRole('textbox', { name: 'Port' }).fill(String(siem.port));
    await form.getByRole('combobox', { name: 'Transport' }).selectOption('tcp');
    await form.getByRole('combobox', { name: 'Message format' }).selectOption('cef');
    await form.getByRole('checkbox', { name: 'Enable log export' }).check();
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form.getByText('Saved.')).toBeVisible();
    const status = page.getByRole('region', { name: 'Log export status' });
    await expect(status.getByRole('status')).toContainText('Connected');

    await form.getByRole('button', { name: 'Send test message' }).click();
    await expect(form.getByLabel('Test result')).toContainText(`test message sent to 127.0.0.1:${siem.port} over TCP`);
    await expect.poll(() => siem.messages.some((m) => / smtpguard - test /.test(m))).toBe(true);

    // An attack through the gateway reaches the receiver as a CEF line; the markup is escaped data.
    const payload = '<svg onload=alert(1)>|x=y';
    swaks(['--from', `${payload}@example.org`, '--to', 'bob@example.com']);
    await expect.poll(() => siem.messages.find((m) => m.includes('CEF:0|smtpguard|smtpguard|0.1.0|non-compliant|')) ?? '', { timeout: 10_000 }).toContain('act=prevent');
    const line = siem.messages.find((m) => m.includes('|non-compliant|'))!;
    expect(line).toMatch(/^<\d+>1 \S+ \S+ smtpguard - non-compliant \[meta sequenceId="\d+"\]/);
    expect(line).toContain('x\\=y'); // "=" escaped in the extension value
    await expect(status.getByRole('status')).toContainText(/[1-9]\d* sent/);
    await shot(page, 'log-export');
  } finally {
    await siem.close();
  }
});
