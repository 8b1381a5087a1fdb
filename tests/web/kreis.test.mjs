// The map on the Landkreis demo (data/kreis.toml): boundaries and tables only, no address
// points. Every year of the tables, the Planregionen, a "–" with its reason where the
// Bundesagentur kept a cell secret, the Kreis (not a "Gesamtstadt") as the comparison; and
// screenshots at desktop, tablet and phone width.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchedPage, mapIdle, screenshot, getJSON, isLocal } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ config: 'data/kreis.toml', timeoutMs: 120_000 });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

async function open(hash = '', viewport = { width: 1440, height: 900 }) {
  const w = await watchedPage(browser.context);
  await w.page.setViewportSize(viewport);
  await w.page.goto(`${server.base}/map/${hash}`);
  await mapIdle(w.page);
  return w;
}

function assertClean(w) {
  assert.deepEqual(w.requests.filter((u) => !isLocal(u)), [], 'requests that leave 127.0.0.1');
  assert.deepEqual(w.errors, [], 'console errors');
}

async function openProfile(page, id) {
  const pt = await page.evaluate((i) => window.kleinraumMap.pointInside(i), id);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('#profile:not([hidden])');
  await page.waitForSelector('#profile tr[data-indicator] abbr.why, #profile-chart svg');
  await page.evaluate(() => window.kleinraumMap.idle());
}

test('the Kreis: 19 Gemeinden, every table year, a secret cell as "–" with its reason', async () => {
  const w = await open();
  const { page } = w;
  assert.equal(await page.evaluate(() => window.kleinraumMap.featureCount()), 19);
  const st = await page.evaluate(() => window.kleinraumMap.state());
  assert.equal(st.level, 'gemeinden');
  assert.equal(st.year, 2024, 'the latest year with index values');
  const years = await page.$eval('#year', (el) => [Number(el.min), Number(el.max)]);
  assert.deepEqual(years, [2014, 2024], 'the slider covers every table year');
  await screenshot(page, 'kreis-desktop');
  // Krummbek: the Bundesagentur wrote "*" for its children in SGB II in 2024.
  await openProfile(page, '01099008');
  const why = page.locator('#profile tr[data-indicator="kinderarmut"] abbr.why');
  assert.equal(await why.textContent(), '–');
  assert.equal(await why.getAttribute('data-reason'), 'source_missing');
  assert.match(await why.getAttribute('title'), /in der Quelle ohne Wert/);
  const ts = await getJSON(server.base, '/collections/gemeinden/items/01099008/timeseries');
  const feat = (await getJSON(server.base, '/collections/gemeinden/items/01099008?f=json&datetime=2024')).properties;
  assert.equal(ts.indicator_reasons.kinderarmut[ts.years.indexOf(2024)], 'source_missing');
  const de = (v, d) => new Intl.NumberFormat('de-DE', { maximumFractionDigits: d }).format(v);
  assert.equal(await page.textContent('[data-residents]'), de(feat.residents, 0));
  // The comparison is the Kreis, named as such.
  const profile = await page.textContent('#profile');
  assert.match(profile, /Landkreis Musterland/);
  assert.doesNotMatch(profile, /Gesamtstadt/);
  await screenshot(page, 'kreis-profile-desktop');
  assertClean(w);
});

test('the Planregionen: sums of their Gemeinden, "–" where a part has no value', async () => {
  const w = await open('#l=planregionen');
  const { page } = w;
  assert.equal(await page.evaluate(() => window.kleinraumMap.featureCount()), 4);
  const pr = (await getJSON(server.base, '/collections/planregionen/items?f=json&datetime=2024')).features;
  const gem = (await getJSON(server.base, '/collections/gemeinden/items?f=json&datetime=2024')).features;
  for (const p of pr) {
    const sum = gem.filter((g) => g.properties.parent === p.properties.id).reduce((s, g) => s + g.properties.residents, 0);
    assert.equal(p.properties.residents, sum, p.properties.id);
  }
  await openProfile(page, 'PR2');
  const why = page.locator('#profile tr[data-indicator="kinderarmut"] abbr.why');
  assert.equal(await why.getAttribute('data-reason'), 'incomplete');
  assertClean(w);
});

test('Gebietsstände on the Kreis: the base version listed, estimates weighted by area', async () => {
  const w = await open();
  const { page } = w;
  await page.click('#tab-gs');
  await page.waitForSelector('#gs-list li[data-key="gemeinden-2024"]');
  const list = await getJSON(server.base, '/gebietsstaende');
  assert.equal(list.weighting.key, 'flaeche');
  assert.match(list.weighting.label, /Fläche/);
  await page.click('#gs-list button[data-show="gemeinden-2024"]');
  await page.waitForFunction(() => window.kleinraumRedefine.mode() === 'view');
  await page.evaluate(() => window.kleinraumRedefine.idle && window.kleinraumRedefine.idle());
  assert.equal((await page.evaluate(() => window.kleinraumRedefine.ids())).length, 19);
  await screenshot(page, 'kreis-gebietsstaende');
  assertClean(w);
});

test('tablet and phone widths', async () => {
  for (const [name, viewport] of [
    ['kreis-tablet', { width: 768, height: 1024 }],
    ['kreis-phone', { width: 390, height: 844 }],
  ]) {
    const w = await open('', viewport);
    await screenshot(w.page, name);
    await openProfile(w.page, '01099001');
    await screenshot(w.page, `${name}-profile`);
    assertClean(w);
    await w.page.close();
  }
});
