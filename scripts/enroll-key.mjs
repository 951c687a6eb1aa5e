// Prints a one-time enrollment key for a gateway, creating the gateway entry if needed.
//   node scripts/enroll-key.mjs --manager http://10.0.0.5:8080 --name gw-berlin [--user admin]
// The password comes from SMTPGUARD_ADMIN_PASSWORD (never a flag: flags show up in `ps`).
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    manager: { type: 'string', default: 'http://127.0.0.1:8080' },
    name: { type: 'string' },
    user: { type: 'string', default: 'admin' },
    wait: { type: 'string', default: '120' },
  },
});
const fail = (message) => {
  console.error(`enroll-key: ${message}`);
  process.exit(2);
};
if (!values.name) fail('--name NAME is required');
const password = process.env.SMTPGUARD_ADMIN_PASSWORD;
if (!password) fail('set SMTPGUARD_ADMIN_PASSWORD to the password of --user');

const base = values.manager.replace(/\/$/, '');
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/api/health`)).ok) break;
  } catch {}
  if (i > Number(values.wait) * 2) fail(`${base} did not answer`);
  await new Promise((r) => setTimeout(r, 500));
}
async function call(path, cookie, body) {
  const res = await fetch(base + path, {
    method: body ? 'POST' : 'GET',
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) fail(`${path}: HTTP ${res.status}: ${await res.text()}`);
  return res;
}
const login = await call('/api/auth/login', null, { username: values.user, password });
const cookie = login.headers.get('set-cookie').split(';')[0];
const { gateways } = await (await call('/api/gateways', cookie)).json();
const existing = gateways.find((g) => g.name === values.name);
const key = existing
  ? await (await call(`/api/gateways/${existing.id}/enrollment-key`, cookie, {})).json()
  : await (await call('/api/gateways', cookie, { name: values.name })).json();
process.stdout.write(`${key.enrollmentKey}\n`);
