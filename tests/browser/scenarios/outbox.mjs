// The outbox on a phone: with no provider configured, messages go to the local outbox and are shown
// here ("what would have been sent"). An integration (an API key made on the API-keys page) sends two
// messages; staff list them, filter by channel, open one and read its attempts and history.
export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  await page.goto(`${base}/admin/api-keys`);
  await page.fill('#key-name', 'Front desk tool');
  await page.check('input[name=scope][value=write]');
  await page.click('form[action="/admin/api-keys"] button[type=submit]');
  const key = (await page.locator('.notice .once').innerText()).trim();

  const send = async (body) => {
    const res = await fetch(`${base}/api/v1/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(res.status === 201, `the message is queued (got ${res.status})`);
    return res.json();
  };
  await send({ channel: 'sms', to: '+12025550143', body: 'Riverside Clinic: your visit is tomorrow at 9:30. Reply C to confirm.' });
  const mail = await send({ channel: 'email', to: 'ana.nunez@example.org', subject: 'Your visit', body: 'Dear Ana,\nsee you on Tuesday at 9:30.\nRiverside Clinic' });
  const bad = await fetch(`${base}/api/v1/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'sms', to: '555', body: 'x' }),
  });
  expect(bad.status === 422 && (await bad.json()).fields[0].field === 'to', 'a bad number is refused, naming `to`');

  // The workers deliver into the local outbox within moments.
  for (let i = 0; i < 50; i++) {
    await page.goto(`${base}/outbox`);
    if ((await page.locator('main').innerText()).split('delivered').length > 2) break;
    await page.waitForTimeout(100);
  }
  expect((await page.locator('#count').innerText()).startsWith('2 messages'), 'both messages are listed');
  expect((await page.locator('main').innerText()).split('delivered').length > 2, 'both delivered to the local outbox');
  await shot('01-outbox');

  await page.selectOption('#o-channel', 'email');
  await page.click('form[aria-label="Filter messages"] button');
  expect((await page.locator('#count').innerText()).startsWith('1 message'), 'filtered by channel');
  await page.click(`a[href="/outbox/${mail.id}"]`);
  await page.waitForURL(`${base}/outbox/${mail.id}`);
  expect((await page.locator('#status').innerText()).startsWith('delivered'), 'delivered');
  const main = await page.locator('main').innerText();
  expect(main.includes('see you on Tuesday') && main.includes('local'), 'the text and the provider');
  expect(main.includes('queued') && main.includes('sending') && main.includes('enqueue'), 'the history');
  await shot('02-message');

  await page.goto(`${base}/outbox?status=dead`);
  expect((await page.locator('h1').innerText()) === 'Dead messages', 'the dead-letter list');
  await shot('03-dead');
}
