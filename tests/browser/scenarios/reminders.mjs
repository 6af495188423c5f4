// Reminders and replies on a phone, on a test instance whose clock the simulator may move: an EHR
// feed sends a patient's SMS consent and books a visit three days ahead; on the simulator's live
// page staff move the clock a day (the booking notice goes out, whatever the hour), answer as the
// patient with C (a confirm request), move another day (a reminder goes out), then read the
// appointment's timeline: the reminder decisions and every message about it.
export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  const makeKey = async (name, scope) => {
    await page.goto(`${base}/admin/api-keys`);
    await page.fill('#key-name', name);
    await page.check(`input[name=scope][value=${scope}]`);
    await page.click('form[action="/admin/api-keys"] button[type=submit]');
    return (await page.locator('.notice .once').innerText()).trim();
  };
  const ingest = await makeKey('EHR feed', 'ingest');
  const call = async (method, path, key, body) => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  };

  const day = new Date(Date.now() + 3 * 86400e3);
  const date = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Chicago' }).format(day);
  const phone = '+12025550142';
  // The EHR sends the patient's SMS consent with the booking, as registration records it.
  const person = { patient_id: 'E42', patient_first_name: 'Lena', patient_last_name: 'Ortiz', patient_phone: phone };
  const booked = await call('POST', '/api/v1/ingest/appointment-events', ingest, [
    { event_type: 'OPTED-IN', ...person },
    { event_type: 'BOOKED', ...person, appointment_id: 'V42', appointment_datetime: `${date}T10:00:00`,
      appointment_timezone: 'America/Chicago', appointment_location: 'Main Street Clinic', provider_id: 'P1',
      provider_first_name: 'Ada', provider_last_name: 'Okafor' },
  ]);
  expect(booked.status === 202, `the booking is accepted (got ${booked.status})`);
  expect(booked.json.results.every((r) => r.result !== 'rejected'), JSON.stringify(booked.json));
  const appointment = booked.json.results[1].appointment_id;

  await page.goto(`${base}/admin/simulate/live`);
  expect(!(await page.locator('button:has-text("Move the clock")').isDisabled()), 'this test instance may move its clock');
  await shot('01-live');
  await page.fill('#f-hours', '24');
  await page.click('button:has-text("Move the clock")');
  await page.waitForSelector('#done');
  const afterDay = await page.locator('main').innerText();
  expect(afterDay.includes('appointment booked'), 'the booking notice is listed');
  await shot('02-a-day-later');

  await page.fill('#f-phone', phone);
  await page.fill('#f-text', 'C');
  await page.click('button:has-text("Send the reply")');
  await page.waitForSelector('#done');
  expect((await page.locator('#done').innerText()).includes('confirm requested'), 'C is a confirm request');
  expect((await page.locator('main').innerText()).includes('confirm received'), 'the patient is answered');
  await shot('03-replied');

  await page.fill('#f-hours', '24');
  await page.click('button:has-text("Move the clock")');
  await page.waitForSelector('#done');
  await page.goto(`${base}/appointments/${appointment}`);
  const main = await page.locator('main').innerText();
  expect(main.includes('Reminders') && main.includes('48h') && main.includes('24h'), 'the decisions per reminder');
  expect(main.includes('appointment reminder'), 'a reminder about it went out');
  await shot('04-timeline');
}
