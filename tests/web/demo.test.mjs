// The map on the demo town (Musterstadt, `data/demo.toml`): Stadtteile outlined and named, the
// charts equal to the API, and the draft guard rails a planner relies on: the drawing library
// arrives only with the sign-in, a merge across a Stadtteil boundary asks for confirmation and
// a new name, every "–" in the statistics says why, and the statistics never cover the polygon
// being edited.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, watchedPage, mapIdle, screenshot, getJSON, isLocal, REPO } from './helpers.mjs';

const PLANNER = 'demo-planner-token-1';
let server;
let browser;
let w;

before(async () => {
  server = await startServer({ config: 'data/demo.toml', env: { KLEINRAUM_TOKENS: `planner:demo-planer:${PLANNER}` } });
  browser = await launchBrowser();
  w = await watchedPage(browser.context);
  await w.page.setViewportSize({ width: 1440, height: 900 });
  await w.page.goto(`${server.base}/map/`);
  await mapIdle(w.page);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

const idle = (page) => page.evaluate(() => window.kleinraumMap.idle());
const hook = (page, fn, ...args) => page.evaluate(([f, a]) => window.kleinraumMap[f](...a), [fn, args]);
const rhook = (page, fn, arg) => page.evaluate(([f, a]) => window.kleinraumRedefine[f](a), [fn, arg]);
const ridle = (page) => page.evaluate(() => window.kleinraumRedefine.idle());
const api = (p) => getJSON(server.base, p);

test('demo: Stadtteile outlined and named; legend and histogram equal the API', async () => {
  const { page } = w;
  const st = (await api('/collections/stadtteile/items?f=json&skipGeometry=true&properties=id,name')).features.map((f) => f.properties.name).sort();
  assert.deepEqual(await hook(page, 'outline'), { level: 'stadtteile', count: st.length, shown: true });
  assert.deepEqual(
    (await hook(page, 'labels'))
      .filter((l) => l.kind === 'outline')
      .map((l) => l.name)
      .sort(),
    st,
  );
  const s = await hook(page, 'state');
  const feats = (await api(`/collections/sozialraeume/items?f=json&skipGeometry=true&datetime=${s.year}`)).features.map((f) => f.properties);
  const lg = await hook(page, 'legend');
  for (const c of lg.classes) assert.equal(c.count, feats.filter((p) => p[s.indicator] === c.value).length, c.label);
  await page.selectOption('#indicator', 's4');
  await idle(page);
  await page.click('#analysis-open');
  await page.click('#atab-histogram');
  await idle(page);
  const counts = await page.$$eval('#apanel svg rect[data-count]', (rs) => rs.map((r) => Number(r.dataset.count)));
  const yr = (await hook(page, 'state')).year;
  const s4 = (await api(`/collections/sozialraeume/items?f=json&skipGeometry=true&datetime=${yr}`)).features.map((f) => f.properties.s4).filter((x) => x !== null);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    s4.length,
  );
  await screenshot(page, 'demo-histogram');
  await page.click('#analysis-close');
  await idle(page);
});

test('demo reports: the Bericht box follows the view, the profile offers its Steckbrief; the files are a PDF and a Word document with the numbers of the API', async () => {
  const { page } = w;
  assert.equal(await page.isHidden('#report-box'), false, 'the server makes reports: the box is shown');
  await page.click('#report-box summary');
  const links = async () => page.$$eval('#report-links a', (as) => as.map((a) => a.href));
  await page.selectOption('#indicator', 's4');
  await idle(page);
  await page.hover('#report-links a');
  let s = await hook(page, 'state');
  const karte = (await links()).map((h) => new URL(h)).find((u) => u.pathname.endsWith('/reports/karte'));
  assert.ok(karte, 'a map print link');
  assert.equal(karte.searchParams.get('indicator'), 's4');
  assert.equal(karte.searchParams.get('level'), s.level);
  assert.equal(karte.searchParams.get('year'), String(s.year));
  assert.equal(karte.searchParams.get('method'), s.method);
  // Every link answers with the right kind of file.
  for (const h of await links()) {
    const r = await fetch(h);
    assert.equal(r.status, 200, h);
    const b = Buffer.from(await r.arrayBuffer());
    const docx = new URL(h).searchParams.get('format') === 'docx';
    assert.equal(b.subarray(0, docx ? 2 : 4).toString('latin1'), docx ? 'PK' : '%PDF', h);
  }
  // The link follows a change of the view.
  await page.selectOption('#indicator', 's1');
  await idle(page);
  await page.hover('#report-links a');
  const k2 = (await links()).map((h) => new URL(h)).find((u) => u.pathname.endsWith('/reports/karte'));
  assert.equal(k2.searchParams.get('indicator'), 's1');
  // The download itself (the browser saves it as a file).
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#report-links a[href*="monitoring"]:not([href*="docx"])')]);
  assert.match(dl.suggestedFilename(), /\.pdf$/);
  await page.click('#report-box summary');
  // The profile's Steckbrief: the area's name and its residents as the API has them.
  s = await hook(page, 'state');
  const feats = (await api(`/collections/${s.level}/items?f=json&skipGeometry=true&datetime=${s.year}`)).features.map((f) => f.properties);
  const area = feats.find((p) => typeof p.residents === 'number');
  const pt = await hook(page, 'pointInside', area.id);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForFunction((id) => window.kleinraumMap.profileArea() === id, area.id);
  const sb = await page.$$eval('#profile-body p.report-links a', (as) => as.map((a) => a.href));
  assert.equal(sb.length, 2);
  const u = new URL(sb[0]);
  assert.equal(u.searchParams.get('area'), area.id);
  const pdf = Buffer.from(await (await fetch(sb[0])).arrayBuffer());
  assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
  if (existsSync('/usr/bin/pdftotext')) {
    const dir = mkdtempSync(path.join(tmpdir(), 'kleinraum-steckbrief-'));
    writeFileSync(path.join(dir, 's.pdf'), pdf);
    const text = execFileSync('pdftotext', ['-layout', path.join(dir, 's.pdf'), '-']).toString();
    rmSync(dir, { recursive: true, force: true });
    assert.ok(text.includes(area.name), 'the Steckbrief names its area');
    const de = area.residents.toLocaleString('de-DE');
    assert.ok(text.includes(de), `the Steckbrief shows the API's residents ${de}`);
  }
  await screenshot(page, 'demo-report-links');
  await page.click('#profile-close');
  await idle(page);
});

test('demo drafts: the drawing library comes with the sign-in; a merge across a Stadtteil boundary needs confirmation and a name', async () => {
  const { page } = w;
  assert.ok(!w.requests.some((u) => u.includes('leaflet-geoman')), 'public: no drawing library');
  await page.click('#login-open');
  await page.waitForSelector('#login-dialog[open]');
  await page.fill('#login-token', PLANNER);
  await page.click('#login-submit');
  await page.waitForFunction(() => window.kleinraumRedefine && window.kleinraumRedefine.auth().role === 'planner');
  await ridle(page);
  await page.waitForFunction(() => !!window.L.PM);
  assert.ok(w.requests.some((u) => u.includes('leaflet-geoman.js')), 'planner: drawing library loaded');
  await page.click('#tab-gs');
  await page.waitForSelector('#gs-new:visible');
  await page.click('#gs-new');
  await page.waitForFunction(() => window.kleinraumRedefine.mode() === 'draft');
  await ridle(page);
  // two neighbours in different Stadtteile (first two characters of the id), and two in the same
  const pairs = await page.evaluate(() => {
    const r = window.kleinraumRedefine;
    const ids = r.ids();
    const across = [];
    const within = [];
    for (const a of ids) {
      for (const v of r.vertices(a)) {
        for (const b of r.sharedBy(v)) {
          if (b === a) continue;
          (a.slice(0, 2) === b.slice(0, 2) ? within : across).push([a, b]);
        }
      }
      if (across.length && within.length) break;
    }
    return { across: across[0], within: within[0] };
  });
  assert.ok(pairs.across && pairs.within, JSON.stringify(pairs));
  const st = new Map((await api('/collections/stadtteile/items?f=json&skipGeometry=true&properties=id,name')).features.map((f) => [f.properties.id, f.properties.name]));
  const merge = async ([a, b]) => {
    await page.click('#gs-tools [data-tool="merge"]');
    await rhook(page, 'fit', [a, b]);
    await ridle(page);
    for (const id of [a, b]) {
      const p = await rhook(page, 'pointInside', id);
      await page.mouse.click(p.x, p.y);
      await ridle(page);
    }
    await page.click('#gs-merge-go');
    await ridle(page);
  };
  // across: the dialog names both Stadtteile and wants a name
  const [a, b] = pairs.across;
  await merge(pairs.across);
  await page.waitForSelector('#merge-dialog[open]');
  const why = await page.textContent('#merge-why');
  assert.ok(why.includes(st.get(a.slice(0, 2))) && why.includes(st.get(b.slice(0, 2))), why);
  await page.click('#merge-submit');
  assert.ok(await page.isVisible('#merge-dialog'), 'an empty name is refused');
  assert.equal(await page.$eval('#merge-name', (e) => e.validity.valueMissing), true);
  await page.fill('#merge-name', 'Quartier am Fluss');
  await page.click('#merge-submit');
  await ridle(page);
  assert.deepEqual(await rhook(page, 'lastChanged'), [a]);
  assert.equal((await rhook(page, 'properties', a)).name, 'Quartier am Fluss', 'the merged area has the new name');
  assert.ok(!(await rhook(page, 'ids')).includes(b));
  // the statistics box does not cover the merged polygon
  const clear = await page.evaluate((id) => {
    const r = window.kleinraumRedefine;
    const box = document.getElementById('gs-stats').getBoundingClientRect();
    const bb = r.bounds(id);
    const nw = r.toPage(bb.west, bb.north);
    const se = r.toPage(bb.east, bb.south);
    return { box: [box.left, box.top, box.right, box.bottom], area: [nw.x, nw.y, se.x, se.y], overlap: nw.x < box.right && se.x > box.left && nw.y < box.bottom && se.y > box.top };
  }, a);
  assert.equal(clear.overlap, false, JSON.stringify(clear));
  await screenshot(page, 'demo-draft-merge');
  // within one Stadtteil: no question asked
  await merge(pairs.within);
  assert.equal(await page.isVisible('#merge-dialog'), false);
  assert.deepEqual(await rhook(page, 'lastChanged'), [pairs.within[0]]);
});

test('demo drafts: every "–" in the statistics says why', async () => {
  const { page } = w;
  if (await page.isVisible('#gs-tool-end')) await page.click('#gs-tool-end');
  if (await page.isVisible('#gs-stats [data-close-stats]')) await page.click('#gs-stats [data-close-stats]');
  // an area below the minimum population: its status class is "–" with the reason
  const yr = Number(await page.inputValue('#gs-year'));
  const feats = (await api(`/collections/sozialraeume/items?f=json&skipGeometry=true&datetime=${yr}`)).features.map((f) => f.properties);
  const ids = new Set(await rhook(page, 'ids'));
  const small = feats.find((q) => q.residents !== null && q.residents < 300 && ids.has(q.id));
  assert.ok(small, 'the demo has areas below 300 residents');
  await rhook(page, 'fit', small.id);
  await ridle(page);
  const p = await rhook(page, 'pointInside', small.id);
  await page.mouse.click(p.x, p.y);
  await ridle(page);
  const text = await page.textContent(`#gs-stats [data-area="${small.id}"]`);
  assert.match(text, /Statusklasse– \(unter 300 Einwohner:innen: kein Indexwert\)/);
  const bare = await page.$$eval('#gs-stats td', (tds) => tds.filter((td) => /^[–·]/.test(td.textContent.trim()) && !td.querySelector('[data-why]')).map((td) => td.closest('tr').textContent));
  assert.deepEqual(bare, [], 'no "–" without a reason');
  await screenshot(page, 'demo-draft-reasons');
  assert.deepEqual(w.requests.filter((u) => !isLocal(u)), []);
  assert.deepEqual(w.errors, []);
});


/** A 256×256 PNG of one colour (a stand-in tile). */
function tilePng() {
  const crc = (buf) => {
    let c = ~0;
    for (const b of buf) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(256, 0);
  ihdr.writeUInt32BE(256, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(256 * 3, 0xd0)]);
  const raw = Buffer.concat(Array.from({ length: 256 }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

test('a configured background map (XYZ) is drawn with its attribution; without one the map asks no tile server', async () => {
  // without: no tile request at all (the page of the tests above)
  assert.ok(!w.requests.some((u) => /\/tiles\//.test(u)), 'no tiles without a configured background map');
  // a local tile server, and the demo config with [server.basemap] pointing to it
  const png = tilePng();
  const seen = [];
  const tiles = http.createServer((req, res) => {
    seen.push(req.url);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Access-Control-Allow-Origin': '*' });
    res.end(png);
  });
  await new Promise((r) => tiles.listen(0, '127.0.0.1', r));
  const port = tiles.address().port;
  const dir = mkdtempSync(path.join(tmpdir(), 'kleinraum-basemap-'));
  const demo = readFileSync(path.join(REPO, 'data/demo.toml'), 'utf8')
    .replace(/source = "demo\//g, `source = "${path.join(REPO, 'data/demo')}/`)
    .replace('\n[store]\n', `\n[server.basemap]\nkind = "xyz"\nurl = "http://127.0.0.1:${port}/tiles/{z}/{x}/{y}.png"\nattribution = "© Testkarte Musterstadt"\nopacity = 0.7\n\n[store]\n`);
  const cfg = path.join(dir, 'demo-basemap.toml');
  writeFileSync(cfg, demo);
  const srv = await startServer({ config: cfg });
  try {
    const w2 = await watchedPage(browser.context);
    await w2.page.setViewportSize({ width: 1440, height: 900 });
    await w2.page.goto(`${srv.base}/map/`);
    await mapIdle(w2.page);
    await w2.page.waitForFunction(() => document.querySelectorAll('.leaflet-tile-loaded').length > 0);
    assert.ok(seen.length > 0 && seen.every((u) => /^\/tiles\/\d+\/\d+\/\d+\.png$/.test(u)), seen.slice(0, 3).join(' '));
    assert.match(await w2.page.textContent('.leaflet-control-attribution'), /© Testkarte Musterstadt/);
    // the switch in German, and the tiles go when switched off
    await w2.page.uncheck('.leaflet-control-layers input[type=checkbox]');
    assert.equal(await w2.page.locator('.leaflet-tile').count(), 0);
    assert.deepEqual(w2.errors, []);
    await w2.page.close();
  } finally {
    await srv.stop();
    tiles.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
