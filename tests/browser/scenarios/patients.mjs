// Patient pages on a phone: add a patient (a bad phone is reported beside its field, answers kept),
// find them with a misspelt name, open the profile, record an opt-out.
export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);

  await page.goto(`${base}/patients/new`);
  await page.fill('#f-name', 'Smith');
  await page.fill('#f-given', 'John');
  await page.fill('#f-birth_date', '1984-02-29');
  await page.selectOption('#f-gender', 'male');
  await page.fill('#f-phones', '555-CALL-NOW');
  await page.selectOption('#f-preferred_language', 'es');
  await page.click('form[action="/patients"] button[type=submit]');
  expect((await page.locator('#e-phone').innerText()).includes('letters'), 'the phone error is beside the field');
  expect(await page.getAttribute('#f-phones', 'aria-invalid') === 'true', 'the field is marked invalid');
  expect(await page.inputValue('#f-name') === 'Smith', 'answers are kept');
  expect(await page.getAttribute('.alert a', 'href') === '#f-phones', 'the summary links to the field');
  await shot('01-new-patient-error');
  await page.fill('#f-phones', '(202) 555-0143');
  await page.click('form[action="/patients"] button[type=submit]');
  await page.waitForURL(/\/patients\/[0-9a-f-]{36}$/);
  const profile = page.url();
  expect((await page.locator('main').innerText()).includes('+12025550143'), 'the phone is shown in E.164');
  await shot('02-profile');

  await page.goto(`${base}/patients`);
  await page.fill('#q-name', 'Jon Smyth');
  await page.click('form[role=search] button');
  expect(await page.locator('tbody a', { hasText: 'John Smith' }).count() === 1, '"Jon Smyth" finds John Smith');
  await shot('03-search');

  await page.goto(profile);
  await page.selectOption('#c-channel', 'sms');
  await page.selectOption('#c-opt', 'no');
  await page.fill('#c-words', 'STOP');
  await page.click('form[aria-label="Record consent"] button');
  await page.waitForURL(`${profile}#consent`);
  expect((await page.locator('#consent + .table-wrap').innerText()).includes('Opted out'), 'the opt-out is current');
  await shot('04-consent');

  // The same person registered again with typos: the queue offers the pair; compare and merge.
  await page.goto(`${base}/patients/new`);
  await page.fill('#f-name', 'Smyth');
  await page.fill('#f-given', 'Jon');
  await page.fill('#f-birth_date', '1984-02-29');
  await page.fill('#f-phones', '202 555 0143');
  await page.click('form[action="/patients"] button[type=submit]');
  await page.waitForURL(/\/patients\/[0-9a-f-]{36}$/);
  await page.goto(`${base}/patients/duplicates`);
  expect(await page.locator('tbody tr').count() === 1, 'one pair to review');
  await shot('05-duplicate-queue');
  await page.click('tbody a');
  const table = await page.locator('table').innerText();
  expect(table.includes('Smith') && table.includes('Smyth') && table.includes('exact'), 'the records side by side, with how each field matched');
  await shot('06-compare');
  await page.check('input[name=keep][value=a]');
  await page.click('form[action$="/merge"] button');
  await page.waitForURL(/\/patients\/[0-9a-f-]{36}$/);
  expect((await page.locator('main').innerText()).includes('patient.merge'), 'the survivor\'s history shows the merge');
  const survivor = page.url();
  await page.goto(`${base}/patients/duplicates`);
  expect((await page.locator('main').innerText()).includes('Nothing to review'), 'the queue is empty');
  await shot('07-after-merge');

  // A wrong merge is undone from the survivor's profile: both records are back on their own.
  await page.goto(`${survivor}#merges`);
  expect((await page.locator('#merges + ul').innerText()).includes('was merged into this one'), 'the profile lists the merge');
  await page.click('form[aria-label="Undo this merge"] button');
  await page.waitForURL(/#merges$/);
  const merges = await page.locator('#merges + ul').innerText();
  expect(merges.includes('Undone on') && !(await page.locator('form[aria-label="Undo this merge"]').count()), 'the merge is marked undone, nothing left to undo');
  expect((await page.locator('main').innerText()).includes('patient.unmerge'), 'the history shows the unmerge');
  await shot('08-unmerged');
}
