// The map as a Sozialplanerin, a politician and everyone else use it, on the real
// `kleinraum serve data/berlin.toml`: orientation (Bezirke outlined and named, area names where
// they fit), honest years, the Sozialraumgebiet explained in one sentence, the charts (every
// number equal to the API's), keyboard only, a phone, printing, and what goes over the wire.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, launchBrowser, watchedPage, mapIdle, screenshot, getJSON, isLocal, SCREENS } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
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
  assert.deepEqual(
    w.requests.filter((u) => !isLocal(u)),
    [],
    'requests that leave 127.0.0.1',
  );
  assert.deepEqual(w.errors, [], 'console errors');
}

const idle = (page) => page.evaluate(() => window.kleinraumMap.idle());
const hook = (page, fn, ...args) => page.evaluate(([f, a]) => window.kleinraumMap[f](...a), [fn, args]);
const api = (p) => getJSON(server.base, p);
const values = (level, year) => api(`/collections/${level}/items?f=json&limit=10000&skipGeometry=true&datetime=${year}`).then((d) => d.features.map((f) => f.properties));
const de = (v, d) => new Intl.NumberFormat('de-DE', { maximumFractionDigits: d }).format(v);

async function choose(page, id, value) {
  await page.selectOption(`#${id}`, String(value));
  await idle(page);
}

async function setYear(page, year) {
  await page.evaluate((y) => {
    const el = document.getElementById('year');
    el.value = String(y);
    el.dispatchEvent(new Event('input'));
    el.dispatchEvent(new Event('change'));
  }, year);
  await idle(page);
}

test('orientation: the 12 Bezirke outlined and named at the first view, area names once they fit', async () => {
  const w = await open();
  const { page } = w;
  const bez = (await api('/collections/bezirke/items?f=json&skipGeometry=true&properties=id,name')).features.map((f) => f.properties.name).sort();
  assert.equal(bez.length, 12);
  const ol = await hook(page, 'outline');
  assert.deepEqual(ol, { level: 'bezirke', count: 12, shown: true });
  let labels = await hook(page, 'labels');
  assert.deepEqual(
    labels
      .filter((l) => l.kind === 'outline')
      .map((l) => l.name)
      .sort(),
    bez,
    'every Bezirk named',
  );
  // labels lie on the map and do not overlap
  const box = await page.locator('#map').boundingBox();
  for (const l of labels) assert.ok(l.x >= 0 && l.y >= 0 && l.x <= box.width && l.y <= box.height, `${l.name} inside the map`);
  const geo1 = await hook(page, 'geometry');
  assert.notEqual(geo1.tier, null, 'the first view loads simplified outlines');
  await screenshot(page, 'orientation-desktop');
  // zoomed in on Neukölln: PLR names where they fit, finer outlines
  await page.evaluate(() => window.kleinraumMap.map().setView([52.475, 13.43], 14, { animate: false }));
  await idle(page);
  labels = await hook(page, 'labels');
  const plr = new Set((await values('planungsraeume', 2020)).map((p) => p.name));
  const areaLabels = labels.filter((l) => l.kind === 'area');
  assert.ok(areaLabels.length >= 10, `${areaLabels.length} area names at zoom 14`);
  for (const l of areaLabels) assert.ok(plr.has(l.name), `${l.name} is a PLR name`);
  const geo2 = await hook(page, 'geometry');
  assert.ok(geo2.tier === null || geo2.tier > geo1.tier, `finer outlines after zooming in (${geo1.tier} → ${geo2.tier})`);
  assert.ok(geo2.vertices > geo1.vertices, `${geo1.vertices} → ${geo2.vertices} vertices`);
  await screenshot(page, 'orientation-zoomed');
  assertClean(w);
});

