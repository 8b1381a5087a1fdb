// End-to-end test of the Gebietsstände tab: sign-in, a draft split drawn with leaflet-geoman by
// real mouse clicks, saving it, and the comparison with the base version. The real
// `kleinraum serve data/berlin.toml` with test tokens and a fresh store; every expected number
// comes from the API.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, watchedPage, mapIdle, screenshot, isLocal } from './helpers.mjs';

const PLANNER = 'planner-token-123';
// The drafting steps run as the statistics office: a drawn half of a PLR can be small or differ
// from a postcode area by a few people, and then a planner sees it withheld (that is tested in
// tests/it/serve_disclosure.rs and redefine_server.rs); here the parts must add up.
const STATISTIK = 'statistik-token-789';
const TOKENS = `planner:test-planer:${PLANNER};statistik:test-statistik:${STATISTIK};admin:test-admin:admin-token-456`;
const SPLIT = '08100521';
const YEAR = 2024;

let server;
let browser;
let storeDir;
let w; // the one page the steps below share (a planner's session)

before(async () => {
  storeDir = mkdtempSync(path.join(tmpdir(), 'kleinraum-store-'));
  server = await startServer({ env: { KLEINRAUM_TOKENS: TOKENS, KLEINRAUM_STORE: path.join(storeDir, 'store.gpkg') } });
  browser = await launchBrowser();
  w = await watchedPage(browser.context);
  await w.page.goto(`${server.base}/map/`);
  await mapIdle(w.page);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

/** GET JSON from the server, optionally as the planner. */
async function api(p, token) {
  const r = await fetch(server.base + p, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!r.ok) throw new Error(`${r.status} for ${p}: ${await r.text()}`);
  return r.json();
}

const idle = (page) => page.evaluate(() => window.kleinraumRedefine.idle());
const hook = (page, fn, arg) => page.evaluate(([f, a]) => window.kleinraumRedefine[f](a), [fn, arg]);

/** German integer as shown ("9.457") → number. */
const deInt = (s) => Number(s.trim().replace(/\./g, ''));

test('public: no edit controls, and writes from the page are refused with 401', async () => {
  const { page } = w;
  await page.click('#tab-gs');
  await page.waitForSelector('#gs-list li[data-key="lor2021"]');
  await idle(page);
  assert.equal(await page.isVisible('#login-open'), true);
  assert.equal(await page.isVisible('#gs-edit'), false, 'edit section hidden');
  assert.equal(await page.isVisible('#gs-new'), false);
  assert.equal(await page.locator('[data-tool]:visible').count(), 0, 'no tool buttons');
  assert.equal(await page.isVisible('#gs-save'), false);
  // published versions only for the public: the four configured ones
  const keys = await page.$$eval('#gs-list li', (ls) => ls.map((l) => l.dataset.key));
  const pub = await api('/gebietsstaende');
  assert.deepEqual(keys, pub.gebietsstaende.map((g) => g.key));
  assert.ok(keys.includes('lor2021') && keys.includes('lor2020'), keys.join(','));
  // viewing a published version: LOR until 2020, an indicator estimated from the base version
  // (the first year in which an estimated indicator has values: the MSS tables are not yearly)
  let old;
  let est = [];
  let estYear;
  for (const y of pub.years) {
    old = (await api(`/gebietsstaende/lor2020/areas?year=${y}`)).features;
    // `estimated` lists count columns too (EW of the MSS table): the map chooses indicators.
    est = old.flatMap((f) => f.properties.estimated.filter((i) => i in f.properties.values && f.properties.values[i] !== null).map((i) => ({ f, i })));
    estYear = y;
    if (est.length) break;
  }
  assert.ok(est.length > 0, 'lor2020 has estimated values in some year');
  await page.selectOption('#gs-year', String(estYear));
  await page.click('#gs-list button[data-show="lor2020"]');
  await page.waitForFunction(() => window.kleinraumRedefine.mode() === 'view');
  await idle(page);
  assert.equal((await hook(page, 'ids')).length, old.length);
  assert.equal(old.length, pub.gebietsstaende.find((g) => g.key === 'lor2020').n_areas);
  const { f: ef, i: ei } = est[0];
  await page.selectOption('#gs-indicator', ei);
  await idle(page);
  const lgCounts = await page.$$eval('#gs-legend [data-count]', (els) => els.map((e) => Number(e.textContent)));
  assert.equal(lgCounts.reduce((a, b) => a + b, 0), old.length, 'legend counts every area once');
  assert.equal(lgCounts[lgCounts.length - 1], old.filter((f) => f.properties.values[ei] === null).length, 'no-data count');
  assert.match(await page.textContent('#gs-legend'), /geschätzt/);
  await hook(page, 'fit', ef.properties.id);
  await idle(page);
  const ep = await hook(page, 'pointInside', ef.properties.id);
  await page.mouse.click(ep.x, ep.y);
  await idle(page);
  const row = page.locator(`#gs-stats [data-area="${ef.properties.id}"] tr[data-indicator="${ei}"]`);
  assert.match(await row.textContent(), /\(geschätzt\)/, `${ef.properties.id} ${ei} marked as estimate`);
  await screenshot(page, 'redefine-version');

  const res = await page.evaluate(async () => {
    const out = [];
    const a = await fetch('../entwurf', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ base: 'lor2021' }) });
    out.push({ status: a.status, title: (await a.json()).title });
    const fc = { type: 'FeatureCollection', features: [] };
    const b = await fetch('../gebietsstaende?key=hack&name=hack&status=draft', { method: 'POST', headers: { 'Content-Type': 'application/geo+json' }, body: JSON.stringify(fc) });
    out.push({ status: b.status, title: (await b.json()).title });
    return out;
  });
  assert.deepEqual(res, [
    { status: 401, title: 'Anmeldung erforderlich' },
    { status: 401, title: 'Anmeldung erforderlich' },
  ]);
  // Chromium logs each refused request as a console error: exactly these two, nothing else
  const refused = w.errors.filter((e) => /status of 401/.test(e));
  assert.equal(refused.length, 2, w.errors.join('\n'));
  w.errors.splice(0, w.errors.length, ...w.errors.filter((e) => !/status of 401/.test(e)));
  assert.deepEqual(w.errors, []);
});

