// Every built-in survey, in every language (en, es, ar), filled and sent with the keyboard only on a
// phone: Tab to each question, Space or the arrow keys to choose, typing for text, Enter on the
// button. axe-core (WCAG 2.0/2.1 A and AA) runs on each form, on a form with errors, on each thank-you
// page, and on the staff results pages, whose numbers are checked after the nine answers.
const LANGS = ['en', 'es', 'ar'];
const THANKS = { en: 'Thank you', es: 'Gracias', ar: 'شكرًا' };
const TEXT = { en: 'More time with the nurse', es: 'Más tiempo con la enfermera', ar: 'وقت أطول مع الممرضة' };

async function api(base, key, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// What has focus, and for a radio its place in its group.
const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  const group = a.type === 'radio' ? [...document.getElementsByName(a.name)] : [];
  return { tag: a.tagName, type: a.type, name: a.name ?? '', index: group.indexOf(a), count: group.length };
});

// Answers every question by keyboard: the third option of each scale (or the last when fewer), the
// first box of each checkbox group, text typed in; then Enter on the submit button.
async function fillByKeyboard(page, lang, { skipRequired = false } = {}) {
  const done = new Set();
  for (let i = 0; i < 300; i += 1) {
    await page.keyboard.press('Tab');
    const el = await focused(page);
    if (el.tag === 'BUTTON') return;
    if (!el.name.startsWith('q.') || done.has(el.name)) continue;
    done.add(el.name);
    if (skipRequired) continue;
    if (el.type === 'radio') {
      const target = Math.min(2, el.count - 1);
      if (target === 0) await page.keyboard.press('Space');
      for (let k = 0; k < target; k += 1) await page.keyboard.press('ArrowDown');
    } else if (el.type === 'checkbox') {
      await page.keyboard.press('Space');
    } else if (el.tag === 'TEXTAREA' || el.type === 'text') {
      await page.keyboard.type(TEXT[lang]);
    } else if (el.type === 'number') {
      await page.keyboard.type('3');
    }
  }
  throw new Error('never reached the submit button');
}

async function setUp(base, key) {
  const list = await api(base, key, 'GET', '/api/v1/questionnaires');
  expect0(list.length === 3, 'three built-in surveys');
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Chicago' }).format(new Date());
  const links = [];
  let n = 0;
  for (const q of list) {
    const slug = q.url.split('/').pop();
    await api(base, key, 'POST', '/api/v1/survey-rules', { name: slug, questionnaire_id: q.id, appointment_types: [slug] });
    for (const lang of LANGS) {
      n += 1;
      const phone = `+1202555${String(200 + n).padStart(4, '0')}`;
      const visit = (kind) => ({ event_type: kind, patient_id: `S${n}`, patient_first_name: 'Ana', patient_last_name: `Survey${n}`,
        patient_phone: phone, patient_language: lang, appointment_id: `SV${n}`, appointment_datetime: `${today}T09:00:00`,
        appointment_timezone: 'America/Chicago', appointment_type: slug, appointment_location: n % 2 ? 'Main Street Clinic' : 'Annex',
        provider_id: n % 2 ? 'P1' : 'P2', provider_last_name: n % 2 ? 'Okafor' : 'Lindqvist', provider_first_name: n % 2 ? 'Ada' : 'Karin' });
      await api(base, key, 'POST', '/api/v1/ingest/appointment-events', [visit('BOOKED')]);
      await api(base, key, 'POST', '/api/v1/ingest/appointment-events', [visit('FULFILLED')]);
      links.push({ q, slug, lang, phone });
    }
  }
  const messages = await api(base, key, 'GET', '/api/v1/messages?limit=200');
  const items = Array.isArray(messages) ? messages : messages.items ?? messages.messages;
  for (const l of links) {
    const m = items.find((x) => x.purpose === 'survey_invitation' && x.to === l.phone);
    expect0(m, `an invitation to ${l.phone}: ${JSON.stringify(items.map((x) => [x.purpose, x.to]))}`);
    l.token = m.body.match(/\/s\/([0-9A-Za-z]{22})/)[1];
  }
  return { list, links };
}
let expect0 = () => {};

export async function run({ page, base, shot, expect, axe }) {
  expect0 = expect;
  await page.goto(`${base}/login`);
  await page.fill('#email', process.env.HEARTH_EMAIL);
  await page.fill('#password', process.env.HEARTH_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/`);
  await page.goto(`${base}/admin/api-keys`);
  await page.fill('#key-name', 'Survey checks');
  for (const s of ['ingest', 'admin']) await page.check(`input[name=scope][value=${s}]`);
  await page.click('form[action="/admin/api-keys"] button[type=submit]');
  const key = (await page.locator('.notice .once').innerText()).trim();
  const { list, links } = await setUp(base, key);

  // Keyboard only from the opened link to the thank-you page.
  for (const [i, l] of links.entries()) {
    await page.goto(`${base}/s/${l.token}`);
    const dir = await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]);
    expect(dir[0] === l.lang && dir[1] === (l.lang === 'ar' ? 'rtl' : 'ltr'), `lang and dir of ${l.slug}/${l.lang}: ${dir}`);
    await axe(`${l.slug} ${l.lang} form`);
    if (i === 0 || l.lang === 'ar') {
      // Sent empty: the errors are announced and linked; axe checks that state too.
      await fillByKeyboard(page, l.lang, { skipRequired: true });
      await Promise.all([page.waitForLoadState('load'), page.keyboard.press('Enter')]);
      await page.waitForSelector('[role=alert]');
      await axe(`${l.slug} ${l.lang} errors`);
      await shot(`${l.slug}-${l.lang}-0-errors`);
      await page.goto(`${base}/s/${l.token}`);
    }
    await fillByKeyboard(page, l.lang);
    const checked = await page.evaluate(() => document.querySelectorAll('input[type=radio]:checked').length);
    expect(checked > 0, `${l.slug}/${l.lang}: choices were made by keyboard`);
    await shot(`${l.slug}-${l.lang}-1-filled`);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    const text = await page.locator('main, body').first().innerText();
    expect(text.includes(THANKS[l.lang]), `${l.slug}/${l.lang} thanked: ${text.slice(0, 200)}`);
    await axe(`${l.slug} ${l.lang} thanks`);
    await shot(`${l.slug}-${l.lang}-2-thanks`);
  }

  // Staff: the results of each survey, with numbers, and axe.
  await page.goto(`${base}/surveys`);
  await axe('surveys list');
  await shot('results-0-list');
  for (const q of list) {
    await page.goto(`${base}/surveys/${q.id}`);
    const count = await page.locator('#count').innerText();
    expect(count.startsWith('3 responses'), `${q.url}: ${count}`);
    const funnel = await page.locator('svg[role=img]').first().getAttribute('aria-label');
    expect(funnel.includes('Sent 3 (100%)') && funnel.includes('Completed 3 (100%)'), funnel);
    await axe(`results ${q.url}`);
    await shot(`results-${q.url.split('/').pop()}`);
  }
  await page.goto(`${base}/surveys/${list[0].id}?from=nonsense`);
  await axe('results with a refused filter');
}
