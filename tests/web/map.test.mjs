// End-to-end tests of the web map: the real `kleinraum serve data/berlin.toml`, Debian's
// headless Chromium through playwright-core. Every expected number comes from the API.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, watchedPage, mapIdle, screenshot, getJSON, isLocal } from './helpers.mjs';

let server;
let browser;
const pages = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Opens the map (optionally with a hash) on a watched page and waits until it is drawn. */
async function open(hash = '') {
  const w = await watchedPage(browser.context);
  pages.push(w);
  await w.page.goto(`${server.base}/map/${hash}`);
  await mapIdle(w.page);
  return w;
}

/** Asserts that the page made only loopback requests and logged no errors. */
function assertClean(w) {
  const outside = w.requests.filter((u) => !isLocal(u));
  assert.deepEqual(outside, [], 'requests that leave 127.0.0.1');
  assert.ok(w.requests.length > 5, 'the page made its API requests');
  assert.deepEqual(w.errors, [], 'console errors');
}

const items = (level, year) => getJSON(server.base, `/collections/${level}/items?f=json&limit=10000&datetime=${year}`).then((d) => d.features);

/**
 * Waits until the map has stopped moving: idle, then the view the same over two looks 200 ms
 * apart (a fly-to or a late layout resize moves it after the requests are done).
 */
async function settled(page) {
  let last = null;
  for (let i = 0; i < 25; i++) {
    await page.evaluate(() => window.kleinraumMap.idle());
    const v = await page.evaluate(() => window.kleinraumMap.state().view);
    if (v === last) return;
    last = v;
    await page.waitForTimeout(200);
  }
  throw new Error(`the map never settled (last view ${last})`);
}

async function choose(page, id, value) {
  await page.selectOption(`#${id}`, String(value));
  await page.evaluate(() => window.kleinraumMap.idle());
}

async function setYear(page, year) {
  await page.evaluate((y) => {
    const el = document.getElementById('year');
    el.value = String(y);
    el.dispatchEvent(new Event('input'));
    el.dispatchEvent(new Event('change'));
  }, year);
  await page.evaluate(() => window.kleinraumMap.idle());
}

const legend = (page) => page.evaluate(() => window.kleinraumMap.legend());
const styles = (page) => page.evaluate(() => window.kleinraumMap.styles());

test('overview: 542 Planungsräume drawn, MSS status classes counted as in the API', async () => {
  const w = await open();
  const { page } = w;
  assert.equal(await page.evaluate(() => window.kleinraumMap.featureCount()), 542);
  assert.equal(await page.evaluate(() => window.kleinraumMap.drawnCount()), 542);
  const st = await page.evaluate(() => window.kleinraumMap.state());
  assert.equal(st.level, 'planungsraeume');
  assert.equal(st.indicator, 'mss_status_class');
  const feats = await items('planungsraeume', st.year);
  assert.equal(feats.length, 542);
  const lg = await legend(page);
  for (const c of lg.classes) {
    const expected = feats.filter((f) => f.properties.mss_status_class === c.value).length;
    assert.equal(c.count, expected, `class ${c.label}`);
  }
  assert.equal(lg.noData, feats.filter((f) => f.properties.mss_status_class === null).length);
  assert.ok(lg.noData > 0, 'Berlin has PLR without index (excluded or too few residents)');
  // the legend on screen shows the same counts: the classes, then one row per reason
  const shown = await page.$$eval('#legend [data-count]', (els) => els.map((e) => Number(e.textContent)));
  assert.deepEqual(shown.slice(0, 4), lg.classes.map((c) => c.count));
  const missing = await page.$$eval('#legend tr[data-reason]', (rs) => rs.map((r) => [r.dataset.reason, Number(r.querySelector('[data-count]').textContent)]));
  assert.deepEqual(Object.fromEntries(missing), lg.missing);
  assert.equal(missing.reduce((a, [, n]) => a + n, 0), lg.noData);
  await screenshot(page, 'overview');
  assertClean(w);
});