test('sign-in with the Statistikstelle token through the dialog', async () => {
  const { page } = w;
  await page.click('#login-open');
  await page.waitForSelector('#login-dialog[open]');
  await page.fill('#login-token', STATISTIK);
  await page.click('#login-submit');
  await page.waitForFunction(() => document.getElementById('auth-user').textContent.includes('Angemeldet'));
  await idle(page);
  assert.equal(await page.textContent('#auth-user'), 'Angemeldet als test-statistik (Statistikstelle)');
  assert.equal(await page.isVisible('#logout'), true);
  assert.equal(await page.isVisible('#login-dialog'), false);
  assert.equal(await page.isVisible('#gs-new'), true, 'edit controls after sign-in');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('kleinraum-token')), STATISTIK);
});

test('draft: split PLR 08100521 by drawing over its western half; the parts add up', async () => {
  const { page } = w;
  const base = await api(`/gebietsstaende/lor2021/areas?year=${YEAR}`);
  const orig = base.features.find((f) => f.properties.id === SPLIT);
  const residents = orig.properties.residents;
  assert.ok(residents > 1000, `${SPLIT} has ${residents} residents`);

  await page.selectOption('#gs-year', String(YEAR));
  await page.selectOption('#gs-base', 'lor2021');
  await page.click('#gs-new');
  await page.waitForFunction(() => window.kleinraumRedefine.mode() === 'draft');
  await idle(page);
  assert.equal((await hook(page, 'ids')).length, 542);
  assert.equal(await page.locator('[data-tool]:visible').count(), 4, 'four tools');

  // Teilen: click the area (zoomed so it is a good target), then draw with geoman
  await page.click('#gs-tools [data-tool="split"]');
  await hook(page, 'fit', SPLIT);
  await idle(page);
  const inside = await hook(page, 'pointInside', SPLIT);
  await page.mouse.click(inside.x, inside.y);
  await idle(page);
  // the polygon: the western half of the area's bounding box, a little beyond its outline
  const b = await hook(page, 'bounds', SPLIT);
  const dx = (b.east - b.west) * 0.03;
  const dy = (b.north - b.south) * 0.03;
  const mid = (b.west + b.east) / 2;
  const corners = [
    [b.west - dx, b.north + dy],
    [mid, b.north + dy],
    [mid, b.south - dy],
    [b.west - dx, b.south - dy],
  ];
  const px = [];
  for (const [lng, lat] of corners) {
    const p = await page.evaluate(([x, y]) => window.kleinraumRedefine.toPage(x, y), [lng, lat]);
    assert.equal(await page.evaluate(([x, y]) => window.kleinraumRedefine.clickable(x, y), [p.x, p.y]), true, `corner ${JSON.stringify(p)} is on the open map`);
    px.push(p);
  }
  for (const p of [...px, px[0]]) {
    await page.mouse.move(p.x, p.y, { steps: 3 });
    await page.mouse.click(p.x, p.y);
  }
  await page.waitForFunction((id) => window.kleinraumRedefine.lastChanged().includes(`${id}-1`), SPLIT, { timeout: 60_000 });
  await idle(page);

  const ids = await hook(page, 'ids');
  assert.equal(ids.length, 543, 'one area became two');
  assert.ok(!ids.includes(SPLIT), 'the split area is gone');
  assert.deepEqual((await hook(page, 'lastChanged')).sort(), [`${SPLIT}-1`, `${SPLIT}-2`]);
  // the statistics box shows both parts with residents that add up to the original
  const shown = {};
  for (const part of [`${SPLIT}-1`, `${SPLIT}-2`]) {
    const card = page.locator(`#gs-stats [data-area="${part}"]`);
    assert.equal(await card.isVisible(), true, `${part} in the statistics box`);
    const n = deInt(await card.locator('[data-residents]').textContent());
    assert.equal(n, (await hook(page, 'properties', part)).residents, `${part} shows the server's number`);
    assert.ok(n > 0, `${part} has residents (${n})`);
    shown[part] = n;
  }
  assert.equal(shown[`${SPLIT}-1`] + shown[`${SPLIT}-2`], residents, `${JSON.stringify(shown)} add up to ${residents}`);
  const ms = Number(await page.getAttribute('#gs-stats [data-server-ms]', 'data-server-ms'));
  assert.ok(Number.isFinite(ms) && ms >= 0, `server time ${ms}`);
  assert.match(await page.textContent('#gs-stats'), /Serverzeit/);
  // the western part lies west of the eastern part
  const b1 = await hook(page, 'bounds', `${SPLIT}-1`);
  const b2 = await hook(page, 'bounds', `${SPLIT}-2`);
  assert.ok(b1.west < b2.west + 1e-9 && (b1.west + b1.east) / 2 < (b2.west + b2.east) / 2, 'part 1 is the western half');
  assert.ok(b1.east <= mid + dx, 'part 1 ends at the drawn line');
  // warnings from the guard are listed and marked (none is fine: then no box and no marker)
  const warnings = await hook(page, 'warnings');
  assert.equal(await page.locator('#gs-warnings li').count(), warnings.length);
  assert.equal(await page.locator('.gs-warn-icon').count(), warnings.filter((x) => x.location).length);
  await screenshot(page, 'redefine-draft');
});

