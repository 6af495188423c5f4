// The schedule upload and the EHR simulator on a phone: from the day's appointments, upload a CSV
// export with a bad line and the example mapping, preview it (the bad line named by number, column
// and what was expected; the good rows would be created), import it from the kept text, then play
// seeded EHR events on the simulator page and open one appointment's timeline.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  await page.goto(`${base}/appointments`);
  await page.click('a[href="/appointments/import"]');
  await page.waitForURL(`${base}/appointments/import`);
  expect(await page.locator('label[for=i-csv]').count() === 1, 'the file input has a label');
  expect(await page.locator('label[for=i-mapping-text]').count() === 1, 'the mapping text box has a label');
  await shot('01-upload-form');

  const mapping = readFileSync(join(repo, 'config', 'schedule-mapping.example.toml'));
  const header = 'Appt ID,MRN,Patient First,Patient Last,Cell Phone,Email,Provider NPI,Provider First,Provider Last,Location,Visit Type,Minutes,Status,Appt Date/Time';
  const csv = [
    header,
    'B-3001,M-701,Lena,Berg,(312) 555-0121,,1234567890,Grace,Okafor,"Main Street Clinic, Suite 4",CLINICIAN,30,Booked,12/01/2026 09:00 AM',
    'B-3002,M-702,Omar,Haddad,(312) 555-0122,,1234567890,Grace,Okafor,"Main Street Clinic, Suite 4",CLINICIAN,30,Booked,12/01/2026 09:30 AM',
    'B-3003,M-703,Rosa,Ibarra,(312) 555-0123,,1234567890,Grace,Okafor,Westside,FOLLOW-UP,20,Booked,02/30/2027 09:00 AM',
    'B-3004,M-704,Tariq,Aziz,(312) 555-0124,,9876543210,Luis,Ortega,Westside,CLINICIAN,45,Booked,12/02/2026 10:00 AM',
    '',
  ].join('\r\n');
  await page.setInputFiles('#i-csv', { name: 'tuesday.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.setInputFiles('#i-mapping', { name: 'clinic.toml', mimeType: 'text/plain', buffer: mapping });
  await page.click('button[value=preview]');
  await page.waitForSelector('#report');
  const n = async (id) => Number((await page.locator(`#n-${id}`).innerText()).trim());
  expect(await n('rows') === 4 && await n('creates') === 3 && await n('errors') === 1, 'the preview counts the rows');
  const errors = await page.locator('tr.error-row').innerText();
  expect(errors.includes('4') && errors.includes('Appt Date/Time') && errors.includes('02/30/2027'), `the bad line is named: ${errors}`);
  expect((await page.locator('main').innerText()).includes('would be created'), 'the good rows would be created');
  await shot('02-preview-with-error');

  // Import from the kept text: no need to choose the files again.
  expect((await page.inputValue('#i-csv-text')).includes('B-3001'), 'the CSV is kept');
  await page.click('#report button[value=import]');
  await page.waitForSelector('#report');
  expect((await page.locator('#report-title').innerText()).startsWith('Imported tuesday.csv'), 'imported');
  expect(await n('creates') === 3, 'three appointments created');
  await page.click('button[value=import]');
  await page.waitForSelector('#report');
  expect(await n('unchanged') === 3 && await n('creates') === 0, 'the same file again changes nothing');
  await shot('03-imported-again');

  await page.goto(`${base}/appointments`);
  await page.click('a[href="/admin/simulate"]');
  await page.waitForURL(`${base}/admin/simulate`);
  expect((await page.locator('main').innerText()).includes('hearth-simulate'), 'the page says how events are tagged');
  await page.fill('#s-patients', '3');
  await page.fill('#s-seed', '11');
  await page.check('input[name=step][value=cancel]');
  await page.uncheck('input[name=step][value=arrive]');
  await page.uncheck('input[name=step][value=visit-end]');
  await page.click('form[action="/admin/simulate"] button[type=submit]');
  await page.waitForSelector('#result');
  expect((await page.locator('#result-title').innerText()).startsWith('15 events played'), 'five steps for three patients');
  expect(await page.locator('#n-created').innerText() === '3', 'three appointments created');
  expect(await page.locator('#n-rejected').innerText() === '0', 'none rejected');
  await shot('04-simulator-result');

  await page.click('#result tbody tr:first-child a');
  await page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
  const timeline = await page.locator('.timeline').innerText();
  expect(['BOOKED', 'CONFIRMED', 'RESCHEDULED', 'MODIFIED', 'CANCELED'].every((e) => timeline.includes(e)), `every step is on the timeline: ${timeline}`);
  await shot('05-simulated-timeline');
}
