// Access to the kleinraum API: the public part (OGC API Features plus catalogue, time series,
// index) through a cached GET, writes and authenticated calls through an uncached request.
// The map is served at <root>/map/, the API at <root>/: every URL is relative to that root, so
// the map also works behind a reverse proxy with a path prefix.

/** The API root (the directory above /map/). */
export const API_ROOT = new URL('..', document.baseURI);

const cache = new Map();

/** The problem details (RFC 9457) of a failed response; {} if its body is not a JSON object. */
async function problemOf(r) {
  try {
    const j = await r.json();
    return j && typeof j === 'object' ? j : {};
  } catch {
    return {}; // body not JSON: the status says enough
  }
}

/** GET `path` (relative to the API root) as JSON; cached, since the data never change while the server runs. */
export function getJSON(path) {
  const url = new URL(path, API_ROOT).href;
  if (!cache.has(url)) {
    const p = fetch(url, { headers: { Accept: 'application/json' } }).then(async (r) => {
      if (!r.ok) {
        const { detail } = await problemOf(r);
        throw new Error(`${r.status} ${r.statusText} bei ${path}${detail ? ': ' + detail : ''}`);
      }
      return r.json();
    });
    p.catch(() => cache.delete(url));
    cache.set(url, p);
  }
  return cache.get(url);
}

/**
 * Uncached `method` request to `path` (relative to the API root, or absolute), for writes and
 * authenticated reads. `body` goes out as JSON, `token` as `Authorization: Bearer`; the answer
 * is parsed as JSON, or returned as a Blob with `as: 'blob'` (`accept` sets the media type).
 * A failure throws an Error with the server's title and detail and `status` set.
 */
export async function request(method, path, { body, token, accept = 'application/json', as = 'json' } = {}) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(new URL(path, API_ROOT).href, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    const p = await problemOf(r);
    const detail = [p.title, p.detail].filter(Boolean).join(': ');
    const err = new Error(`${r.status} ${detail || r.statusText} (${method} ${path.split('?')[0]})`);
    err.status = r.status;
    throw err;
  }
  return as === 'blob' ? r.blob() : r.json();
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

/** Areas of `level` with the values of `year` (GeoJSON features in CRS84, full geometry). */
export const areas = (level, year) => allItems(level, { datetime: String(year) });
/**
 * The outlines of `level` (id only), simplified by the server for `zoom` (a zoom tier of
 * `/map-config`; null = full geometry). Loaded once per level and tier, whatever the year.
 */
export const geometry = (level, zoom) => allItems(level, zoom === null || zoom === undefined ? { properties: 'id' } : { properties: 'id', 'zoom-level': String(zoom) });
/** One area's full geometry (for exact point-in-polygon tests). */
export const areaGeometry = (level, id) => getJSON(`collections/${encodeURIComponent(level)}/items/${encodeURIComponent(id)}?properties=id`);
/**
 * The values of every area of `level` in `year`, without geometry; `properties` (a list) limits
 * them to what the map shows (the age groups and flags stay in the time series).
 */
export const values = (level, year, properties = null) =>
  allItems(level, properties ? { datetime: String(year), skipGeometry: 'true', properties: properties.join(',') } : { datetime: String(year), skipGeometry: 'true' });
/** Names and parents of every area of `level` (no geometry, no values). */
export const names = (level) => allItems(level, { properties: 'id,name,parent', skipGeometry: 'true' });
/** Which areas lack a value of each indicator and index in `year`, and why. */
export const missing = (level, year) => getJSON(`collections/${encodeURIComponent(level)}/missing?year=${year}`);
/** The map's settings from the server config (outline level, background map, footer links). */
export const mapConfig = () => getJSON('map-config');
/** The indicator and index catalogue. */
export const catalogue = () => getJSON('indicators?f=json');
/** The collections (area levels and facility categories). */
export const collections = () => getJSON('collections?f=json');
/** Every year's values of one area. */
export const timeseries = (level, id) => getJSON(`collections/${encodeURIComponent(level)}/items/${encodeURIComponent(id)}/timeseries`);
/** Index ranking with classes, Sozialraumgebiet flag and per-indicator contributions. */
export const indexRanking = (level, index, year) =>
  getJSON(`collections/${encodeURIComponent(level)}/index?index=${encodeURIComponent(index)}${year ? '&year=' + year : ''}`);