test('save the draft as Gebietsstand test-split; it appears in the list', async () => {
  const { page } = w;
  await page.click('#gs-save');
  await page.waitForSelector('#save-dialog[open]');
  await page.fill('#save-key', 'test-split');
  await page.fill('#save-name', 'Test: Schulenburgpark geteilt');
  await page.fill('#save-valid', '2025-01-01');
  await page.fill('#save-note', 'Browsertest');
  await page.click('#save-submit');
  await page.waitForSelector('#gs-list li[data-key="test-split"]');
  await idle(page);
  assert.equal(await page.isVisible('#save-dialog'), false);
  const li = page.locator('#gs-list li[data-key="test-split"]');
  assert.match(await li.textContent(), /Entwurf/);
  assert.equal(await li.locator('[data-n]').textContent(), '543');
  assert.match(await li.textContent(), /gültig ab 01\.01\.2025/);
  // the server has it, as a draft, for signed-in users only
  const list = await api('/gebietsstaende', PLANNER);
  const g = list.gebietsstaende.find((x) => x.key === 'test-split');
  assert.equal(g.status, 'draft');
  assert.equal(g.n_areas, 543);
  assert.ok(!(await api('/gebietsstaende')).gebietsstaende.some((x) => x.key === 'test-split'), 'public list without drafts');
});

