// Access to the public kleinraum API (OGC API Features plus catalogue, time series, index).
// The map is served at <root>/map/, the API at <root>/: every URL is relative to that root, so
// the map also works behind a reverse proxy with a path prefix.

/** The API root (the directory above /map/). */
export const API_ROOT = new URL('..', document.baseURI);

const cache = new Map();

/** GET `path` (relative to the API root) as JSON; cached, since the data never change while the server runs. */
export function getJSON(path) {
  const url = new URL(path, API_ROOT).href;
  if (!cache.has(url)) {
    const p = fetch(url, { headers: { Accept: 'application/json' } }).then(async (r) => {
      if (!r.ok) {
        let detail = '';
        try {
          detail = (await r.json()).detail || '';
        } catch {
          // body not JSON: the status says enough
        }
        throw new Error(`${r.status} ${r.statusText} bei ${path}${detail ? ': ' + detail : ''}`);
      }
      return r.json();
    });
    p.catch(() => cache.delete(url));
    cache.set(url, p);
  }
  return cache.get(url);
}

/** Every feature of a collection, following `next` links (the server clamps `limit`). */
export async function allItems(collection, params = {}) {
  const q = new URLSearchParams({ f: 'json', limit: '10000', ...params });
  let page = await getJSON(`collections/${encodeURIComponent(collection)}/items?${q}`);
  const features = [...page.features];
  for (let guard = 0; guard < 1000; guard++) {
    const next = (page.links || []).find((l) => l.rel === 'next');
    if (!next) break;
    // follow the server's link, but keep it on our own origin/root
    const u = new URL(next.href);
    page = await getJSON(`collections/${encodeURIComponent(collection)}/items${u.search}`);
    features.push(...page.features);
  }
  return features;
}

/** Areas of `level` with the values of `year` (GeoJSON features in CRS84). */
export const areas = (level, year) => allItems(level, { datetime: String(year) });
/** The indicator and index catalogue. */
export const catalogue = () => getJSON('indicators?f=json');
/** The collections (area levels and facility categories). */
export const collections = () => getJSON('collections?f=json');
/** Every year's values of one area. */
export const timeseries = (level, id) => getJSON(`collections/${encodeURIComponent(level)}/items/${encodeURIComponent(id)}/timeseries`);
/** Index ranking with classes, Sozialraumgebiet flag and per-indicator contributions. */
export const indexRanking = (level, index, year) =>
  getJSON(`collections/${encodeURIComponent(level)}/index?index=${encodeURIComponent(index)}${year ? '&year=' + year : ''}`);
