// Names on the map: the coarser level's names (always, e.g. the 12 Bezirke) and the shown
// areas' names where they fit inside their polygon at the current zoom, never overlapping.
// Drawn as text elements in their own pane (crisp at any zoom, no clicks taken); recomputed
// after every move or zoom.

const L = window.L;

let mapRef = null;
let pane = null;
let measureCtx = null;
let areaItems = []; // [{layer, name}]
let outlineItems = []; // [{layer, name}]
let scheduled = false;
let shown = []; // labels currently on the map: [{name, kind, x, y}] (test hook)

const AREA_FONT = '600 11px system-ui, "Segoe UI", Roboto, Arial, sans-serif';
const OUTLINE_FONT = '700 13px system-ui, "Segoe UI", Roboto, Arial, sans-serif';

function textWidth(text, font) {
  if (!measureCtx) measureCtx = document.createElement('canvas').getContext('2d');
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

/** The label point of a polygon layer, computed once (a point inside, on its widest run). */
function labelPoint(item, interiorPoint) {
  if (!item.ll) item.ll = interiorPoint(item.layer);
  return item.ll;
}

let interior = null;

/** Sets up the label pane on `map`; `interiorPoint(layer)` finds a point inside a polygon. */
export function initLabels(map, interiorPoint) {
  mapRef = map;
  interior = interiorPoint;
  pane = map.getPane('labels');
  pane.setAttribute('aria-hidden', 'true');
  map.on('zoomstart', () => (pane.style.visibility = 'hidden'));
  map.on('zoomend moveend resize', schedule);
}

/** The areas whose names may be drawn (`layers`: Leaflet polygons with feature.properties.name). */
export function setAreaLabels(layers) {
  areaItems = layers.map((layer) => ({ layer, name: layer.feature.properties.name }));
  schedule();
}

/** The outline level's areas, whose names are always drawn. */
export function setOutlineLabels(layers) {
  outlineItems = layers.map((layer) => ({ layer, name: layer.feature.properties.name }));
  schedule();
}

/** Forgets computed label points (after the geometry was replaced by a finer one). */
export function resetLabelPoints() {
  for (const it of [...areaItems, ...outlineItems]) it.ll = null;
  schedule();
}

function schedule() {
  if (scheduled || !mapRef) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

function overlaps(r, placed) {
  return placed.some((p) => r.x0 < p.x1 && r.x1 > p.x0 && r.y0 < p.y1 && r.y1 > p.y0);
}

function render() {
  const map = mapRef;
  const size = map.getSize();
  const view = map.getBounds();
  const placed = [];
  const out = [];
  const put = (item, kind, font, force) => {
    const b = item.layer.getBounds();
    if (!view.intersects(b)) return;
    const nw = map.latLngToContainerPoint(b.getNorthWest());
    const se = map.latLngToContainerPoint(b.getSouthEast());
    const w = textWidth(item.name, font);
    const h = kind === 'outline' ? 16 : 13;
    // an area label only where the name fits into the area's box
    if (!force && (w + 6 > (se.x - nw.x) * 0.8 || h + 4 > (se.y - nw.y) * 0.5)) return;
    const ll0 = labelPoint(item, interior);
    const p0 = map.latLngToContainerPoint(ll0);
    // an outline name that collides with another tries a little above or below
    const shifts = force ? [0, h + 4, -(h + 4), 2 * (h + 4), -2 * (h + 4)] : [0];
    for (const dy of shifts) {
      const p = L.point(p0.x, p0.y + dy);
      if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) continue;
      const r = { x0: p.x - w / 2 - 3, x1: p.x + w / 2 + 3, y0: p.y - h / 2 - 2, y1: p.y + h / 2 + 2 };
      if (overlaps(r, placed)) continue;
      placed.push(r);
      out.push({ name: item.name, kind, x: p.x, y: p.y, ll: dy ? map.containerPointToLatLng(p) : ll0 });
      return;
    }
  };
  for (const it of outlineItems) put(it, 'outline', OUTLINE_FONT, true);
  // larger areas first: they are the ones readers look for
  const byArea = [...areaItems].sort((a, b) => span(b.layer) - span(a.layer));
  for (const it of byArea) {
    if (out.length > 400) break;
    put(it, 'area', AREA_FONT, false);
  }
  // reuse the elements
  while (pane.children.length > out.length) pane.lastChild.remove();
  out.forEach((o, i) => {
    let el = pane.children[i];
    if (!el) {
      el = document.createElement('div');
      pane.appendChild(el);
    }
    el.className = `map-label ${o.kind}`;
    el.textContent = o.name;
    L.DomUtil.setPosition(el, map.latLngToLayerPoint(o.ll));
  });
  pane.style.visibility = '';
  shown = out.map(({ name, kind, x, y }) => ({ name, kind, x, y }));
}

function span(layer) {
  const b = layer.getBounds();
  return (b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth());
}

/** The labels on the map now: [{name, kind: 'outline'|'area', x, y}] (container pixels). */
export function shownLabels() {
  return shown.map((s) => ({ ...s }));
}