test('comparison lor2021 → test-split: 543 rows, only the two parts changed', async () => {
  const { page } = w;
  await page.selectOption('#gs-from', 'lor2021');
  await page.selectOption('#gs-to', 'test-split');
  await page.click('#gs-compare');
  await page.waitForSelector('#gs-table tbody tr');
  await idle(page);
  const rows = await page.$$eval('#gs-table tbody tr', (trs) => trs.map((tr) => ({ id: tr.dataset.id, change: tr.querySelector('[data-change]').dataset.change })));
  assert.equal(rows.length, 543);
  const parts = [`${SPLIT}-1`, `${SPLIT}-2`];
  for (const r of rows) {
    if (parts.includes(r.id)) assert.ok(['Gebietsänderung', 'beides'].includes(r.change), `${r.id}: ${r.change}`);
    else assert.equal(r.change, 'unverändert', r.id);
  }
  assert.deepEqual(rows.filter((r) => parts.includes(r.id)).map((r) => r.id).sort(), parts);
  // the predecessor of both parts is the split area
  const predText = await page.textContent(`#gs-table tr[data-id="${SPLIT}-1"] td:nth-child(3)`);
  assert.match(predText, new RegExp(SPLIT));
  // map: 543 areas coloured by change, legend counts as in the API, old outlines on top
  const cmp = await api(`/gebietsstaende/lor2021/vergleich/test-split?year=${YEAR}`, PLANNER);
  assert.equal(cmp.areas.length, 543);
  const counts = await page.$$eval('#gs-legend tr[data-change]', (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.change, Number(tr.querySelector('[data-count]').textContent)])));
  for (const [change, n] of Object.entries(counts)) assert.equal(n, cmp.areas.filter((a) => a.change === change).length, change);
  assert.equal(counts['unverändert'], 541);
  assert.equal((await hook(page, 'ids')).length, 543);
  // sorting by id puts the two parts next to each other
  await page.click('#gs-table th button[data-sort="id"]');
  const sorted = await page.$$eval('#gs-table tbody tr', (trs) => trs.map((tr) => tr.dataset.id));
  assert.deepEqual(sorted, [...sorted].sort((a, b) => a.localeCompare(b, 'de')));
  assert.equal(sorted.indexOf(`${SPLIT}-2`), sorted.indexOf(`${SPLIT}-1`) + 1);
  // the CSV download (the draft needs the token: fetched with it)
  const href = await page.getAttribute('#gs-csv', 'href');
  assert.match(href, /vergleich\/test-split\?year=2024&f=csv$/);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#gs-csv')]);
  const csv = readFileSync(await dl.path(), 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.equal(csv.length, 544, 'header + 543 areas');
  assert.ok(csv.some((l) => l.startsWith(`${SPLIT}-1;`)), 'CSV has the new area');
  // sorted by cause, changed areas first (second click: descending)
  await page.click('#gs-table th button[data-sort="change"]');
  await page.click('#gs-table th button[data-sort="change"]');
  const top = await page.$$eval('#gs-table tbody tr', (trs) => trs.slice(0, 2).map((tr) => tr.dataset.id).sort());
  assert.deepEqual(top, parts);
  await page.evaluate(() => document.getElementById('gs-table-panel').scrollTo(0, 0));
  await screenshot(page, 'redefine-compare');
});

