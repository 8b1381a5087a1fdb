// Test hook of the Gebietsstände tab (window.kleinraumRedefine): read-only views and the pixel
// positions the browser tests click.

import { map, toPage } from '../map.js';
import { interiorPoint, layerRings, pointInRings, sameVertex } from '../geometry.js';
import { gs, areaId } from './model.js';
import { auth, tasks } from './session.js';
import { layerOf, fitClear } from './layers.js';

const L = window.L;

/** True if a click at page pixel (x, y) reaches the map itself (no legend or box above it). */
function clickable(x, y) {
  const el = document.elementFromPoint(x, y);
  return !!el && map.getContainer().contains(el) && !el.closest('.leaflet-control');
}

/**
 * Page pixel of a point inside area `id` that a click reaches (not under the legend or a box),
 * preferring points deep inside; null if none is on screen.
 */
function pointInside(id) {
  const l = layerOf(id);
  if (!l) return null;
  const r = map.getContainer().getBoundingClientRect();
  const rings = layerRings(l);
  const inside = (ll) => pointInRings(ll.lng, ll.lat, rings);
  const ll = interiorPoint(l, rings);
  const c = map.latLngToContainerPoint(ll);
  const page = (p) => ({ x: r.left + p.x, y: r.top + p.y });
  const ok = (p) => {
    const q = page(p);
    return q.x > r.left + 2 && q.x < r.right - 2 && q.y > r.top + 2 && q.y < r.bottom - 2 && clickable(q.x, q.y) && document.elementFromPoint(q.x, q.y)?.tagName === 'CANVAS';
  };
  if (ok(c) && inside(ll)) return page(c);
  // else: the inside grid point with the most inside neighbours that a click reaches
  const b = l.getBounds();
  const N = 40;
  const grid = [];
  for (let i = 0; i <= N; i++)
    for (let j = 0; j <= N; j++) {
      const p = L.latLng(b.getSouth() + ((b.getNorth() - b.getSouth()) * i) / N, b.getWest() + ((b.getEast() - b.getWest()) * j) / N);
      grid.push({ i, j, p, in: inside(p) });
    }
  const at = (i, j) => grid[i * (N + 1) + j];
  let best = null;
  for (const g of grid) {
    if (!g.in) continue;
    let depth = 0;
    for (let di = -2; di <= 2; di++) for (let dj = -2; dj <= 2; dj++) if (at(g.i + di, g.j + dj)?.in) depth++;
    const cp = map.latLngToContainerPoint(g.p);
    if ((!best || depth > best.depth) && ok(cp)) best = { depth, cp };
  }
  return best ? page(best.cp) : null;
}

window.kleinraumRedefine = {
  /** Resolves when no request of this tab is pending and the map has redrawn. */
  idle: () => tasks.idle(200),
  auth: () => ({ ...auth }),
  mode: () => gs.mode,
  tool: () => gs.tool,
  draft: () => (gs.draft ? { ...gs.draft } : null),
  ids: () => (gs.layer ? gs.layer.getLayers().map((l) => areaId(l.feature)) : []),
  /** True while this tab's areas are on the map. */
  shown: () => !!gs.layer && map.hasLayer(gs.layer),
  properties: (id) => layerOf(id)?.feature.properties ?? null,
  lastChanged: () => [...gs.lastChanged],
  warnings: () => gs.warnings.map((w) => ({ ...w })),
  /** Bounds of area `id` as {west, south, east, north} in degrees. */
  bounds: (id) => {
    const b = layerOf(id)?.getBounds();
    return b ? { west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() } : null;
  },
  /** Page pixel of a lon/lat position. */
  toPage: (lng, lat) => toPage([lat, lng]),
  pointInside,
  /** Fits the map to the areas `ids` (one id or a list), clear of the legend. */
  fit: (ids) => {
    const ls = [].concat(ids).map(layerOf).filter(Boolean);
    if (ls.length) fitClear(L.featureGroup(ls).getBounds());
  },
  /** Vertices of area `id` (every ring), as [lng, lat]. */
  vertices: (id) => {
    const out = [];
    const walk = (a) => a.forEach((x) => (Array.isArray(x) ? walk(x) : out.push([x.lng, x.lat])));
    const l = layerOf(id);
    if (l) walk(l.getLatLngs());
    return out;
  },
  /** Ids of the areas that have a vertex at exactly (lng, lat). */
  sharedBy: ([lng, lat]) => {
    const at = L.latLng(lat, lng);
    const ids = [];
    const has = (a) => a.some((x) => (Array.isArray(x) ? has(x) : sameVertex(x, at)));
    gs.layer?.eachLayer((l) => has(l.getLatLngs()) && ids.push(areaId(l.feature)));
    return ids;
  },
  clickable,
};
