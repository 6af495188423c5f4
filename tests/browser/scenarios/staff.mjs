// Staff pages as a person uses them, on a phone-sized screen: sign in with the keyboard, a refused
// sign-in, users and roles, API keys, the audit log, two-step sign-in set-up, and signing in again
// with a recovery code. Needs HEARTH_EMAIL and HEARTH_PASSWORD of a PX admin.
import { createHmac } from 'node:crypto';

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`bad base32 character ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238 TOTP, SHA-1, 6 digits, 30 s steps.
function totp(secret, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

export async function run({ page, base, shot, expect }) {
  const email = process.env.HEARTH_EMAIL;
  const password = process.env.HEARTH_PASSWORD;
  expect(email && password, 'HEARTH_EMAIL and HEARTH_PASSWORD must be set');

  // A refused sign-in shows an alert tied to the field.
  await page.goto(`${base}/login`);
  await shot('01-login');
  await page.fill('#email', email);
  await page.fill('#password', 'not the password');
  await page.click('button[type=submit]');
  const alert = page.locator('[role=alert]');
  expect(await alert.isVisible(), 'a refused sign-in shows an alert');
  expect((await page.getAttribute('#email', 'aria-describedby')) === 'login-error', 'the alert describes the e-mail field');
  await shot('02-login-refused');

  // Sign in with the keyboard only.
  await page.goto(`${base}/login`);
  await page.keyboard.press('Tab'); // skip link
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.id) === 'email', 'Tab reaches the e-mail field');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/`);

  // Users: add one; the temporary password is shown once.
  await page.goto(`${base}/admin/users`);
  await page.fill('#new-name', 'Dana Reyes');
  await page.fill('#new-email', 'dana.reyes@riverside.example');
  await page.selectOption('#new-role', 'nurse');
  await page.click('form[action="/admin/users"] button[type=submit]');
  expect(await page.locator('text=Temporary password for dana.reyes@riverside.example').isVisible(), 'the temporary password is shown');
  await shot('03-users-created');
  // A bad address names the field.
  await page.fill('#new-name', 'X');
  await page.fill('#new-email', 'someone@clinic'); // the browser accepts it; Hearth requires a top-level domain
  await page.click('form[action="/admin/users"] button[type=submit]');
  expect((await page.locator('[role=alert]').innerText()).includes('email'), 'the error names the e-mail field');
  await shot('04-users-error');

  // API keys: create one (shown once), then revoke it.
  await page.goto(`${base}/admin/api-keys`);
  await page.fill('#key-name', 'Epic ADT feed');
  await page.check('input[name=scope][value=ingest]');
  await page.click('form[action="/admin/api-keys"] button[type=submit]');
  const key = await page.locator('.notice .once').innerText();
  expect(key.startsWith('hk_'), `the new key is shown once (got ${key})`);
  await shot('05-api-key-created');
  await page.click('form[action$="/revoke"] button');
  expect(await page.locator('td:has-text("Revoked")').count() === 1, 'the key is revoked');

  // The audit log lists what just happened.
  await page.goto(`${base}/admin/audit`);
  const log = await page.locator('table').innerText();
  for (const action of ['user.create', 'api_key.create', 'api_key.revoke', 'auth.login', 'auth.login_failed']) {
    expect(log.includes(action), `the audit log shows ${action}`);
  }
  await shot('06-audit');
  await page.fill('#f-action', 'api_key.revoke');
  await page.click('form[role=search] button');
  expect((await page.locator('tbody tr').count()) === 1, 'the filter narrows to one event');
  await page.fill('#f-action', '');
  await page.fill('#f-from', '2001-01-01');
  await page.fill('#f-to', '2001-01-02');
  await page.click('form[role=search] button');
  expect((await page.locator('tbody').innerText()).includes('No events match'), 'a day with no events shows none');

  // Two-step sign-in: scan (read the key), confirm a code, keep the recovery codes.
  await page.goto(`${base}/account/mfa`);
  expect(await page.locator('.qr svg').isVisible(), 'the QR code is shown');
  await shot('07-mfa-enrol');
  const secret = (await page.locator('p .once').innerText()).trim();
  await page.fill('#code', totp(secret, Date.now() / 1000));
  await page.click('form[action="/account/mfa"] button');
  const codes = await page.locator('li .once').allInnerTexts();
  expect(codes.length === 10, `ten recovery codes (got ${codes.length})`);
  await shot('08-recovery-codes');

  // Sign out; signing in again asks for the second factor; a recovery code works.
  await page.click('header form button');
  await page.waitForURL(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/login/mfa`);
  await shot('09-mfa-prompt');
  await page.fill('#code', codes[0]);
  await page.click('form[action="/login/mfa"] button');
  await page.waitForURL(`${base}/`);
  await page.goto(`${base}/account`);
  expect((await page.locator('main').innerText()).includes('9 unused recovery codes'), 'one recovery code was spent');
  await shot('10-account');
}