test('draft: dragging a shared vertex moves it in the neighbour too; merging the parts adds up', async () => {
  const { page } = w;
  await page.click('#gs-draft-show');
  await page.waitForFunction(() => window.kleinraumRedefine.mode() === 'draft');
  await idle(page);
  const part = `${SPLIT}-2`;
  await page.click('#gs-tools [data-tool="reshape"]');
  await hook(page, 'fit', part);
  await idle(page);
  const inside = await hook(page, 'pointInside', part);
  await page.mouse.click(inside.x, inside.y);
  await idle(page);
  // a vertex shared with exactly one other area, with room around it on screen
  const verts = await hook(page, 'vertices', part);
  const px = await page.evaluate((vs) => vs.map(([x, y]) => window.kleinraumRedefine.toPage(x, y)), verts);
  let pick = null;
  for (let i = 0; i < verts.length && !pick; i++) {
    const room = Math.min(...px.filter((_, j) => j !== i).map((q) => Math.hypot(q.x - px[i].x, q.y - px[i].y)));
    if (room < 45) continue;
    const target = { x: px[i].x, y: px[i].y - 40 };
    const ok = await page.evaluate(([a, b]) => window.kleinraumRedefine.clickable(a.x, a.y) && window.kleinraumRedefine.clickable(b.x, b.y), [px[i], target]);
    if (!ok) continue;
    const by = await hook(page, 'sharedBy', verts[i]);
    if (by.length === 2 && by.includes(part)) pick = { from: verts[i], at: px[i], target, neighbour: by.find((x) => x !== part) };
  }
  assert.ok(pick, 'a shared vertex to drag');
  const reqP = page.waitForRequest((r) => r.url().includes('/operation') && r.method() === 'POST');
  await page.mouse.move(pick.at.x, pick.at.y);
  await page.mouse.down();
  await page.mouse.move(pick.target.x, pick.target.y, { steps: 8 });
  await page.mouse.up();
  const body = (await reqP).postDataJSON();
  await page.waitForFunction((n) => window.kleinraumRedefine.lastChanged().includes(n), pick.neighbour, { timeout: 60_000 });
  await idle(page);
  assert.equal(body.op, 'reshape');
  assert.deepEqual(Object.keys(body.geometries).sort(), [part, pick.neighbour].sort(), 'edited area and its neighbour sent');
  // the old position is gone from both, the new one is in both: the border stays closed
  assert.deepEqual(await hook(page, 'sharedBy', pick.from), [], 'old vertex position left everywhere');
  const sent = (g) => (g.type === 'Polygon' ? g.coordinates.flat() : g.coordinates.flat(2));
  const newPos = sent(body.geometries[part]).find((c) => !verts.some((v) => v[0] === c[0] && v[1] === c[1]));
  assert.ok(newPos, 'the dragged vertex has a new position');
  assert.ok(sent(body.geometries[pick.neighbour]).some((c) => c[0] === newPos[0] && c[1] === newPos[1]), 'the neighbour got the same new vertex');
  // No addresses fall into a gap or an overlap. The server's total-area check may report a few
  // m²: the API rounds coordinates to 7 decimals (~1 cm), so the unchanged vertices of both
  // areas come back slightly moved; a real gap from a 40 px (~50 m) move is far larger.
  const ws = await hook(page, 'warnings');
  assert.deepEqual(ws.filter((x) => (x.kind === 'gap' || x.kind === 'overlap') && x.location !== null), [], 'no address in a gap or overlap');
  for (const x of ws.filter((x) => x.kind === 'gap' && x.location === null)) {
    const m2 = Number(/um (-?[\d.]+) m²/.exec(x.message)?.[1].replace(/\./g, ''));
    assert.ok(Math.abs(m2) < 10, `area change from rounding only: ${x.message}`);
  }
  assert.equal(await page.locator(`#gs-stats [data-area="${pick.neighbour}"]`).count(), 1, 'the neighbour is in the statistics box');
  await page.click('#gs-tool-end');

  // Zusammenlegen: both parts again
  const r1 = (await hook(page, 'properties', `${SPLIT}-1`)).residents;
  const r2 = (await hook(page, 'properties', part)).residents;
  await page.click('#gs-tools [data-tool="merge"]');
  await hook(page, 'fit', [`${SPLIT}-1`, part]);
  await idle(page);
  for (const id of [`${SPLIT}-1`, part]) {
    const p = await hook(page, 'pointInside', id);
    assert.ok(p, `${id} can be clicked`);
    await page.mouse.click(p.x, p.y);
  }
  assert.equal(await page.textContent('#gs-merge-go'), '2 Gebiete zusammenlegen');
  await page.click('#gs-merge-go');
  await page.waitForFunction((id) => !window.kleinraumRedefine.ids().includes(id), part, { timeout: 60_000 });
  await idle(page);
  assert.deepEqual(await hook(page, 'lastChanged'), [`${SPLIT}-1`]);
  assert.equal((await hook(page, 'ids')).length, 542);
  const merged = deInt(await page.textContent(`#gs-stats [data-area="${SPLIT}-1"] [data-residents]`));
  assert.equal(merged, r1 + r2, 'merged residents are the sum of the parts');
  await screenshot(page, 'redefine-reshape-merge');
});

