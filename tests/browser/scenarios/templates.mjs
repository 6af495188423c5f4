// Message templates on a phone: from the list, open the English SMS appointment reminder (the
// built-in default), preview it (GSM-7, one segment), add an emoji and preview again (UCS-2, with a
// warning naming the emoji), save it as the organization's version 1, and try an unknown variable
// (refused, naming it).
export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  await page.goto(`${base}/templates?channel=sms&language=en`);
  expect(await page.locator('a[href="/templates"][aria-current=page]').count() === 1, 'Templates is in the navigation');
  const rows = await page.locator('tbody tr').count();
  // Every purpose (docs/notifications.md): 9 appointment and survey messages, the opt-out, opt-in and
  // help answers, and the two acknowledgements of confirm and cancel requests.
  expect(rows === 14, `one English SMS template per purpose: ${rows}`);
  await shot('01-list');

  await page.click('a[href="/templates/edit?channel=sms&purpose=appointment_reminder&language=en"]');
  await page.waitForURL(/\/templates\/edit\?/);
  expect(await page.locator('label[for=t-body]').count() === 1, 'the message box has a label');
  expect((await page.inputValue('#t-body')).includes('{{ organization_name }} reminder'), 'the built-in default is filled in');
  await page.click('button[value=preview]');
  await page.waitForSelector('#preview');
  expect((await page.locator('#p-encoding').innerText()) === 'GSM-7', 'the default is GSM-7');
  expect((await page.locator('#p-segments').innerText()) === '1', 'in one segment');
  expect((await page.locator('#preview-body').innerText()).includes('Riverside Clinic reminder: Hi Maria'), 'rendered with samples');
  await shot('02-preview-default');

  const body = 'Hi {{ patient_first_name }} 😀 see you {{ appointment_start|date }} at {{ appointment_start|time }}. Reply {{ reply_confirm_word }} to confirm.';
  await page.fill('#t-body', body);
  await page.click('button[value=preview]');
  await page.waitForSelector('#preview');
  expect((await page.locator('#p-encoding').innerText()) === 'UCS-2', 'the emoji makes it UCS-2');
  const warnings = await page.locator('#p-warnings').innerText();
  expect(warnings.includes('😀') && warnings.includes('UCS-2'), `the warning names the emoji: ${warnings}`);
  expect(await page.inputValue('#t-body') === body, 'the draft is kept');
  await shot('03-preview-emoji-ucs2');

  await page.click('button[value=save]');
  await page.waitForSelector('#notice');
  expect((await page.locator('#notice').innerText()).includes('version 1'), 'saved as version 1');
  await shot('04-saved');

  await page.fill('#t-body', 'Hi {{ patient_frist_name }}');
  await page.click('button[value=save]');
  await page.waitForSelector('#errors');
  expect((await page.locator('#errors').innerText()).includes('patient_frist_name'), 'the unknown variable is named');
  await shot('05-unknown-variable');
}