test('years: an indicator lands on a year with data; a year without data says so on the map and in its own legend row', async () => {
  const w = await open();
  const { page } = w;
  const cat = await api('/indicators');
  const kita = cat.indicators.find((i) => i.id === 'kita_versorgung');
  const years = kita.data_years.planungsraeume;
  assert.ok(!years.includes(2020) && years.includes(2024), `Kita supply has data for ${years}`);
  assert.equal((await hook(page, 'state')).year, 2020, 'the map opens on the index year');
  await choose(page, 'indicator', 'kita_versorgung');
  const st = await hook(page, 'state');
  assert.equal(st.year, years[years.length - 1], 'switched to the latest year with data');
  assert.equal(await page.isHidden('#map-message'), true);
  assert.match(await page.textContent('#status'), /keine Daten: gezeigt wird 2024/);
  // the slider marks the empty year
  assert.deepEqual(await page.$$eval('#year-ticks span.empty', (s) => s.map((x) => x.textContent)), ['2020']);
  // back to 2020: the message, and a legend row of its own
  await setYear(page, 2020);
  assert.equal(await page.isVisible('#map-message'), true);
  assert.match(await page.textContent('#map-message'), /Für 2020 gibt es keine Werte für „Kita-Plätze je 100 Kinder unter 6“ – Daten gibt es für 2021–2024/);
  let lg = await hook(page, 'legend');
  assert.deepEqual(lg.missing, { no_data: 542 });
  const row = await page.textContent('#legend tr[data-reason="no_data"]');
  assert.match(row, /keine Daten für 2020/);
  assert.doesNotMatch(await page.textContent('#legend'), /geheim/, 'nothing blamed on secrecy');
  assert.equal(await page.getAttribute('#year', 'aria-valuetext'), '2020, keine Daten für diesen Indikator');
  await screenshot(page, 'year-without-data');
  // the Bezirke in 2020: 329,488 residents each are not "too few"
  await choose(page, 'level', 'bezirke');
  lg = await hook(page, 'legend');
  assert.deepEqual(lg.missing, { no_data: 12 });
  assert.doesNotMatch(await page.textContent('#legend'), /geheim|zu wenige|weniger als/);
  // the button in the message goes to the latest year with data
  await page.click('#map-message button[data-year]');
  await idle(page);
  assert.equal((await hook(page, 'state')).year, 2024);
  assert.equal(await page.isHidden('#map-message'), true);
  // the index: one reason per area, as in /missing
  await choose(page, 'level', 'planungsraeume');
  await choose(page, 'indicator', 'mss_status_class');
  const miss = await api('/collections/planungsraeume/missing?year=2020');
  lg = await hook(page, 'legend');
  assert.deepEqual(lg.missing, Object.fromEntries(Object.entries(miss.indices.mss.missing).map(([r, ids]) => [r, ids.length])));
  assert.match(await page.textContent('#legend tr[data-reason="below_min_population"]'), /weniger als 300 Einwohner:innen/);
  assertClean(w);
});

test('profile: parents by name and the Sozialraumgebiet sentence for 08100521 with the rule and the biggest contributor', async () => {
  const w = await open();
  const { page } = w;
  const id = '08100521';
  await page.fill('#search', id);
  await page.press('#search', 'Enter');
  await page.waitForSelector('#srg-sentence');
  await idle(page);
  const rank = await api('/collections/planungsraeume/index?index=mss');
  const a = rank.areas.find((x) => x.id === id);
  const cat = await api('/indicators');
  const top = [...a.status_contributions].sort((x, y) => y.z - x.z)[0];
  const title = cat.indicators.find((i) => i.id === top.indicator).title;
  const s = await page.textContent('#srg-sentence');
  assert.match(s, /^Sozialraumgebiet, weil der Status „sehr niedrig“ ist/);
  assert.ok(s.includes(`Statusindex ${de(a.status_value, 2)}; höherer Wert = stärkere Benachteiligung`), s);
  assert.ok(s.includes('Regel: Status „niedrig“ oder „sehr niedrig“ oder Status „mittel“ mit negativer Dynamik'), s);
  assert.ok(s.includes(`Am stärksten trägt „${title}“ bei: ${de(Math.abs(top.z), 1)} Standardabweichungen ungünstiger`), s);
  // near the top: before the residents
  const order = await page.evaluate(() => {
    const b = document.getElementById('profile-body');
    const h3 = [...b.querySelectorAll('h3')].find((h) => /Einwohner/.test(h.textContent));
    return document.getElementById('srg-sentence').compareDocumentPosition(h3) & Node.DOCUMENT_POSITION_FOLLOWING;
  });
  assert.ok(order, 'the sentence comes before the numbers');
  // parents by name, not by id
  const plr = (await values('planungsraeume', 2020)).find((p) => p.id === id);
  const bzr = (await values('bezirksregionen', 2020)).find((p) => p.id === plr.parent);
  const parents = await page.textContent('[data-parents]');
  assert.ok(parents.includes(bzr.name) && parents.includes('Neukölln'), parents);
  assert.doesNotMatch(parents, /\d{6}/, 'no ids');
  await screenshot(page, 'profile-srg');
  assertClean(w);
});

