// Helpers for the browser tests: start the real `kleinraum serve` on the Berlin data, launch
// Debian's headless Chromium through playwright-core, and watch every request and console message.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENS = path.join(tmpdir(), 'kleinraum-screens');

/** The binary: $KLEINRAUM_BIN, else the newer of target/debug and target/release. */
export function binary() {
  if (process.env.KLEINRAUM_BIN) return process.env.KLEINRAUM_BIN;
  const cands = ['target/debug/kleinraum', 'target/release/kleinraum']
    .map((p) => path.join(REPO, p))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!cands.length) throw new Error('no kleinraum binary: run `cargo build` first (or set KLEINRAUM_BIN)');
  return cands[0];
}

/**
 * Starts `kleinraum serve data/berlin.toml --bind 127.0.0.1:0` and resolves with
 * `{ base, stop }` once the log says `listening on http://127.0.0.1:PORT` and `Gebietsstände
 * ready` (or `failed`).
 * `env`: extra environment variables (e.g. KLEINRAUM_TOKENS, KLEINRAUM_STORE).
 */
export function startServer({ config = 'data/berlin.toml', timeoutMs = 180_000, env: extraEnv = {} } = {}) {
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn,kleinraum_serve=info', NO_COLOR: '1', ...extraEnv };
  if (!env.KLEINRAUM_SHARED_DATA) env.KLEINRAUM_SHARED_DATA = path.resolve(REPO, '../shared/data');
  // Each server its own Gebietsstände store unless a test names one (no test writes into data/).
  if (!env.KLEINRAUM_STORE) env.KLEINRAUM_STORE = path.join(mkdtempSync(path.join(tmpdir(), 'kleinraum-store-')), 'store.gpkg');
  const child = spawn(binary(), ['serve', config, '--bind', '127.0.0.1:0'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  // never leave a server behind, even when a test run dies
  const killChild = () => child.exitCode === null && child.kill('SIGTERM');
  process.once('exit', killChild);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`server did not report its port within ${timeoutMs} ms; log:\n${log}`));
    }, timeoutMs);
    const onData = (buf) => {
      log += buf.toString();
      // the log may carry ANSI colour codes; ready once the Gebietsstände are computed too
      // (the server computes them after it starts listening)
      const plain = log.replace(/\x1b\[[0-9;]*m/g, '');
      const m = plain.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && /Gebietsstände (ready|failed)/.test(plain)) {
        clearTimeout(timer);
        resolve({
          base: m[1],
          log: () => log,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', r);
              child.kill('SIGTERM');
            }),
        });
      }
    };
    // decoded as a stream: an umlaut split between two chunks stays whole
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; log:\n${log}`));
    });
  });
}

/** Launches headless Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  const exe = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(exe)) throw new Error(`${exe} not found: apt-get install -y chromium`);
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'kleinraum-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: exe,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1366, height: 768 },
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A new page that records every request URL (to assert none leaves 127.0.0.1) and every
 * console error or page error.
 */
export async function watchedPage(context) {
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { page, requests, errors };
}

/** True if `url` stays on this machine (loopback HTTP, or blob:/data: created by the page itself). */
export function isLocal(url) {
  if (url.startsWith('data:')) return true;
  const u = new URL(url.startsWith('blob:') ? url.slice(5) : url);
  return u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
}

/** Waits until the map has loaded and finished drawing. */
export async function mapIdle(page) {
  await page.waitForFunction(() => window.kleinraumMap && window.kleinraumMap.featureCount() > 0, null, { timeout: 60_000 });
  await page.evaluate(() => window.kleinraumMap.idle());
}

/** Saves a screenshot into os.tmpdir()/kleinraum-screens and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(SCREENS, { recursive: true });
  const file = path.join(SCREENS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** GET JSON from the server (for the expected values). */
export async function getJSON(base, p) {
  const r = await fetch(base + p);
  if (!r.ok) throw new Error(`${r.status} for ${p}`);
  return r.json();
}