test('choosing an indicator, year and classification recolours the areas; legend counts match the API', async () => {
  const w = await open();
  const { page } = w;
  const before = await styles(page);
  await choose(page, 'indicator', 's1');
  await choose(page, 'method', 'equal');
  await choose(page, 'classes', '5');
  const feats = await items('planungsraeume', 2020);
  const vals = feats.map((f) => f.properties.s1).filter((v) => v !== null);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const expected = [0, 0, 0, 0, 0];
  for (const v of vals) {
    let i = 0;
    while (i < 4 && v > lo + ((hi - lo) * (i + 1)) / 5) i++;
    expected[i]++;
  }
  let lg = await legend(page);
  assert.deepEqual(
    lg.classes.map((c) => c.count),
    expected,
  );
  assert.equal(lg.noData, 542 - vals.length);
  const after1 = await styles(page);
  const changed = Object.keys(before).filter((id) => before[id].fill !== after1[id].fill).length;
  assert.ok(changed > 100, `recoloured ${changed} areas`);
  // every area's colour is the colour of the class its API value falls in
  const byId = new Map(feats.map((f) => [f.properties.id, f.properties.s1]));
  for (const [id, s] of Object.entries(after1)) {
    const v = byId.get(id);
    if (v === null) {
      assert.equal(s.fill, '#f4f4f4', `${id} without value is pale (and patterned by its reason)`);
      continue;
    }
    const ci = lg.classes.findIndex((c, i) => (i === 0 || v > c.lower) && v <= c.upper);
    assert.equal(s.fill, lg.classes[ci].color, `${id} value ${v}`);
  }

  // another year and natural breaks: counts add up to the areas with a value that year
  await choose(page, 'indicator', 'anteil_65plus');
  await setYear(page, 2024);
  await choose(page, 'method', 'jenks');
  const f24 = await items('planungsraeume', 2024);
  const v24 = f24.map((f) => f.properties.anteil_65plus).filter((v) => v !== null);
  lg = await legend(page);
  assert.equal(lg.classes.length, 5);
  assert.equal(
    lg.classes.reduce((a, c) => a + c.count, 0),
    v24.length,
  );
  assert.equal(lg.noData, 542 - v24.length);
  assert.equal(lg.classes[0].lower, Math.min(...v24));
  assert.equal(lg.classes[4].upper, Math.max(...v24));
  for (const c of lg.classes) {
    assert.equal(
      c.count,
      v24.filter((v) => (c === lg.classes[0] ? v >= c.lower : v > c.lower) && v <= c.upper).length,
    );
  }
  assert.match(await page.textContent('#map-title'), /2024/);
  // level switch: the Bezirke
  await choose(page, 'level', 'bezirke');
  const bez = await items('bezirke', 2024);
  assert.equal(await page.evaluate(() => window.kleinraumMap.featureCount()), bez.length);
  assert.equal(await page.evaluate(() => window.kleinraumMap.drawnCount()), bez.length);
  assertClean(w);
});

test('the Sozialraumgebiete toggle marks exactly the flagged areas, over any indicator map', async () => {
  const w = await open();
  const { page } = w;
  const feats = await items('planungsraeume', 2020);
  const flagged = feats
    .filter((f) => f.properties.mss_attention === true)
    .map((f) => f.properties.id)
    .sort();
  assert.ok(flagged.length > 50, `${flagged.length} flagged`);
  await choose(page, 'indicator', 's4');
  assert.equal(await page.isChecked('#srg'), true);
  let marked = (await page.evaluate(() => window.kleinraumMap.markedIds())).sort();
  assert.deepEqual(marked, flagged);
  assert.equal((await legend(page)).srg, flagged.length);
  // the list, sorted by status index, holds the same areas
  const listed = await page.$$eval('#srg-list button', (bs) => bs.map((b) => b.dataset.id));
  assert.deepEqual([...listed].sort(), flagged);
  const statusOf = new Map(feats.map((f) => [f.properties.id, f.properties.mss_status_value]));
  for (let i = 1; i < listed.length; i++) assert.ok(statusOf.get(listed[i - 1]) >= statusOf.get(listed[i]), 'sorted by index');
  await screenshot(page, 'sozialraumgebiete');
  await page.uncheck('#srg');
  await page.evaluate(() => window.kleinraumMap.idle());
  assert.deepEqual(await page.evaluate(() => window.kleinraumMap.markedIds()), []);
  await page.check('#srg');
  await page.evaluate(() => window.kleinraumMap.idle());
  marked = (await page.evaluate(() => window.kleinraumMap.markedIds())).sort();
  assert.deepEqual(marked, flagged);
  assertClean(w);
});

