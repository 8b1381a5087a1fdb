// Measurement (not a test): bytes on the wire and time for the map's first load, a year switch
// and a level switch on the Berlin Planungsräume, in headless Chromium, without throttling and
// with Chromium's throttling (4× CPU slowdown, 5 Mbit/s down, 1 Mbit/s up, 40 ms latency).
//
//   node tests/web/measure-wire.mjs [RUNS]     (KLEINRAUM_BIN: binary; KLEINRAUM_CONFIG: config,
//                                              default data/berlin.toml; the map is web/ beside it)
//
// First load: from navigation to the areas drawn and every request done (browser cache off).
// Year switch: indicator "Einwohner:innen ab 65 Jahren", 2024 → 2023. Level switch:
// Planungsräume → Bezirksregionen. Bytes: encoded (compressed) response bytes of the step.

import { startServer, launchBrowser } from './helpers.mjs';

const runs = Number(process.argv[2] || 3);
const config = process.env.KLEINRAUM_CONFIG || 'data/berlin.toml';
const server = await startServer({ config });
const browser = await launchBrowser();

const THROTTLE = { offline: false, latency: 40, downloadThroughput: (5 * 1e6) / 8, uploadThroughput: (1 * 1e6) / 8 };

async function measureOnce(throttled) {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (throttled) {
    await cdp.send('Network.emulateNetworkConditions', THROTTLE);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  }
  let bytes = 0;
  let requests = 0;
  let byKind = {};
  const kindOf = new Map();
  cdp.on('Network.responseReceived', (e) => {
    const u = e.response.url;
    kindOf.set(e.requestId, /\/vendor\//.test(u) ? 'libraries' : /\.js(\?|$)/.test(u) ? 'map scripts' : /\.css(\?|$)/.test(u) ? 'styles' : /zoom-level=|properties=id(&|$)/.test(u) ? 'outlines' : /skipGeometry=true|\/missing\?/.test(u) ? 'values' : 'other');
  });
  cdp.on('Network.loadingFinished', (e) => {
    bytes += e.encodedDataLength;
    requests++;
    const k = kindOf.get(e.requestId) || 'other';
    byKind[k] = (byKind[k] || 0) + e.encodedDataLength;
  });
  const step = async (fn) => {
    bytes = 0;
    requests = 0;
    byKind = {};
    const t0 = Date.now();
    await fn();
    await page.evaluate(() => window.kleinraumMap.idle());
    // let late responses report their size
    await new Promise((r) => setTimeout(r, 300));
    return { ms: Date.now() - t0, bytes, requests, byKind: { ...byKind } };
  };
  const first = await step(async () => {
    await page.goto(`${server.base}/map/`);
    await page.waitForFunction(() => window.kleinraumMap && window.kleinraumMap.featureCount() > 0, null, { timeout: 300_000 });
  });
  // the first-render mark: navigation start → areas drawn
  first.render = await page.evaluate(() => performance.getEntriesByName('kleinraum-first-render')[0]?.startTime ?? null);
  const setSelect = (id, value) =>
    page.evaluate(
      ([i, v]) => {
        const el = document.getElementById(i);
        el.value = v;
        el.dispatchEvent(new Event('change'));
      },
      [id, value],
    );
  const setYear = (y) =>
    page.evaluate((v) => {
      const el = document.getElementById('year');
      el.value = String(v);
      el.dispatchEvent(new Event('input'));
      el.dispatchEvent(new Event('change'));
    }, y);
  await setSelect('indicator', 'anteil_65plus');
  await page.evaluate(() => window.kleinraumMap.idle());
  await setYear(2024);
  await page.evaluate(() => window.kleinraumMap.idle());
  const year = await step(() => setYear(2023));
  const level = await step(() => setSelect('level', 'bezirksregionen'));
  const drawn = await page.evaluate(() => window.kleinraumMap.drawnCount());
  await page.close();
  return { first, year, level, drawn };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  for (const throttled of [false, true]) {
    const rs = [];
    for (let i = 0; i < runs; i++) rs.push(await measureOnce(throttled));
    const label = throttled ? 'throttled (4× CPU, 5 Mbit/s, 40 ms)' : 'unthrottled';
    for (const k of ['first', 'year', 'level']) {
      const ms = median(rs.map((r) => r[k].ms));
      const kb = median(rs.map((r) => r[k].bytes)) / 1024;
      const n = median(rs.map((r) => r[k].requests));
      const extra = k === 'first' ? `, areas drawn at ${median(rs.map((r) => r.first.render)).toFixed(0)} ms` : '';
      console.log(`${label.padEnd(36)} ${k.padEnd(6)} ${String(ms).padStart(6)} ms  ${kb.toFixed(0).padStart(6)} KiB  ${n} requests${extra}`);
    }
    if (!throttled) console.log(`first load by kind (KiB): ${Object.entries(rs[0].first.byKind).map(([k, b]) => `${k} ${(b / 1024).toFixed(0)}`).join(', ')}`);
  }
} finally {
  await browser.close();
  await server.stop();
}