test('charts: histogram, ranking, scatter, time series, two-year comparison and range filter show the API numbers; PNG and CSV export', async () => {
  const w = await open();
  const { page } = w;
  await choose(page, 'indicator', 's4');
  const v20 = await values('planungsraeume', 2020);
  const s4 = v20.map((p) => p.s4).filter((x) => x !== null);
  await page.click('#analysis-open');
  // histogram
  await page.click('#atab-histogram');
  await idle(page);
  const counts = await page.$$eval('#apanel svg rect[data-count]', (rs) => rs.map((r) => Number(r.dataset.count)));
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    s4.length,
    'every area with a value in one bar',
  );
  const lg = await hook(page, 'legend');
  const breaks = await page.$$eval('#apanel svg line[data-break]', (ls) => ls.map((l) => Number(l.dataset.break)));
  assert.deepEqual(
    breaks,
    lg.classes.slice(0, -1).map((c) => c.upper).filter((b) => b > Math.min(...s4) && b < Math.max(...s4)),
    'class breaks drawn',
  );
  await screenshot(page, 'chart-histogram');
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#apanel button[data-export="png"]')]);
  assert.deepEqual([...readFileSync(await png.path()).subarray(1, 4)], [0x50, 0x4e, 0x47], 'PNG');
  // ranking with the city average
  await page.click('#atab-ranking');
  await idle(page);
  const bars = await page.$$eval('#apanel .rank-list button', (bs) => bs.map((b) => ({ id: b.dataset.open, v: Number(b.dataset.value) })));
  assert.equal(bars.length, s4.length);
  assert.equal(bars[0].v, Math.max(...s4));
  assert.equal(bars[bars.length - 1].v, Math.min(...s4));
  const city = (await values('gesamt', 2020))[0].s4;
  assert.match(await page.textContent('#apanel .hint'), new RegExp(`gestrichelt: Berlin ${de(city, 2).replace(',', ',')}`));
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#apanel button[data-export="csv"]')]);
  const lines = readFileSync(await csv.path(), 'utf8').replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(lines.length, 1 + s4.length + 1, 'header, areas, city');
  assert.equal(lines[1].split(';')[1], `="${bars[0].id}"`, 'id as text for Excel');
  await screenshot(page, 'chart-ranking');
  await page.click('#apanel .rank-list button');
  await page.waitForSelector('#profile:not([hidden])');
  await idle(page);
  assert.equal(await hook(page, 'profileArea'), bars[0].id, 'a bar opens its profile');
  await page.click('#profile-close');
  // scatter with regression line and r
  await page.click('#atab-scatter');
  await idle(page);
  await page.selectOption('#sc-x', 's1');
  await idle(page);
  await page.selectOption('#sc-y', 's4');
  await idle(page);
  const pairs = v20.filter((p) => p.s1 !== null && p.s4 !== null).map((p) => [p.s1, p.s4]);
  const n = pairs.length;
  const mx = pairs.reduce((s, p) => s + p[0], 0) / n;
  const my = pairs.reduce((s, p) => s + p[1], 0) / n;
  const sxy = pairs.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const sxx = pairs.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const syy = pairs.reduce((s, p) => s + (p[1] - my) ** 2, 0);
  const fit = await page.evaluate(() => ({ ...document.getElementById('sc-fit').dataset }));
  assert.equal(Number(fit.n), n);
  assert.ok(Math.abs(Number(fit.r) - sxy / Math.sqrt(sxx * syy)) < 1e-9, `r ${fit.r}`);
  assert.ok(Math.abs(Number(fit.b) - sxy / sxx) < 1e-9, `slope ${fit.b}`);
  assert.equal(await page.locator('#apanel svg circle[data-id]').count(), n);
  assert.equal(await page.locator('#apanel svg line[data-fit]').count(), 1);
  assert.match(await page.textContent('#sc-fit'), new RegExp(`r = ${de(sxy / Math.sqrt(sxx * syy), 2)}: starker positiver Zusammenhang`));
  await screenshot(page, 'chart-scatter');
  // time series of several areas
  await choose(page, 'indicator', 'anteil_65plus');
  await page.click('#atab-series');
  await idle(page);
  for (const q of ['08100521', 'Karlshorst Süd']) {
    await page.fill('#series-q', q);
    await page.press('#series-q', 'Enter');
    await idle(page);
  }
  const shownSeries = await page.$$eval('#apanel svg path[data-series]', (ps) => ps.map((p) => p.dataset.series));
  assert.ok(shownSeries.includes('Schulenburgpark') && shownSeries.includes('Karlshorst Süd') && shownSeries.includes('Berlin'), shownSeries.join(', '));
  const ts = await api('/collections/planungsraeume/items/11501341/timeseries');
  const rowText = await page.$$eval('#series-table tbody tr', (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  const ks = rowText.find((r) => r[0] === 'Karlshorst Süd');
  assert.deepEqual(
    ks.slice(1),
    ts.indicators.anteil_65plus.map((x) => (x === null ? '–' : de(x, 2))),
    'series table = API time series',
  );
  await screenshot(page, 'chart-series');
  // two-year comparison: map and table
  await page.click('#atab-change');
  await idle(page);
  await page.check('#ch-map');
  await idle(page);
  const [v21, v24] = await Promise.all([values('planungsraeume', 2021), values('planungsraeume', 2024)]);
  const d = new Map(v24.filter((p) => p.anteil_65plus !== null).map((p) => [p.id, p.anteil_65plus - v21.find((q) => q.id === p.id).anteil_65plus]));
  assert.match(await page.textContent('#map-title'), /Veränderung Einwohner:innen ab 65 Jahren 2021→2024 \(Pp\.\)/);
  const cells = await page.$$eval('#change-table td[data-delta]', (cs) => cs.map((c) => [c.closest('tr').dataset.id, Number(c.dataset.delta)]));
  assert.equal(cells.length, 542);
  for (const [id, delta] of cells) if (d.has(id)) assert.ok(Math.abs(delta - d.get(id)) < 1e-6, `${id}: ${delta} vs ${d.get(id)}`);
  const ds = [...d.values()];
  const mean = ds.reduce((a, b) => a + b, 0) / ds.length;
  const sd = Math.sqrt(ds.reduce((a, b) => a + (b - mean) ** 2, 0) / ds.length);
  const lgc = await hook(page, 'legend');
  const want = [0, 0, 0, 0, 0];
  for (const x of ds) want[x < -1.5 * sd ? 0 : x < -sd / 2 ? 1 : x <= sd / 2 ? 2 : x <= 1.5 * sd ? 3 : 4]++;
  assert.deepEqual(
    lgc.classes.map((c) => c.count),
    want,
    'classes of change',
  );
  await screenshot(page, 'chart-change');
  await page.uncheck('#ch-map');
  await idle(page);
  // value-range filter
  await page.click('#analysis-close');
  await choose(page, 'indicator', 's4');
  await page.check('#range-on');
  await page.fill('#range-lo', '20');
  await page.fill('#range-hi', '40');
  await page.dispatchEvent('#range-hi', 'change');
  await idle(page);
  const inside = s4.filter((x) => x >= 20 && x <= 40).length;
  assert.match(await page.textContent('#range-info'), new RegExp(`^${inside} von ${s4.length} Gebieten`));
  const styles = await hook(page, 'styles');
  const dimmed = Object.values(styles).filter((s) => s.fill === '#ffffff').length;
  assert.equal(dimmed, s4.length - inside, 'the others are dimmed');
  await screenshot(page, 'range-filter');
  assertClean(w);
});

test('keyboard only: from page load to a chosen PLR profile, counted key presses', async () => {
  const w = await open();
  const { page } = w;
  let presses = 0;
  const press = async (k) => {
    presses++;
    await page.keyboard.press(k);
  };
  // the first tab stop is the skip link to the map
  await press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip-map');
  // search: three skip links, then the search field
  await press('Tab');
  await press('Tab');
  await press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
  for (const ch of '08100521') await press(ch);
  await press('Enter');
  await page.waitForSelector('#profile:not([hidden])');
  await idle(page);
  assert.equal(await hook(page, 'profileArea'), '08100521');
  assert.ok(presses <= 13, `${presses} key presses`);
  console.log(`keyboard: search path to the profile of 08100521 in ${presses} key presses`);
  await press('Escape');
  assert.equal(await page.isHidden('#profile'), true);
  // the map picker: skip link → map, arrows move between areas, Enter opens the profile
  await page.goto(`${server.base}/map/`);
  await mapIdle(page);
  presses = 0;
  await press('Tab');
  await press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'map');
  await press('ArrowDown');
  const first = await hook(page, 'cursor');
  assert.ok(first, 'an area is picked');
  await press('ArrowRight');
  const second = await hook(page, 'cursor');
  assert.notEqual(second, first, 'the arrow moved to a neighbour');
  assert.match(await page.textContent('#picker-live'), /Eingabe öffnet den Steckbrief/);
  await press('Enter');
  await page.waitForSelector('#profile:not([hidden])');
  await idle(page);
  assert.equal(await hook(page, 'profileArea'), second);
  console.log(`keyboard: map picker to a profile in ${presses} key presses`);
  // the Sozialraumgebiete list is one tab stop; arrows move inside it
  await press('Escape');
  await page.focus('#srg-list button[tabindex="0"]');
  await press('ArrowDown');
  const ids = await page.$$eval('#srg-list button', (bs) => bs.map((b) => b.dataset.id));
  assert.equal(await page.evaluate(() => document.activeElement.dataset.id), ids[1]);
  assert.equal(await page.locator('#srg-list button[tabindex="0"]').count(), 1);
  await press('Tab');
  assert.equal(await page.evaluate(() => document.getElementById('srg-list').contains(document.activeElement)), false, 'Tab leaves the list');
  // the focus ring: ≥ 3:1 against the page
  await page.focus('#export-csv');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  const ring = await page.evaluate(() => {
    const cs = getComputedStyle(document.activeElement);
    return { color: cs.outlineColor, width: parseFloat(cs.outlineWidth), style: cs.outlineStyle };
  });
  const rgb = ring.color.match(/\d+/g).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((x) => x / 255).map((x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const contrast = (lum([255, 255, 255]) + 0.05) / (lum(rgb.slice(0, 3)) + 0.05);
  assert.ok(ring.style !== 'none' && ring.width >= 2, JSON.stringify(ring));
  assert.ok(contrast >= 3, `focus ring contrast ${contrast.toFixed(2)}:1 on white`);
  assertClean(w);
});

test('phone (390 px): the legend starts collapsed and a tap on an area opens its profile', async () => {
  const w = await open('', { width: 390, height: 844 });
  const { page } = w;
  assert.equal(await page.getAttribute('#legend-toggle', 'aria-expanded'), 'false');
  const lgBox = await page.locator('#legend').boundingBox();
  const mapBox = await page.locator('#map').boundingBox();
  assert.ok(lgBox.height * lgBox.width < 0.1 * mapBox.height * mapBox.width, `legend covers ${((100 * lgBox.height * lgBox.width) / (mapBox.height * mapBox.width)).toFixed(0)} % of the map`);
  await screenshot(page, 'phone-overview');
  // an area near the legend's corner: the collapsed legend leaves it tappable
  const id = await page.evaluate(() => {
    const m = window.kleinraumMap;
    const mb = document.getElementById('map').getBoundingClientRect();
    const lb = document.getElementById('legend').getBoundingClientRect();
    const st = m.styles();
    let best = null;
    for (const id of Object.keys(st)) {
      const p = m.pointInside(id);
      if (!p || p.y < mb.top || p.y > mb.bottom || p.x < mb.left || p.x > mb.right) continue;
      const el = document.elementFromPoint(p.x, p.y);
      if (!el || el.tagName !== 'CANVAS') continue;
      const d = Math.hypot(p.x - lb.right, p.y - lb.top);
      if (!best || d < best.d) best = { id, d };
    }
    return best.id;
  });
  const pt = await hook(page, 'pointInside', id);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('#profile:not([hidden])');
  await idle(page);
  assert.equal(await hook(page, 'profileArea'), id);
  await screenshot(page, 'phone-profile');
  // the legend opens on request
  await page.click('#profile-close');
  await page.click('#legend-toggle');
  assert.equal(await page.isVisible('#legend-body'), true);
  await screenshot(page, 'phone-legend');
  assertClean(w);
});

test('tablet (768 px): the whole city is in view at load, clear of the legend', async () => {
  const w = await open('', { width: 768, height: 1024 });
  const { page } = w;
  const b = await page.evaluate(() => {
    const m = window.kleinraumMap.map();
    const lb = document.getElementById('legend').getBoundingClientRect();
    const mb = m.getContainer().getBoundingClientRect();
    const layers = [];
    m.eachLayer((l) => l.feature && l.getBounds && layers.push(l));
    const bounds = window.L.featureGroup(layers.filter((l) => l.feature.properties.residents !== undefined)).getBounds();
    const sw = m.latLngToContainerPoint(bounds.getSouthWest());
    const ne = m.latLngToContainerPoint(bounds.getNorthEast());
    return { sw, ne, w: mb.width, h: mb.height, legend: { x0: lb.left - mb.left, y0: lb.top - mb.top, x1: lb.right - mb.left, y1: lb.bottom - mb.top } };
  });
  assert.ok(b.sw.y <= b.h && b.ne.y >= 0 && b.sw.x >= 0 && b.ne.x <= b.w, `city inside the map: ${JSON.stringify(b)}`);
  await screenshot(page, 'tablet-overview');
  assertClean(w);
});

test('on the wire: geometry once per level, values per year without geometry, no drawing library for the public; footer links', async () => {
  const w = await open();
  const { page } = w;
  assert.ok(!w.requests.some((u) => u.includes('leaflet-geoman')), 'no drawing library for a public visitor');
  assert.ok(!w.requests.some((u) => /\/items\?/.test(u) && /datetime=/.test(u) && !/skipGeometry=true/.test(u)), 'values come without geometry');
  await choose(page, 'indicator', 'anteil_65plus');
  const before = w.requests.length;
  await setYear(page, 2023);
  const yearReqs = w.requests.slice(before).filter((u) => u.includes('/collections/'));
  assert.ok(yearReqs.length >= 1 && yearReqs.every((u) => /skipGeometry=true|\/missing\?/.test(u)), yearReqs.join('\n'));
  const cfg = await api('/map-config');
  assert.equal(await page.getAttribute('#site-footer a:has-text("Impressum")', 'href'), cfg.impressum_url);
  assert.equal(await page.getAttribute('#site-footer a:has-text("Datenschutzerklärung")', 'href'), cfg.datenschutz_url);
  // the Gebietsstände tab loads its module on first use, still without the drawing library
  await page.click('#tab-gs');
  await page.waitForSelector('#gs-list li[data-key="lor2021"]');
  assert.ok(!w.requests.some((u) => u.includes('leaflet-geoman')), 'no drawing library before a planner signs in');
  assertClean(w);
});

test('printing: Bezirksregionen, Kita supply, the whole city with the legend beside it on one A4 landscape page', async () => {
  const w = await open('#l=bezirksregionen&i=kita_versorgung&y=2024');
  const { page } = w;
  await page.emulateMedia({ media: 'print' });
  await page.evaluate(() => window.kleinraumMap.preparePrint());
  await idle(page);
  // the whole level in the printed map, legend beside it
  const geo = await page.evaluate(() => {
    const m = window.kleinraumMap.map();
    const b = m.getBounds();
    const mb = m.getContainer().getBoundingClientRect();
    const lb = document.getElementById('legend').getBoundingClientRect();
    return { view: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], legendRight: lb.left >= mb.right - 1 };
  });
  const pdf = await page.pdf({ format: 'A4', landscape: true, printBackground: true, preferCSSPageSize: true });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.equal(pages, 1, 'one page');
  mkdirSync(SCREENS, { recursive: true });
  const file = path.join(SCREENS, 'print.pdf');
  writeFileSync(file, pdf);
  if (existsSync('/usr/bin/pdftoppm')) execFileSync('pdftoppm', ['-png', '-r', '60', '-singlefile', file, path.join(SCREENS, 'print')]);
  const col = await api('/collections/bezirksregionen');
  const [x0, y0, x1, y1] = col.extent.spatial.bbox[0];
  assert.ok(geo.view[0] <= x0 && geo.view[1] <= y0 && geo.view[2] >= x1 && geo.view[3] >= y1, `view ${geo.view} contains ${[x0, y0, x1, y1]}`);
  assert.ok(geo.legendRight, 'legend beside the map');
  await page.emulateMedia({ media: 'screen' });
  await page.evaluate(() => window.kleinraumMap.restorePrint());
  assertClean(w);
});
