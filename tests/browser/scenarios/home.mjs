// The start page and the API documentation, offline, on a phone.

// What the focused element looks like: a visible ring is an outline that is not "none" (and not
// zero wide) or a box-shadow; it must also be on screen (a skip link must move into view).
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
      tag: el.tagName, text: el.textContent.trim(), href: el.getAttribute('href'),
      outline: `${s.outlineStyle} ${s.outlineWidth}`, boxShadow: s.boxShadow,
      ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none',
      onScreen: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight,
    };
  });
}

export async function run({ page, base, shot, expect }) {
  await page.goto(`${base}/`);
  expect(await page.getAttribute('html', 'lang') === 'en', 'the page declares its language');
  expect(await page.locator('h1').count() === 1, 'exactly one h1');

  // Every link stays on this server and answers; a link to a fragment names an element on the page.
  const links = await page.locator('a[href]').evaluateAll((as) => as.map((a) => ({ raw: a.getAttribute('href'), url: a.href })));
  expect(links.length > 0, 'the start page has links');
  const checked = new Set();
  for (const { raw, url } of links) {
    const u = new URL(url);
    expect(u.origin === new URL(base).origin, `link ${raw} stays on this server (${u.origin})`);
    if (u.hash && u.pathname === new URL(page.url()).pathname) {
      expect(await page.locator(`[id="${decodeURIComponent(u.hash.slice(1))}"]`).count() === 1, `link ${raw} names an element on the page`);
      continue;
    }
    u.hash = '';
    if (checked.has(u.href)) continue;
    checked.add(u.href);
    const res = await page.request.get(u.href);
    expect(res.status() < 400, `link ${raw} answers ${res.status()}`);
  }

  // Keyboard: Tab from the top reaches the first link (the skip link), which shows itself with a
  // focus ring; the next Tab reaches the first link of the content, also with a ring.
  const firstLink = links[0].raw;
  await page.keyboard.press('Tab');
  let focus = await focused(page);
  expect(focus.tag === 'A' && focus.href === firstLink, `the first Tab reaches the first link ${firstLink} (${JSON.stringify(focus)})`);
  expect(focus.ring && focus.onScreen, `the first link is on screen with a focus ring (${JSON.stringify(focus)})`);
  await page.keyboard.press('Tab');
  focus = await focused(page);
  const firstInMain = await page.locator('main a[href]').first().getAttribute('href');
  expect(focus.tag === 'A' && focus.href === firstInMain, `the second Tab reaches ${firstInMain} (${JSON.stringify(focus)})`);
  expect(focus.ring && focus.onScreen, `the focused link shows a focus ring (${JSON.stringify(focus)})`);
  await shot('01-start');

  await page.goto(`${base}/docs/`);
  await page.waitForSelector('text=/health', { timeout: 15000 });
  await shot('02-api-docs');
}
