// Benchmark (not a test): first render of the map on the Berlin Planungsräume in headless
// Chromium, from navigation start to the 542 polygons drawn (performance mark
// `kleinraum-first-render`, set after Leaflet's canvas redraw). Browser cache disabled.
//
//   node tests/web/bench-render.mjs [RUNS]      (KLEINRAUM_BIN selects the binary)

import { startServer, launchBrowser } from './helpers.mjs';

const runs = Number(process.argv[2] || 5);
const server = await startServer();
const browser = await launchBrowser();
const times = [];
try {
  for (let i = 0; i < runs; i++) {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.goto(`${server.base}/map/`);
    await page.waitForFunction(() => performance.getEntriesByName('kleinraum-first-render').length > 0, null, { timeout: 60_000 });
    const r = await page.evaluate(() => ({
      ms: performance.getEntriesByName('kleinraum-first-render')[0].startTime,
      drawn: window.kleinraumMap.drawnCount(),
    }));
    if (r.drawn !== 542) throw new Error(`expected 542 polygons drawn, got ${r.drawn}`);
    times.push(r.ms);
    console.log(`run ${i + 1}: first render ${r.ms.toFixed(0)} ms (${r.drawn} polygons)`);
    await page.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`first render on the Berlin level: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, min ${sorted[0].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms over ${runs} runs`);
} finally {
  await browser.close();
  await server.stop();
}