test('clicking a PLR opens its profile with the API values; Esc closes it', async () => {
  const w = await open();
  const { page } = w;
  const id = '08100521';
  const [feat] = (await items('planungsraeume', 2020)).filter((f) => f.properties.id === id);
  const city = (await items('gesamt', 2020))[0].properties;
  const cat = await getJSON(server.base, '/indicators');
  const rank = await getJSON(server.base, '/collections/planungsraeume/index?index=mss');
  const pt = await page.evaluate((i) => window.kleinraumMap.pointInside(i), id);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('#profile:not([hidden])');
  await page.waitForSelector('#profile-index h4');
  await page.evaluate(() => window.kleinraumMap.idle());
  assert.equal(await page.evaluate(() => window.kleinraumMap.profileArea()), id);
  assert.equal(await page.textContent('#profile-title'), feat.properties.name);
  const de = (v, d) => new Intl.NumberFormat('de-DE', { maximumFractionDigits: d }).format(v);
  assert.equal(await page.textContent('[data-residents]'), de(feat.properties.residents, 0));
  for (const ind of cat.indicators) {
    const row = page.locator(`#profile tr[data-indicator="${ind.id}"]`);
    const v = feat.properties[ind.id];
    const cell = await row.locator('[data-value]').textContent();
    if (v === null) assert.match(cell, /^– \((keine Daten|geheim gehalten|nicht berechenbar)\)$/, `${ind.id}: a missing value says why`);
    else assert.equal(cell, de(v, ind.decimals ?? 2), ind.id);
    const cells = await row.locator('td.num').allTextContents();
    assert.equal(cells[1], city[ind.id] === null ? '–' : de(city[ind.id], ind.decimals ?? 2), `city ${ind.id}`);
  }
  // the index explanation: the contributions from the API
  const a = rank.areas.find((x) => x.id === id);
  const idxText = await page.textContent('#profile-index');
  assert.match(idxText, new RegExp(`Gruppe ${a.group.replace(/[+/]/g, (c) => '\\' + c)}`));
  for (const c of a.status_contributions) assert.ok(idxText.includes(de(c.z, 2)), `contribution ${c.indicator}`);
  assert.match(idxText, /Sozialraumgebiet/);
  // chart and facilities
  assert.equal(await page.locator('#profile-chart svg path[data-series]').count() > 0, true, 'time series drawn');
  const facText = await page.textContent('#profile-fac');
  assert.match(facText, /Kitas/);
  assert.ok(facText.includes(String(feat.properties.kitas_count)));
  // keyboard: focus is in the panel, Esc closes it
  assert.equal(await page.evaluate(() => document.getElementById('profile').contains(document.activeElement)), true);
  await screenshot(page, 'profile');
  await page.keyboard.press('Escape');
  assert.equal(await page.isHidden('#profile'), true);
  assertClean(w);
});

test('search by id and by name opens the profile', async () => {
  const w = await open();
  const { page } = w;
  await page.fill('#search', '11501341');
  await page.press('#search', 'Enter');
  await page.waitForSelector('#profile:not([hidden])');
  assert.equal(await page.textContent('#profile-title'), 'Karlshorst Süd');
  await page.fill('#search', 'Schulenburgpark');
  await page.press('#search', 'Enter');
  await page.waitForFunction(() => document.getElementById('profile-title')?.textContent === 'Schulenburgpark');
  assert.equal(await page.evaluate(() => window.kleinraumMap.profileArea()), '08100521');
  assertClean(w);
});

