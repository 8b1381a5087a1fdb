// Accessibility (BITV 2.0 / WCAG 2.1 AA): axe-core finds no serious or critical violation on
// the main view, the profile, every chart, the table view and the phone layout — on Berlin and
// on the demo town. axe-core comes from npm (devDependency); it is injected into the page only.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer, launchBrowser, watchedPage, mapIdle, isLocal } from './helpers.mjs';

const AXE = path.join(path.dirname(createRequire(import.meta.url).resolve('axe-core')), 'axe.min.js');

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  if (browser) await browser.close();
});

/** Serious and critical violations of WCAG 2.0/2.1 A and AA on the page as it is now. */
async function axe(page, include = null) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: AXE });
  const res = await page.evaluate(
    async ([inc]) =>
      window.axe.run(inc ? { include: [[inc]] } : document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
        resultTypes: ['violations'],
      }),
    [include],
  );
  return res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

const idle = (page) => page.evaluate(() => window.kleinraumMap.idle());

async function checkViews(base, area, name) {
  const w = await watchedPage(browser.context);
  const { page } = w;
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(`${base}/map/`);
  await mapIdle(page);
  const found = {};
  found.main = await axe(page);
  // forced colours (Windows high contrast): the legend swatches keep their colours
  await page.emulateMedia({ forcedColors: 'active' });
  const sw = await page.evaluate(() => {
    const lg = window.kleinraumMap.legend();
    const els = [...document.querySelectorAll('#legend tr[data-class] .swatch')];
    return { adjust: els.map((e) => getComputedStyle(e).forcedColorAdjust), first: getComputedStyle(els[0]).backgroundColor, want: lg.classes[0].color };
  });
  await page.emulateMedia({ forcedColors: 'none' });
  assert.ok(sw.adjust.length > 2 && sw.adjust.every((a) => a === 'none'), `${name}: ${sw.adjust}`);
  const hex = '#' + sw.first.match(/\d+/g).slice(0, 3).map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  assert.equal(hex, sw.want, `${name}: the swatch keeps its class colour in forced-colours mode`);
  await page.fill('#search', area);
  await page.press('#search', 'Enter');
  await page.waitForSelector('#profile:not([hidden])');
  await idle(page);
  found.profile = await axe(page);
  await page.click('#profile-close');
  await page.click('#analysis-open');
  for (const view of ['table', 'histogram', 'ranking', 'scatter', 'series', 'change']) {
    await page.click(`#atab-${view}`);
    await idle(page);
    if (view === 'change' && (await page.locator('#ch-map').count())) {
      await page.check('#ch-map');
      await idle(page);
    }
    found[view] = await axe(page);
  }
  await page.click('#analysis-close');
  await idle(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await idle(page);
  found.phone = await axe(page);
  for (const [view, v] of Object.entries(found)) assert.deepEqual(v, [], `${name} ${view}`);
  assert.deepEqual(w.requests.filter((u) => !isLocal(u)), []);
  assert.deepEqual(w.errors, []);
  await page.close();
}

test('axe-core: no serious or critical violation on Berlin (main view, profile, charts, table, phone)', async () => {
  const server = await startServer();
  try {
    await checkViews(server.base, '08100521', 'Berlin');
  } finally {
    await server.stop();
  }
});

test('axe-core: no serious or critical violation on the demo town', async () => {
  const server = await startServer({ config: 'data/demo.toml' });
  try {
    await checkViews(server.base, 'Altstadt', 'demo');
  } finally {
    await server.stop();
  }
});
