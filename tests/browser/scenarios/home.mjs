// The start page and the API documentation, offline, on a phone.
export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/`);
  expect(await page.getAttribute('html', 'lang') === 'en', 'the page declares its language');
  expect(await page.locator('h1').count() === 1, 'exactly one h1');
  for (const href of await page.locator('a[href^="/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
    const res = await page.request.get(`${base}${href}`);
    expect(res.status() < 400, `link ${href} answers ${res.status()}`);
  }
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const focus = await page.evaluate(() => {
    const el = document.activeElement; const s = getComputedStyle(el);
    return { tag: el.tagName, outline: s.outlineStyle, width: s.outlineWidth };
  });
  expect(focus.tag === 'A' && focus.outline !== 'none', `the focused link shows a focus ring (${JSON.stringify(focus)})`);
  await shot('01-start');
  await page.goto(`${base}/docs/`);
  await page.waitForSelector('text=/health', { timeout: 15000 });
  await shot('02-api-docs');
}