test('the permalink restores level, indicator, year, classification, toggles and profile', async () => {
  const w = await open();
  const { page } = w;
  await choose(page, 'indicator', 'dichte');
  await setYear(page, 2023);
  await choose(page, 'method', 'jenks');
  await choose(page, 'classes', '4');
  await page.uncheck('#srg');
  await page.check('#facilities input[value="kitas"]');
  await page.evaluate(() => window.kleinraumMap.idle());
  await page.fill('#search', '11501341');
  await page.press('#search', 'Enter');
  await page.waitForSelector('#profile:not([hidden])');
  await settled(page);
  const hash = await page.evaluate(() => location.hash);
  const st = await page.evaluate(() => window.kleinraumMap.state());
  const lg = await legend(page);
  const w2 = await open(hash);
  const p2 = w2.page;
  await p2.waitForSelector('#profile:not([hidden])');
  await settled(p2);
  const st2 = await p2.evaluate(() => window.kleinraumMap.state());
  for (const k of ['level', 'year', 'indicator', 'method', 'k', 'srg', 'area', 'facilities', 'view']) assert.deepEqual(st2[k], st[k], k);
  assert.deepEqual(await legend(p2), lg);
  assert.equal(await p2.inputValue('#indicator'), 'dichte');
  assert.equal(await p2.inputValue('#year'), '2023');
  assert.equal(await p2.isChecked('#srg'), false);
  assert.equal(await p2.textContent('#profile-title'), 'Karlshorst Süd');
  const kitas = await getJSON(server.base, '/collections/kitas/items?f=json&limit=1');
  assert.equal(await p2.evaluate(() => window.kleinraumMap.facilityCount('kitas')), kitas.numberMatched);
  assertClean(w);
  assertClean(w2);
});

test('CSV and PNG exports', async () => {
  const w = await open();
  const { page } = w;
  await choose(page, 'indicator', 's1');
  const [csvDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const csv = readFileSync(await csvDl.path(), 'utf8');
  const lines = csv.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(lines.length, 543, 'header + 542 areas');
  const head = lines[0].split(';');
  assert.equal(head[5], 'Arbeitslose nach SGB II (%)');
  const feats = await items('planungsraeume', 2020);
  // ids as text for Excel (leading zeros), values rounded as the map shows them
  const row = lines.find((l) => l.startsWith('="11501341";'));
  const v = feats.find((f) => f.properties.id === '11501341').properties.s1;
  assert.equal(row.split(';')[5], String(Number(v.toFixed(2))).replace('.', ','));
  assert.ok(lines.some((l) => l.startsWith('="01100101";')), 'leading zero kept');
  const [pngDl] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
  const png = readFileSync(await pngDl.path());
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'PNG signature');
  assert.ok(png.length > 20_000, `PNG has content (${png.length} bytes)`);
  assertClean(w);
});

test('readable on a tablet: profile panel overlays the map at 800 px width', async () => {
  const w = await open();
  const { page } = w;
  await page.setViewportSize({ width: 800, height: 1100 });
  await page.evaluate(() => window.kleinraumMap.idle());
  await page.fill('#search', '11501341');
  await page.press('#search', 'Enter');
  await page.waitForSelector('#profile:not([hidden])');
  await page.evaluate(() => window.kleinraumMap.idle());
  const box = await page.locator('#profile').boundingBox();
  assert.ok(box.width <= 800 && box.x >= 0, `panel inside the viewport (${JSON.stringify(box)})`);
  // the selected area stays visible beside the panel, on the map
  const pt = await page.evaluate(() => window.kleinraumMap.pointInside('11501341'));
  const mapBox = await page.locator('#map').boundingBox();
  assert.ok(pt.x > mapBox.x && pt.x < box.x && pt.y > mapBox.y && pt.y < mapBox.y + mapBox.height, `area at ${JSON.stringify(pt)} visible left of the panel`);
  await screenshot(page, 'tablet-profile');
  assertClean(w);
});