test('back on the Karte tab the indicator map is restored', async () => {
  const { page } = w;
  await page.click('#tab-karte');
  await page.evaluate(() => window.kleinraumMap.idle());
  assert.equal(await page.isVisible('#level'), true);
  assert.equal(await page.isVisible('#legend'), true);
  assert.equal(await page.isVisible('#gs-legend'), false);
  assert.equal(await page.isVisible('#gs-table-panel'), false);
  assert.equal(await page.evaluate(() => window.kleinraumMap.featureCount()), 542);
  // the indicator map's polygons (OGC API features: no `values` object) are on the map again
  const onMap = await page.evaluate(() => {
    const m = window.kleinraumMap.map();
    return Object.values(m._layers).filter((l) => l.feature && l.feature.properties && l.feature.properties.values === undefined && l._parts).length;
  });
  // (the areas, the Sozialraumgebiete overlay drawn over them, the Bezirk outlines: casing and line)
  const outline = await page.evaluate(() => window.kleinraumMap.outline());
  assert.equal(outline.shown, true);
  assert.equal(onMap, 542 + (await page.evaluate(() => window.kleinraumMap.markedIds().length)) + 2 * outline.count);
  assert.equal(await hook(page, 'ids').then((ids) => ids.length > 0), true, 'the draft stays loaded for the tab');
  assert.equal(await hook(page, 'shown'), false, 'the Gebietsstand layer is off the map');
});

test('no console errors, no request outside 127.0.0.1', async () => {
  const outside = w.requests.filter((u) => !isLocal(u));
  assert.deepEqual(outside, [], 'requests that leave 127.0.0.1');
  assert.ok(w.requests.some((u) => u.includes('/entwurf/')), 'the page used the draft API');
  assert.deepEqual(w.errors, [], 'console errors');
});
