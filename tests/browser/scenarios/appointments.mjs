// The day's appointments on a phone: an EHR feed (an API key made on the API-keys page) sends a
// day's bookings and a cancellation; staff see them by location and practitioner, open one, and read
// its timeline with the reason for each event.
export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  await page.goto(`${base}/admin/api-keys`);
  await page.fill('#key-name', 'EHR feed');
  await page.check('input[name=scope][value=ingest]');
  await page.click('form[action="/admin/api-keys"] button[type=submit]');
  const key = (await page.locator('.notice .once').innerText()).trim();

  // Today in the clinic's zone, late enough that the visits are still ahead whatever the hour.
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Chicago' }).format(new Date());
  const visit = (id, patient, first, last, hour, location, provider) => ({
    event_type: 'BOOKED', patient_id: patient, patient_first_name: first, patient_last_name: last,
    patient_phone: `+1202555${String(100 + Number(patient.slice(-2))).padStart(4, '0')}`,
    appointment_id: id, appointment_datetime: `${today}T${hour}:00:00`, appointment_timezone: 'America/Chicago',
    appointment_location: location, provider_id: provider, provider_last_name: provider === 'P1' ? 'Okafor' : 'Lindqvist',
    provider_first_name: provider === 'P1' ? 'Ada' : 'Karin', appointment_type: 'Follow-up',
    // Booked a minute before the cancellation below, whatever the server's clock says when it applies
    // them (left out, an event happens when the server receives it — on a busy machine, after this
    // script's "now").
    event_datetime_utc: new Date(Date.now() - 60000).toISOString(),
  });
  const events = [
    visit('V1', 'E01', 'Ana', 'Núñez', '22', 'Main Street Clinic', 'P1'),
    visit('V2', 'E02', 'Omar', 'Haddad', '23', 'Main Street Clinic', 'P1'),
    visit('V3', 'E03', 'Mei', 'Chen', '22', 'Riverside Annex, Suite 4', 'P2'),
    { event_type: 'CANCELED', patient_id: 'E02', appointment_id: 'V2', appointment_datetime: `${today}T23:00:00`,
      appointment_timezone: 'America/Chicago', event_datetime_utc: new Date().toISOString() },
  ];
  const res = await fetch(`${base}/api/v1/ingest/appointment-events`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(events),
  });
  expect(res.status === 202, `the feed is accepted (got ${res.status})`);
  const answer = await res.json();
  expect(answer.results.every((r) => r.result === 'created' || r.result === 'updated'), JSON.stringify(answer));

  await page.goto(`${base}/appointments`);
  expect((await page.locator('#count').innerText()).startsWith('3 appointments'), 'the day has three appointments');
  const main = await page.locator('main').innerText();
  expect(main.includes('Main Street Clinic') && main.includes('Riverside Annex, Suite 4'), 'grouped by location');
  expect(main.includes('Ada Okafor') && main.includes('Karin Lindqvist'), 'and by practitioner');
  expect(main.includes('Ana Núñez') && main.includes('cancelled'), 'patients by name, statuses shown');
  await shot('01-day');

  await page.selectOption('#d-location', { label: 'Riverside Annex, Suite 4' });
  await page.click('form[aria-label="Choose the day"] button');
  expect((await page.locator('#count').innerText()).startsWith('1 appointment'), 'filtered by location');
  await shot('02-one-location');

  await page.goto(`${base}/appointments`);
  await page.click('tr:has-text("Omar Haddad") a >> nth=0');
  await page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
  const timeline = await page.locator('.timeline').innerText();
  expect(timeline.includes('BOOKED') && timeline.includes('CANCELED'), 'every event is on the timeline');
  expect((await page.locator('main').innerText()).includes('suppressed:cancelled'), 'reminders stopped by the cancellation');
  await shot('03-timeline');
}
