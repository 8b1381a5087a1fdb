// The keyboard area picker of the map: with the map focused, the arrow keys move a cursor from
// area to area (to the nearest area in that direction), Enter or Space opens its profile,
// Shift+arrows pan, + and − zoom, Escape drops the cursor. Each move is announced (name,
// parent, value) in a live region, so the map works without a mouse and with a screen reader.

import { $ } from './dom.js';
import { singular } from './fmt.js';
import { state, ctx, variable } from './state.js';
import { map, renderer } from './map.js';

const L = window.L;
import { interiorPoint } from './geometry.js';
import { selectArea, areaValue, fmtValue, reasonOf, parentChain } from './choropleth.js';

let cursor = null; // area id
let cursorLayer = null;
const points = new Map(); // id → label point (LatLng), computed on first use

function pointOf(l) {
  const id = l.feature.properties.id;
  if (!points.has(id)) points.set(id, interiorPoint(l));
  return points.get(id);
}

function layers() {
  return ctx.layer ? ctx.layer.getLayers() : [];
}

/** The area under the map centre, else the one nearest to it. */
function startArea() {
  if (state.area && ctx.byId.has(state.area)) return state.area;
  const c = map.project(map.getCenter());
  let best = null;
  for (const l of layers()) {
    const p = map.project(pointOf(l));
    const d = p.distanceTo(c);
    if (!best || d < best.d) best = { d, id: l.feature.properties.id };
  }
  return best?.id ?? null;
}

/** The nearest area from `id` in direction (dx, dy) (screen axes), within ±70° of it. */
export function neighbour(id, dx, dy) {
  const from = layers().find((l) => l.feature.properties.id === id);
  if (!from) return null;
  const p0 = map.project(pointOf(from), 12);
  let best = null;
  for (const l of layers()) {
    const lid = l.feature.properties.id;
    if (lid === id) continue;
    const p = map.project(pointOf(l), 12);
    const vx = p.x - p0.x;
    const vy = p.y - p0.y;
    const d = Math.hypot(vx, vy);
    if (d === 0) continue;
    const cos = (vx * dx + vy * dy) / d;
    if (cos < Math.cos((70 * Math.PI) / 180)) continue;
    // prefer straight ahead: off-axis areas count as farther away
    const score = d * (1 + 2.5 * (1 - cos));
    if (!best || score < best.score) best = { score, id: lid };
  }
  return best?.id ?? null;
}

function announce(id) {
  const f = ctx.byId.get(id);
  if (!f) return;
  const p = f.properties;
  const v = variable();
  const x = areaValue(f, v);
  const chain = parentChain(p).map((c) => `${singular(c.title)} ${c.name}`).join(', ');
  const srg = ctx.srgIds.has(id) ? ' Sozialraumgebiet.' : '';
  $('picker-live').textContent = `${p.name} (${p.id})${chain ? ', ' + chain : ''}. ${v.title}: ${fmtValue(x, v, reasonOf(f))}.${srg} Eingabe öffnet den Steckbrief.`;
}

/** Moves the cursor to area `id`: outline, announcement, and the area kept in view. */
export function setCursor(id) {
  cursor = id;
  if (cursorLayer) cursorLayer.remove();
  cursorLayer = null;
  const f = id && ctx.byId.get(id);
  if (!f) return;
  // white under a dashed blue line: visible on every fill, and unlike the selection outline
  const line = (style) => L.geoJSON(f, { interactive: false, style: { renderer, fill: false, opacity: 1, ...style } });
  cursorLayer = L.layerGroup([line({ color: '#ffffff', weight: 6 }), line({ color: '#0b3d91', weight: 3.5, dashArray: '7 5' })]).addTo(map);
  const l = layers().find((x) => x.feature === f);
  if (l && !map.getBounds().pad(-0.1).contains(pointOf(l))) map.panTo(pointOf(l), { animate: false });
  announce(id);
}

/** The area under the keyboard cursor (null: none). */
export const cursorArea = () => cursor;

function onKey(e) {
  if (e.target !== map.getContainer()) return;
  const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
  if (dir && e.shiftKey) {
    e.preventDefault();
    const s = map.getSize();
    map.panBy([dir[0] * s.x * 0.25, dir[1] * s.y * 0.25], { animate: false });
    return;
  }
  if (dir) {
    e.preventDefault();
    if (!cursor || !ctx.byId.has(cursor)) setCursor(startArea());
    else setCursor(neighbour(cursor, dir[0], dir[1]) ?? cursor);
    return;
  }
  if ((e.key === 'Enter' || e.key === ' ') && cursor) {
    e.preventDefault();
    selectArea(cursor, false);
    return;
  }
  if (e.key === '+' || e.key === '=') {
    e.preventDefault();
    map.zoomIn(1, { animate: false });
  } else if (e.key === '-' || e.key === '_') {
    e.preventDefault();
    map.zoomOut(1, { animate: false });
  } else if (e.key === 'Escape' && cursor && $('profile').hidden) {
    setCursor(null);
    $('picker-live').textContent = 'Auswahl aufgehoben.';
  }
}

/** Wires the picker to the map container; a new level drops the cursor and its points. */
export function initKeyboard() {
  const el = map.getContainer();
  el.tabIndex = 0;
  el.addEventListener('keydown', onKey);
  document.addEventListener('kleinraum:level', () => {
    points.clear();
    setCursor(null);
  });
}
